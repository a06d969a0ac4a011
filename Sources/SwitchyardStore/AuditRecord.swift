import Foundation
import SwitchyardJSON

/// One row of the audit log, as the server produces it.
///
/// Every field but `time` and `kind` is optional; fill those that the kind documents
/// (`docs/DATABASE.md` has the table) and leave the rest nil. Each field maps to one
/// column of the `audit` table, named in its comment.
///
/// ```swift
/// var row = AuditRecord(kind: .disconnect)
/// row.sessionID = sid
/// row.namespace = "/chat"
/// row.identity = "alice"
/// row.reason = "transport close"
/// row.durationMilliseconds = 12_500
/// sink.record(row)
/// ```
public struct AuditRecord: Sendable, Hashable {
    /// When it happened (`time`, stored in UTC with millisecond precision).
    public var time: Date
    /// What happened (`kind`).
    public var kind: AuditKind
    /// Engine.IO session id (`sid`).
    public var sessionID: String?
    /// Socket.IO socket id within the namespace (`socket_id`).
    public var socketID: String?
    /// Socket.IO namespace, `/` included (`namespace`).
    public var namespace: String?
    /// The authenticated user (`identity`).
    public var identity: String?
    /// The user's tenant (`tenant`).
    public var tenant: String?
    /// Client address, `ip:port` (`remote_address`).
    public var remoteAddress: String?
    /// The client's `User-Agent` header (`user_agent`).
    public var userAgent: String?
    /// `polling` or `websocket` (`transport`).
    public var transport: String?
    /// Socket.IO event name (`event`).
    public var event: String?
    /// The operation key that handled the event (`operation`).
    public var operation: String?
    /// How it ended (`outcome`).
    public var outcome: AuditOutcome?
    /// The error kind sent to the client, e.g. `validation` (`error_kind`).
    public var errorKind: String?
    /// A reason code or text: disconnect reason, refusal code, kick reason (`reason`).
    public var reason: String?
    /// Operation latency in microseconds (`latency_us`).
    public var latencyMicroseconds: Int?
    /// Connection duration in milliseconds, on disconnect (`duration_ms`).
    public var durationMilliseconds: Int?
    /// Bytes received from the client (`bytes_in`).
    public var bytesIn: Int?
    /// Bytes sent to the client (`bytes_out`).
    public var bytesOut: Int?
    /// Events received from the client (`events_in`).
    public var eventsIn: Int?
    /// Events sent to the client (`events_out`).
    public var eventsOut: Int?
    /// Who did it, for operator actions, e.g. `admin@127.0.0.1` (`actor`).
    public var actor: String?
    /// Anything else, as a JSON value (`detail`, stored as JSON text).
    public var detail: JSONValue?
    /// The room an operator action or a violation concerns (`room`).
    public var room: String?

    /// A record of `kind` at `time` (now by default); every other field is nil.
    public init(kind: AuditKind, time: Date = Date()) {
        self.time = time
        self.kind = kind
    }
}
