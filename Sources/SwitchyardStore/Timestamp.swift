import Foundation

/// UTC timestamps in the one text form the database stores: `2026-11-22T10:00:00.123Z`.
///
/// Fixed width with milliseconds, so text order is time order and `time >= '…'` in SQL is
/// a range scan on the index; SQLite's own date functions read the form as it is
/// (`julianday(time)`, `strftime('%s', time)`). Formatting and parsing are done by hand
/// (civil-date arithmetic), not by a `DateFormatter`, because the audit writer formats
/// every row and formatters are slow and not thread-safe on every platform.
enum Timestamp {
    /// `2026-11-22T10:00:00.123Z` (milliseconds, rounded to the nearest).
    static func format(_ date: Date) -> String {
        format(milliseconds: milliseconds(date))
    }

    /// Milliseconds since 1970, rounded to the nearest: the precision stored.
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func format(milliseconds: Int64) -> String {
        withFormatted(milliseconds: milliseconds) { String(decoding: $0, as: UTF8.self) }
    }

    /// The text of ``format(milliseconds:)`` as UTF-8 bytes, valid during `body`: written
    /// into temporary memory, so the audit writer binds each row's time without building a
    /// `String` (years outside 0...9999 take the slow path).
    static func withFormatted<Result>(milliseconds: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        let perDay: Int64 = 86_400_000
        var days = milliseconds / perDay
        var inDay = milliseconds % perDay
        if inDay < 0 {
            inDay += perDay
            days -= 1
        }
        let (year, month, day) = civil(fromDays: days)
        let hour = inDay / 3_600_000, minute = inDay / 60_000 % 60, second = inDay / 1000 % 60, millisecond = inDay % 1000
        guard (0...9999).contains(year) else {
            func padded(_ value: Int64, _ width: Int) -> String {
                let digits = String(value)
                return String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
            var text = "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))T"
            text += "\(padded(hour, 2)):\(padded(minute, 2)):\(padded(second, 2)).\(padded(millisecond, 3))Z"
            return text.withUTF8(body)
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            var index = 0
            func put(_ value: Int64, width: Int, then separator: UInt8) {
                var value = value
                for position in stride(from: index + width - 1, through: index, by: -1) {
                    buffer[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10)
                    value /= 10
                }
                buffer[index + width] = separator
                index += width + 1
            }
            put(year, width: 4, then: UInt8(ascii: "-"))
            put(month, width: 2, then: UInt8(ascii: "-"))
            put(day, width: 2, then: UInt8(ascii: "T"))
            put(hour, width: 2, then: UInt8(ascii: ":"))
            put(minute, width: 2, then: UInt8(ascii: ":"))
            put(second, width: 2, then: UInt8(ascii: "."))
            put(millisecond, width: 3, then: UInt8(ascii: "Z"))
            return body(UnsafeBufferPointer(buffer))
        }
    }

    /// Reads `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff…]]` with an optional zone (`Z`,
    /// `±HH:MM`, `±HHMM`; none means UTC). A space may stand for the `T`. Returns nil for
    /// anything else, including impossible dates like February 30.
    static func parse(_ text: String) -> Date? {
        var scanner = Scanner(Array(text.utf8))
        guard let year = scanner.digits(4), scanner.skip("-"),
            let month = scanner.digits(2), scanner.skip("-"),
            let day = scanner.digits(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        var milliseconds: Int64 = 0
        if !scanner.isAtEnd {
            guard scanner.skip("T") || scanner.skip("t") || scanner.skip(" "),
                let hour = scanner.digits(2), scanner.skip(":"),
                let minute = scanner.digits(2)
            else { return nil }
            var second: Int64 = 0
            if scanner.skip(":") {
                guard let value = scanner.digits(2) else { return nil }
                second = value
                if scanner.skip(".") || scanner.skip(",") {
                    var scale: Int64 = 100
                    var fraction: Int64 = 0
                    var count = 0
                    while let digit = scanner.digit() {
                        fraction += digit * scale
                        scale /= 10
                        count += 1
                    }
                    guard count > 0 else { return nil }
                    milliseconds += fraction
                }
            }
            guard hour < 24, minute < 60, second < 60 else { return nil }
            milliseconds += (hour * 3600 + minute * 60 + second) * 1000
            if scanner.skip("Z") || scanner.skip("z") {
                // UTC
            } else if let sign = scanner.sign() {
                guard let offsetHours = scanner.digits(2) else { return nil }
                _ = scanner.skip(":")
                guard let offsetMinutes = scanner.digits(2), offsetHours < 24, offsetMinutes < 60 else { return nil }
                milliseconds -= sign * (offsetHours * 60 + offsetMinutes) * 60_000
            }
        }
        guard scanner.isAtEnd else { return nil }
        milliseconds += days(fromCivil: year, month, day) * 86_400_000
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    // MARK: - Civil calendar (proleptic Gregorian), after Howard Hinnant's algorithms

    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }


    /// A cursor over ASCII bytes.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { index >= bytes.count }

        mutating func skip(_ character: Character) -> Bool {
            guard !isAtEnd, let ascii = character.asciiValue, bytes[index] == ascii else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int64? {
            guard !isAtEnd, bytes[index] >= 0x30, bytes[index] <= 0x39 else { return nil }
            defer { index += 1 }
            return Int64(bytes[index] - 0x30)
        }

        mutating func digits(_ count: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<count {
                guard let digit = digit() else { return nil }
                value = value * 10 + digit
            }
            return value
        }

        mutating func sign() -> Int64? {
            if skip("+") { return 1 }
            if skip("-") { return -1 }
            return nil
        }
    }
}
