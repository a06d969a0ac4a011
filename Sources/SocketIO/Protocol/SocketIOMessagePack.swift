import EngineIO
import NIOCore
import SwitchyardJSON
import SwitchyardMessagePack

/// How a connection writes its Socket.IO packets: socket.io's default parser (text, JSON,
/// binary parts as separate attachments) or `socket.io-msgpack-parser` (one binary
/// MessagePack message per packet, binary inline).
///
/// Node's socket.io picks one parser for the whole server; Switchyard picks it per
/// connection from the first message, which is always a CONNECT: text for the default
/// parser, binary for msgpack.
public enum SocketIOParser: String, Sendable, Hashable, CaseIterable {
    case `default`
    case msgpack
}

/// The control packets in each parser's encoding: the one place the choice is made.
extension SocketIOParser {
    /// CONNECT accepted, with the pid when connection state recovery is on.
    func connect(namespace: String, socketID: String, pid: String?) -> OutboundMessage {
        switch self {
        case .default: return SocketIOPacketEncoder.connect(namespace: namespace, socketID: socketID, pid: pid)
        case .msgpack: return SocketIOMessagePackEncoder.connect(namespace: namespace, socketID: socketID, pid: pid)
        }
    }

    /// CONNECT refused by the namespace's middleware.
    func connectError(namespace: String, message: String, data: JSONValue?) -> OutboundMessage {
        switch self {
        case .default: return SocketIOPacketEncoder.connectError(namespace: namespace, message: message, data: data)
        case .msgpack: return SocketIOMessagePackEncoder.connectError(namespace: namespace, message: message, data: data)
        }
    }

    /// CONNECT to a namespace that does not exist (socket.io's own key order in msgpack).
    func invalidNamespace(_ namespace: String) -> OutboundMessage {
        switch self {
        case .default: return SocketIOPacketEncoder.connectError(namespace: namespace, message: "Invalid namespace", data: nil)
        case .msgpack: return SocketIOMessagePackEncoder.invalidNamespace(namespace)
        }
    }

    /// DISCONNECT from the server.
    func disconnect(namespace: String) -> OutboundMessage {
        switch self {
        case .default: return SocketIOPacketEncoder.disconnect(namespace: namespace)
        case .msgpack: return SocketIOMessagePackEncoder.disconnect(namespace: namespace)
        }
    }
}

// MARK: - Decoding

extension SocketIOPacket {
    /// Decodes one message written by `socket.io-msgpack-parser`: a MessagePack map
    /// `{type, data, nsp, id}` (any key order; other keys ignored), checked as the parser's
    /// `Decoder.checkPacket` does (socketio/socket.io-msgpack-parser, `index.js`): `type` an
    /// integer 0–4, `nsp` a string, `data` absent or a map for CONNECT, absent for
    /// DISCONNECT, a string or a map for CONNECT_ERROR, an array otherwise, `id` absent or
    /// an integer. notepack.io 2.x's `undefined` (`d4 00 00`) counts as absent.
    ///
    /// The payload is converted to the JSON form every other layer sees (plugins cannot tell
    /// the parsers apart): `bin` values become `{"_placeholder":true,"num":N}` and are
    /// returned as attachments, timestamps become ISO 8601 text.
    public static func decodeMessagePack(_ buffer: ByteBuffer, maxAttachments: Int = 10) throws(SocketIOProtocolError) -> (
        packet: SocketIOPacket, attachments: [ByteBuffer]
    ) {
        let message: MessagePackValue
        do throws(MessagePackError) {
            message = try MessagePackValue(decoding: buffer)
        } catch {
            throw .invalidMessagePack("\(error)")
        }
        guard case .map = message else { throw .invalidMessagePack("a packet is a map") }
        func member(_ key: String) -> MessagePackValue? {
            guard let value = message[key], !value.isUndefined else { return nil }
            return value
        }
        guard let number = member("type")?.intValue, (0...4).contains(number), let type = SocketIOPacketType(rawValue: UInt8(number)) else {
            throw .invalidMessagePack("invalid packet type")
        }
        guard let namespace = member("nsp")?.stringValue else { throw .invalidNamespace }
        var ackID: UInt64?
        if let id = member("id") {
            guard let value = id.intValue, value >= 0 else { throw .invalidAckID }
            ackID = UInt64(value)
        }

        var packet = SocketIOPacket(type: type, namespace: namespace, ackID: ackID)
        let data = member("data")
        var attachments: [ByteBuffer] = []
        switch type {
        case .connect:
            guard let data else { return (packet, []) }
            guard case .map = data else { throw .invalidPayload("CONNECT payload must be an object") }
        case .disconnect:
            if data != nil { throw .payloadNotAllowed(type) }
            return (packet, [])
        case .connectError:
            guard let data, data.stringValue != nil || data.isMap else {
                throw .invalidPayload("CONNECT_ERROR payload must be an object or a string")
            }
        case .event, .ack:
            guard let data, data.arrayValue != nil else { throw .invalidPayload("payload must be an array") }
        case .binaryEvent, .binaryAck:
            throw .invalidMessagePack("invalid packet type")  // excluded above; the msgpack parser has no binary types
        }
        let json = JSONValue(messagePack: data!, attachments: &attachments)
        guard attachments.count <= maxAttachments else { throw .tooManyAttachments(limit: maxAttachments) }
        if !attachments.isEmpty {
            packet.type = type == .ack ? .binaryAck : type == .event ? .binaryEvent : type
            packet.attachmentCount = attachments.count
        }
        var text = ByteBufferAllocator().buffer(capacity: buffer.readableBytes + 16)
        json.write(to: &text)
        try packet.setPayload(text)
        return (packet, attachments)
    }
}

extension MessagePackValue {
    fileprivate var isMap: Bool {
        if case .map = self { return true }
        return false
    }
}

// MARK: - Encoding

/// Writes Socket.IO packets as `socket.io-msgpack-parser` does: `notepack.io` encoding the
/// packet object socket.io builds, so the map keys come in the order socket.io sets them
/// (socketio/socket.io, `packages/socket.io/lib/socket.ts`, `client.ts`,
/// `packages/socket.io-adapter/lib/in-memory-adapter.ts`):
///
/// | packet | keys |
/// | --- | --- |
/// | EVENT (`socket.emit`, broadcast) | `type, data, [id], nsp` |
/// | ACK | `id, type, data, nsp` |
/// | CONNECT | `type, data: {sid, pid}, nsp` (`pid` is `undefined` without recovery: `d4 00 00`) |
/// | CONNECT_ERROR refused by middleware | `type, data: {message, data}, nsp` (`data` `undefined` when none) |
/// | CONNECT_ERROR for an unknown namespace | `type, nsp, data: {message}` |
/// | DISCONNECT | `type, nsp` |
///
/// Every message is one binary Engine.IO message; binary arguments are inline `bin`.
public enum SocketIOMessagePackEncoder {
    /// notepack.io 2.x's `undefined`: what socket.io-msgpack-parser 3.x writes for a key
    /// whose value is `undefined`.
    static let undefined = MessagePackValue.extended(type: 0, data: ByteBuffer(bytes: [0]))

    /// An EVENT: `{type: 2, data: [name, …args], id?, nsp}`.
    /// With `offset` (connection state recovery), the offset string is the last element of
    /// `data`, as socket.io-adapter's SessionAwareAdapter.broadcast pushes it.
    public static func event(namespace: String, name: String, arguments: SocketIOArguments, ackID: UInt64? = nil, offset: String? = nil) -> OutboundMessage {
        var data = [MessagePackValue.string(name)] + values(of: arguments)
        if let offset { data.append(.string(offset)) }
        var members: [(String, MessagePackValue)] = [("type", .int(2)), ("data", .array(data))]
        if let ackID { members.append(("id", .uint(ackID))) }
        members.append(("nsp", .string(namespace)))
        return message(.object(members), sizeHint: arguments.json.readableBytes + name.utf8.count)
    }

    /// An ACK: `{id, type: 3, data: [args…], nsp}`.
    public static func ack(namespace: String, ackID: UInt64, arguments: SocketIOArguments) -> OutboundMessage {
        message(
            .object([("id", .uint(ackID)), ("type", .int(3)), ("data", .array(values(of: arguments))), ("nsp", .string(namespace))]),
            sizeHint: arguments.json.readableBytes)
    }

    /// CONNECT accepted: `{type: 0, data: {sid, pid}, nsp}`.
    public static func connect(namespace: String, socketID: String, pid: String? = nil) -> OutboundMessage {
        let data = MessagePackValue.object([("sid", .string(socketID)), ("pid", pid.map(MessagePackValue.string) ?? undefined)])
        return message(.object([("type", .int(0)), ("data", data), ("nsp", .string(namespace))]), sizeHint: 0)
    }

    /// CONNECT refused by the namespace's middleware: `{type: 4, data: {message, data}, nsp}`.
    public static func connectError(namespace: String, message text: String, data: JSONValue?) -> OutboundMessage {
        let payload = MessagePackValue.object([("message", .string(text)), ("data", data.map { MessagePackValue(json: $0) } ?? undefined)])
        return message(.object([("type", .int(4)), ("data", payload), ("nsp", .string(namespace))]), sizeHint: text.utf8.count)
    }

    /// CONNECT to a namespace that does not exist: `{type: 4, nsp, data: {message}}`.
    public static func invalidNamespace(_ namespace: String) -> OutboundMessage {
        message(
            .object([("type", .int(4)), ("nsp", .string(namespace)), ("data", .object([("message", .string("Invalid namespace"))]))]),
            sizeHint: 0)
    }

    /// DISCONNECT: `{type: 1, nsp}`.
    public static func disconnect(namespace: String) -> OutboundMessage {
        message(.object([("type", .int(1)), ("nsp", .string(namespace))]), sizeHint: 0)
    }

    private static func values(of arguments: SocketIOArguments) -> [MessagePackValue] {
        let attachments = arguments.attachments
        return arguments.values().map { MessagePackValue(json: $0, attachments: attachments) }
    }

    private static func message(_ packet: MessagePackValue, sizeHint: Int) -> OutboundMessage {
        var buffer = ByteBufferAllocator().buffer(capacity: 32 + sizeHint)
        packet.write(to: &buffer)
        return .binary(buffer)
    }
}
