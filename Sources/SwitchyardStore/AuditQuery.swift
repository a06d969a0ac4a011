import Foundation
import GRDB

/// A filter over the audit log, as `switchyard audit` builds it from its flags.
///
/// Every criterion that is set must hold; nil and empty criteria match everything.
/// Queries read a WAL snapshot, so they run while the server writes.
///
/// ```swift
/// var query = AuditQuery(since: Date().addingTimeInterval(-3600))
/// query.kinds = [.connectRefused]
/// query.limit = 50
/// query.order = .newestFirst
/// for entry in try database.audit(query) { print(entry.record.reason ?? "-") }
/// ```
public struct AuditQuery: Sendable, Hashable {
    /// Which rows come first.
    public enum Order: String, Sendable, CaseIterable {
        /// Ascending row id (the order rows were written).
        case oldestFirst
        /// Descending row id: with `limit`, the latest rows.
        case newestFirst
    }

    /// Rows at or after this time.
    public var since: Date?
    /// Rows strictly before this time.
    public var until: Date?
    /// Rows of any of these kinds (empty: every kind).
    public var kinds: [AuditKind]
    /// Rows of this identity.
    public var identity: String?
    /// Rows of this namespace.
    public var namespace: String?
    /// Rows of this event name.
    public var event: String?
    /// Rows with this outcome.
    public var outcome: AuditOutcome?
    /// Rows of this Engine.IO session id.
    public var sessionID: String?
    /// Rows whose id is greater than this (tailing).
    public var afterID: Int64?
    /// Rows whose id is at most this (a stable upper bound while tailing).
    public var throughID: Int64?
    /// At most this many rows (nil: no limit).
    public var limit: Int?
    /// Which rows come first (and so which rows a limit keeps).
    public var order: Order

    public init(
        since: Date? = nil, until: Date? = nil, kinds: [AuditKind] = [], identity: String? = nil,
        namespace: String? = nil, event: String? = nil, outcome: AuditOutcome? = nil, sessionID: String? = nil,
        afterID: Int64? = nil, throughID: Int64? = nil, limit: Int? = nil, order: Order = .oldestFirst
    ) {
        self.since = since
        self.until = until
        self.kinds = kinds
        self.identity = identity
        self.namespace = namespace
        self.event = event
        self.outcome = outcome
        self.sessionID = sessionID
        self.afterID = afterID
        self.throughID = throughID
        self.limit = limit
        self.order = order
    }

    /// The SQL and its arguments.
    func sql() -> (String, StatementArguments) {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        func add(_ condition: String, _ value: (any DatabaseValueConvertible)?) {
            conditions.append(condition)
            arguments.append(value)
        }
        if let since { add("time >= ?", Timestamp.format(since)) }
        if let until { add("time < ?", Timestamp.format(until)) }
        if !kinds.isEmpty {
            let unique = Array(Set(kinds.map(\.rawValue))).sorted()
            conditions.append("kind IN (\(Array(repeating: "?", count: unique.count).joined(separator: ", ")))")
            arguments.append(contentsOf: unique.map { $0 as (any DatabaseValueConvertible)? })
        }
        if let identity { add("identity = ?", identity) }
        if let namespace { add("namespace = ?", namespace) }
        if let event { add("event = ?", event) }
        if let outcome { add("outcome = ?", outcome.rawValue) }
        if let sessionID { add("sid = ?", sessionID) }
        if let afterID { add("id > ?", afterID) }
        if let throughID { add("id <= ?", throughID) }
        var sql = "SELECT \(AuditTable.selectColumns) FROM audit"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += order == .oldestFirst ? " ORDER BY id" : " ORDER BY id DESC"
        if let limit {
            sql += " LIMIT ?"
            arguments.append(max(0, limit))
        }
        return (sql, StatementArguments(arguments))
    }

    /// Runs the query on a connection.
    public func fetch(_ db: Database) throws -> [AuditEntry] {
        let (sql, arguments) = self.sql()
        return try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap(AuditTable.entry)
    }
}

extension SwitchyardDatabase {
    /// The audit rows matching `query` (rows of kinds this build does not know are skipped).
    public func audit(_ query: AuditQuery) throws -> [AuditEntry] {
        try read { db in try query.fetch(db) }
    }

    /// The highest audit row id ever written (0 when none): tail with `afterID` from here.
    public func latestAuditID() throws -> Int64 {
        try read { db in try AuditTable.latestID(db) }
    }

    /// How many rows the audit table holds.
    public func auditRowCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit") ?? 0 }
    }

    /// Rows since `since` counted per minute: the rows of `kinds`, and the `event` rows
    /// whose outcome is one of `eventOutcomes`, each group by kind, outcome and error kind.
    /// Counted by SQLite (one `GROUP BY` over the time index), not by reading the rows: the
    /// console's refusal chart asks for an hour of a busy log.
    public func auditCountsPerMinute(since: Date, kinds: [AuditKind], eventOutcomes: [AuditOutcome]) throws -> [AuditMinuteCount] {
        let kindNames = Array(Set(kinds.map(\.rawValue))).sorted()
        let outcomeNames = Array(Set(eventOutcomes.map(\.rawValue))).sorted()
        var alternatives: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = [Timestamp.format(since)]
        if !kindNames.isEmpty {
            alternatives.append("kind IN (\(Array(repeating: "?", count: kindNames.count).joined(separator: ", ")))")
            arguments += kindNames.map { $0 as (any DatabaseValueConvertible)? }
        }
        if !outcomeNames.isEmpty {
            alternatives.append("(kind = 'event' AND outcome IN (\(Array(repeating: "?", count: outcomeNames.count).joined(separator: ", "))))")
            arguments += outcomeNames.map { $0 as (any DatabaseValueConvertible)? }
        }
        guard !alternatives.isEmpty else { return [] }
        // `time` is `YYYY-MM-DDTHH:MM:SS.fffZ`: its first 16 characters are the minute.
        let sql = """
            SELECT substr(time, 1, 16) AS minute, kind, outcome, error_kind, count(*) AS n FROM audit
            WHERE time >= ? AND (\(alternatives.joined(separator: " OR ")))
            GROUP BY minute, kind, outcome, error_kind ORDER BY minute
            """
        return try read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).compactMap { row -> AuditMinuteCount? in
                guard let minuteText = row["minute"] as String?, let minute = Timestamp.parse(minuteText),
                    let kind = AuditKind(rawValue: row["kind"] as String? ?? "")
                else { return nil }
                return AuditMinuteCount(
                    minute: minute, kind: kind, outcome: (row["outcome"] as String?).flatMap(AuditOutcome.init(rawValue:)),
                    errorKind: row["error_kind"], count: row["n"])
            }
        }
    }
}

/// How many audit rows of one kind (and outcome and error kind) fell in one minute.
public struct AuditMinuteCount: Sendable, Hashable {
    /// The start of the minute.
    public var minute: Date
    public var kind: AuditKind
    public var outcome: AuditOutcome?
    public var errorKind: String?
    public var count: Int

    public init(minute: Date, kind: AuditKind, outcome: AuditOutcome?, errorKind: String?, count: Int) {
        self.minute = minute
        self.kind = kind
        self.outcome = outcome
        self.errorKind = errorKind
        self.count = count
    }
}
