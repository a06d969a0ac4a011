/// The Redis channel and key names of a cluster, derived from one key prefix (`socket.io`
/// by default, the socket.io Redis adapter's `key` option).
///
/// | what | name | as in |
/// | --- | --- | --- |
/// | broadcast to a namespace | `<key>#<nsp>#` | `@socket.io/redis-adapter`, `-emitter` |
/// | broadcast to one room | `<key>#<nsp>#<room>#` | same |
/// | request to every node | `<key>-request#<nsp>#` | same |
/// | response to one node | `<key>-response#<nsp>#<uid>#` | the adapter's specific response channel |
/// | responses (shared) | `<key>-response#<nsp>#` | the adapter's default response channel |
/// | request twin (Switchyard) | `<key>-switchyard#request#<nsp>#` | Switchyard only: counts Switchyard subscribers |
/// | heartbeats (Switchyard) | `<key>-switchyard#heartbeat#` | Switchyard only |
/// | node registry key (Switchyard) | `<key>-switchyard#node#<uid>` | Switchyard only |
public struct RedisChannels: Sendable, Hashable {
    public let key: String

    public init(key: String = "socket.io") {
        self.key = key
    }

    public func broadcast(namespace: String) -> String { "\(key)#\(namespace)#" }

    public func broadcast(namespace: String, room: String) -> String { "\(key)#\(namespace)#\(room)#" }

    public func request(namespace: String) -> String { "\(key)-request#\(namespace)#" }

    public func response(namespace: String, uid: String) -> String { "\(key)-response#\(namespace)#\(uid)#" }

    /// The adapter's shared response channel (used when a request carries no uid).
    public func response(namespace: String) -> String { "\(key)-response#\(namespace)#" }

    /// Switchyard's twin of a namespace's request channel: every Switchyard node subscribes
    /// to both, nothing is published on it, so `PUBSUB NUMSUB` of the request channel minus
    /// this one counts the socket.io (Node) nodes that will answer a request.
    public func switchyardRequest(namespace: String) -> String { "\(key)-switchyard#request#\(namespace)#" }

    public var heartbeat: String { "\(key)-switchyard#heartbeat#" }

    public func nodeKey(uid: String) -> String { "\(key)-switchyard#node#\(uid)" }

    /// A recoverable session (connection state recovery), by its private session id.
    public func recoverySessionKey(pid: String) -> String { "\(key)-switchyard#recovery#\(pid)" }

    // MARK: Patterns (glob-escaped prefix)

    var broadcastPattern: String { Self.globEscaped(key) + "#*" }
    var requestPattern: String { Self.globEscaped(key) + "-request#*" }
    /// Every response channel: the adapter answers on the shared `<key>-response#<nsp>#` by
    /// default (`publishOnSpecificResponseChannel: false`), and always there for server-side
    /// emit acknowledgements.
    var responsePattern: String { Self.globEscaped(key) + "-response#*" }
    var nodeKeyPattern: String { Self.globEscaped(key) + "-switchyard#node#*" }

    // MARK: Parsing

    var broadcastPrefix: String { "\(key)#" }
    var requestPrefix: String { "\(key)-request#" }
    var responsePrefix: String { "\(key)-response#" }
    var nodeKeyPrefix: String { "\(key)-switchyard#node#" }

    /// The namespace a request channel names (`<key>-request#/chat#` → `/chat`).
    func namespace(ofRequestChannel channel: String) -> String? {
        guard channel.hasPrefix(requestPrefix), channel.hasSuffix("#"), channel.count > requestPrefix.count + 1 else { return nil }
        return String(channel.dropFirst(requestPrefix.count).dropLast())
    }

    static func globEscaped(_ text: String) -> String {
        var result = ""
        for character in text {
            if "*?[]\\".contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }
}
