/// SHA-1 (FIPS 180-4 §6.1), for the one place the protocol needs it: a WebSocket
/// handshake's `Sec-WebSocket-Accept` (RFC 6455 §4.2.2), a fixed transform of the client's
/// key rather than a security function. swift-nio's own SHA-1 is internal to NIOWebSocket,
/// whose upgrader Switchyard does not use (``WebSocketHandshake``).
struct SHA1 {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
    private var block: [UInt8] = []
    private var length: UInt64 = 0

    init() {
        block.reserveCapacity(64)
    }

    mutating func update(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            block.append(byte)
            length &+= 1
            if block.count == 64 {
                compress()
                block.removeAll(keepingCapacity: true)
            }
        }
    }

    /// The 20-byte digest.
    mutating func finish() -> [UInt8] {
        let bits = length &* 8
        update(CollectionOfOne(0x80))
        while block.count != 56 { update(CollectionOfOne(0)) }
        for shift in stride(from: 56, through: 0, by: -8) { block.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        compress()
        block.removeAll()
        let words = (state.0, state.1, state.2, state.3, state.4)
        return [UInt8](unsafeUninitializedCapacity: 20) { digest, count in
            withUnsafeBytes(of: words) { raw in
                for i in 0..<5 {
                    let word = raw.load(fromByteOffset: 4 * i, as: UInt32.self)
                    for j in 0..<4 { digest[4 * i + j] = UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32(j))) }
                }
            }
            count = 20
        }
    }

    static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA1()
        hasher.update(bytes)
        return hasher.finish()
    }

    /// One 64-byte block; the message schedule lives in temporary (stack) memory, so a
    /// handshake's two blocks allocate nothing.
    private mutating func compress() {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            compress(schedule: w)
        }
    }

    private mutating func compress(schedule w: UnsafeMutableBufferPointer<UInt32>) {
        for i in 0..<16 {
            w[i] = UInt32(block[4 * i]) << 24 | UInt32(block[4 * i + 1]) << 16 | UInt32(block[4 * i + 2]) << 8 | UInt32(block[4 * i + 3])
        }
        for i in 16..<80 { w[i] = rotate(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
        var (a, b, c, d, e) = state
        for i in 0..<80 {
            let f: UInt32
            let k: UInt32
            switch i {
            case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
            case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
            case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
            default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
            }
            let t = rotate(a, 5) &+ f &+ e &+ k &+ w[i]
            (e, d, c, b, a) = (d, c, rotate(b, 30), a, t)
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e)
    }

    private func rotate(_ value: UInt32, _ count: UInt32) -> UInt32 {
        (value << count) | (value >> (32 - count))
    }
}
