// The HTTP long-polling payload: packets joined by 0x1E, binary ones as `b` + base64.
//
// Properties: a payload decodes to one packet per part; encoding the decoded packets and
// decoding that gives the same packets (decode → encode → decode); binary packets come out
// of the encoder as the standard base64 Foundation writes; a text part is its bytes.
import Foundation
import FuzzSupport
import NIOCore

@testable import EngineIO

func fuzzPollingPayload(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let packets: [EngineIOInboundPacket]
    do throws(EngineIOProtocolError) {
        packets = try PollingPayload.decode(ByteBuffer(bytes: input))
    } catch {
        // Refused: some part is empty, has an unknown type byte or bad base64.
        let refused = parts(of: input, separatedBy: PollingPayload.separator).contains { part in
            guard let first = part.first else { return true }
            if first == UInt8(ascii: "b") { return Base64.decode(part.dropFirst(), allocator: ByteBufferAllocator()) == nil }
            return !(UInt8(ascii: "0")...UInt8(ascii: "6")).contains(first)
        }
        require(refused, "refused a payload whose every part is valid: \(error)")
        return 0
    }
    let inputParts = parts(of: input, separatedBy: PollingPayload.separator)
    require(packets.count == inputParts.count, "\(packets.count) packets from \(inputParts.count) parts")
    for (packet, part) in zip(packets, inputParts) {
        switch packet.payload {
        case .text(let payload):
            require(packet.type.digit == part.first, "text packet type differs from its part")
            require(Array(payload.readableBytesView) == Array(part.dropFirst()), "text payload differs from its part")
        case .binary:
            require(part.first == UInt8(ascii: "b") && packet.type == .message, "binary packet from a non-`b` part")
        }
    }

    // Encode what was decoded, as the server would send it, and decode that again.
    let outbound = packets.map { packet -> EngineIOOutboundPacket in
        switch packet.payload {
        case .text(let payload):
            var wire = ByteBuffer()
            wire.writeInteger(packet.type.digit)
            wire.writeImmutableBuffer(payload)
            return EngineIOOutboundPacket(storage: .text(wire))
        case .binary(let bytes):
            return EngineIOOutboundPacket(storage: .binary(bytes))
        }
    }
    let encoded = PollingPayload.encode(outbound, allocator: ByteBufferAllocator())
    let again: [EngineIOInboundPacket]
    do throws(EngineIOProtocolError) {
        again = try PollingPayload.decode(encoded)
    } catch {
        propertyViolated("the encoder wrote a payload the decoder refuses: \(error)")
    }
    require(again == packets, "decode → encode → decode changed the packets")

    // Every binary part of the encoding is standard, padded base64.
    for (packet, part) in zip(packets, parts(of: Array(encoded.readableBytesView), separatedBy: PollingPayload.separator)) {
        guard case .binary(let bytes) = packet.payload else { continue }
        let expected = "b" + Data(bytes.readableBytesView).base64EncodedString()
        require(part == Array(expected.utf8), "base64 of \(bytes.readableBytes) bytes differs from Foundation's")
    }
    return 0
}
