import Testing

@testable import SwitchyardSchema

@Suite("Exact decimal numbers")
struct ExactNumberTests {
    @Test(
        "Comparison follows the value, not the spelling",
        arguments: [
            ("1", "1.0", 0), ("1e2", "100", 0), ("-0", "0", 0), ("0.000", "0e10", 0), ("123.456e-2", "1.23456", 0),
            ("0.1", "0.01", 1), ("-1", "-2", 1), ("-2", "1", -1), ("9007199254740993", "9007199254740992", 1),
            ("1e-400", "0", 1), ("-1e-400", "0", -1), ("-1e400", "-1e399", -1), ("10", "9.99999999999999999999", 1),
            ("1.5", "1.50001", -1), ("12", "1.2E1", 0), ("0.5", "5e-1", 0),
        ])
    func compare(lhs: String, rhs: String, expected: Int) throws {
        let a = try #require(ExactNumber(lhs))
        let b = try #require(ExactNumber(rhs))
        #expect(a.compare(b) == expected)
        #expect(b.compare(a) == -expected)
    }

    @Test(
        "Integers are numbers without a fractional part",
        arguments: [
            ("1.0", true), ("1.5e1", true), ("1.55e1", false), ("100e-2", true), ("1e-1", false), ("0.0", true), ("-0", true),
            ("123456789012345678901234567890", true), ("1e400", true), ("1.000000000000000000001", false), ("-7", true),
        ])
    func integer(literal: String, isInteger: Bool) throws {
        #expect(try #require(ExactNumber(literal)).isInteger == isInteger)
    }

    @Test(
        "multipleOf is exact",
        arguments: [
            ("0.0075", "0.0001", true), ("10", "2.5", true), ("10", "3", false), ("1e308", "2", true), ("1e308", "3", false),
            ("0.3", "0.1", true), ("0.31", "0.1", false), ("-9", "3", true), ("5", "50", false), ("0", "7", true),
            ("123456789012345678901234567890", "10", true), ("4.5", "1.5", true), ("1e20", "1e19", true), ("1e19", "1e20", false),
            ("999999999999999999", "999999999999999999", true), ("1e40", "999999999999999989", false),
        ])
    func multiple(value: String, divisor: String, expected: Bool) throws {
        let value = try #require(ExactNumber(value))
        let divisor = try #require(ExactNumber(divisor))
        #expect(value.isMultiple(of: divisor) == expected)
    }

    @Test("Malformed literals are not read", arguments: ["", "-", "1.", ".5", "1e", "1e+", "01x", "abc", "--1"])
    func malformed(literal: String) {
        #expect(ExactNumber(literal) == nil)
    }

    @Test("Equal values hash alike")
    func hashing() throws {
        var a = Hasher()
        var b = Hasher()
        try #require(ExactNumber("1.50")).hash(into: &a)
        try #require(ExactNumber("15e-1")).hash(into: &b)
        #expect(a.finalize() == b.finalize())
    }
}
