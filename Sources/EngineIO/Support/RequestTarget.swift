/// The path and query of an HTTP request target (`/socket.io/?EIO=4&transport=polling`).
public struct RequestTarget: Sendable, Hashable {
    public var path: String
    /// Query parameters; the first occurrence of a name wins.
    public var query: [String: String]

    public init(path: String, query: [String: String]) {
        self.path = path
        self.query = query
    }

    /// Parses `uri` as UTF-8 bytes (every polling request does this; working on
    /// `Character`s cost more than the rest of the request).
    public init(_ uri: String) {
        var uri = uri
        (path, query) = uri.withUTF8 { Self.parse($0) }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> (path: String, query: [String: String]) {
        let mark = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.endIndex
        let path = percentDecode(bytes[..<mark], plusIsSpace: false)
        var query: [String: String] = [:]
        var start = mark + 1
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
            if end > start {
                let pair = bytes[start..<end]
                let name: String
                let value: String
                if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                    name = percentDecode(bytes[start..<equals], plusIsSpace: true)
                    value = percentDecode(bytes[(equals + 1)..<end], plusIsSpace: true)
                } else {
                    name = percentDecode(pair, plusIsSpace: true)
                    value = ""
                }
                if query[name] == nil { query[name] = value }
            }
            start = end + 1
        }
        return (path, query)
    }

    /// Decodes `%XX` escapes (and `+` in queries); malformed escapes are kept literally.
    static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String {
        var text = String(text)
        return text.withUTF8 { percentDecode($0[...], plusIsSpace: plusIsSpace) }
    }

    private static func percentDecode(_ text: Slice<UnsafeBufferPointer<UInt8>>, plusIsSpace: Bool) -> String {
        guard text.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(decoding: UnsafeBufferPointer(rebasing: text), as: UTF8.self)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "+"), plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), text.endIndex - index > 2,
                let high = hexValue(text[index + 1]),
                let low = hexValue(text[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 2
            } else {
                bytes.append(byte)
            }
            index += 1
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
