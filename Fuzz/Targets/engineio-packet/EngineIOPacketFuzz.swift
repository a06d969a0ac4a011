// Engine.IO text packets (a WebSocket text frame or one part of a polling payload).
//
// Property: a packet decodes exactly when its first byte is a type digit 0–6, to that type
// and the remaining bytes; written again in its wire form it is the input, byte for byte.
import FuzzSupport
import NIOCore

@testable import EngineIO

func fuzzEngineIOPacket(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let buffer = ByteBuffer(bytes: input)
    do throws(EngineIOProtocolError) {
        let packet = try EngineIOInboundPacket.decodeText(buffer)
        require(
            input.first.map { (UInt8(ascii: "0")...UInt8(ascii: "6")).contains($0) } == true, "accepted type byte \(hex(input.prefix(1)))")
        require(packet.type.digit == input[0], "type \(packet.type) from \(hex(input.prefix(1)))")
        guard case .text(let payload) = packet.payload else { propertyViolated("a text packet decoded as binary") }
        require(Array(payload.readableBytesView) == Array(input.dropFirst()), "payload differs from the input after the type byte")
        require(packet.isProbePing == (input == Array("2probe".utf8)), "isProbePing wrong for \(hex(input))")

        // Encode: the outbound wire form of the same packet is the input again.
        var wire = ByteBuffer()
        wire.writeInteger(packet.type.digit)
        wire.writeImmutableBuffer(payload)
        let outbound = EngineIOOutboundPacket(storage: .text(wire))
        require(outbound.type == packet.type, "outbound type \(outbound.type) for \(packet.type)")
        var polling = ByteBuffer()
        outbound.writePollingForm(into: &polling)
        require(Array(polling.readableBytesView) == input, "re-encoded packet differs from the input")
        let again = try EngineIOInboundPacket.decodeText(polling)
        require(again == packet, "decode → encode → decode changed the packet")
    } catch {
        switch error {
        case .emptyPacket: require(input.isEmpty, "emptyPacket for a non-empty input")
        case .unknownPacketType(let byte):
            require(byte == input.first && !(UInt8(ascii: "0")...UInt8(ascii: "6")).contains(byte), "refused type byte \(hex([byte]))")
        case .invalidBase64: propertyViolated("invalidBase64 from a text packet")
        }
    }
    return 0
}
