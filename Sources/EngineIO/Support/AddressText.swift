import NIOCore

extension SocketAddress {
    /// ``SocketAddress/ipAddress``, with IPv4 addresses written here rather than by
    /// `inet_ntop`, whose `sprintf` was the largest single cost of reading a client's address,
    /// read once per connection by the audit, the plugin context and the connect decision.
    /// A dotted quad is at most 15 bytes, so the string is stored inline (no allocation).
    public var ipAddressText: String? {
        guard case .v4(let address) = self else { return ipAddress }
        let value = UInt32(bigEndian: address.address.sin_addr.s_addr)
        return String(unsafeUninitializedCapacity: 15) { out in
            var count = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                let octet = Int(value >> UInt32(shift) & 0xFF)
                if octet >= 100 {
                    out[count] = UInt8(ascii: "0") + UInt8(octet / 100)
                    count += 1
                }
                if octet >= 10 {
                    out[count] = UInt8(ascii: "0") + UInt8(octet / 10 % 10)
                    count += 1
                }
                out[count] = UInt8(ascii: "0") + UInt8(octet % 10)
                count += 1
                if shift > 0 {
                    out[count] = UInt8(ascii: ".")
                    count += 1
                }
            }
            return count
        }
    }
}
