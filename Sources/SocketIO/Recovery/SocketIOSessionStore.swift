import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where sessions are shared with other nodes (the Redis backplane implements it): every
/// persisted session is offered to it, and a restore takes the session from it, so a client
/// can come back on any node, once.
public protocol SocketIORecoverySessionMirror: Sendable {
    /// A socket left for a recoverable reason: keep its session for `ttl` milliseconds.
    func keep(_ session: SocketIOPersistedSession, ttl: Int64)
    /// Takes the session out (atomically: one taker wins). `found` is nil when no node has
    /// it; `available` is false when the mirror could not be asked (then the local copy
    /// decides).
    func take(pid: String, completion: @escaping @Sendable (_ found: SocketIOPersistedSession?, _ available: Bool) -> Void)
}

/// The recovery log and sessions of one server, shared by every event loop: a
/// ``SocketIORecoveryState`` behind a lock, with the clock injected.
public final class SocketIOSessionStore: Sendable {
    public let configuration: SocketIORecoveryConfiguration
    private let state: NIOLockedValueBox<SocketIORecoveryState>
    private let clock: @Sendable () -> Int64
    private let mirrorBox = NIOLockedValueBox<(any SocketIORecoverySessionMirror)?>(nil)

    /// Shares sessions across nodes (set by a cluster backplane).
    public var mirror: (any SocketIORecoverySessionMirror)? {
        get { mirrorBox.withLockedValue { $0 } }
        set { mirrorBox.withLockedValue { $0 = newValue } }
    }

    /// A store with an empty log. `epoch` defaults to a random one; `clock` to wall-clock
    /// milliseconds since 1970.
    public init(
        configuration: SocketIORecoveryConfiguration, epoch: String? = nil,
        clock: @escaping @Sendable () -> Int64 = SocketIOSessionStore.wallClock
    ) {
        self.configuration = configuration
        self.clock = clock
        self.state = NIOLockedValueBox(SocketIORecoveryState(configuration: configuration, epoch: epoch ?? Self.randomEpoch()))
    }

    /// A store carrying on from a snapshot (sessions persisted by a previous process).
    public init(state: SocketIORecoveryState, clock: @escaping @Sendable () -> Int64 = SocketIOSessionStore.wallClock) {
        self.configuration = state.configuration
        self.clock = clock
        self.state = NIOLockedValueBox(state)
    }

    public var now: Int64 { clock() }

    public func record(
        namespace: String, event: String, arguments: SocketIOArguments, rooms: Set<String>, except: Set<String>, broadcast: Bool = false,
        offset: String? = nil
    ) -> SocketIORecoveryPacket {
        let now = clock()
        return state.withLockedValue {
            $0.record(
                namespace: namespace, event: event, arguments: arguments, rooms: rooms, except: except, now: now, broadcast: broadcast,
                offset: offset)
        }
    }

    public func persist(_ session: SocketIOPersistedSession) {
        let now = clock()
        let persisted = state.withLockedValue { state -> SocketIOPersistedSession in
            state.persist(session, now: now)
            return state.session(pid: session.pid) ?? session
        }
        mirror?.keep(persisted, ttl: configuration.maxDisconnectionDuration)
    }

    /// A restore that asks the mirror first when there is one: the mirror's copy (taken out,
    /// so no other node restores it) wins; the local copy serves when the mirror is
    /// unreachable; a session the mirror no longer has was restored elsewhere (or expired).
    public func restore(
        pid: String, namespace: String, offset: String?,
        completion: @escaping @Sendable (Result<SocketIORestoredSession, SocketIORecoveryFailure>) -> Void
    ) {
        guard let mirror else { return completion(restore(pid: pid, namespace: namespace, offset: offset)) }
        mirror.take(pid: pid) { found, available in
            guard available else { return completion(self.restore(pid: pid, namespace: namespace, offset: offset)) }
            let now = self.clock()
            let result = self.state.withLockedValue { state -> Result<SocketIORestoredSession, SocketIORecoveryFailure> in
                let local = state.takeSession(pid: pid)
                guard var session = found else { return .failure(.unknownSession) }
                // Ours: keep what only this process knows (userInfo).
                if let local, local.epoch == session.epoch { session = local }
                state.adopt(session)
                return state.restore(pid: pid, namespace: namespace, offset: offset, now: now)
            }
            completion(result)
        }
    }

    public func restore(pid: String, namespace: String, offset: String?) -> Result<SocketIORestoredSession, SocketIORecoveryFailure> {
        let now = clock()
        return state.withLockedValue { $0.restore(pid: pid, namespace: namespace, offset: offset, now: now) }
    }

    /// The packets after `after` for these rooms, and the last sequence number looked at.
    public func missedPackets(namespace: String, rooms: [String], after: UInt64, broadcastsOnly: Bool = false) -> (
        Result<[SocketIORecoveryPacket], SocketIORecoveryFailure>, through: UInt64
    ) {
        state.withLockedValue {
            ($0.missedPackets(namespace: namespace, rooms: rooms, after: after, broadcastsOnly: broadcastsOnly), $0.lastSequence)
        }
    }

    public func snapshot() -> SocketIORecoveryState.Snapshot {
        let now = clock()
        return state.withLockedValue { $0.snapshot(now: now) }
    }

    /// The last sequence number handed out (a socket's ``SocketIOPersistedSession/firstSequence``).
    public var lastSequence: UInt64 { state.withLockedValue { $0.lastSequence } }

    public var sessionCount: Int { state.withLockedValue { $0.sessionCount } }
    public var packetCount: Int { state.withLockedValue { $0.packetCount } }

    @Sendable public static func wallClock() -> Int64 {
        SocketIOSocket.wallClockMilliseconds()
    }

    static func randomEpoch() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt32, radix: 36)
    }
}
