/// The Redis channel and key names of a cluster, derived from one key prefix (`socket.io`
/// by default, the socket.io Redis adapter's `key` option).
///
/// | what | name | as in |
/// | --- | --- | --- |
/// | broadcast to a namespace | `<key>#<nsp>#` | `@socket.io/redis-adapter`, `-emitter` |
/// | broadcast to one room | `<key>#<nsp>#<room>#` | same |
/// | request to every node | `<key>-request#<nsp>#` | same |
/// | response to one node | `<key>-response#<nsp>#<uid>#` | the adapter's specific response channel |
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

    public var heartbeat: String { "\(key)-switchyard#heartbeat#" }

    public func nodeKey(uid: String) -> String { "\(key)-switchyard#node#\(uid)" }

    // MARK: Patterns (glob-escaped prefix)

    var broadcastPattern: String { Self.globEscaped(key) + "#*" }
    var requestPattern: String { Self.globEscaped(key) + "-request#*" }
    func responsePattern(uid: String) -> String { Self.globEscaped(key) + "-response#*#" + Self.globEscaped(uid) + "#" }
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
