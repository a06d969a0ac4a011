/// Why a document is not valid JSON, and where.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        case unexpectedEnd
        case unexpectedByte(UInt8)
        case invalidNumber
        case invalidEscape
        case invalidUnicodeEscape
        case invalidUTF8
        case controlCharacterInString
        case tooDeep(limit: Int)
        case trailingContent
    }

    public var reason: Reason
    /// Byte offset into the document where the problem was found.
    public var offset: Int

    public var description: String {
        switch reason {
        case .unexpectedEnd: return "unexpected end of JSON at byte \(offset)"
        case .unexpectedByte(let byte):
            let shown = (0x20..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "0x\(String(byte, radix: 16))"
            return "unexpected \(shown) at byte \(offset)"
        case .invalidNumber: return "invalid number at byte \(offset)"
        case .invalidEscape: return "invalid escape sequence at byte \(offset)"
        case .invalidUnicodeEscape: return "invalid \\u escape at byte \(offset)"
        case .invalidUTF8: return "invalid UTF-8 at byte \(offset)"
        case .controlCharacterInString: return "unescaped control character in string at byte \(offset)"
        case .tooDeep(let limit): return "nesting deeper than \(limit) levels at byte \(offset)"
        case .trailingContent: return "unexpected content after the JSON value at byte \(offset)"
        }
    }
}

/// A strict RFC 8259 reader over UTF-8 bytes.
///
/// It either builds a ``JSONValue`` or *skips* a value, validating it without allocating;
/// skipping is how the Socket.IO layer validates and counts an event's arguments
/// without decoding them. Nesting is limited (``defaultDepthLimit``) so a hostile document
/// cannot exhaust the stack.
public struct JSONReader {
    public static let defaultDepthLimit = 64

    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var index: Int
    let depthLimit: Int
    var depth = 0

    public init(bytes: UnsafeRawBufferPointer, depthLimit: Int = JSONReader.defaultDepthLimit) {
        self.bytes = bytes
        self.index = 0
        self.depthLimit = depthLimit
    }

    public var offset: Int { index }
    public var isAtEnd: Bool { index >= bytes.count }

    // MARK: - Whitespace and punctuation

    @inlinable
    public mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, without consuming it.
    public mutating func peek() throws(JSONParseError) -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw JSONParseError(reason: .unexpectedEnd, offset: index) }
        return bytes[index]
    }

    /// Consumes `byte` (after whitespace) or throws.
    public mutating func expect(_ byte: UInt8) throws(JSONParseError) {
        let next = try peek()
        guard next == byte else { throw JSONParseError(reason: .unexpectedByte(next), offset: index) }
        index += 1
    }

    /// Consumes `byte` (after whitespace) when it is next.
    public mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        if index < bytes.count, bytes[index] == byte {
            index += 1
            return true
        }
        return false
    }

    /// Throws unless only whitespace remains.
    public mutating func expectEnd() throws(JSONParseError) {
        skipWhitespace()
        if index < bytes.count { throw JSONParseError(reason: .trailingContent, offset: index) }
    }

    // MARK: - Skipping (validation without allocation)

    /// Validates one value and moves past it, returning the byte range it occupied.
    @discardableResult
    public mutating func skipValue() throws(JSONParseError) -> Range<Int> {
        let first = try peek()
        let start = index
        switch first {
        case UInt8(ascii: "{"):
            try enterContainer()
            index += 1
            if !consume(UInt8(ascii: "}")) {
                repeat {
                    guard try peek() == UInt8(ascii: "\"") else {
                        throw JSONParseError(reason: .unexpectedByte(bytes[index]), offset: index)
                    }
                    try skipString()
                    try expect(UInt8(ascii: ":"))
                    try skipValue()
                } while consume(UInt8(ascii: ","))
                try expect(UInt8(ascii: "}"))
            }
            depth -= 1
        case UInt8(ascii: "["):
            try enterContainer()
            index += 1
            if !consume(UInt8(ascii: "]")) {
                repeat {
                    try skipValue()
                } while consume(UInt8(ascii: ","))
                try expect(UInt8(ascii: "]"))
            }
            depth -= 1
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "t"):
            try expectLiteral("true")
        case UInt8(ascii: "f"):
            try expectLiteral("false")
        case UInt8(ascii: "n"):
            try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
        default:
            throw JSONParseError(reason: .unexpectedByte(first), offset: index)
        }
        return start..<index
    }

    mutating func enterContainer() throws(JSONParseError) {
        depth += 1
        if depth > depthLimit { throw JSONParseError(reason: .tooDeep(limit: depthLimit), offset: index) }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw JSONParseError(reason: .unexpectedEnd, offset: bytes.count) }
        let pointer = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != pointer[offset] {
            throw JSONParseError(reason: .unexpectedByte(bytes[index + offset]), offset: index + offset)
        }
        index += count
    }

    /// Validates a string starting at the opening quote; returns whether it had escapes.
    @discardableResult
    mutating func skipString() throws(JSONParseError) -> Bool {
        index += 1  // opening quote
        var sawEscape = false
        while index < bytes.count {
            skipPlainStringBytes()
            guard index < bytes.count else { break }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return sawEscape
            } else if byte == UInt8(ascii: "\\") {
                sawEscape = true
                try skipEscape()
            } else if byte < 0x20 {
                throw JSONParseError(reason: .controlCharacterInString, offset: index)
            } else if byte < 0x80 {
                index += 1
            } else {
                try skipUTF8Scalar()
            }
        }
        throw JSONParseError(reason: .unexpectedEnd, offset: index)
    }

    /// Moves past string bytes that need no check, eight at a time: stops at (or a few
    /// bytes before) the first quote, backslash, control character or non-ASCII byte, which
    /// the caller then reads one by one.
    ///
    /// SWAR: a byte of `w` is zero iff its lane in `(w - 0x01…) & ~w & 0x80…` is set, is
    /// below 0x20 iff it is in `(w - 0x20…) & ~w & 0x80…`, and is non-ASCII iff it is in
    /// `w & 0x80…`. Borrows can only flag lanes above a true hit, so nothing is skipped
    /// that should have been looked at.
    @inline(__always)
    mutating func skipPlainStringBytes() {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        while index &+ 8 <= count {
            let word = UInt64(littleEndian: (base + index).loadUnaligned(as: UInt64.self))
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let flagged = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word) | word
            if flagged & highs != 0 { return }
            index &+= 8
        }
    }

    mutating func skipEscape() throws(JSONParseError) {
        index += 1
        guard index < bytes.count else { throw JSONParseError(reason: .unexpectedEnd, offset: index) }
        switch bytes[index] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 1
        case UInt8(ascii: "u"):
            let start = index - 1
            index += 1
            let unit = try readHex4(at: start)
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw JSONParseError(reason: .invalidUnicodeEscape, offset: start) }
                index += 2
                let low = try readHex4(at: start)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONParseError(reason: .invalidUnicodeEscape, offset: start)
                }
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw JSONParseError(reason: .invalidUnicodeEscape, offset: start)
            }
        default:
            throw JSONParseError(reason: .invalidEscape, offset: index - 1)
        }
    }

    mutating func readHex4(at escapeStart: Int) throws(JSONParseError) -> UInt16 {
        guard index + 4 <= bytes.count else { throw JSONParseError(reason: .unexpectedEnd, offset: bytes.count) }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONParseError(reason: .invalidUnicodeEscape, offset: escapeStart)
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    /// Validates one multi-byte UTF-8 scalar (no overlongs, no surrogates, ≤ U+10FFFF).
    mutating func skipUTF8Scalar() throws(JSONParseError) {
        let start = index
        let lead = bytes[index]
        let length: Int
        let minimum: UInt32
        var scalar: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(lead & 0x07)
        default: throw JSONParseError(reason: .invalidUTF8, offset: start)
        }
        guard index + length <= bytes.count else { throw JSONParseError(reason: .invalidUTF8, offset: start) }
        for offset in 1..<length {
            let continuation = bytes[index + offset]
            guard continuation & 0xC0 == 0x80 else { throw JSONParseError(reason: .invalidUTF8, offset: start) }
            scalar = scalar << 6 | UInt32(continuation & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else {
            throw JSONParseError(reason: .invalidUTF8, offset: start)
        }
        index += length
    }

    /// Validates a number and returns its byte range.
    mutating func scanNumber() throws(JSONParseError) -> Range<Int> {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw JSONParseError(reason: .invalidNumber, offset: start) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(bytes[index]) {
            skipDigits()
        } else {
            throw JSONParseError(reason: .invalidNumber, offset: start)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw JSONParseError(reason: .invalidNumber, offset: start)
            }
            skipDigits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw JSONParseError(reason: .invalidNumber, offset: start)
            }
            skipDigits()
        }
        return start..<index
    }

    @inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    @inline(__always) mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    // MARK: - Building values

    /// Reads one value into a ``JSONValue``.
    public mutating func readValue() throws(JSONParseError) -> JSONValue {
        let first = try peek()
        switch first {
        case UInt8(ascii: "{"):
            try enterContainer()
            index += 1
            // Linear in the members even when a client sends thousands.
            var object = JSONObjectBuilder()
            if !consume(UInt8(ascii: "}")) {
                repeat {
                    guard try peek() == UInt8(ascii: "\"") else {
                        throw JSONParseError(reason: .unexpectedByte(bytes[index]), offset: index)
                    }
                    let key = try readString()
                    try expect(UInt8(ascii: ":"))
                    object.set(key, try readValue())
                } while consume(UInt8(ascii: ","))
                try expect(UInt8(ascii: "}"))
            }
            depth -= 1
            return .object(object.object)
        case UInt8(ascii: "["):
            try enterContainer()
            index += 1
            var array: [JSONValue] = []
            if !consume(UInt8(ascii: "]")) {
                repeat {
                    array.append(try readValue())
                } while consume(UInt8(ascii: ","))
                try expect(UInt8(ascii: "]"))
            }
            depth -= 1
            return .array(array)
        case UInt8(ascii: "\""):
            return .string(try readString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let range = try scanNumber()
            return .number(JSONNumber(validatedLiteral: string(in: range)))
        default:
            throw JSONParseError(reason: .unexpectedByte(first), offset: index)
        }
    }

    /// Reads a string value (the reader must be at its opening quote, after whitespace).
    public mutating func readString() throws(JSONParseError) -> String {
        guard try peek() == UInt8(ascii: "\"") else {
            throw JSONParseError(reason: .unexpectedByte(bytes[index]), offset: index)
        }
        let start = index
        let hadEscapes = try skipString()
        let contents = (start + 1)..<(index - 1)
        if !hadEscapes { return string(in: contents) }
        return Self.unescape(UnsafeRawBufferPointer(rebasing: bytes[contents]))
    }

    func string(in range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Decodes the escapes of already-validated string contents.
    static func unescape(_ raw: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var index = 0
        func hex4(_ at: Int) -> UInt32 {
            var value: UInt32 = 0
            for offset in 0..<4 {
                let byte = raw[at + offset]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                default: digit = byte - UInt8(ascii: "A") + 10
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            let kind = raw[index + 1]
            index += 2
            switch kind {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(index)
                index += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    let low = hex4(index + 2)
                    index += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                out.append(contentsOf: Unicode.Scalar(scalar).map { Array(String($0).utf8) } ?? [0xEF, 0xBF, 0xBD])
            default: out.append(kind)  // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension JSONValue {
    /// Parses a complete document.
    public init(parsing bytes: UnsafeRawBufferPointer, depthLimit: Int = JSONReader.defaultDepthLimit) throws(JSONParseError) {
        var reader = JSONReader(bytes: bytes, depthLimit: depthLimit)
        self = try reader.readValue()
        try reader.expectEnd()
    }

    /// Parses a complete document.
    public init<Bytes: Sequence>(parsing bytes: Bytes) throws(JSONParseError) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        let result = array.withUnsafeBytes { (buffer) -> Result<JSONValue, JSONParseError> in
            do throws(JSONParseError) {
                return .success(try JSONValue(parsing: buffer))
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }

    /// Parses a complete document.
    public init(parsing text: String) throws(JSONParseError) {
        try self.init(parsing: Array(text.utf8))
    }
}

/// Validation and splitting of raw JSON without building values.
public enum RawJSON {
    /// Throws unless `bytes` hold exactly one valid JSON value.
    public static func validate(_ bytes: UnsafeRawBufferPointer, depthLimit: Int = JSONReader.defaultDepthLimit) throws(JSONParseError) {
        var reader = JSONReader(bytes: bytes, depthLimit: depthLimit)
        try reader.skipValue()
        try reader.expectEnd()
    }

    /// Validates a top-level JSON array and counts its elements, without recording where
    /// each one is: `span` runs from the first counted element's first byte to the last
    /// one's last byte (empty, at the closing bracket, when none is counted).
    ///
    /// With `offset` 0 the whole array is read. Otherwise `offset` is where a caller that
    /// already read the opening bracket and one or more elements stopped (just after an
    /// element); the rest is read from there and only its elements are counted.
    ///
    /// Throws when the document is not exactly one array.
    public static func scanArray(
        _ bytes: UnsafeRawBufferPointer, resumingAt offset: Int = 0, depthLimit: Int = JSONReader.defaultDepthLimit
    ) throws(JSONParseError) -> (count: Int, span: Range<Int>) {
        var reader = JSONReader(bytes: bytes, depthLimit: depthLimit)
        var count = 0
        var start = 0
        var end = 0
        if offset == 0 {
            try reader.expect(UInt8(ascii: "["))
            reader.depth = 1
            if !reader.consume(UInt8(ascii: "]")) {
                let first = try reader.skipValue()
                (start, end, count) = (first.lowerBound, first.upperBound, 1)
                while reader.consume(UInt8(ascii: ",")) { end = try reader.skipValue().upperBound; count += 1 }
                try reader.expect(UInt8(ascii: "]"))
            }
        } else {
            reader.index = offset
            reader.depth = 1
            while reader.consume(UInt8(ascii: ",")) {
                let element = try reader.skipValue()
                if count == 0 { start = element.lowerBound }
                end = element.upperBound
                count += 1
            }
            try reader.expect(UInt8(ascii: "]"))
        }
        if count == 0 { (start, end) = (reader.index - 1, reader.index - 1) }
        try reader.expectEnd()
        return (count, start..<end)
    }

    /// The byte ranges of the elements of a top-level JSON array, each validated.
    ///
    /// Throws when the document is not exactly one array.
    public static func splitArray(_ bytes: UnsafeRawBufferPointer, depthLimit: Int = JSONReader.defaultDepthLimit) throws(JSONParseError) -> [Range<Int>] {
        var reader = JSONReader(bytes: bytes, depthLimit: depthLimit)
        try reader.expect(UInt8(ascii: "["))
        reader.depth = 1
        var elements: [Range<Int>] = []
        // An event is usually its name and one or two arguments: one allocation, not three.
        elements.reserveCapacity(4)
        if !reader.consume(UInt8(ascii: "]")) {
            repeat {
                elements.append(try reader.skipValue())
            } while reader.consume(UInt8(ascii: ","))
            try reader.expect(UInt8(ascii: "]"))
        }
        try reader.expectEnd()
        return elements
    }
}
