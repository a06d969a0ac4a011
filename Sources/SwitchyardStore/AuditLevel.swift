/// How much the audit log keeps, from nothing to every event.
///
/// ```swift
/// AuditLevel.failures.admits(AuditRecord(kind: .connect))   // true
/// var event = AuditRecord(kind: .event)
/// event.outcome = .ok
/// AuditLevel.failures.admits(event)                         // false
/// event.outcome = .error
/// AuditLevel.failures.admits(event)                         // true
/// ```
public enum AuditLevel: String, Sendable, CaseIterable {
    /// Nothing is written.
    case off
    /// Every row except events: connect, refusals, disconnect, upgrade, and every
    /// violation, admin, plugin, backplane and overflow row.
    case connections
    /// `connections`, plus events whose outcome is not `ok` (an event row without an
    /// outcome counts as not ok).
    case failures
    /// Everything, including every successful event.
    case all

    /// Whether a record is written at this level.
    @inlinable
    public func admits(_ record: AuditRecord) -> Bool {
        admits(record.kind, outcome: record.outcome)
    }

    /// Whether a record of this kind and outcome is written at this level.
    @inlinable
    public func admits(_ kind: AuditKind, outcome: AuditOutcome?) -> Bool {
        switch self {
        case .off: return false
        case .all: return true
        case .connections: return kind != .event
        case .failures: return kind != .event || outcome != .ok
        }
    }
}
