import SwitchyardJSON
import Testing

@Suite("JSON reader and writer")
struct JSONTests {
    @Test("Valid documents parse and re-serialize compactly", arguments: [
        ("null", "null"), ("true", "true"), ("false", "false"), ("0", "0"), ("-0", "-0"), ("12", "12"),
        ("-1.5e+10", "-1.5e+10"), ("1.10", "1.10"), ("18446744073709551617", "18446744073709551617"),
        (#""a""#, #""a""#), (#" [ 1 , 2 ] "#, "[1,2]"), (#"{ "b" : 1 , "a" : [true, null] }"#, #"{"b":1,"a":[true,null]}"#),
        ("[]", "[]"), ("{}", "{}"), (#""\u00e9\n\t\"\\\/""#, #""é\n\t\"\\/""#), (#""😀""#, #""😀""#),
        (#""\ud83d\ude00""#, #""😀""#), (#""\u0001""#, #""\u0001""#),
    ])
    func roundTrip(input: String, output: String) throws {
        #expect(try JSONValue(parsing: input).serialized() == output)
    }

    @Test("A Double with an integer value below 2^53 is written as that integer, as JavaScript writes it", arguments: [
        (1.0, "1"), (-0.0, "0"), (1e15, "1000000000000000"), (-8_860_964_208_246_784.0, "-8860964208246784"),
        (9_007_199_254_740_991.0, "9007199254740991"), (1.5, "1.5"),
    ])
    func integralDoubles(value: Double, literal: String) {
        #expect(JSONNumber(value).literal == literal)
    }

    @Test("In an object of any size a repeated key's last value wins in the first one's place", arguments: [3, 16, 17, 2_000])
    func repeatedKeys(members: Int) throws {
        // k0 … k(n-1), then k1 again and k0 again: the values 1 and 0 move, the order does not.
        let text = "{" + (0..<members).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + #","k1":"one","k0":"zero"}"#
        guard case .object(let object) = try JSONValue(parsing: text) else { Issue.record("not an object"); return }
        #expect(object.count == members)
        #expect(object.keys == (0..<members).map { "k\($0)" })
        #expect(object["k0"] == "zero")
        #expect(object["k1"] == "one")
        #expect(object["k2"] == (members > 2 ? 2 : nil))
    }

    @Test("Invalid documents are refused", arguments: [
        "", " ", "nul", "tru", "[", "]", "{", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}", "01", "1.",
        ".5", "-", "1e", "+1", "0x10", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "\"\u{01}\"", "[1] 2", "NaN", "Infinity", "'a'", "[1 2]", "{\"a\" 1}", "\"\\",
    ])
    func refuse(input: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: input) }
    }

    @Test("Invalid UTF-8 inside strings is refused", arguments: [
        [0x22, 0xC3, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],
        [0x22, 0xE2, 0x82, 0x22], [0x22, 0x80, 0x22], [0x22, 0xF0, 0x82, 0x82, 0xAC, 0x22],
    ] as [[UInt8]])
    func refuseInvalidUTF8(bytes: [UInt8]) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: bytes) }
    }

    @Test("Nesting beyond the limit is refused instead of exhausting the stack")
    func depthLimit() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue(parsing: ok) }
    }

    @Test("Object members keep document order; equality ignores order")
    func objectOrder() throws {
        let value = try JSONValue(parsing: #"{"z":1,"a":2,"m":3}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(value == (try JSONValue(parsing: #"{"a":2,"m":3,"z":1}"#)))
        #expect(value["a"]?.intValue == 2)
    }

    @Test("Splitting an array yields each element's exact byte range")
    func splitArray() throws {
        let text = #"[ "ev" , {"a":[1,2]},3.5,"x,y" ]"#
        let bytes = Array(text.utf8)
        let ranges = try bytes.withUnsafeBytes { try RawJSON.splitArray($0) }
        let parts = ranges.map { String(decoding: bytes[$0], as: UTF8.self) }
        #expect(parts == [#""ev""#, #"{"a":[1,2]}"#, "3.5", #""x,y""#])
        #expect(try [UInt8]("[]".utf8).withUnsafeBytes { try RawJSON.splitArray($0) } == [])
        #expect(throws: JSONParseError.self) { try [UInt8]("{}".utf8).withUnsafeBytes { try RawJSON.splitArray($0) } }
        #expect(throws: JSONParseError.self) { try [UInt8]("[1,{]".utf8).withUnsafeBytes { try RawJSON.splitArray($0) } }
    }

    @Test("Scanning an array counts and validates its elements, from the start or after a prefix the caller read")
    func scanArray() throws {
        func scan(_ text: String, from offset: Int = 0) throws -> (Int, String) {
            let bytes = Array(text.utf8)
            let (count, span) = try bytes.withUnsafeBytes { try RawJSON.scanArray($0, resumingAt: offset) }
            return (count, String(decoding: bytes[span], as: UTF8.self))
        }
        let text = #"[ "ev" , {"a":[1,2]},3.5,"x,y" ]"#
        #expect(try scan(text) == (4, #""ev" , {"a":[1,2]},3.5,"x,y""#))
        // Resuming after `[ "ev"` (offset 6): the three elements after it.
        #expect(try scan(text, from: 6) == (3, #"{"a":[1,2]},3.5,"x,y""#))
        #expect(try scan(#"["ev"]"#, from: 5) == (0, ""))
        #expect(try scan("[ ]") == (0, ""))
        for bad in ["{}", "[1,{]", "[1,]", "[1 2]", "[1]]", "[1] x", "["] {
            #expect(throws: JSONParseError.self, "\(bad)") { try scan(bad) }
        }
        #expect(throws: JSONParseError.self) { try scan(#"["ev" 1]"#, from: 5) }
        #expect(throws: JSONParseError.self) { try scan(#"["ev",]"#, from: 5) }
    }

    @Test("Strings are checked byte by byte wherever the quote, escape, control character or UTF-8 falls in a long run")
    func stringsAtEveryOffset() throws {
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 31] {
            for position in 0...length {
                func document(_ insert: [UInt8]) -> [UInt8] {
                    var text = Array(repeating: UInt8(ascii: "a"), count: length)
                    text.insert(contentsOf: insert, at: position)
                    return Array("[\"".utf8) + text + Array("\",1]".utf8)
                }
                func valid(_ bytes: [UInt8]) -> Bool { (try? bytes.withUnsafeBytes { try RawJSON.scanArray($0) }) != nil }
                #expect(valid(document([])))
                #expect(valid(document(Array(#"\""#.utf8))), "escaped quote at \(position) of \(length)")
                #expect(valid(document(Array("é😀".utf8))), "UTF-8 at \(position) of \(length)")
                #expect(!valid(document([0x1F])), "control character at \(position) of \(length)")
                #expect(!valid(document([0x0A])), "newline at \(position) of \(length)")
                #expect(!valid(document([0xC3])), "truncated UTF-8 at \(position) of \(length)")
                #expect(!valid(document([0xFF])), "invalid byte at \(position) of \(length)")
                #expect(!valid(document(Array(#"\x"#.utf8))), "bad escape at \(position) of \(length)")
                // A quote ends the string early: what follows is not valid JSON.
                #expect(!valid(document([UInt8(ascii: "\""), UInt8(ascii: "b")])), "quote at \(position) of \(length)")
                let value = try JSONValue(parsing: document(Array(#"\""#.utf8)))
                #expect(value[0]?.stringValue?.count == length + 1)
            }
        }
    }

    @Test("The writer escapes quotes, backslashes and control characters only")
    func writerEscaping() {
        var bytes: [UInt8] = []
        bytes.writeJSONString("a\"b\\c\n\u{0}\u{1f}é😀/")
        #expect(String(decoding: bytes, as: UTF8.self) == #""a\"b\\c\n\u0000\u001fé😀/""#)
    }

    @Test("Numbers keep their literal and convert on demand")
    func numbers() throws {
        let value = try JSONValue(parsing: "[1, 2.50, -3e2, 9007199254740993]")
        let numbers = value.arrayValue!.compactMap(\.numberValue)
        #expect(numbers.map(\.literal) == ["1", "2.50", "-3e2", "9007199254740993"])
        #expect(numbers[0].intValue == 1)
        #expect(numbers[1].intValue == nil)
        #expect(numbers[2].intValue == -300)
        #expect(numbers[3].intValue == 9_007_199_254_740_993)
        #expect(JSONValue(integerLiteral: 42).serialized() == "42")
        #expect(JSONValue(floatLiteral: 0.5).serialized() == "0.5")
    }

    @Test("Parsed random documents survive a serialize-parse round trip")
    func generatedRoundTrip() throws {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<300 {
            let value = Self.randomValue(depth: 0, using: &generator)
            let text = value.serialized()
            #expect(try JSONValue(parsing: text) == value, "\(text)")
        }
    }

    static func randomValue(depth: Int, using generator: inout SeededGenerator) -> JSONValue {
        let choice = depth > 4 ? Int.random(in: 0..<4, using: &generator) : Int.random(in: 0..<6, using: &generator)
        switch choice {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(JSONNumber(Int.random(in: -1_000_000...1_000_000, using: &generator)))
        case 3:
            let scalars = (0..<Int.random(in: 0..<8, using: &generator)).map { _ in
                Unicode.Scalar([0x22, 0x5C, 0x0A, 0x41, 0xE9, 0x1F600, 0x7F, 0x01][Int.random(in: 0..<8, using: &generator)])!
            }
            return .string(String(String.UnicodeScalarView(scalars)))
        case 4: return .array((0..<Int.random(in: 0..<4, using: &generator)).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            var object = JSONObject()
            for index in 0..<Int.random(in: 0..<4, using: &generator) {
                object["k\(index)"] = randomValue(depth: depth + 1, using: &generator)
            }
            return .object(object)
        }
    }
}

/// A deterministic generator (SplitMix64) so generated cases are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
