/// Checkers for the validated `format`s. They read UTF-8 bytes and do not allocate.
enum FormatChecker {
    static func check(_ format: JSONSchema.Format, _ string: String) -> Bool {
        var string = string
        return string.withUTF8 { bytes in
            switch format {
            case .dateTime: return isDateTime(bytes)
            case .date: return bytes.count == 10 && isDate(bytes, 0)
            case .time: return isTime(bytes, 0) == bytes.count
            case .email: return isEmail(bytes)
            case .uuid: return isUUID(bytes)
            case .uri: return isURI(bytes)
            case .other: return true
            }
        }
    }

    /// A message for a value that is not in `format`.
    static func message(_ format: JSONSchema.Format) -> String {
        switch format {
        case .dateTime: return "must be a date-time (RFC 3339, like 2024-05-01T12:30:00Z)"
        case .date: return "must be a date (RFC 3339, like 2024-05-01)"
        case .time: return "must be a time (RFC 3339, like 12:30:00Z)"
        case .email: return "must be an email address"
        case .uuid: return "must be a UUID"
        case .uri: return "must be a URI with a scheme"
        case .other(let name): return "must be a valid \(name)"
        }
    }

    @inline(__always)
    private static func digit(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int? {
        guard index < bytes.count else { return nil }
        let value = bytes[index] &- UInt8(ascii: "0")
        return value < 10 ? Int(value) : nil
    }

    /// The number written with `count` digits at `index`.
    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int, _ count: Int) -> Int? {
        var value = 0
        for offset in 0..<count {
            guard let digit = digit(bytes, index + offset) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    private static func byte(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int, is expected: UInt8) -> Bool {
        index < bytes.count && bytes[index] == expected
    }

    /// `YYYY-MM-DD` at `index`, with a day that exists in that month.
    private static func isDate(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> Bool {
        guard let year = number(bytes, index, 4), byte(bytes, index + 4, is: UInt8(ascii: "-")),
            let month = number(bytes, index + 5, 2), byte(bytes, index + 7, is: UInt8(ascii: "-")),
            let day = number(bytes, index + 8, 2), (1...12).contains(month), day >= 1
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        switch month {
        case 2: return day <= (leap ? 29 : 28)
        case 4, 6, 9, 11: return day <= 30
        default: return day <= 31
        }
    }

    /// `HH:MM:SS[.frac](Z|±HH:MM)` at `index`: the index after it, or `nil`. A leap second
    /// (`:60`) is accepted only at 23:59 UTC.
    private static func isTime(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int? {
        guard let hour = number(bytes, index, 2), byte(bytes, index + 2, is: UInt8(ascii: ":")),
            let minute = number(bytes, index + 3, 2), byte(bytes, index + 5, is: UInt8(ascii: ":")),
            let second = number(bytes, index + 6, 2), hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var cursor = index + 8
        if byte(bytes, cursor, is: UInt8(ascii: ".")) {
            cursor += 1
            guard digit(bytes, cursor) != nil else { return nil }
            while digit(bytes, cursor) != nil { cursor += 1 }
        }
        guard cursor < bytes.count else { return nil }
        var offsetMinutes = 0
        switch bytes[cursor] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            cursor += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let offsetHour = number(bytes, cursor + 1, 2), byte(bytes, cursor + 3, is: UInt8(ascii: ":")),
                let offsetMinute = number(bytes, cursor + 4, 2), offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (bytes[cursor] == UInt8(ascii: "-") ? -1 : 1)
            cursor += 6
        default:
            return nil
        }
        if second == 60 {
            let utc = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            guard utc == 23 * 60 + 59 else { return nil }
        }
        return cursor
    }

    private static func isDateTime(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 20, isDate(bytes, 0), bytes[10] | 0x20 == UInt8(ascii: "t") else { return false }
        return isTime(bytes, 11) == bytes.count
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10 || (byte | 0x20) &- UInt8(ascii: "a") < 6
    }

    private static func isUUID(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 36 else { return false }
        for index in 0..<36 {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard bytes[index] == UInt8(ascii: "-") else { return false }
            } else {
                guard isHex(bytes[index]) else { return false }
            }
        }
        return true
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10 || (byte | 0x20) &- UInt8(ascii: "a") < 26
    }

    /// `local@domain`: a dot-atom local part (ASCII printable characters other than specials,
    /// or any non-ASCII), and a domain of letter-digit-hyphen labels.
    private static func isEmail(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let at = bytes.firstIndex(of: UInt8(ascii: "@")), at > 0, at <= 64, at < bytes.count - 1 else { return false }
        var previous: UInt8 = UInt8(ascii: ".")
        for index in 0..<at {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                guard previous != UInt8(ascii: ".") else { return false }
            } else if byte < 0x80 {
                guard isAlphanumeric(byte) || "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte) else { return false }
            }
            previous = byte
        }
        guard previous != UInt8(ascii: ".") else { return false }
        let domain = UnsafeBufferPointer(rebasing: bytes[(at + 1)...])
        guard domain.count <= 253 else { return false }
        var labelLength = 0
        previous = UInt8(ascii: ".")
        for byte in domain {
            if byte == UInt8(ascii: ".") {
                guard labelLength > 0, previous != UInt8(ascii: "-") else { return false }
                labelLength = 0
            } else {
                guard isAlphanumeric(byte) || (byte == UInt8(ascii: "-") && labelLength > 0) else { return false }
                labelLength += 1
                guard labelLength <= 63 else { return false }
            }
            previous = byte
        }
        return labelLength > 0 && previous != UInt8(ascii: "-")
    }

    /// `scheme:rest`, where the rest holds only characters RFC 3986 allows and `%` escapes are
    /// complete.
    private static func isURI(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first, (first | 0x20) &- UInt8(ascii: "a") < 26 else { return false }
        var index = 1
        while index < bytes.count, isAlphanumeric(bytes[index]) || "+-.".utf8.contains(bytes[index]) { index += 1 }
        guard byte(bytes, index, is: UInt8(ascii: ":")) else { return false }
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) else { return false }
                index += 3
                continue
            }
            guard isAlphanumeric(byte) || "-._~!$&'()*+,;=:@/?#[]".utf8.contains(byte) else { return false }
            index += 1
        }
        return true
    }
}
