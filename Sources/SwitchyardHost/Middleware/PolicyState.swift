import NIOConcurrencyHelpers
import NIOCore

/// State the chains share across sockets and event loops: rate-limit buckets for the
/// `identity` and `address` scopes, and connection counts for connection limits.
final class PolicyState: Sendable {
    private struct Buckets {
        var entries: [String: TokenBucket] = [:]
        var takesSinceSweep = 0
    }

    private let buckets = NIOLockedValueBox(Buckets())
    private let connections = NIOLockedValueBox([String: Int]())

    /// Takes a token from the shared bucket `key` (created full on first use). Idle, full
    /// buckets are forgotten every few thousand takes, so memory follows active clients.
    func take(key: String, limit: RateLimit, now: NIODeadline) -> TokenBucket.Decision {
        buckets.withLockedValue { state in
            state.takesSinceSweep += 1
            if state.takesSinceSweep >= 4096 {
                state.takesSinceSweep = 0
                state.entries = state.entries.filter { _, bucket in
                    var bucket = bucket
                    return !bucket.isFull(now: now)
                }
            }
            var bucket = state.entries[key] ?? TokenBucket(rate: limit.rate, burst: limit.burst, now: now)
            let decision = bucket.take(now: now)
            state.entries[key] = bucket
            return decision
        }
    }

    var sharedBucketCount: Int { buckets.withLockedValue { $0.entries.count } }

    /// Reserves a place for a socket in `namespace` from `address`, within the limits; nil
    /// when full. The slot gives the place back when released or deallocated.
    func reserveConnection(namespace: String, address: String, total: Int?, perAddress: Int?) -> ConnectionSlot? {
        let totalKey = "\(namespace)\u{0}*"
        let addressKey = "\(namespace)\u{0}\(address)"
        let reserved = connections.withLockedValue { counts -> Bool in
            if let total, counts[totalKey, default: 0] >= total { return false }
            if let perAddress, counts[addressKey, default: 0] >= perAddress { return false }
            counts[totalKey, default: 0] += 1
            counts[addressKey, default: 0] += 1
            return true
        }
        return reserved ? ConnectionSlot(state: self, keys: [totalKey, addressKey]) : nil
    }

    fileprivate func release(_ keys: [String]) {
        connections.withLockedValue { counts in
            for key in keys {
                let remaining = counts[key, default: 1] - 1
                counts[key] = remaining > 0 ? remaining : nil
            }
        }
    }

    func connectionCount(namespace: String, address: String? = nil) -> Int {
        connections.withLockedValue { $0["\(namespace)\u{0}\(address ?? "*")", default: 0] }
    }
}

/// A counted place under a connection limit. Released exactly once: explicitly, or when the
/// last reference goes (a CONNECT accepted for a client that closed meanwhile).
final class ConnectionSlot: @unchecked Sendable {
    private let state: PolicyState
    private let keys: [String]
    private let released = NIOLockedValueBox(false)

    fileprivate init(state: PolicyState, keys: [String]) {
        self.state = state
        self.keys = keys
    }

    func release() {
        let first = released.withLockedValue { released -> Bool in
            defer { released = true }
            return !released
        }
        if first { state.release(keys) }
    }

    deinit { release() }
}

/// The sockets of each identity on this node, by namespace (for kicks by identity and
/// restoring room memberships).
public final class IdentityIndex: Sendable {
    private let entries = NIOLockedValueBox([String: Set<Key>]())

    struct Key: Hashable {
        var namespace: String
        var socket: String
    }

    func add(identity: String, namespace: String, socket: String) {
        entries.withLockedValue { $0[identity, default: []].insert(Key(namespace: namespace, socket: socket)) }
    }

    func remove(identity: String, namespace: String, socket: String) {
        entries.withLockedValue { entries in
            entries[identity]?.remove(Key(namespace: namespace, socket: socket))
            if entries[identity]?.isEmpty == true { entries[identity] = nil }
        }
    }

    /// The socket ids of an identity in a namespace.
    public func sockets(of identity: String, in namespace: String) -> [String] {
        entries.withLockedValue { $0[identity]?.filter { $0.namespace == namespace }.map(\.socket) ?? [] }
    }
}
