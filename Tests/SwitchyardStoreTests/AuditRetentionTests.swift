import Foundation
import Testing

@testable import SwitchyardStore

@Suite("Audit retention")
struct AuditRetentionTests {
    /// Writes one connect row per day offset (days before `referenceTime`), oldest first.
    func seed(_ database: SwitchyardDatabase, daysAgo: [Int]) throws {
        let writer = AuditWriter(database: database, configuration: .init(level: .all), logger: LogCapture().logger)
        for days in daysAgo {
            writer.record(record(.connect, at: -Double(days) * 86_400) { $0.identity = "\(days)d" })
        }
        #expect(writer.flush())
    }

    @Test("Rows older than the maximum age are deleted, in batches")
    func byAge() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        try seed(database, daysAgo: [90, 45, 31, 30, 29, 10, 1, 0])
        let writer = AuditWriter(
            database: database,
            configuration: .init(retention: AuditRetention(maxAge: AuditRetention.days(30), batchSize: 2)),
            logger: LogCapture().logger)
        // 30 days exactly is not older than 30 days.
        #expect(writer.applyRetention(now: referenceTime) == 3)
        #expect(try database.audit(AuditQuery()).map(\.record.identity) == ["30d", "29d", "10d", "1d", "0d"])
        #expect(writer.counters.expired == 3)
        #expect(writer.applyRetention(now: referenceTime) == 0)
    }

    @Test("Only the newest maxRows rows are kept")
    func byCount() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        try seed(database, daysAgo: Array((0..<12).reversed()))
        let writer = AuditWriter(
            database: database,
            configuration: .init(retention: AuditRetention(maxAge: nil, maxRows: 5, batchSize: 3)),
            logger: LogCapture().logger)
        #expect(writer.applyRetention(now: referenceTime) == 7)
        #expect(try database.audit(AuditQuery()).map(\.record.identity) == ["4d", "3d", "2d", "1d", "0d"])
        #expect(try database.audit(AuditQuery()).map(\.id) == [8, 9, 10, 11, 12])
    }

    @Test("Age and count together: whichever deletes more")
    func both() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        try seed(database, daysAgo: [40, 35, 20, 10, 5, 1])
        let writer = AuditWriter(
            database: database,
            configuration: .init(retention: AuditRetention(maxAge: AuditRetention.days(30), maxRows: 3)),
            logger: LogCapture().logger)
        #expect(writer.applyRetention(now: referenceTime) == 3)
        #expect(try database.audit(AuditQuery()).map(\.record.identity) == ["10d", "5d", "1d"])
    }

    @Test("Ids keep increasing after retention empties the table")
    func idsAreNotReused() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        try seed(database, daysAgo: [100, 90])
        let writer = AuditWriter(
            database: database, configuration: .init(level: .all, retention: AuditRetention(maxAge: AuditRetention.days(1))),
            logger: LogCapture().logger)
        #expect(writer.applyRetention(now: referenceTime) == 2)
        #expect(try database.auditRowCount() == 0)
        #expect(try database.latestAuditID() == 2)
        writer.record(record(.connect))
        #expect(writer.flush())
        #expect(try database.audit(AuditQuery()).map(\.id) == [3])
    }

    @Test("No retention configured deletes nothing")
    func keepEverything() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        try seed(database, daysAgo: [1000, 0])
        let writer = AuditWriter(
            database: database, configuration: .init(retention: .keepEverything), logger: LogCapture().logger)
        #expect(writer.applyRetention(now: referenceTime) == 0)
        #expect(try database.auditRowCount() == 2)
    }
}
