import NIOCore
import SwitchyardJSON

/// A MessagePack value, as the socket.io Redis adapter (`notepack.io`) writes them.
///
/// Only what crosses the backplane is modelled: maps keep their order (keys may be any
/// value, as the format allows), `bin` keeps its bytes, and extension values keep their
/// type and bytes so a decoder never has to guess.
///
/// ```swift
/// let value: MessagePackValue = .array([.string("uid"), .map([(.string("nsp"), .string("/"))])])
/// var buffer = ByteBuffer()
/// value.write(to: &buffer)            // 0x92 0xa3 'u' 'i' 'd' 0x81 …
/// try MessagePackValue(decoding: buffer) == value
/// ```
public enum MessagePackValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    /// An unsigned integer larger than `Int64.max` (the decoder uses ``int(_:)`` otherwise).
    case uint(UInt64)
    case float(Float)
    case double(Double)
    case string(String)
    case binary(ByteBuffer)
    case array([MessagePackValue])
    /// Key/value pairs in wire order.
    case map([MessagePackPair])
    case extended(type: Int8, data: ByteBuffer)

    /// A map from string keys.
    public static func object(_ members: [(String, MessagePackValue)]) -> MessagePackValue {
        .map(members.map { MessagePackPair(key: .string($0.0), value: $0.1) })
    }

    /// The value of a string key of a map.
    public subscript(key: String) -> MessagePackValue? {
        guard case .map(let pairs) = self else { return nil }
        for pair in pairs where pair.key == .string(key) { return pair.value }
        return nil
    }

    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    public var arrayValue: [MessagePackValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    /// The value as an integer, when it is one that fits (floats with no fraction count).
    public var intValue: Int? {
        switch self {
        case .int(let value): return Int(exactly: value)
        case .uint(let value): return Int(exactly: value)
        case .double(let value): return Int(exactly: value)
        case .float(let value): return Int(exactly: value)
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}

/// One member of a MessagePack map.
public struct MessagePackPair: Sendable, Hashable {
    public var key: MessagePackValue
    public var value: MessagePackValue

    public init(key: MessagePackValue, value: MessagePackValue) {
        self.key = key
        self.value = value
    }
}

/// Why bytes are not one MessagePack value.
public enum MessagePackError: Error, Hashable, Sendable {
    /// The input ended inside a value.
    case truncated
    /// A byte that starts no MessagePack type (`0xc1`).
    case invalidTypeByte(UInt8)
    /// A `str` that is not UTF-8.
    case invalidUTF8
    /// Nesting deeper than the limit.
    case tooDeep
    /// Bytes left after the value.
    case trailingBytes(Int)
}
