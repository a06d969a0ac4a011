import NIOCore

/// Standard-alphabet base64 (RFC 4648 §4), as Engine.IO uses for binary in polling payloads.
///
/// Works on raw buffers: a polling client sending or receiving a 1 MB binary message goes
/// through here, so there is no per-byte call.
enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func encode(_ bytes: ByteBuffer, into output: inout ByteBuffer) {
        bytes.withUnsafeReadableBytes { encode($0, into: &output) }
    }

    static func encode<Bytes: Collection>(_ bytes: Bytes, into output: inout ByteBuffer) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { encode($0, into: &output) }
    }

    static func encode(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) {
        let length = (input.count + 2) / 3 * 4
        guard length > 0 else { return }
        alphabet.withUnsafeBufferPointer { alphabet in
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
                var i = 0
                var o = 0
                let count = input.count
                while i + 3 <= count {
                    let b0 = input[i], b1 = input[i + 1], b2 = input[i + 2]
                    out[o] = alphabet[Int(b0 >> 2)]
                    out[o + 1] = alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)]
                    out[o + 2] = alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]
                    out[o + 3] = alphabet[Int(b2 & 0x3F)]
                    i += 3
                    o += 4
                }
                let rest = count - i
                if rest > 0 {
                    let b0 = input[i]
                    let b1: UInt8 = rest == 2 ? input[i + 1] : 0
                    out[o] = alphabet[Int(b0 >> 2)]
                    out[o + 1] = alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)]
                    out[o + 2] = rest == 2 ? alphabet[Int((b1 & 0x0F) << 2)] : UInt8(ascii: "=")
                    out[o + 3] = UInt8(ascii: "=")
                }
                return length
            }
        }
    }

    /// Decodes padded or unpadded base64; returns nil on any invalid character, length, or
    /// non-zero leftover bits.
    static func decode(_ input: UnsafeRawBufferPointer, allocator: ByteBufferAllocator) -> ByteBuffer? {
        var end = input.count
        var padding = 0
        while padding < 2, end > 0, input[end - 1] == UInt8(ascii: "=") {
            end -= 1
            padding += 1
        }
        if padding > 0, input.count % 4 != 0 { return nil }
        if end % 4 == 1 { return nil }
        let outputLength = end / 4 * 3 + (end % 4 == 0 ? 0 : end % 4 - 1)
        var output = allocator.buffer(capacity: outputLength)
        let valid = decodeTable.withUnsafeBufferPointer { table -> Bool in
            var ok = true
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: outputLength) { out in
                var accumulator: UInt32 = 0
                var bits = 0
                var o = 0
                for index in 0..<end {
                    let value = table[Int(input[index])]
                    if value == 0xFF {
                        ok = false
                        return 0
                    }
                    accumulator = accumulator << 6 | UInt32(value)
                    bits += 6
                    if bits >= 8 {
                        bits -= 8
                        out[o] = UInt8(truncatingIfNeeded: accumulator >> UInt32(bits))
                        o += 1
                    }
                }
                // Leftover bits must be zero (canonical encoding).
                if bits > 0, accumulator & ((1 << UInt32(bits)) - 1) != 0 { ok = false }
                return o
            }
            return ok
        }
        return valid ? output : nil
    }

    static func decode<Bytes: Collection>(_ input: Bytes, allocator: ByteBufferAllocator) -> ByteBuffer? where Bytes.Element == UInt8 {
        Array(input).withUnsafeBytes { decode($0, allocator: allocator) }
    }
}
