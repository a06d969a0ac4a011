// Socket.IO packets from socket.io-msgpack-parser clients
// (SocketIOPacket.decodeMessagePack, as SocketIOClient runs it on a msgpack connection).
//
// Properties:
// - Every argument of an accepted EVENT or ACK decodes, and its placeholders number
//   attachments that exist (what SocketIOClient checks before routing).
// - decode → encode → decode: the packet written again as the server writes msgpack
//   packets (SocketIOMessagePackEncoder, or the same map for the packets a server never
//   sends) decodes to the same type, namespace, ack id, event name, argument values,
//   payload and attachments.
import FuzzSupport
import NIOCore
import SwitchyardJSON
import SwitchyardMessagePack

@testable import EngineIO
@testable import SocketIO

struct Decoded: Equatable {
    var type: SocketIOPacketType
    var namespace: String
    var ackID: UInt64?
    var eventName: String?
    var payload: JSONValue?
    var arguments: [JSONValue]?
    var attachments: [ByteBuffer]
}

func decode(_ bytes: ByteBuffer) -> Decoded? {
    guard var (packet, attachments) = try? SocketIOPacket.decodeMessagePack(bytes, maxAttachments: 10) else { return nil }
    require(attachments.count <= 10, "more attachments than the limit")
    require(packet.attachmentCount == attachments.count, "attachment count \(packet.attachmentCount) for \(attachments.count) attachments")
    do throws(SocketIOProtocolError) {
        try packet.decodeArguments()
        if let arguments = packet.arguments, !attachments.isEmpty {
            try SocketIOClient.validatePlaceholders(arguments, attachmentCount: attachments.count)
        }
    } catch {
        // The JSON was written by our own converter: it must split and its placeholders fit.
        propertyViolated("a decoded msgpack packet fails the text checks: \(error)")
    }
    var values: [JSONValue]?
    if let arguments = packet.arguments {
        let decoded = arguments.values()
        require(decoded.count == arguments.count, "\(arguments.count) arguments, only \(decoded.count) decode")
        values = decoded
    }
    let payload = packet.payload.map { try! JSONValue(parsing: Array($0.readableBytesView)) }
    return Decoded(
        type: packet.type, namespace: packet.namespace, ackID: packet.ackID, eventName: packet.eventName, payload: payload,
        arguments: values, attachments: attachments)
}

func encode(_ packet: Decoded) -> ByteBuffer {
    let arguments = SocketIOArguments(packet.arguments ?? [], attachments: packet.attachments)
    let message: OutboundMessage
    switch packet.type {
    case .event, .binaryEvent:
        message = SocketIOMessagePackEncoder.event(
            namespace: packet.namespace, name: packet.eventName!, arguments: arguments, ackID: packet.ackID)
    case .ack, .binaryAck:
        if let id = packet.ackID {
            message = SocketIOMessagePackEncoder.ack(namespace: packet.namespace, ackID: id, arguments: arguments)
        } else {
            let data = (packet.arguments ?? []).map { MessagePackValue(json: $0, attachments: packet.attachments) }
            message = .binary(
                MessagePackValue.object([("type", .int(3)), ("data", .array(data)), ("nsp", .string(packet.namespace))]).encoded())
        }
    case .disconnect where packet.ackID == nil:
        message = SocketIOMessagePackEncoder.disconnect(namespace: packet.namespace)
    case .connect, .connectError, .disconnect:
        // Packets the server never sends (or never with an id, which a client may put on any).
        var members: [(String, MessagePackValue)] = [("type", .int(Int64(packet.type.rawValue))), ("nsp", .string(packet.namespace))]
        // Binary in a CONNECT's auth travels inline too.
        if let payload = packet.payload { members.append(("data", MessagePackValue(json: payload, attachments: packet.attachments))) }
        if let id = packet.ackID { members.append(("id", .uint(id))) }
        message = .binary(MessagePackValue.object(members).encoded())
    }
    return message.content
}

func fuzzSocketIOMessagePack(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let packet = decode(ByteBuffer(bytes: fuzzInput(data, size))) else { return 0 }
    let encoded = encode(packet)
    guard let again = decode(encoded) else {
        propertyViolated("the encoded packet does not decode: \(hex(encoded.readableBytesView))")
    }
    require(again == packet, "decode → encode → decode changed the packet: \(packet) → \(again)")
    return 0
}
