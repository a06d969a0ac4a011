import Foundation
import GRDB
import Logging
import ServiceLifecycle
import SwitchyardJSON
import Testing

@testable import SwitchyardStore

@Suite("Audit writer")
struct AuditWriterTests {
    @Test("Records are written in transactions of at most batchSize rows")
    func batches() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        let writer = AuditWriter(
            database: database, configuration: .init(level: .all, batchSize: 1000), logger: LogCapture().logger)
        for number in 0..<2500 { writer.record(eventRecord(number)) }
        #expect(writer.counters.queued == 2500)

        #expect(writer.drain(now: Date(), maxBatches: 1) == false)
        #expect(try database.auditRowCount() == 1000)
        #expect(writer.flush())

        let counters = writer.counters
        #expect(counters.written == 2500)
        #expect(counters.batches == 3)
        #expect(counters.queued == 0)
        #expect(counters.dropped == 0)
        let entries = try database.audit(AuditQuery())
        #expect(entries.map(\.record.latencyMicroseconds) == (0..<2500).map { $0 })
        #expect(entries.map(\.record) == (0..<2500).map { eventRecord($0) }, "every field reads back")
        #expect(entries.map(\.id) == (1...2500).map(Int64.init))
    }

    @Test("The level filters records before they are queued")
    func levelFilters() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        let records = [
            record(.connect), eventRecord(1, outcome: .ok), eventRecord(2, outcome: .error),
            eventRecord(3, outcome: .refused), record(.kick), record(.disconnect),
        ]
        var written: [AuditLevel: [AuditKind]] = [:]
        for level in AuditLevel.allCases {
            let writer = AuditWriter(database: database, configuration: .init(level: level), logger: LogCapture().logger)
            let before = try database.latestAuditID()
            for record in records { writer.record(record) }
            #expect(writer.flush())
            written[level] = try database.audit(AuditQuery(afterID: before)).map(\.record.kind)
        }
        #expect(written[.off] == [])
        #expect(written[.connections] == [.connect, .kick, .disconnect])
        #expect(written[.failures] == [.connect, .event, .event, .kick, .disconnect])
        #expect(written[.all] == [.connect, .event, .event, .event, .kick, .disconnect])
    }

    @Test("Graceful shutdown of the service group writes every queued record before run() returns")
    func flushOnShutdown() async throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        let capture = LogCapture()
        // A flush interval far longer than the test: only batches and the shutdown flush write.
        let writer = AuditWriter(
            database: database,
            configuration: .init(level: .all, queueCapacity: 100_000, batchSize: 1000, flushInterval: .seconds(3600)),
            logger: capture.logger)
        let group = ServiceGroup(services: [writer], logger: capture.logger)
        async let running: Void = group.run()

        let producers = 8
        let perProducer = 5_001
        await withTaskGroup(of: Void.self) { tasks in
            for producer in 0..<producers {
                tasks.addTask {
                    for number in 0..<perProducer { writer.record(eventRecord(producer * perProducer + number)) }
                }
            }
        }
        await group.triggerGracefulShutdown()
        try await running

        let sent = producers * perProducer
        #expect(writer.counters.written == sent)
        #expect(writer.counters.dropped == 0)
        #expect(writer.counters.lost == 0)
        #expect(try database.auditRowCount() == sent)
        #expect(try Set(database.audit(AuditQuery()).map(\.record.latencyMicroseconds)) == Set((0..<sent).map { $0 }))

        // After the writer stopped, records are refused and counted.
        writer.record(record(.connect))
        #expect(writer.counters.dropped == 1)
        try database.close()
    }

    @Test("The writer thread writes a full batch and, within the flush interval, a partial one")
    func backgroundWrites() async throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        let writer = AuditWriter(
            database: database, configuration: .init(level: .all, batchSize: 100, flushInterval: .milliseconds(20)),
            logger: LogCapture().logger)
        let group = ServiceGroup(services: [writer], logger: LogCapture().logger)
        async let running: Void = group.run()
        for number in 0..<250 { writer.record(eventRecord(number)) }
        try await waitUntil("250 rows written") { writer.counters.written == 250 }
        #expect(try database.auditRowCount() == 250)
        await group.triggerGracefulShutdown()
        try await running
    }

    @Test("A full queue counts the records it refuses and the next batch carries an audit_overflow row")
    func overflow() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        let capture = LogCapture()
        let writer = AuditWriter(database: database, configuration: .init(level: .all, queueCapacity: 8), logger: capture.logger)
        for number in 0..<20 { writer.record(eventRecord(number)) }
        #expect(writer.counters.queued == 8)
        #expect(writer.counters.dropped == 12)

        #expect(writer.flush())
        let entries = try database.audit(AuditQuery())
        #expect(entries.count == 9)
        #expect(entries.prefix(8).map(\.record) == (0..<8).map { eventRecord($0) })
        let overflow = try #require(entries.last?.record)
        #expect(overflow.kind == .auditOverflow)
        #expect(overflow.reason == "queue full")
        #expect(overflow.detail == .object(["dropped": 12, "capacity": 8]))
        #expect(writer.counters.written == 9)
        #expect(capture.messages(at: .warning) == ["audit queue full (capacity 8): 12 record(s) dropped; counted in audit_overflow rows"])

        // No new drops: no new overflow row.
        for number in 20..<23 { writer.record(eventRecord(number)) }
        #expect(writer.flush())
        #expect(try database.audit(AuditQuery(kinds: [.auditOverflow])).count == 1)
        #expect(try database.auditRowCount() == 12)
        #expect(writer.counters.dropped == 12)
    }

    @Test("An overflow row is written even when only drops are pending")
    func overflowAlone() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        let writer = AuditWriter(database: database, configuration: .init(level: .all, queueCapacity: 1), logger: LogCapture().logger)
        writer.record(record(.connect))
        #expect(writer.flush())
        writer.record(record(.connect))
        writer.record(record(.connect))
        writer.record(record(.connect))
        #expect(writer.flush())
        let kinds = try database.audit(AuditQuery()).map(\.record.kind)
        #expect(kinds == [.connect, .connect, .auditOverflow])
        #expect(try database.audit(AuditQuery(kinds: [.auditOverflow])).first?.record.detail?["dropped"] == 2)
    }
}
