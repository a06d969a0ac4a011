import SwitchyardJSON
import SwitchyardSchema
import Testing

@Suite("Formats")
struct FormatTests {
    static func violations(_ format: String, _ value: String) throws -> [String] {
        let schema = try JSONSchema(.object(["format": .string(format)]))
        let violations = schema.validate(.string(value))
        #expect(schema.isValid(.string(value)) == violations.isEmpty)
        return violations.map(\.description)
    }

    @Test(
        "date-time accepts RFC 3339 timestamps",
        arguments: [
            "2024-05-01T12:30:00Z", "2024-05-01t12:30:00z", "2024-02-29T00:00:00.123456+05:30", "2000-02-29T23:59:59-23:59",
            "1998-12-31T23:59:60Z", "1998-12-31T15:59:60-08:00", "1998-12-31T23:59:60.5Z",
        ])
    func dateTimeValid(value: String) throws { #expect(try Self.violations("date-time", value) == []) }

    @Test(
        "date-time refuses anything else",
        arguments: [
            "2024-05-01 12:30:00Z", "2024-05-01T12:30:00", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
            "2024-00-10T00:00:00Z", "2024-04-31T00:00:00Z", "2024-05-00T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z",
            "2024-05-01T12:30:60Z", "2024-05-01T12:30:00.Z", "2024-05-01T12:30:00+0530", "2024-05-01T12:30:00+24:00",
            "24-05-01T12:30:00Z", "2024-05-01T12:30:00Zjunk", "2024-5-01T12:30:00Z", "٢٠٢٤-05-01T12:30:00Z", "", "2024-05-01",
        ])
    func dateTimeInvalid(value: String) throws {
        #expect(try Self.violations("date-time", value) == ["$ must be a date-time (RFC 3339, like 2024-05-01T12:30:00Z)"])
    }

    @Test(
        "date and time",
        arguments: [
            ("date", "2024-02-29", true), ("date", "2000-02-29", true), ("date", "1900-02-29", false), ("date", "2024-4-01", false),
            ("date", "2024-04-31", false), ("date", "2024-04-30T00:00:00Z", false), ("time", "12:30:00Z", true),
            ("time", "23:59:60Z", true), ("time", "08:30:00.25+01:00", true), ("time", "12:30:00", false), ("time", "12:30Z", false),
            ("time", "12:30:60Z", false),
        ])
    func dateAndTime(format: String, value: String, valid: Bool) throws {
        let expected = format == "date" ? "$ must be a date (RFC 3339, like 2024-05-01)" : "$ must be a time (RFC 3339, like 12:30:00Z)"
        #expect(try Self.violations(format, value) == (valid ? [] : [expected]))
    }

    @Test(
        "email",
        arguments: [
            ("joe@example.com", true), ("first.last+tag@sub.example.co", true), ("o'brien@example.org", true), ("user@localhost", true),
            ("δοκιμή@example.com", true), ("joe", false), ("@example.com", false), ("joe@", false), ("jo e@example.com", false),
            ("joe@@example.com", false), (".joe@example.com", false), ("joe.@example.com", false), ("jo..e@example.com", false),
            ("joe@-example.com", false), ("joe@example-.com", false), ("joe@example..com", false), ("joe@exa_mple.com", false),
            ("joe@example.com.", false), ("a(b)@example.com", false),
        ])
    func email(value: String, valid: Bool) throws {
        #expect(try Self.violations("email", value) == (valid ? [] : ["$ must be an email address"]))
    }

    @Test(
        "uuid",
        arguments: [
            ("123e4567-e89b-12d3-a456-426614174000", true), ("123E4567-E89B-12D3-A456-426614174000", true),
            ("00000000-0000-0000-0000-000000000000", true), ("123e4567e89b12d3a456426614174000", false),
            ("123e4567-e89b-12d3-a456-42661417400g", false), ("{123e4567-e89b-12d3-a456-426614174000}", false),
            ("123e4567-e89b-12d3-a456-4266141740000", false), ("123e4567-e89b-12d3a-456-426614174000", false),
        ])
    func uuid(value: String, valid: Bool) throws {
        #expect(try Self.violations("uuid", value) == (valid ? [] : ["$ must be a UUID"]))
    }

    @Test(
        "uri",
        arguments: [
            ("https://example.com/a?b=c#d", true), ("urn:isbn:0451450523", true), ("mailto:joe@example.com", true),
            ("http://[::1]:80/", true), ("x:", true), ("web+app://a%20b", true), ("example.com", false), ("/relative/path", false),
            ("1http://x", false), ("http://exa mple.com", false), ("http://example.com/%zz", false), ("http://example.com/%2", false),
            ("https://例え.jp", false), (":nope", false), ("", false), ("http://a/<b>", false),
        ])
    func uri(value: String, valid: Bool) throws {
        #expect(try Self.violations("uri", value) == (valid ? [] : ["$ must be a URI with a scheme"]))
    }

    @Test("Unknown formats are annotations; formats ignore non-strings")
    func unknownAndNonStrings() throws {
        #expect(try Self.violations("hostname", "not a host name!") == [])
        let schema = try JSONSchema(parsing: #"{"format": "email"}"#)
        #expect(schema.validate(5).isEmpty && schema.validate(["a": 1]).isEmpty)
    }
}
