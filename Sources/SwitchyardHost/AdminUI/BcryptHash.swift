import CCrypt

/// Checks a password against a bcrypt hash (`$2a$`, `$2b$`, `$2y$`), as upstream's
/// `bcryptjs.compare` does for the Admin UI's basic authentication.
///
/// The hashing is libxcrypt's `crypt_r` (Debian's libcrypt1, the library behind the
/// system's own password checks), not an implementation of ours: bcrypt has details
/// (the `$2a$`/`$2b$` length wrap-around, the 72-byte limit, its own base64) that a
/// fresh implementation gets wrong quietly. A check costs 2^cost Blowfish key setups
/// (tens of milliseconds at cost 10), so callers run it off the event loops.
public enum BcryptHash {
    /// `$2x$NN$` + 53 characters of bcrypt's base64 (22 of salt, 31 of hash), cost 04–31.
    public static func isWellFormed(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"),
            [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]),
            bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$")
        else { return false }
        guard let tens = digit(bytes[4]), let units = digit(bytes[5]), (4...31).contains(tens * 10 + units) else { return false }
        return bytes[7...].allSatisfy { byte in
            byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/") || digit(byte) != nil
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        }
    }

    private static func digit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }

    /// Whether `password` hashes to `hash`. False for a malformed hash or a password with a
    /// NUL byte (which C strings would cut short).
    public static func verify(password: String, hash: String) -> Bool {
        guard isWellFormed(hash), !password.utf8.contains(0) else { return false }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer {
            // The work area holds key material.
            UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
            data.deallocate()
        }
        UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
        guard let result = crypt_r(password, hash, data) else { return false }
        let computed = Array(String(cString: result).utf8)
        let expected = Array(hash.utf8)
        guard computed.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(computed, expected) { difference |= a ^ b }
        return difference == 0
    }
}
