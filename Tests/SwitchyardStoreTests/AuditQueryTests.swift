import Foundation
import Testing

@testable import SwitchyardStore

@Suite("Audit queries")
struct AuditQueryTests {
    func ids(_ database: SwitchyardDatabase, _ query: AuditQuery) throws -> [Int64] {
        try database.audit(query).map(\.id)
    }

    @Test("Records read back equal the records written")
    func roundTrip() throws {
        let temporary = try TemporaryDirectory()
        let database = try AuditFixtures.database(in: temporary)
        #expect(try database.audit(AuditQuery()).map(\.record) == AuditFixtures.records)
    }

    @Test("Every column is written where it belongs: distinct values in all 24, empty text and non-ASCII kept")
    func everyColumn() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        var record = AuditRecord(kind: .event, time: referenceTime)
        record.sessionID = "sid-1"
        record.socketID = "socket-2"
        record.namespace = "/chat/café"
        record.room = "room-4"
        record.identity = "ident-5"
        record.tenant = ""
        record.remoteAddress = "10.0.0.7:4007"
        record.userAgent = "agent-8 ✓"
        record.transport = "websocket"
        record.event = "event-10"
        record.operation = "operation-11"
        record.outcome = .error
        record.errorKind = "validation"
        record.reason = "reason-14"
        record.latencyMicroseconds = 15
        record.durationMilliseconds = 16
        record.bytesIn = 17
        record.bytesOut = 18
        record.eventsIn = 19
        record.eventsOut = 20
        record.actor = "actor-21"
        record.detail = ["field": 22, "text": "\u{0}nul"]
        let writer = AuditWriter(database: database, configuration: .init(level: .all), logger: LogCapture().logger)
        writer.record(record)
        writer.record(AuditRecord(kind: .upgrade, time: referenceTime))
        #expect(writer.flush())
        #expect(try database.audit(AuditQuery()).map(\.record) == [record, AuditRecord(kind: .upgrade, time: referenceTime)])
    }

    @Test("Each filter narrows the rows")
    func filters() throws {
        let temporary = try TemporaryDirectory()
        let database = try AuditFixtures.database(in: temporary)
        #expect(try ids(database, AuditQuery()) == [1, 2, 3, 4, 5, 6, 7])
        #expect(try ids(database, AuditQuery(since: referenceTime.addingTimeInterval(2.5))) == [3, 4, 5, 6, 7])
        #expect(try ids(database, AuditQuery(until: referenceTime.addingTimeInterval(2.5))) == [1, 2])
        #expect(
            try ids(database, AuditQuery(since: referenceTime.addingTimeInterval(1), until: referenceTime.addingTimeInterval(301)))
                == [2, 3, 4, 5])
        #expect(try ids(database, AuditQuery(kinds: [.event])) == [2, 3])
        #expect(try ids(database, AuditQuery(kinds: [.kick, .connectRefused, .kick])) == [4, 7])
        #expect(try ids(database, AuditQuery(identity: "alice")) == [1, 2, 3, 4, 5])
        #expect(try ids(database, AuditQuery(identity: "nobody")) == [])
        #expect(try ids(database, AuditQuery(namespace: "/admin")) == [7])
        #expect(try ids(database, AuditQuery(event: "message.send")) == [2, 3])
        #expect(try ids(database, AuditQuery(outcome: .error)) == [3])
        #expect(try ids(database, AuditQuery(outcome: .refused)) == [7])
        #expect(try ids(database, AuditQuery(sessionID: "s2")) == [7])
        #expect(try ids(database, AuditQuery(kinds: [.event], identity: "alice", outcome: .ok)) == [2])
        #expect(try ids(database, AuditQuery(afterID: 3, throughID: 5)) == [4, 5])
    }

    @Test("Order and limit: newest first keeps the latest rows")
    func orderAndLimit() throws {
        let temporary = try TemporaryDirectory()
        let database = try AuditFixtures.database(in: temporary)
        #expect(try ids(database, AuditQuery(limit: 3)) == [1, 2, 3])
        #expect(try ids(database, AuditQuery(limit: 3, order: .newestFirst)) == [7, 6, 5])
        #expect(try ids(database, AuditQuery(identity: "alice", limit: 2, order: .newestFirst)) == [5, 4])
        #expect(try ids(database, AuditQuery(limit: 0)) == [])
    }

    @Test("Rows of a kind this build does not know are skipped, not misread")
    func unknownKind() throws {
        let temporary = try TemporaryDirectory()
        let database = try AuditFixtures.database(in: temporary)
        try database.write { db in
            try db.execute(sql: "INSERT INTO audit (time, kind) VALUES ('2026-11-22T11:00:00.000Z', 'teleport')")
        }
        #expect(try ids(database, AuditQuery()) == [1, 2, 3, 4, 5, 6, 7])
        #expect(try database.latestAuditID() == 8)
    }
}

@Suite("Audit counts per minute")
struct AuditCountsPerMinuteTests {
    /// Refusals (three kinds), failed and refused events, and rows that must not count
    /// (successful events, connects, a refusal before `since`), over three minutes.
    func records() -> [AuditRecord] {
        func event(_ seconds: Double, _ outcome: AuditOutcome, _ errorKind: String?) -> AuditRecord {
            var record = AuditRecord(kind: .event, time: referenceTime.addingTimeInterval(seconds))
            record.outcome = outcome
            record.errorKind = errorKind
            return record
        }
        func row(_ kind: AuditKind, _ seconds: Double) -> AuditRecord { AuditRecord(kind: kind, time: referenceTime.addingTimeInterval(seconds)) }
        return [
            row(.rateLimited, -61),  // before `since`
            row(.rateLimited, 0), row(.rateLimited, 59.999), row(.sizeViolation, 30),
            event(10, .error, "validation"), event(11, .error, "validation"), event(12, .refused, "rate_limited"), event(13, .ok, nil),
            row(.connect, 14),
            row(.guardDenied, 60), event(61, .error, "internal"), event(62, .error, nil),
            row(.connectRefused, 179.5),
        ]
    }

    @Test("Counted by SQLite per minute, by kind, outcome and error kind; other rows and older rows left out")
    func counts() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        let writer = AuditWriter(database: database, configuration: .init(level: .all), logger: LogCapture().logger)
        for record in records() { writer.record(record) }
        #expect(writer.flush())
        let counts = try database.auditCountsPerMinute(
            since: referenceTime.addingTimeInterval(-1), kinds: [.rateLimited, .sizeViolation, .guardDenied, .connectRefused],
            eventOutcomes: [.error, .refused])
        func at(_ minute: Double) -> Date { referenceTime.addingTimeInterval(minute * 60) }
        #expect(
            Set(counts) == [
                AuditMinuteCount(minute: at(0), kind: .rateLimited, outcome: nil, errorKind: nil, count: 2),
                AuditMinuteCount(minute: at(0), kind: .sizeViolation, outcome: nil, errorKind: nil, count: 1),
                AuditMinuteCount(minute: at(0), kind: .event, outcome: .error, errorKind: "validation", count: 2),
                AuditMinuteCount(minute: at(0), kind: .event, outcome: .refused, errorKind: "rate_limited", count: 1),
                AuditMinuteCount(minute: at(1), kind: .guardDenied, outcome: nil, errorKind: nil, count: 1),
                AuditMinuteCount(minute: at(1), kind: .event, outcome: .error, errorKind: "internal", count: 1),
                AuditMinuteCount(minute: at(1), kind: .event, outcome: .error, errorKind: nil, count: 1),
                AuditMinuteCount(minute: at(2), kind: .connectRefused, outcome: nil, errorKind: nil, count: 1),
            ])
        #expect(counts.map(\.minute) == counts.map(\.minute).sorted())
        // Nothing asked for, nothing counted.
        #expect(try database.auditCountsPerMinute(since: referenceTime, kinds: [], eventOutcomes: []).isEmpty)
    }
}
