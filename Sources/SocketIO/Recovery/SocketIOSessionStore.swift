import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The recovery log and sessions of one server, shared by every event loop: a
/// ``SocketIORecoveryState`` behind a lock, with the clock injected.
public final class SocketIOSessionStore: Sendable {
    public let configuration: SocketIORecoveryConfiguration
    private let state: NIOLockedValueBox<SocketIORecoveryState>
    private let clock: @Sendable () -> Int64

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

    public func record(namespace: String, event: String, arguments: SocketIOArguments, rooms: Set<String>, except: Set<String>)
        -> SocketIORecoveryPacket
    {
        let now = clock()
        return state.withLockedValue {
            $0.record(namespace: namespace, event: event, arguments: arguments, rooms: rooms, except: except, now: now)
        }
    }

    public func persist(_ session: SocketIOPersistedSession) {
        let now = clock()
        state.withLockedValue { $0.persist(session, now: now) }
    }

    public func restore(pid: String, namespace: String, offset: String?) -> Result<SocketIORestoredSession, SocketIORecoveryFailure> {
        let now = clock()
        return state.withLockedValue { $0.restore(pid: pid, namespace: namespace, offset: offset, now: now) }
    }

    /// The packets after `after` for these rooms, and the last sequence number looked at.
    public func missedPackets(namespace: String, rooms: [String], after: UInt64) -> (
        Result<[SocketIORecoveryPacket], SocketIORecoveryFailure>, through: UInt64
    ) {
        state.withLockedValue { ($0.missedPackets(namespace: namespace, rooms: rooms, after: after), $0.lastSequence) }
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
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    static func randomEpoch() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt32, radix: 36)
    }
}
