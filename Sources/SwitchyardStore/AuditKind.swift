/// What an audit row records. The raw value is what the `kind` column holds.
///
/// `docs/DATABASE.md` lists the columns each kind fills. New kinds may be added (the
/// column is plain text, so that needs no migration); raw values are never renamed.
public enum AuditKind: String, Sendable, CaseIterable {
    /// A socket joined a namespace (Socket.IO CONNECT accepted).
    case connect
    /// A connection or namespace join was refused; `reason` holds the code.
    case connectRefused = "connect_refused"
    /// A socket left; `reason` holds the Socket.IO reason (`transport close`, …).
    case disconnect
    /// The Engine.IO session moved from polling to WebSocket.
    case upgrade
    /// An event handled by an operation: outcome, error kind, latency.
    case event
    /// A guard refused an event or a join.
    case guardDenied = "guard_denied"
    /// A rate limit refused an event.
    case rateLimited = "rate_limited"
    /// A frame, payload or event exceeded its size limit.
    case sizeViolation = "size_violation"
    /// An operator disconnected a socket (`actor` says who).
    case kick
    /// An operator emptied a room and its persisted memberships.
    case purge
    /// An operator broadcast an event.
    case adminBroadcast = "admin_broadcast"
    /// An operator (the Admin UI) made sockets join a room; `room`, and `reason` the room
    /// that selected them (null: the whole namespace).
    case adminJoin = "admin_join"
    /// An operator (the Admin UI) made sockets leave a room; as `admin_join`.
    case adminLeave = "admin_leave"
    /// A plugin was loaded.
    case pluginLoaded = "plugin_loaded"
    /// A plugin failed to load or trapped.
    case pluginFailed = "plugin_failed"
    /// The Redis backplane became unreachable (or came back; see `detail`).
    case backplaneOutage = "backplane_outage"
    /// The audit writer's queue was full: `detail.dropped` records were not written.
    case auditOverflow = "audit_overflow"
}

/// How an audited action ended. The raw value is what the `outcome` column holds.
public enum AuditOutcome: String, Sendable, CaseIterable {
    /// The operation succeeded.
    case ok
    /// The operation ran and failed (`error_kind` says how).
    case error
    /// The action was refused before it ran (guard, rate limit, size, authentication).
    case refused
}
