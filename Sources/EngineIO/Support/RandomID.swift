#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Engine.IO session ids and Socket.IO socket ids: 15 random bytes in base64url, 20
/// characters, as the reference server makes them.
///
/// The reference server's ids come from `base64id.generateId()` (engine.io
/// `lib/server.ts` `generateId`, socket.io `lib/socket.ts` constructor), which slices 15
/// bytes at a time off a 4 KiB pool of `crypto.randomBytes`. This does the same with the
/// system's CSPRNG (`getrandom(2)` through `getentropy(3)`, 256 bytes a call): 16 system
/// calls per 273 ids, where drawing a `UInt64` at a time from `SystemRandomNumberGenerator`
/// cost two system calls per id, four per Socket.IO handshake.
public enum RandomID {
    /// Characters of an id: base64url, no padding (15 bytes make exactly 20).
    static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    /// Random bytes per id.
    static let byteCount = 15
    /// Characters per id.
    public static let length = 20

    private static let pool = Mutex(EntropyPool())

    /// A new id.
    public static func make() -> String {
        let random = pool.withLock { pool in
            var random: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &random) { pool.take(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<byteCount])) }
            return random
        }
        return encode(random)
    }

    /// The 20 characters of the 15 bytes in `random` (the first 15 of its 16 in memory),
    /// three bytes to four characters, most significant bits first as base64 does.
    static func encode(_ random: (UInt64, UInt64)) -> String {
        withUnsafeBytes(of: random) { bytes in
            alphabet.withUTF8Buffer { alphabet in
                String(unsafeUninitializedCapacity: length) { out in
                    for group in 0..<5 {
                        let word = UInt32(bytes[3 * group]) << 16 | UInt32(bytes[3 * group + 1]) << 8 | UInt32(bytes[3 * group + 2])
                        out[4 * group] = alphabet[Int(word >> 18)]
                        out[4 * group + 1] = alphabet[Int(word >> 12 & 0x3F)]
                        out[4 * group + 2] = alphabet[Int(word >> 6 & 0x3F)]
                        out[4 * group + 3] = alphabet[Int(word & 0x3F)]
                    }
                    return length
                }
            }
        }
    }
}

/// Bytes from the system's CSPRNG, fetched 4 KiB at a time and handed out once each.
struct EntropyPool: ~Copyable {
    static let capacity = 4096
    private let storage: UnsafeMutableRawBufferPointer
    /// Bytes of `storage` already handed out; `capacity` when it needs a refill.
    private var used: Int

    init() {
        storage = .allocate(byteCount: Self.capacity, alignment: 16)
        used = Self.capacity
    }

    deinit {
        // Handed-out randomness is gone; what is left should not linger in freed memory.
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        storage.deallocate()
    }

    /// Fills `destination` (at most `capacity` bytes) with bytes never handed out before.
    mutating func take(into destination: UnsafeMutableRawBufferPointer) {
        precondition(destination.count <= Self.capacity)
        if Self.capacity - used < destination.count { refill() }
        destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[used..<used + destination.count]))
        // Each byte is handed out once.
        storage[used..<used + destination.count].initializeMemory(as: UInt8.self, repeating: 0)
        used += destination.count
    }

    private mutating func refill() {
        Self.fill(storage)
        used = 0
    }

    /// `buffer` filled from the system's CSPRNG; traps if the system cannot provide
    /// randomness (the same as `SystemRandomNumberGenerator`).
    static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        #if canImport(Glibc)
        // getentropy(3) is getrandom(2) for at most 256 bytes a call.
        for offset in stride(from: 0, to: buffer.count, by: 256) {
            let count = min(256, buffer.count - offset)
            guard getentropy(buffer.baseAddress! + offset, count) == 0 else {
                fatalError("getentropy failed: errno \(errno)")
            }
        }
        #elseif canImport(Darwin)
        arc4random_buf(buffer.baseAddress!, buffer.count)
        #else
        var generator = SystemRandomNumberGenerator()
        for offset in stride(from: 0, to: buffer.count, by: 8) {
            let value: UInt64 = generator.next()
            withUnsafeBytes(of: value) { bytes in
                UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<min(offset + 8, buffer.count)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<min(8, buffer.count - offset)]))
            }
        }
        #endif
    }
}
