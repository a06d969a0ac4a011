import NIOCore

/// One Redis reply (RESP2), as hiredis's reader parses it.
public enum RedisValue: Sendable, Hashable, CustomStringConvertible {
    /// A status reply (`+OK`).
    case simpleString(String)
    /// An error reply (`-ERR …`).
    case error(String)
    case integer(Int64)
    /// A bulk string, raw bytes.
    case bulkString(ByteBuffer)
    /// A nil bulk string or nil array.
    case null
    case array([RedisValue])

    /// The reply as text (status and bulk strings).
    public var string: String? {
        switch self {
        case .simpleString(let string): return string
        case .bulkString(let bytes): return String(buffer: bytes)
        default: return nil
        }
    }

    public var array: [RedisValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .simpleString(let string): return "+\(string)"
        case .error(let message): return "-\(message)"
        case .integer(let value): return ":\(value)"
        case .bulkString(let bytes): return "$\(String(decoding: bytes.readableBytesView.prefix(64), as: UTF8.self))"
        case .null: return "(nil)"
        case .array(let elements): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

/// One argument of a Redis command: text or bytes.
public enum RedisArgument: Sendable, ExpressibleByStringLiteral {
    case string(String)
    case bytes(ByteBuffer)

    public init(stringLiteral value: String) { self = .string(value) }

    var byteCount: Int {
        switch self {
        case .string(let string): return string.utf8.count
        case .bytes(let bytes): return bytes.readableBytes
        }
    }
}
