import Foundation
import NIOCore
import SwitchyardJSON

/// Settings of a ``RedisBackplane``.
///
/// ```swift
/// var config = try RedisBackplaneConfiguration(url: "redis://:secret@redis:6379/0")
/// config.startDegraded = true          // serve locally if Redis is down at start
/// config.requestTimeout = .seconds(2)
/// ```
public struct RedisBackplaneConfiguration: Sendable {
    /// What the process is in the cluster.
    public enum Role: String, Sendable, Hashable {
        /// A server node: announces itself, receives broadcasts and answers requests.
        case node
        /// An operator tool (the CLI): publishes broadcasts, room operations and commands,
        /// and sends requests, but is never counted as a node and answers nothing.
        case client
    }

    /// Which socket.io Redis adapter the cluster speaks.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// `createAdapter` (`@socket.io/redis-adapter`): `PUBLISH`/`SUBSCRIBE`, request and
        /// response channels.
        case classic
        /// `createShardedAdapter`: Redis 7 sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`) with
        /// socket.io-adapter's `ClusterAdapter` messages, one channel per namespace and one
        /// response channel per node.
        case sharded
    }

    public var redis: RedisConfiguration
    public var mode: Mode = .classic
    /// Prefix of every channel and key (the socket.io adapter's `key` option).
    public var key: String = "socket.io"
    public var role: Role = .node
    /// Longest wait for other nodes' answers to a request.
    public var requestTimeout: TimeAmount = .seconds(5)
    /// How often a node announces itself.
    public var heartbeatInterval: TimeAmount = .seconds(5)
    /// Missed heartbeats after which a node is considered dead.
    public var heartbeatMissesBeforeExpiry: Int = 3
    /// When Redis cannot be reached at start: false fails ``RedisBackplane/start()`` with a
    /// clear error; true starts anyway (local delivery only, reported as an outage) and
    /// keeps reconnecting.
    public var startDegraded: Bool = false
    /// Anything the node wants other nodes (and the operator) to see in its heartbeat:
    /// host name, HTTP port, version.
    public var nodeInfo: JSONObject = [:]

    public init(redis: RedisConfiguration) {
        self.redis = redis
        self.nodeInfo = [
            "pid": .number(JSONNumber(Int(ProcessInfo.processInfo.processIdentifier))), "host": .string(ProcessInfo.processInfo.hostName),
        ]
    }

    /// Settings for `redis://[user:password@]host:port[/db]`.
    public init(url: String) throws(RedisConfigurationError) {
        self.init(redis: try RedisConfiguration(url: url))
    }

    /// How long a silent node is still counted.
    public var nodeExpiry: TimeAmount {
        .nanoseconds(heartbeatInterval.nanoseconds * Int64(max(1, heartbeatMissesBeforeExpiry)))
    }
}

/// Why the backplane could not start.
public enum RedisBackplaneError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Redis could not be reached (or refused AUTH/SELECT) at start, and `startDegraded` is off.
    case unreachable(url: String, reason: String)
    /// ``RedisBackplane/start()`` was called twice, or after shutdown.
    case alreadyStarted

    public var description: String {
        switch self {
        case .unreachable(let url, let reason):
            return "Redis backplane: cannot use \(url): \(reason) (set startDegraded to serve locally until Redis is back)"
        case .alreadyStarted:
            return "Redis backplane: already started"
        }
    }
}

/// An interruption of the backplane: from the first lost connection until both the
/// publishing and the subscribing connection are back (and resubscribed).
public struct RedisOutage: Sendable, Hashable {
    public var started: Date
    /// Set on recovery.
    public var ended: Date?
    /// The first error seen.
    public var reason: String

    public var duration: TimeInterval? { ended.map { $0.timeIntervalSince(started) } }
}

/// What the backplane is doing, for health endpoints and metrics.
public struct RedisBackplaneStatus: Sendable, Hashable {
    /// Both connections ready.
    public var isConnected: Bool
    /// The outage in progress, if any.
    public var outage: RedisOutage?
    /// Outages since start (a degraded start counts as one).
    public var outageCount: UInt64
    /// Messages (broadcasts, room operations, requests, responses) handed to Redis.
    public var published: UInt64
    /// Messages that could not be buffered (outbound buffer full) and were dropped.
    public var dropped: UInt64
    /// Messages received from other nodes and emitters.
    public var received: UInt64
    /// Messages received that could not be decoded.
    public var malformed: UInt64
    /// Other nodes currently alive.
    public var aliveNodes: [String]
    public var publisher: RedisClientStatistics
    public var subscriber: RedisClientStatistics
}
