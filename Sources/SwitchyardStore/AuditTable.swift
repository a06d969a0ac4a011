import Foundation
import GRDB
import GRDBSQLite
import SwitchyardJSON

/// The SQL of the `audit` table: inserting records, reading them back, retention deletes.
///
/// Every function takes a `Database` from a closure; none opens a transaction itself.
enum AuditTable {
    /// The columns after `id`, in schema order (the CSV and JSON outputs use it too).
    static let columns = [
        "time", "kind", "sid", "socket_id", "namespace", "room", "identity", "tenant", "remote_address", "user_agent",
        "transport", "event", "operation", "outcome", "error_kind", "reason", "latency_us", "duration_ms", "bytes_in",
        "bytes_out", "events_in", "events_out", "actor", "detail",
    ]

    static let insertSQL =
        "INSERT INTO audit (\(columns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"

    static let selectColumns = "id, " + columns.joined(separator: ", ")

    /// Inserts records with one prepared statement (the caller's transaction makes it a batch).
    ///
    /// Binds through the C API on GRDB's cached statement: building `StatementArguments`
    /// (24 boxed values a row) cost more than SQLite's own work, and the writer does this
    /// for every event at level `all`. A failure throws GRDB's `DatabaseError` with the
    /// extended result code, which ``StorageFailure`` classifies.
    static func insert<Records: Sequence<AuditRecord>>(_ db: Database, _ records: Records) throws {
        let statement = try db.cachedStatement(sql: insertSQL)
        let handle = statement.sqliteStatement
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for record in records {
            sqlite3_reset(handle)
            var binder = Binder(handle: handle)
            Timestamp.withFormatted(milliseconds: Timestamp.milliseconds(record.time)) { binder.bind(utf8: $0) }
            binder.bind(record.kind.rawValue)
            binder.bind(record.sessionID)
            binder.bind(record.socketID)
            binder.bind(record.namespace)
            binder.bind(record.room)
            binder.bind(record.identity)
            binder.bind(record.tenant)
            binder.bind(record.remoteAddress)
            binder.bind(record.userAgent)
            binder.bind(record.transport)
            binder.bind(record.event)
            binder.bind(record.operation)
            binder.bind(record.outcome?.rawValue)
            binder.bind(record.errorKind)
            binder.bind(record.reason)
            binder.bind(record.latencyMicroseconds)
            binder.bind(record.durationMilliseconds)
            binder.bind(record.bytesIn)
            binder.bind(record.bytesOut)
            binder.bind(record.eventsIn)
            binder.bind(record.eventsOut)
            binder.bind(record.actor)
            binder.bind(record.detail?.serialized())
            assert(binder.index == columns.count + 1)
            if let failure = binder.failure {
                throw DatabaseError(resultCode: ResultCode(rawValue: failure), message: "binding an audit row failed", sql: insertSQL)
            }
            let code = sqlite3_step(handle)
            guard code == SQLITE_DONE else {
                let extended = db.sqliteConnection.map { sqlite3_extended_errcode($0) } ?? code
                let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
                throw DatabaseError(resultCode: ResultCode(rawValue: extended), message: message, sql: insertSQL)
            }
        }
    }

    /// Binds parameters 1, 2, … in order; keeps the first failure.
    private struct Binder {
        let handle: OpaquePointer
        var index: Int32 = 1
        var failure: Int32?

        /// SQLite copies the bytes before the call returns (`SQLITE_TRANSIENT`).
        private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

        mutating func bind(_ text: String?) {
            let code: Int32
            if var text {
                code = text.withUTF8 { bytes in
                    guard let base = bytes.baseAddress, !bytes.isEmpty else { return sqlite3_bind_text(handle, index, "", 0, Self.transient) }
                    return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                        sqlite3_bind_text(handle, index, $0, Int32(bytes.count), Self.transient)
                    }
                }
            } else {
                code = sqlite3_bind_null(handle, index)
            }
            finish(code)
        }

        mutating func bind(utf8 bytes: UnsafeBufferPointer<UInt8>) {
            let code = bytes.withMemoryRebound(to: CChar.self) { text in
                sqlite3_bind_text(handle, index, text.baseAddress, Int32(text.count), Self.transient)
            }
            finish(code)
        }

        mutating func bind(_ number: Int?) {
            finish(number.map { sqlite3_bind_int64(handle, index, Int64($0)) } ?? sqlite3_bind_null(handle, index))
        }

        private mutating func finish(_ code: Int32) {
            if code != SQLITE_OK, failure == nil { failure = code }
            index += 1
        }
    }

    /// The record of a row selected with ``selectColumns``; nil for a kind this build
    /// does not know (written by a newer build that added a kind).
    static func entry(_ row: Row) -> AuditEntry? {
        guard let kind = AuditKind(rawValue: row["kind"] as String? ?? "") else { return nil }
        let time = Timestamp.parse(row["time"] as String? ?? "") ?? Date(timeIntervalSince1970: 0)
        var record = AuditRecord(kind: kind, time: time)
        record.sessionID = row["sid"]
        record.socketID = row["socket_id"]
        record.namespace = row["namespace"]
        record.room = row["room"]
        record.identity = row["identity"]
        record.tenant = row["tenant"]
        record.remoteAddress = row["remote_address"]
        record.userAgent = row["user_agent"]
        record.transport = row["transport"]
        record.event = row["event"]
        record.operation = row["operation"]
        record.outcome = (row["outcome"] as String?).flatMap(AuditOutcome.init(rawValue:))
        record.errorKind = row["error_kind"]
        record.reason = row["reason"]
        record.latencyMicroseconds = row["latency_us"]
        record.durationMilliseconds = row["duration_ms"]
        record.bytesIn = row["bytes_in"]
        record.bytesOut = row["bytes_out"]
        record.eventsIn = row["events_in"]
        record.eventsOut = row["events_out"]
        record.actor = row["actor"]
        if let text = row["detail"] as String? {
            // Text that is not JSON (written by hand) is kept as a string.
            record.detail = (try? JSONValue(parsing: text)) ?? .string(text)
        }
        return AuditEntry(id: row["id"], record: record)
    }

    /// The highest row id ever used (0 for a database that never had a row).
    ///
    /// Read from `sqlite_sequence`, so it stays right when retention has emptied the table.
    static func latestID(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'audit'") ?? 0
    }

    /// Deletes up to `limit` rows older than `cutoff`; returns how many went.
    static func deleteOlder(than cutoff: Date, limit: Int, _ db: Database) throws -> Int {
        try db.execute(
            sql: "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time < ? ORDER BY time LIMIT ?)",
            arguments: [Timestamp.format(cutoff), limit]
        )
        return db.changesCount
    }

    /// Deletes up to `limit` of the oldest rows beyond the newest `keep`; returns how many went.
    static func deleteBeyond(keep: Int, limit: Int, _ db: Database) throws -> Int {
        guard
            let cut = try Int64.fetchOne(
                db, sql: "SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?", arguments: [keep])
        else { return 0 }
        try db.execute(
            sql: "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE id <= ? ORDER BY id LIMIT ?)",
            arguments: [cut, limit]
        )
        return db.changesCount
    }
}
