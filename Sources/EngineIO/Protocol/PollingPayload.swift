import NIOCore

/// The HTTP long-polling payload of Engine.IO v4: packets joined by the record separator
/// `0x1E`; binary messages travel as `b` followed by base64.
public enum PollingPayload {
    public static let separator: UInt8 = 0x1E

    /// Decodes a POST body into packets. Each text packet is a slice of `body`.
    public static func decode(_ body: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(EngineIOProtocolError) -> [EngineIOInboundPacket] {
        var packets: [EngineIOInboundPacket] = []
        var start = body.readerIndex
        let end = body.writerIndex
        while true {
            let partEnd = body.readableBytesView[start..<end].firstIndex(of: separator) ?? end
            let part = body.getSlice(at: start, length: partEnd - start)!
            if part.readableBytes > 0, part.getInteger(at: part.readerIndex, as: UInt8.self) == UInt8(ascii: "b") {
                let decoded = part.withUnsafeReadableBytes { bytes in
                    Base64.decode(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), allocator: allocator)
                }
                guard let bytes = decoded else { throw .invalidBase64 }
                packets.append(EngineIOInboundPacket(type: .message, payload: .binary(bytes)))
            } else {
                packets.append(try EngineIOInboundPacket.decodeText(part))
            }
            if partEnd == end { break }
            start = partEnd + 1
        }
        return packets
    }

    /// Encodes packets into one response body.
    public static func encode<Packets: Collection>(_ packets: Packets, allocator: ByteBufferAllocator) -> ByteBuffer
    where Packets.Element == EngineIOOutboundPacket {
        var size = 0
        for packet in packets {
            switch packet.storage {
            case .text(let buffer): size += buffer.readableBytes + 1
            case .binary(let bytes): size += (bytes.readableBytes + 2) / 3 * 4 + 2
            }
        }
        var output = allocator.buffer(capacity: size)
        var first = true
        for packet in packets {
            if !first { output.writeInteger(separator) }
            first = false
            packet.writePollingForm(into: &output)
        }
        return output
    }
}
