/// Where the server sends audit records.
///
/// `record(_:)` is called on NIO event loops, for every event at level `all`: an
/// implementation never blocks, never throws, and may be called from any thread at once.
/// ``AuditWriter`` is the one that writes to the database; ``DiscardingAuditSink``
/// drops everything (audit off, tests).
public protocol AuditSink: Sendable {
    /// Takes a record; returns at once.
    func record(_ record: AuditRecord)

    /// Whether a record of this kind and outcome would be kept: callers ask first so that
    /// a record the level drops is never built (an event is on the hot path). The answer
    /// must not change during the sink's life: the host asks about `.event` rows once, when
    /// it starts, and keeps the answers.
    func admits(_ kind: AuditKind, outcome: AuditOutcome?) -> Bool
}

extension AuditSink {
    public func admits(_ kind: AuditKind, outcome: AuditOutcome?) -> Bool { true }
}

/// An ``AuditSink`` that keeps nothing.
public struct DiscardingAuditSink: AuditSink {
    public init() {}
    public func record(_ record: AuditRecord) {}
    public func admits(_ kind: AuditKind, outcome: AuditOutcome?) -> Bool { false }
}
