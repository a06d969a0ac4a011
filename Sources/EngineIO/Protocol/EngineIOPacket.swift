import NIOCore

/// The seven Engine.IO v4 packet types; the raw value is the digit that starts a text packet.
public enum EngineIOPacketType: UInt8, Sendable, CaseIterable {
    case open = 0
    case close = 1
    case ping = 2
    case pong = 3
    case message = 4
    case upgrade = 5
    case noop = 6

    /// The ASCII digit that encodes the type in a text packet.
    @inlinable public var digit: UInt8 { UInt8(ascii: "0") + rawValue }

    @inlinable init?(digit: UInt8) {
        guard digit >= UInt8(ascii: "0") else { return nil }
        self.init(rawValue: digit &- UInt8(ascii: "0"))
    }
}

/// A packet received from a client.
///
/// Text packets keep the bytes after the type digit as a slice of the buffer they arrived
/// in (no copy); binary packets are always messages.
public struct EngineIOInboundPacket: Sendable, Equatable {
    public enum Payload: Sendable, Equatable {
        case text(ByteBuffer)
        case binary(ByteBuffer)
    }

    public var type: EngineIOPacketType
    public var payload: Payload

    public init(type: EngineIOPacketType, payload: Payload) {
        self.type = type
        self.payload = payload
    }

    /// Decodes a text packet (a WebSocket text frame, or one part of a polling payload).
    public static func decodeText(_ buffer: ByteBuffer) throws(EngineIOProtocolError) -> EngineIOInboundPacket {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
            throw .emptyPacket
        }
        guard let type = EngineIOPacketType(digit: first) else { throw .unknownPacketType(first) }
        let data = buffer.getSlice(at: buffer.readerIndex + 1, length: buffer.readableBytes - 1)!
        return EngineIOInboundPacket(type: type, payload: .text(data))
    }

    /// Whether this is `2probe`, the first packet of an upgrade.
    var isProbePing: Bool {
        guard type == .ping, case .text(let data) = payload else { return false }
        return data.readableBytesView.elementsEqual("probe".utf8)
    }
}

/// A packet on its way to a client, already in its wire form.
///
/// Text packets include their type digit so that one buffer can go out as a WebSocket
/// frame, or be appended to a polling payload, without copying.
public struct EngineIOOutboundPacket: Sendable, Equatable {
    enum Storage: Equatable {
        /// Wire text, starting with the type digit.
        case text(ByteBuffer)
        /// A binary message's bytes.
        case binary(ByteBuffer)
    }

    var storage: Storage

    init(storage: Storage) { self.storage = storage }

    /// A control packet with optional ASCII data (`2`, `3probe`, `6`, …).
    static func control(_ type: EngineIOPacketType, _ data: StaticString = "") -> EngineIOOutboundPacket {
        var buffer = ByteBufferAllocator().buffer(capacity: 1 + data.utf8CodeUnitCount)
        buffer.writeInteger(type.digit)
        buffer.writeStaticString(data)
        return EngineIOOutboundPacket(storage: .text(buffer))
    }

    static let ping = control(.ping)
    static let noop = control(.noop)
    static let close = control(.close)
    static let probePong = control(.pong, "probe")

    /// The packet type, for tests and logs.
    var type: EngineIOPacketType {
        switch storage {
        case .binary: return .message
        case .text(let buffer): return EngineIOPacketType(digit: buffer.getInteger(at: buffer.readerIndex)!)!
        }
    }

    /// The packet as a polling payload part (text as-is; binary as `b` + base64).
    func writePollingForm(into output: inout ByteBuffer) {
        switch storage {
        case .text(let buffer):
            output.writeImmutableBuffer(buffer)
        case .binary(let bytes):
            output.writeInteger(UInt8(ascii: "b"))
            Base64.encode(bytes, into: &output)
        }
    }
}

/// A message the application sends through an Engine.IO connection.
///
/// Text messages are built in a buffer that already starts with the `4` type digit, so the
/// layers above write their encoding straight into the final wire form:
///
/// ```swift
/// let message = OutboundMessage.text(capacity: 64) { buffer in
///     buffer.writeStaticString(#"2["hello"]"#)
/// }
/// connection.send(message)
/// ```
public struct OutboundMessage: Sendable, Equatable {
    let packet: EngineIOOutboundPacket

    /// A text message whose content `write` appends to the prepared buffer.
    public static func text(
        allocator: ByteBufferAllocator = ByteBufferAllocator(),
        capacity: Int,
        _ write: (inout ByteBuffer) throws -> Void
    ) rethrows -> OutboundMessage {
        var buffer = allocator.buffer(capacity: capacity + 1)
        buffer.writeInteger(EngineIOPacketType.message.digit)
        try write(&buffer)
        return OutboundMessage(packet: EngineIOOutboundPacket(storage: .text(buffer)))
    }

    /// A text message with the given content.
    public static func text(_ string: String) -> OutboundMessage {
        text(capacity: string.utf8.count) { $0.writeString(string) }
    }

    /// A binary message; the bytes are sent as they are.
    public static func binary(_ bytes: ByteBuffer) -> OutboundMessage {
        OutboundMessage(packet: EngineIOOutboundPacket(storage: .binary(bytes)))
    }

    /// The message's content without the type digit (for tests and logs).
    public var content: ByteBuffer {
        switch packet.storage {
        case .text(let buffer): return buffer.getSlice(at: buffer.readerIndex + 1, length: buffer.readableBytes - 1)!
        case .binary(let bytes): return bytes
        }
    }

    public var isBinary: Bool {
        if case .binary = packet.storage { return true }
        return false
    }
}

/// Violations of the Engine.IO wire format.
public enum EngineIOProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    case emptyPacket
    case unknownPacketType(UInt8)
    case invalidBase64

    public var description: String {
        switch self {
        case .emptyPacket: return "empty packet"
        case .unknownPacketType(let byte): return "unknown packet type byte 0x\(String(byte, radix: 16))"
        case .invalidBase64: return "invalid base64 in binary packet"
        }
    }
}
