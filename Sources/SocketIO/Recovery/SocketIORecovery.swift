import NIOCore

/// Settings of connection state recovery (socket.io ≥ 4.6 `connectionStateRecovery`).
///
/// Off unless configured (``SocketIOConfiguration/connectionStateRecovery`` is nil). When on,
/// the CONNECT reply carries a private session id (`pid`), events that reach clients carry
/// an offset as their last argument, and a client that lost its transport for a recoverable
/// reason can come back within ``maxDisconnectionDuration`` with its socket id, its rooms and
/// the events it missed. See docs/RECOVERY.md.
public struct SocketIORecoveryConfiguration: Sendable, Hashable {
    /// How long a disconnected session (and the packets it may need) is kept, in milliseconds.
    public var maxDisconnectionDuration: Int64 = 120_000
    /// Whether a recovered socket skips the namespace's connect decision. socket.io defaults
    /// to true; Switchyard defaults to false, so a user banned while away does not slip back in.
    public var skipMiddlewares = false
    /// Most missed packets one session may have; past it the session is not recoverable.
    public var maxPacketsPerSession = 1000

    public init(maxDisconnectionDuration: Int64 = 120_000, skipMiddlewares: Bool = false, maxPacketsPerSession: Int = 1000) {
        self.maxDisconnectionDuration = maxDisconnectionDuration
        self.skipMiddlewares = skipMiddlewares
        self.maxPacketsPerSession = maxPacketsPerSession
    }
}

extension SocketIODisconnectReason {
    /// Whether a socket that left for this reason keeps a recoverable session.
    ///
    /// socket.io's list (packages/socket.io/lib/socket.ts, `RECOVERABLE_DISCONNECT_REASONS`)
    /// minus `forced server close`: here that reason only comes from a server decision
    /// (a kick by Engine.IO session id, `disconnect(close: true)`, the connect timeout), which
    /// must not be undone by reconnecting.
    public var isRecoverable: Bool {
        switch self {
        case .transportClose, .transportError, .pingTimeout, .forcedClose, .serverShuttingDown: return true
        case .parseError, .serverNamespaceDisconnect, .clientNamespaceDisconnect, .forcedServerClose: return false
        }
    }
}

/// A socket that came back: how long it was away and how many packets it was sent again.
public struct SocketIORecovery: Sendable, Hashable {
    /// Milliseconds between the disconnect and the restore.
    public var disconnectedFor: Int64
    /// Packets replayed before the CONNECT reply.
    public var replayed: Int

    public init(disconnectedFor: Int64, replayed: Int) {
        self.disconnectedFor = disconnectedFor
        self.replayed = replayed
    }
}

/// Why a CONNECT that asked for recovery (it carried a `pid`) became a new connection.
public enum SocketIORecoveryFailure: String, Sendable, Hashable, CaseIterable, Error {
    /// No session with that pid (never existed, already used, or expired and swept).
    case unknownSession = "unknown session"
    /// The session is older than `maxDisconnectionDuration`.
    case expired
    /// The offset is not one this server handed out, or it is no longer held.
    case unknownOffset = "unknown offset"
    /// Packets the session needs were already dropped.
    case packetsDropped = "packets dropped"
    /// More missed packets than `maxPacketsPerSession`.
    case tooManyPackets = "too many packets"
    /// The session belongs to another namespace.
    case wrongNamespace = "wrong namespace"
}

/// A packet as the recovery log keeps it: one EVENT emitted to clients, its selection, its
/// offset and its position in the log.
public struct SocketIORecoveryPacket: Sendable, Equatable {
    /// Position in the log (increasing, never reused, kept across restarts).
    public var sequence: UInt64
    /// The opaque string appended as the event's last argument.
    public var offset: String
    public var namespace: String
    public var event: String
    /// The arguments without the offset.
    public var arguments: SocketIOArguments
    /// Target rooms; empty means every socket of the namespace.
    public var rooms: Set<String>
    public var except: Set<String>
    /// Wall-clock milliseconds since 1970.
    public var emittedAt: Int64
    /// Sent to every node of a cluster (their logs hold it too), not only this one's sockets.
    public var broadcast = false
    /// For a plain emit, as recorded: the offset of the last broadcast recorded before it.
    public var boundary: String?

    public init(
        sequence: UInt64, offset: String, namespace: String, event: String, arguments: SocketIOArguments,
        rooms: Set<String>, except: Set<String>, emittedAt: Int64
    ) {
        self.sequence = sequence
        self.offset = offset
        self.namespace = namespace
        self.event = event
        self.arguments = arguments
        self.rooms = rooms
        self.except = except
        self.emittedAt = emittedAt
    }

    /// Whether a socket in `rooms` would have received this packet (socket.io-adapter's
    /// `shouldIncludePacket`: in one of the target rooms, or no target rooms; in none of the
    /// excluded ones).
    public func reaches(rooms socketRooms: [String]) -> Bool {
        let included = rooms.isEmpty || socketRooms.contains { rooms.contains($0) }
        return included && !socketRooms.contains { except.contains($0) }
    }
}

/// A socket that left for a recoverable reason, as kept until it comes back or expires.
public struct SocketIOPersistedSession: Sendable {
    public var sid: String
    public var pid: String
    public var namespace: String
    /// Every room it was in, its own id room included.
    public var rooms: [String]
    /// Wall-clock milliseconds since 1970.
    public var disconnectedAt: Int64
    /// The offset of the last packet sent to it (nil: none was).
    public var lastOffset: String?
    /// The log's last sequence number when it joined: nothing up to it was for this socket.
    public var firstSequence: UInt64
    /// The socket's ``SocketIOSocket/userInfo`` (in memory only; not kept across restarts).
    public var userInfo: (any Sendable)?
    /// Read back from a snapshot of another process, or from another node: ``userInfo`` is
    /// gone, so the connect decision runs again even with `skipMiddlewares`.
    public var fromSnapshot = false
    /// The epoch of the log it was persisted against (set when persisted).
    public var epoch = ""
    /// The offset of the last broadcast its log held before the last packet sent to it (set
    /// when persisted): where a node it moves to starts the replay when the client's last
    /// offset is a plain emit that only the old node knows.
    public var lastBroadcastOffset: String?
    /// The last plain emits sent to it, by offset, each with the last broadcast its node had
    /// recorded before it ("" for none): how another node reads those offsets.
    public var emitBoundaries: [String: String] = [:]

    public init(
        sid: String, pid: String, namespace: String, rooms: [String], disconnectedAt: Int64, lastOffset: String?,
        firstSequence: UInt64, userInfo: (any Sendable)? = nil
    ) {
        self.sid = sid
        self.pid = pid
        self.namespace = namespace
        self.rooms = rooms
        self.disconnectedAt = disconnectedAt
        self.lastOffset = lastOffset
        self.firstSequence = firstSequence
        self.userInfo = userInfo
    }
}

/// A session granted back, with what must be replayed.
public struct SocketIORestoredSession: Sendable {
    public var session: SocketIOPersistedSession
    /// Replay starts after this sequence number.
    public var after: UInt64
    /// The offset the client sent back (nil: none).
    public var offset: String?
    /// Milliseconds the socket was away.
    public var disconnectedFor: Int64
    /// The packets it missed, in order (as of the restore).
    public var missed: [SocketIORecoveryPacket]
    /// A session from another node: only broadcasts are replayed.
    public var broadcastsOnly = false
}
