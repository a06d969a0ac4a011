/// The path and query of an HTTP request target (`/socket.io/?EIO=4&transport=polling`).
public struct RequestTarget: Sendable, Hashable {
    public var path: String
    /// Query parameters; the first occurrence of a name wins.
    public var query: [String: String]

    public init(path: String, query: [String: String]) {
        self.path = path
        self.query = query
    }

    public init(_ uri: String) {
        guard let mark = uri.firstIndex(of: "?") else {
            self.path = Self.percentDecode(Substring(uri), plusIsSpace: false)
            self.query = [:]
            return
        }
        self.path = Self.percentDecode(uri[..<mark], plusIsSpace: false)
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.percentDecode(parts[0], plusIsSpace: true)
            let value = parts.count > 1 ? Self.percentDecode(parts[1], plusIsSpace: true) : ""
            if query[name] == nil { query[name] = value }
        }
        self.query = query
    }

    /// Decodes `%XX` escapes (and `+` in queries); malformed escapes are kept literally.
    static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String {
        guard text.contains("%") || (plusIsSpace && text.contains("+")) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "+"), plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let high = hexValue(iterator[iterator.startIndex]),
                let low = hexValue(iterator[iterator.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
