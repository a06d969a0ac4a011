import Foundation
import Testing

@testable import SwitchyardStore

@Suite("--since and --until")
struct AuditTimeExpressionTests {
    let now = referenceTime

    @Test(
        "Ages count back from now",
        arguments: [
            ("30s", 30.0), ("10m", 600), ("2h", 7_200), ("3d", 259_200), ("1w", 604_800), ("1h30m", 5_400), ("0s", 0),
            ("now", 0),
        ])
    func ages(text: String, seconds: Double) throws {
        #expect(try AuditTimeExpression.parse(text, now: now) == now.addingTimeInterval(-seconds))
    }

    @Test(
        "UTC times and dates",
        arguments: [
            ("2026-11-22T10:00:00Z", 0.0), ("2026-11-22T10:00:00.250Z", 0.25), ("2026-11-22T10:00Z", 0),
            ("2026-11-22 10:00:00", 0), ("2026-11-22T12:00:00+02:00", 0), ("2026-11-22T05:30:00-0430", 0),
            ("2026-11-22", -36_000), ("2026-11-23T00:00:00Z", 50_400),
        ])
    func times(text: String, offset: Double) throws {
        #expect(try AuditTimeExpression.parse(text, now: Date()) == referenceTime.addingTimeInterval(offset))
    }

    @Test(
        "Anything else is refused with the accepted forms",
        arguments: ["", "yesterday", "10", "m", "10x", "2026-02-30", "2026-11-22T25:00:00Z", "-5m", "2026-11-22T10:00:00Zjunk"])
    func refused(text: String) {
        #expect(throws: AuditTimeExpression.ParseError(text: text)) {
            _ = try AuditTimeExpression.parse(text, now: now)
        }
        #expect(
            AuditTimeExpression.ParseError(text: "yesterday").description
                == "'yesterday' is neither an age (30s, 10m, 2h, 3d, 1w, 1h30m) nor a UTC time (2026-11-22T10:00:00Z, 2026-11-22)")
    }

    @Test("Stored timestamps are fixed-width UTC with milliseconds and read back exactly")
    func timestamps() {
        #expect(Timestamp.format(referenceTime) == "2026-11-22T10:00:00.000Z")
        #expect(Timestamp.format(referenceTime.addingTimeInterval(0.007)) == "2026-11-22T10:00:00.007Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
        for milliseconds in stride(from: Int64(-86_400_000 * 800), through: 86_400_000 * 40_000, by: 86_399_999 * 7 + 13) {
            let text = Timestamp.format(milliseconds: milliseconds)
            #expect(Timestamp.parse(text) == Date(timeIntervalSince1970: Double(milliseconds) / 1000), "\(text)")
        }
        // Past the four-digit years the text is still readable (the slow path).
        #expect(Timestamp.format(milliseconds: 253_402_300_800_000) == "10000-01-01T00:00:00.000Z")
    }

    @Test("Stored timestamps agree with Foundation's ISO 8601 formatter")
    func timestampsAgreeWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            // 1900 to 2400, on whole milliseconds.
            let milliseconds = Int64.random(in: -2_208_988_800_000...13_569_465_600_000, using: &generator)
            // 0.2 ms in: the formatter gives the same millisecond whether it truncates or rounds.
            let date = Date(timeIntervalSince1970: (Double(milliseconds) + 0.2) / 1000)
            #expect(Timestamp.format(milliseconds: milliseconds) == formatter.string(from: date), "\(milliseconds)")
        }
    }
}
