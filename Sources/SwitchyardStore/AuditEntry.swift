/// An audit record as stored: the record and its row id.
///
/// Ids increase with every row written and are never reused, so "rows after id N" is how
/// `switchyard audit --follow` tails the log.
public struct AuditEntry: Sendable, Hashable {
    /// The row id (`id` column).
    public var id: Int64
    /// The record (times read back have millisecond precision).
    public var record: AuditRecord

    public init(id: Int64, record: AuditRecord) {
        self.id = id
        self.record = record
    }
}
