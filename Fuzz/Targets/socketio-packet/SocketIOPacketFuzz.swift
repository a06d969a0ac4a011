// The Socket.IO packet decoder with binary reassembly, as SocketIOClient runs it.
//
// Input: Engine.IO messages separated by 0x1E; the first is the text packet, the following
// ones are the binary attachments a BINARY_EVENT or BINARY_ACK announces.
// Properties:
// - `decode` agrees with `decodeHeader` + `decodeArguments` (the server's two-step path).
// - Every argument of an accepted packet decodes to a value (skipping and reading agree).
// - decode → encode → decode: the packet written again with SocketIOPacketEncoder (text
//   message plus attachments) decodes to the same type, namespace, ack id, event name,
//   argument values and attachments. (A binary packet announcing 0 attachments comes back
//   as its plain type: the encoder only writes the binary form when there are attachments.)
import FuzzSupport
import NIOCore
import SwitchyardJSON

@testable import EngineIO
@testable import SocketIO

struct Reassembled: Equatable {
    var type: SocketIOPacketType
    var namespace: String
    var ackID: UInt64?
    var eventName: String?
    var payload: ByteBuffer?
    var arguments: [JSONValue]?
    var attachments: [ByteBuffer]
}

/// Decodes `messages` as SocketIOClient does; nil when refused or still waiting for attachments.
func reassemble(_ messages: [[UInt8]]) -> Reassembled? {
    guard let text = messages.first else { return nil }
    let buffer = ByteBuffer(bytes: text)
    var packet: SocketIOPacket
    do throws(SocketIOProtocolError) {
        packet = try SocketIOPacket.decodeHeader(buffer, maxAttachments: 10)
    } catch {
        if (try? SocketIOPacket.decode(buffer, maxAttachments: 10)) != nil {
            propertyViolated("decode accepts what decodeHeader refuses (\(error))")
        }
        return nil
    }
    var attachments: [ByteBuffer] = []
    if packet.type.isBinary, packet.attachmentCount > 0 {
        guard messages.count > packet.attachmentCount else { return nil }
        attachments = messages[1...packet.attachmentCount].map { ByteBuffer(bytes: $0) }
    }
    let header = packet
    do throws(SocketIOProtocolError) {
        try packet.decodeArguments()
        if let arguments = packet.arguments, !attachments.isEmpty {
            try SocketIOClient.validatePlaceholders(arguments, attachmentCount: attachments.count)
        }
    } catch {
        return nil
    }
    // The one-step decode gives the same packet.
    do throws(SocketIOProtocolError) {
        let direct = try SocketIOPacket.decode(buffer, maxAttachments: 10)
        require(direct == packet, "decode differs from decodeHeader + decodeArguments")
    } catch {
        propertyViolated("decode refuses what decodeHeader + decodeArguments accept: \(error)")
    }
    require(header.eventName == packet.eventName, "decodeArguments changed the event name")
    var values: [JSONValue]?
    if let arguments = packet.arguments {
        let decoded = arguments.values()
        require(decoded.count == arguments.count, "\(arguments.count) arguments, only \(decoded.count) decode")
        values = decoded
    }
    return Reassembled(
        type: packet.type, namespace: packet.namespace, ackID: packet.ackID, eventName: packet.eventName,
        payload: packet.payload, arguments: values, attachments: attachments
    )
}

/// The packet as the server would write it: the text message, then the attachments.
func encode(_ packet: Reassembled) -> [[UInt8]] {
    let arguments = SocketIOArguments(packet.arguments ?? [], attachments: packet.attachments)
    let messages: [OutboundMessage]
    switch packet.type {
    case .event, .binaryEvent:
        messages = SocketIOPacketEncoder.event(
            namespace: packet.namespace, name: packet.eventName!, arguments: arguments, ackID: packet.ackID)
    case .ack, .binaryAck:
        if let id = packet.ackID {
            messages = SocketIOPacketEncoder.ack(namespace: packet.namespace, ackID: id, arguments: arguments)
        } else {
            // No encoder call for an ack without id (the server never sends one): the same header.
            let text = OutboundMessage.text(capacity: 16) { buffer in
                SocketIOPacketEncoder.writeHeader(
                    type: .ack, namespace: packet.namespace, ackID: nil, attachmentCount: arguments.attachments.count, into: &buffer)
                buffer.writeInteger(UInt8(ascii: "["))
                buffer.writeImmutableBuffer(arguments.json)
                buffer.writeInteger(UInt8(ascii: "]"))
            }
            messages = [text] + arguments.attachments.map(OutboundMessage.binary)
        }
    case .connect, .connectError, .disconnect:
        messages = [
            OutboundMessage.text(capacity: 16) { buffer in
                SocketIOPacketEncoder.writeHeader(
                    type: packet.type, namespace: packet.namespace, ackID: packet.ackID, attachmentCount: 0, into: &buffer)
                if let payload = packet.payload { buffer.writeImmutableBuffer(payload) }
            }
        ]
    }
    // OutboundMessage.content is the message without Engine.IO's type digit: what
    // SocketIOClient receives.
    return messages.map { Array($0.content.readableBytesView) }
}

func fuzzSocketIOPacket(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let messages = parts(of: fuzzInput(data, size), separatedBy: 0x1E)
    guard let packet = reassemble(messages) else { return 0 }
    require(packet.attachments.count <= 10, "more attachments than the limit")
    guard let again = reassemble(encode(packet)) else {
        propertyViolated("the encoded packet does not decode: \(encode(packet).map { String(decoding: $0, as: UTF8.self) })")
    }
    var expected = packet
    if packet.attachments.isEmpty {
        if packet.type == .binaryEvent { expected.type = .event }
        if packet.type == .binaryAck { expected.type = .ack }
    }
    // CONNECT's and CONNECT_ERROR's payloads are compared as values.
    if let payload = expected.payload, let other = again.payload {
        let lhs = try? JSONValue(parsing: Array(payload.readableBytesView))
        let rhs = try? JSONValue(parsing: Array(other.readableBytesView))
        require(lhs != nil && lhs == rhs, "payload changed")
        expected.payload = other
    }
    require(again == expected, "decode → encode → decode changed the packet: \(packet) → \(again)")
    return 0
}
