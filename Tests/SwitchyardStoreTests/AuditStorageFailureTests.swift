import Foundation
import GRDB
import ServiceLifecycle
import SwitchyardJSON
import Testing

@testable import SwitchyardStore

/// Disk full and read-only storage, made deterministic: `PRAGMA max_page_count` caps the
/// writer connection's file at its current size, `PRAGMA query_only` refuses writes like
/// a read-only file, and a database opened read-only through GRDB never accepts a write.
@Suite("Audit writer when storage fails")
struct AuditStorageFailureTests {
    /// A record big enough that a few of them need new pages.
    func bulky(_ number: Int) -> AuditRecord {
        record(.event, at: Double(number)) {
            $0.event = "bulk"
            $0.outcome = .ok
            $0.reason = String(repeating: "x", count: 600)
            $0.latencyMicroseconds = number
        }
    }

    func setMaxPageCount(_ database: SwitchyardDatabase, _ count: Int?) throws {
        try database.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 1
            _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = \(count ?? pages)")
        }
    }

    @Test("Disk full: one clear error, records still accepted (bounded), losses counted, writes resume with space")
    func diskFull() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        let capture = LogCapture()
        let writer = AuditWriter(
            database: database, configuration: .init(level: .all, queueCapacity: 50, batchSize: 10),
            logger: capture.logger)
        try setMaxPageCount(database, nil)

        for number in 0..<40 { writer.record(bulky(number)) }
        #expect(writer.flush() == false)
        #expect(writer.counters.failedWrites == 1)
        #expect(writer.counters.queued == 40)
        let expected = "\(database.path): SQLite error 13 (SQLITE_FULL): database or disk is full"
        #expect(writer.storageError == expected)
        let errors = capture.messages(at: .error)
        #expect(errors.count == 1)
        #expect(
            errors.first?.hasPrefix("audit log: cannot write to \(database.path): SQLite error 13 (SQLITE_FULL): database or disk is full.")
                == true)

        // Still accepting, up to the capacity; beyond it, counted as dropped.
        for number in 40..<60 { writer.record(bulky(number)) }
        #expect(writer.counters.queued == 50)
        #expect(writer.counters.dropped == 10)
        #expect(writer.flush() == false)
        #expect(writer.counters.failedWrites == 2)
        #expect(capture.messages(at: .error).count == 1, "one error per outage, not per attempt")
        #expect(try database.auditRowCount() == 0)

        // Space returns.
        try setMaxPageCount(database, 1_073_741_823)
        #expect(writer.flush())
        #expect(writer.storageError == nil)
        #expect(writer.counters.written == 51)
        let entries = try database.audit(AuditQuery())
        #expect(entries.filter { $0.record.kind == .event }.map(\.record.latencyMicroseconds) == (0..<50).map { $0 })
        let overflows = entries.filter { $0.record.kind == .auditOverflow }
        #expect(overflows.count == 1)
        #expect(overflows.first?.record.detail?["dropped"] == 10)
        #expect(
            capture.messages(at: .warning).contains {
                $0.hasPrefix("audit log: writing to \(database.path) again after") && $0.hasSuffix("10 record(s) dropped meanwhile")
            })
    }

    @Test("Read-only storage (query_only): a clear error, records kept, writes resume when writable again")
    func readOnlyThenWritable() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        let capture = LogCapture()
        let writer = AuditWriter(database: database, configuration: .init(level: .all, queueCapacity: 5), logger: capture.logger)
        try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = ON") }

        for number in 0..<7 { writer.record(eventRecord(number)) }
        #expect(writer.flush() == false)
        #expect(writer.storageError == "\(database.path): SQLite error 8 (SQLITE_READONLY): attempt to write a readonly database")
        #expect(capture.messages(at: .error).count == 1)
        #expect(writer.counters.dropped == 2)

        try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = OFF") }
        #expect(writer.flush())
        #expect(try database.audit(AuditQuery(kinds: [.event])).map(\.record) == (0..<5).map { eventRecord($0) })
        #expect(try database.audit(AuditQuery(kinds: [.auditOverflow])).first?.record.detail?["dropped"] == 2)
    }

    @Test("A database opened read-only: errors, no crash, bounded queue; shutdown counts the unwritten rows as lost")
    func readOnlyDatabase() async throws {
        let temporary = try TemporaryDirectory()
        try temporary.database().close()
        let database = try SwitchyardDatabase.open(directory: temporary.path, readOnly: true)
        let capture = LogCapture()
        let writer = AuditWriter(
            database: database,
            configuration: .init(level: .all, queueCapacity: 10, flushInterval: .milliseconds(10), retryInterval: .milliseconds(10)),
            logger: capture.logger)
        let group = ServiceGroup(services: [writer], logger: capture.logger)
        async let running: Void = group.run()

        for number in 0..<25 { writer.record(eventRecord(number)) }
        try await waitUntil("a failed write") { writer.counters.failedWrites >= 2 }
        #expect(writer.storageError?.contains("SQLITE_READONLY") == true)
        #expect(writer.counters.queued == 10)
        #expect(writer.counters.dropped == 15)

        await group.triggerGracefulShutdown()
        try await running
        #expect(writer.counters.lost == 10)
        #expect(writer.counters.queued == 0)
        #expect(writer.counters.written == 0)
        let errors = capture.messages(at: .error)
        #expect(errors.first?.hasPrefix("audit log: cannot write to \(database.path): SQLite error 8 (SQLITE_READONLY)") == true)
        #expect(
            errors.last
                == "audit log: 10 record(s) could not be written to \(database.path) before shutdown: SQLite error 8 (SQLITE_READONLY): attempt to write a readonly database"
        )
        #expect(capture.messages(at: .warning).contains { $0.hasPrefix("audit queue full (capacity 10): ") })
    }

    @Test("The writer thread retries on its own and recovers when space returns")
    func recoversInBackground() async throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        let capture = LogCapture()
        let writer = AuditWriter(
            database: database,
            configuration: .init(level: .all, batchSize: 10, flushInterval: .milliseconds(10), retryInterval: .milliseconds(20)),
            logger: capture.logger)
        try setMaxPageCount(database, nil)
        let group = ServiceGroup(services: [writer], logger: capture.logger)
        async let running: Void = group.run()

        for number in 0..<40 { writer.record(bulky(number)) }
        try await waitUntil("the outage") { writer.storageError != nil }
        try setMaxPageCount(database, 1_073_741_823)
        try await waitUntil("recovery") { writer.counters.written == 40 }
        #expect(writer.storageError == nil)
        #expect(capture.messages(at: .error).count == 1)
        #expect(capture.messages(at: .notice).contains { $0.contains("again after") && $0.hasSuffix("0 record(s) dropped meanwhile") })
        await group.triggerGracefulShutdown()
        try await running
        #expect(try database.auditRowCount() == 40)
    }
}
