import Foundation

/// The times `switchyard audit --since/--until` accepts: an age or a UTC time.
///
/// ```swift
/// try AuditTimeExpression.parse("10m", now: now)                    // now − 10 minutes
/// try AuditTimeExpression.parse("1h30m", now: now)                  // now − 90 minutes
/// try AuditTimeExpression.parse("2026-11-22T10:00:00Z", now: now)   // that instant
/// try AuditTimeExpression.parse("2026-11-22", now: now)             // midnight UTC
/// ```
///
/// Ages are one or more `<number><unit>` with units `s`, `m`, `h`, `d`, `w`; `now` is
/// now. Times are ISO 8601: a date, or a date and time with optional seconds, fraction
/// and zone (`Z`, `+02:00`; none means UTC).
public enum AuditTimeExpression {
    /// Why a text is not a time.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var text: String
        public var description: String {
            "'\(text)' is neither an age (30s, 10m, 2h, 3d, 1w, 1h30m) nor a UTC time (2026-11-22T10:00:00Z, 2026-11-22)"
        }
    }

    /// The instant `text` denotes, ages counted back from `now`.
    public static func parse(_ text: String, now: Date = Date()) throws(ParseError) -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "now" { return now }
        if let age = age(trimmed) { return now.addingTimeInterval(-age) }
        if let date = Timestamp.parse(trimmed) { return date }
        throw ParseError(text: text)
    }

    /// `10m` → 600; nil unless the whole text is number-unit pairs.
    static func age(_ text: String) -> TimeInterval? {
        var total: TimeInterval = 0
        var number: Int?
        var pairs = 0
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                let (product, overflow) = (number ?? 0).multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                number = product + digit
                continue
            }
            let seconds: TimeInterval
            switch character {
            case "s": seconds = 1
            case "m": seconds = 60
            case "h": seconds = 3_600
            case "d": seconds = 86_400
            case "w": seconds = 604_800
            default: return nil
            }
            guard let value = number else { return nil }
            total += TimeInterval(value) * seconds
            number = nil
            pairs += 1
        }
        return number == nil && pairs > 0 ? total : nil
    }
}
