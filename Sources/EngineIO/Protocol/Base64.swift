import NIOCore

/// Standard-alphabet base64 (RFC 4648 §4), as Engine.IO uses for binary in polling payloads.
enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func encode<Bytes: Collection>(_ bytes: Bytes, into output: inout ByteBuffer) where Bytes.Element == UInt8 {
        output.reserveCapacity(minimumWritableBytes: (bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = iterator.next()
            output.writeInteger(alphabet[Int(b0 >> 2)])
            output.writeInteger(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            output.writeInteger(b1.map { alphabet[Int(($0 & 0x0F) << 2 | (b2 ?? 0) >> 6)] } ?? UInt8(ascii: "="))
            output.writeInteger(b2.map { alphabet[Int($0 & 0x3F)] } ?? UInt8(ascii: "="))
        }
    }

    /// Decodes padded or unpadded base64; returns nil on any invalid character or length.
    static func decode<Bytes: BidirectionalCollection>(_ input: Bytes, allocator: ByteBufferAllocator) -> ByteBuffer? where Bytes.Element == UInt8 {
        var trimmed = input[...]
        // Strip up to two padding characters.
        var padding = 0
        while padding < 2, trimmed.last == UInt8(ascii: "=") {
            trimmed = trimmed.dropLast()
            padding += 1
        }
        let count = trimmed.count
        if padding > 0, input.count % 4 != 0 { return nil }
        if count % 4 == 1 { return nil }
        var output = allocator.buffer(capacity: count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in trimmed {
            let value = decodeTable[Int(byte)]
            if value == 0xFF { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.writeInteger(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // Leftover bits must be zero (canonical encoding).
        if bits > 0, accumulator & ((1 << UInt32(bits)) - 1) != 0 { return nil }
        return output
    }
}
