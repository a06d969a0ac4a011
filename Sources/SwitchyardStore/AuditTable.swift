import Foundation
import GRDB
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

    /// The column values of a record, in ``columns`` order.
    static func values(of record: AuditRecord) -> [(any DatabaseValueConvertible)?] {
        [
            Timestamp.format(record.time), record.kind.rawValue, record.sessionID, record.socketID, record.namespace,
            record.room, record.identity, record.tenant, record.remoteAddress, record.userAgent, record.transport,
            record.event, record.operation, record.outcome?.rawValue, record.errorKind, record.reason,
            record.latencyMicroseconds, record.durationMilliseconds, record.bytesIn, record.bytesOut, record.eventsIn,
            record.eventsOut, record.actor, record.detail?.serialized(),
        ]
    }

    /// Inserts records with one prepared statement (the caller's transaction makes it a batch).
    static func insert<Records: Sequence<AuditRecord>>(_ db: Database, _ records: Records) throws {
        let statement = try db.cachedStatement(sql: insertSQL)
        for record in records {
            try statement.execute(arguments: StatementArguments(values(of: record)))
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
