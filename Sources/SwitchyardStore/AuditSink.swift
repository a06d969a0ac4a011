/// Where the server sends audit records.
///
/// `record(_:)` is called on NIO event loops, for every event at level `all`: an
/// implementation never blocks, never throws, and may be called from any thread at once.
/// ``AuditWriter`` is the one that writes to the database; ``DiscardingAuditSink``
/// drops everything (audit off, tests).
public protocol AuditSink: Sendable {
    /// Takes a record; returns at once.
    func record(_ record: AuditRecord)
}

/// An ``AuditSink`` that keeps nothing.
public struct DiscardingAuditSink: AuditSink {
    public init() {}
    public func record(_ record: AuditRecord) {}
}
