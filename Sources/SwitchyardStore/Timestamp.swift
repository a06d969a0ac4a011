import Foundation
import SwitchyardJSON

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
        let (year, month, day) = CivilCalendar.civil(fromDays: days)
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
        milliseconds += CivilCalendar.days(fromCivil: year, month, day) * 86_400_000
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
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
