import SwitchyardJSON
import SwitchyardSchema
import Testing

@Suite("Validating values")
struct ValidationTests {
    @Test(
        "type, with integers decided by value rather than spelling",
        arguments: [
            ValidationCase(#"{"type": "string"}"#, #""a""#),
            ValidationCase(#"{"type": "string"}"#, "1", ["$ must be a string, found integer"]),
            ValidationCase(#"{"type": "string"}"#, "1.5", ["$ must be a string, found number"]),
            ValidationCase(#"{"type": "integer"}"#, "1"),
            ValidationCase(#"{"type": "integer"}"#, "-0"),
            ValidationCase(#"{"type": "integer"}"#, "1.0"),
            ValidationCase(#"{"type": "integer"}"#, "1e2"),
            ValidationCase(#"{"type": "integer"}"#, "1.5e1"),
            ValidationCase(#"{"type": "integer"}"#, "100e-2"),
            ValidationCase(#"{"type": "integer"}"#, "123456789012345678901234567890"),
            ValidationCase(#"{"type": "integer"}"#, "1e400"),
            ValidationCase(#"{"type": "integer"}"#, "1.5", ["$ must be an integer, found number"]),
            ValidationCase(#"{"type": "integer"}"#, "1e-1", ["$ must be an integer, found number"]),
            ValidationCase(#"{"type": "integer"}"#, "12345678901234567890.5", ["$ must be an integer, found number"]),
            ValidationCase(#"{"type": "integer"}"#, #""1""#, ["$ must be an integer, found string"]),
            ValidationCase(#"{"type": "number"}"#, "1"),
            ValidationCase(#"{"type": "number"}"#, "-1.5e-300"),
            ValidationCase(#"{"type": "number"}"#, "null", ["$ must be a number, found null"]),
            ValidationCase(#"{"type": "boolean"}"#, #""true""#, ["$ must be a boolean, found string"]),
            ValidationCase(#"{"type": "null"}"#, "0", ["$ must be null, found integer"]),
            ValidationCase(#"{"type": "object"}"#, "[]", ["$ must be an object, found array"]),
            ValidationCase(#"{"type": "array"}"#, "{}", ["$ must be an array, found object"]),
            ValidationCase(#"{"type": ["string", "null"]}"#, "null"),
            ValidationCase(#"{"type": ["string", "null"]}"#, "true", ["$ must be a string or null, found boolean"]),
            ValidationCase(#"{"type": ["null", "array", "object"]}"#, "1", ["$ must be an object, an array or null, found integer"]),
            ValidationCase(#"{"type": ["integer", "number"]}"#, "false", ["$ must be a number, found boolean"]),
        ])
    func type(_ example: ValidationCase) throws { try example.check() }

    @Test(
        "enum and const compare values, not spellings",
        arguments: [
            ValidationCase(#"{"enum": ["a", "b"]}"#, #""a""#),
            ValidationCase(#"{"enum": ["a", "b"]}"#, #""c""#, [#"$ must be one of "a", "b""#]),
            ValidationCase(#"{"enum": [1, null, {"x": [1]}]}"#, #"{"x": [1.0]}"#),
            ValidationCase(#"{"enum": [1, null, {"x": [1]}]}"#, #"{"x": [1], "y": 2}"#, [#"$ must be one of 1, null, {"x":[1]}"#]),
            ValidationCase(#"{"enum": [1]}"#, "10e-1"),
            ValidationCase(#"{"enum": [1]}"#, #""1""#, ["$ must be 1"]),
            ValidationCase(#"{"enum": [true]}"#, "1", ["$ must be true"]),
            ValidationCase(#"{"enum": []}"#, "1", ["$ is not allowed"]),
            ValidationCase(
                #"{"enum": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]}"#, "13",
                ["$ must be one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … (12 values)"]),
            ValidationCase(#"{"const": "x"}"#, #""y""#, [#"$ must be "x""#]),
            ValidationCase(#"{"const": null}"#, "null"),
            ValidationCase(#"{"const": null}"#, "0", ["$ must be null"]),
            ValidationCase(#"{"const": {"a": 1, "b": [2, 3]}}"#, #"{"b": [2, 3.0], "a": 1}"#),
            ValidationCase(#"{"const": {"a": 1, "b": [2, 3]}}"#, #"{"b": [3, 2], "a": 1}"#, [#"$ must be {"a":1,"b":[2,3]}"#]),
            ValidationCase(#"{"const": [1]}"#, "[1, 1]", ["$ must be [1]"]),
            ValidationCase(#"{"const": "é"}"#, #""e\u0301""#, [#"$ must be "é""#]),
            ValidationCase(#"{"type": "string", "enum": ["a"]}"#, "5", ["$ must be a string, found integer"]),
            ValidationCase(#"{"enum": ["a"], "const": "b"}"#, #""a""#, [#"$ must be "b""#]),
        ])
    func enumAndConst(_ example: ValidationCase) throws { try example.check() }

    @Test(
        "String keywords count Unicode scalars and apply to strings only",
        arguments: [
            ValidationCase(#"{"minLength": 2}"#, #""ab""#),
            ValidationCase(#"{"minLength": 2}"#, #""a""#, ["$ must be at least 2 characters"]),
            ValidationCase(#"{"minLength": 1}"#, #""""#, ["$ must be at least 1 character"]),
            ValidationCase(#"{"minLength": 2}"#, #""😀""#, ["$ must be at least 2 characters"]),
            ValidationCase(#"{"minLength": 2}"#, #""e\u0301""#),
            ValidationCase(#"{"maxLength": 3}"#, #""abcd""#, ["$ must be at most 3 characters"]),
            ValidationCase(#"{"maxLength": 1}"#, #""😀""#),
            ValidationCase(#"{"maxLength": 1}"#, #""e\u0301""#, ["$ must be at most 1 character"]),
            ValidationCase(#"{"maxLength": 3}"#, #""日本語""#),
            ValidationCase(#"{"maxLength": 2}"#, #""日本語""#, ["$ must be at most 2 characters"]),
            ValidationCase(#"{"minLength": 2, "maxLength": 2}"#, #""é😀""#),
            ValidationCase(#"{"minLength": 3, "maxLength": 0}"#, "12345"),
            ValidationCase(#"{"pattern": "^[a-z]+$"}"#, #""abc""#),
            ValidationCase(#"{"pattern": "^[a-z]+$"}"#, #""abC""#, ["$ must match pattern ^[a-z]+$"]),
            ValidationCase(#"{"pattern": "b"}"#, #""abc""#),
            ValidationCase(#"{"pattern": "^abc$"}"#, #""abc\n""#, ["$ must match pattern ^abc$"]),
            ValidationCase(#"{"pattern": "^\\d+$"}"#, #""42""#),
            ValidationCase(#"{"pattern": "^\\d+$"}"#, #""٤٢""#, [#"$ must match pattern ^\d+$"#]),
            ValidationCase(#"{"pattern": "^\\w+$"}"#, #""é""#, [#"$ must match pattern ^\w+$"#]),
            ValidationCase(#"{"pattern": "^.$"}"#, #""😀""#),
            ValidationCase(#"{"pattern": "^.$"}"#, #""e\u0301""#, ["$ must match pattern ^.$"]),
            ValidationCase(#"{"pattern": "^\\p{L}+$"}"#, #""héllo""#),
            ValidationCase(#"{"pattern": "^a"}"#, "1"),
            ValidationCase(#"{"maxLength": 1, "pattern": "^a"}"#, #""ba""#, ["$ must be at most 1 character", "$ must match pattern ^a"]),
        ])
    func strings(_ example: ValidationCase) throws { try example.check() }

    @Test(
        "Numeric keywords compare exactly, whatever the magnitude",
        arguments: [
            ValidationCase(#"{"minimum": 1}"#, "1"),
            ValidationCase(#"{"minimum": 1}"#, "1.0"),
            ValidationCase(#"{"minimum": 1}"#, "0", ["$ must be ≥ 1"]),
            ValidationCase(#"{"minimum": 1}"#, "0.999", ["$ must be ≥ 1"]),
            ValidationCase(#"{"minimum": -5}"#, "-6", ["$ must be ≥ -5"]),
            ValidationCase(#"{"minimum": -5}"#, "-4.99"),
            ValidationCase(#"{"maximum": 10}"#, "10"),
            ValidationCase(#"{"maximum": 10}"#, "10.5", ["$ must be ≤ 10"]),
            ValidationCase(#"{"maximum": 1e2}"#, "100.0"),
            ValidationCase(#"{"exclusiveMinimum": 0}"#, "0", ["$ must be > 0"]),
            ValidationCase(#"{"exclusiveMinimum": 0}"#, "-0.0", ["$ must be > 0"]),
            ValidationCase(#"{"exclusiveMinimum": 0}"#, "1e-300"),
            ValidationCase(#"{"exclusiveMaximum": 1.5}"#, "15e-1", ["$ must be < 1.5"]),
            ValidationCase(#"{"exclusiveMaximum": 1.5}"#, "1.4999999999999999999"),
            ValidationCase(#"{"maximum": 9007199254740992}"#, "9007199254740993", ["$ must be ≤ 9007199254740992"]),
            ValidationCase(#"{"minimum": 18446744073709551616}"#, "18446744073709551615", ["$ must be ≥ 18446744073709551616"]),
            ValidationCase(#"{"maximum": 1e400}"#, "1e401", ["$ must be ≤ 1e400"]),
            ValidationCase(#"{"maximum": 1e400}"#, "99999999999999999999999999"),
            ValidationCase(#"{"minimum": 0.1}"#, "0.09999999999999999999", ["$ must be ≥ 0.1"]),
            ValidationCase(#"{"multipleOf": 0.01}"#, "19.99"),
            ValidationCase(#"{"multipleOf": 0.01}"#, "0.075", ["$ must be a multiple of 0.01"]),
            ValidationCase(#"{"multipleOf": 0.0001}"#, "0.0075"),
            ValidationCase(#"{"multipleOf": 0.1}"#, "0.3"),
            ValidationCase(#"{"multipleOf": 2.5}"#, "-10"),
            ValidationCase(#"{"multipleOf": 3}"#, "0"),
            ValidationCase(#"{"multipleOf": 2}"#, "1e308"),
            ValidationCase(#"{"multipleOf": 3}"#, "1e308", ["$ must be a multiple of 3"]),
            ValidationCase(#"{"multipleOf": 0.123456789}"#, "1e308", ["$ must be a multiple of 0.123456789"]),
            ValidationCase(#"{"multipleOf": 7}"#, "123456789012345678901234567890"),
            ValidationCase(#"{"multipleOf": 7}"#, "123456789012345678901234567891", ["$ must be a multiple of 7"]),
            ValidationCase(#"{"multipleOf": 50}"#, "5", ["$ must be a multiple of 50"]),
            ValidationCase(
                #"{"type": "integer", "minimum": 1, "maximum": 10}"#, "11.5",
                ["$ must be an integer, found number", "$ must be ≤ 10"]),
            ValidationCase(#"{"minimum": 5, "multipleOf": 2}"#, #""3""#),
        ])
    func numbers(_ example: ValidationCase) throws { try example.check() }

    @Test(
        "Array keywords report the offending element's index",
        arguments: [
            ValidationCase(#"{"minItems": 2}"#, "[1]", ["$ must have at least 2 items"]),
            ValidationCase(#"{"minItems": 1}"#, "[]", ["$ must have at least 1 item"]),
            ValidationCase(#"{"maxItems": 1}"#, "[1, 2]", ["$ must have at most 1 item"]),
            ValidationCase(#"{"minItems": 1, "maxItems": 1}"#, "[1]"),
            ValidationCase(#"{"uniqueItems": true}"#, "[1, 2, 1.0]", ["$ must not contain duplicates, but items [0] and [2] are equal"]),
            ValidationCase(
                #"{"uniqueItems": true}"#, #"[{"a": 1, "b": 2}, {"b": 2, "a": 1}]"#,
                ["$ must not contain duplicates, but items [0] and [1] are equal"]),
            ValidationCase(#"{"uniqueItems": true}"#, #"[1, "1", true, [1], {"1": 1}, null, 0, false, [], {}]"#),
            ValidationCase(#"{"uniqueItems": true}"#, "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]"),
            ValidationCase(
                #"{"uniqueItems": true}"#, "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,1.5e1,21]",
                ["$ must not contain duplicates, but items [15] and [20] are equal"]),
            ValidationCase(#"{"uniqueItems": false}"#, "[1, 1]"),
            ValidationCase(
                #"{"items": {"type": "string"}}"#, #"["a", 1, "b", null]"#,
                ["$[1] must be a string, found integer", "$[3] must be a string, found null"]),
            ValidationCase(
                #"{"prefixItems": [{"type": "number"}, {"type": "string"}]}"#, "[1, 2, 3]",
                ["$[1] must be a string, found integer"]),
            ValidationCase(#"{"prefixItems": [{"type": "number"}, {"type": "number"}]}"#, "[1]"),
            ValidationCase(
                #"{"prefixItems": [{"type": "number"}], "items": false}"#, "[1, 2, 3]",
                ["$[1] is not allowed", "$[2] is not allowed"]),
            ValidationCase(
                #"{"prefixItems": [true, {"type": "null"}], "items": {"type": "boolean"}}"#, #"["x", null, true, 0]"#,
                ["$[3] must be a boolean, found integer"]),
            ValidationCase(#"{"items": {"items": {"minimum": 0}}}"#, "[[0], [1, -1]]", ["$[1][1] must be ≥ 0"]),
            ValidationCase(#"{"minItems": 5, "items": {"type": "string"}}"#, #"{"0": 1}"#),
        ])
    func arrays(_ example: ValidationCase) throws { try example.check() }

    @Test(
        "Object keywords report the member's path",
        arguments: [
            ValidationCase(#"{"properties": {"a": {"type": "string"}}}"#, #"{"a": "x", "b": 2}"#),
            ValidationCase(#"{"properties": {"a": {"type": "string"}}}"#, #"{"a": 1, "b": 2}"#, ["$.a must be a string, found integer"]),
            ValidationCase(#"{"required": ["a", "b"]}"#, #"{"a": 1}"#, ["$.b is required"]),
            ValidationCase(#"{"required": ["a", "b"]}"#, #"{"a": null, "b": null}"#),
            ValidationCase(
                #"{"required": ["a b", "0", "é", "", "q\"", "_ok$1"]}"#, "{}",
                [
                    #"$["a b"] is required"#, #"$["0"] is required"#, #"$["é"] is required"#, #"$[""] is required"#,
                    #"$["q\""] is required"#, "$._ok$1 is required",
                ]),
            ValidationCase(
                #"{"properties": {"a": {}}, "additionalProperties": false}"#, #"{"a": 1, "b": 2, "c d": 3}"#,
                ["$.b is not allowed", #"$["c d"] is not allowed"#]),
            ValidationCase(
                #"{"additionalProperties": {"type": "integer"}}"#, #"{"x": 1, "y": "2"}"#, ["$.y must be an integer, found string"]),
            ValidationCase(#"{"properties": {"a": false}}"#, #"{"a": 1}"#, ["$.a is not allowed"]),
            ValidationCase(#"{"properties": {"a": false}}"#, "{}"),
            ValidationCase(#"{"minProperties": 1}"#, "{}", ["$ must have at least 1 property"]),
            ValidationCase(#"{"minProperties": 2}"#, #"{"a": 1}"#, ["$ must have at least 2 properties"]),
            ValidationCase(#"{"maxProperties": 1}"#, #"{"a": 1, "b": 2}"#, ["$ must have at most 1 property"]),
            ValidationCase(#"{"required": ["a"], "properties": {"a": {"type": "string"}}}"#, #"["a"]"#),
            ValidationCase(
                #"{"properties": {"p0": {"type": "integer"}, "p1": {}, "p2": {}, "p3": {}, "p4": {}, "p5": {}, "p6": {}, "p7": {}, "p8": {}, "p9": {"type": "integer"}}, "additionalProperties": false}"#,
                #"{"p9": "x", "p0": 1, "zz": 1, "p5": [1]}"#, ["$.p9 must be an integer, found string", "$.zz is not allowed"]),
            ValidationCase(
                #"{"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 3}}, "required": ["name"]}}}}"#,
                #"{"items": [{"name": "a"}, {"name": "b"}, {"nome": "c"}, {"name": 5}, {"name": "long"}]}"#,
                [
                    "$.items[2].name is required", "$.items[3].name must be a string, found integer",
                    "$.items[4].name must be at most 3 characters",
                ]),
        ])
    func objects(_ example: ValidationCase) throws { try example.check() }

    @Test(
        "Boolean schemas accept everything or nothing",
        arguments: [
            ValidationCase("true", #"{"any": [1, "thing"]}"#),
            ValidationCase("false", "1", ["$ is not allowed"]),
            ValidationCase("false", "null", ["$ is not allowed"]),
            ValidationCase(#"{"items": false}"#, "[]"),
        ])
    func booleans(_ example: ValidationCase) throws { try example.check() }

    @Test(
        "allOf, anyOf, oneOf and not, reported as plainly as possible",
        arguments: [
            ValidationCase(#"{"allOf": [{"minimum": 1}, {"multipleOf": 2}]}"#, "4"),
            ValidationCase(#"{"allOf": [{"minimum": 1}, {"multipleOf": 2}]}"#, "-1", ["$ must be ≥ 1", "$ must be a multiple of 2"]),
            ValidationCase(#"{"anyOf": [{"type": "string"}, {"type": "null"}]}"#, #""x""#),
            ValidationCase(#"{"anyOf": [{"type": "string"}, {"type": "null"}]}"#, "1", ["$ must be a string or null, found integer"]),
            ValidationCase(
                #"{"anyOf": [{"type": "string", "minLength": 1}, {"type": "null"}]}"#, #""""#,
                ["$ must be at least 1 character"]),
            ValidationCase(
                #"{"anyOf": [{"minimum": 10}, {"maximum": 0}]}"#, "5", ["$ must match at least one of the allowed alternatives"]),
            ValidationCase(
                #"{"properties": {"a": {"anyOf": [{"type": "string"}, {"anyOf": [{"type": "integer"}, {"type": "null"}]}]}}}"#,
                #"{"a": 1.5}"#, ["$.a must be a string, an integer or null, found number"]),
            ValidationCase(#"{"oneOf": [{"type": "integer"}, {"minimum": 0}]}"#, "-1"),
            ValidationCase(#"{"oneOf": [{"type": "integer"}, {"minimum": 0}]}"#, "0.5"),
            ValidationCase(
                #"{"oneOf": [{"type": "integer"}, {"minimum": 0}]}"#, "5",
                ["$ must match exactly one of the allowed alternatives, but matches more than one"]),
            ValidationCase(#"{"oneOf": [{"type": "integer"}, {"minimum": 0}]}"#, "-0.5", ["$ must be ≥ 0"]),
            ValidationCase(#"{"oneOf": [{"minimum": 10}, {"maximum": 0}]}"#, "5", ["$ must match exactly one of the allowed alternatives"]),
            ValidationCase(
                #"{"anyOf": [{"const": "auto"}, {"type": "integer"}]}"#, #""x""#,
                ["$ must match at least one of the allowed alternatives"]),
            ValidationCase(#"{"anyOf": [false, {"type": "string"}]}"#, "1", ["$ must be a string, found integer"]),
            ValidationCase(#"{"anyOf": [false, {"type": "string", "maxLength": 1}]}"#, #""ab""#, ["$ must be at most 1 character"]),
            ValidationCase(#"{"oneOf": [false, false]}"#, "1", ["$ is not allowed"]),
            ValidationCase(#"{"not": {"const": "admin"}}"#, #""admin""#, [#"$ must not be "admin""#]),
            ValidationCase(#"{"not": {"const": "admin"}}"#, #""user""#),
            ValidationCase(#"{"not": {"type": "null", "title": "no nulls"}}"#, "null", ["$ must not be null"]),
            ValidationCase(#"{"not": {"type": ["string", "integer"]}}"#, "1", ["$ must not be a string or an integer"]),
            ValidationCase(#"{"not": {"enum": [1, 2]}}"#, "2.0", ["$ must not be one of 1, 2"]),
            ValidationCase(#"{"not": {"enum": [1]}}"#, "1", ["$ must not be 1"]),
            ValidationCase(#"{"not": {"minimum": 3}}"#, "5", ["$ must not match the excluded schema"]),
            ValidationCase(#"{"not": true}"#, "5", ["$ is not allowed"]),
            ValidationCase(#"{"not": false}"#, "5"),
        ])
    func combinators(_ example: ValidationCase) throws { try example.check() }

    static let taggedUnion = """
        {"oneOf": [{"$ref": "#/$defs/Text"}, {"$ref": "#/$defs/Image"}],
         "$defs": {"Text":  {"type": "object", "properties": {"kind": {"const": "text"}, "body": {"type": "string"}},
                             "required": ["kind", "body"], "additionalProperties": false},
                   "Image": {"type": "object", "properties": {"kind": {"const": "image"}, "url": {"format": "uri"}},
                             "required": ["kind", "url"], "additionalProperties": false}}}
        """

    @Test(
        "A tagged union reports the violations of the alternative the tag selects",
        arguments: [
            ValidationCase(taggedUnion, #"{"kind": "text", "body": "hi"}"#),
            ValidationCase(taggedUnion, #"{"kind": "image", "url": "https://example.com/a.png"}"#),
            ValidationCase(taggedUnion, #"{"kind": "text"}"#, ["$.body is required"]),
            ValidationCase(
                taggedUnion, #"{"kind": "image", "url": "nope", "body": "x"}"#,
                ["$.url must be a URI with a scheme", "$.body is not allowed"]),
            ValidationCase(taggedUnion, #"{"kind": "video"}"#, [#"$.kind must be one of "text", "image""#]),
            ValidationCase(taggedUnion, "5", ["$ must be an object, found integer"]),
            ValidationCase(
                #"{"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}"#, "[]", ["$ must be an object, found array"]),
            ValidationCase(taggedUnion, "{}", ["$ must match exactly one of the allowed alternatives"]),
        ])
    func taggedUnions(_ example: ValidationCase) throws { try example.check() }

    static let tree = """
        {"$defs": {"Node": {"type": "object",
                            "properties": {"value": {"type": "integer"},
                                           "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
                            "required": ["value"]}},
         "$ref": "#/$defs/Node"}
        """

    @Test(
        "$ref validates recursive structures and combines with sibling keywords",
        arguments: [
            ValidationCase(tree, #"{"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}"#),
            ValidationCase(
                tree, #"{"value": 1, "children": [{"value": 2, "children": [{"value": "x"}]}, {"children": []}]}"#,
                ["$.children[0].children[0].value must be an integer, found string", "$.children[1].value is required"]),
            ValidationCase(##"{"type": "array", "items": {"$ref": "#"}}"##, "[[[]], [1]]", ["$[1][0] must be an array, found integer"]),
            ValidationCase(
                ##"{"$defs": {"S": {"type": "string"}}, "$ref": "#/$defs/S", "maxLength": 2}"##, #""abc""#,
                ["$ must be at most 2 characters"]),
            ValidationCase(
                ##"{"$defs": {"S": {"type": "string"}}, "$ref": "#/$defs/S", "maxLength": 2}"##, "5",
                ["$ must be a string, found integer"]),
            ValidationCase(
                ##"{"$defs": {"a b": {"type": "string"}, "x/y": {"type": "integer"}}, "properties": {"p": {"$ref": "#/$defs/a%20b"}, "q": {"$ref": "#/$defs/x~1y"}}}"##,
                #"{"p": 1, "q": "s"}"#, ["$.p must be a string, found integer", "$.q must be an integer, found string"]),
        ])
    func references(_ example: ValidationCase) throws { try example.check() }

    @Test("At most the requested number of violations is reported, in order")
    func limit() throws {
        let schema = try JSONSchema(parsing: #"{"items": {"type": "string"}}"#)
        let value = JSONValue.array((0..<30).map { .number(JSONNumber($0)) })
        let all = schema.validate(value)
        #expect(all.count == JSONSchema.defaultViolationLimit)
        #expect(all.last?.path == "$[19]")
        #expect(schema.validate(value, limit: 3).map(\.path) == ["$[0]", "$[1]", "$[2]"])
        #expect(schema.validate(value, limit: 0).count == 1)
        #expect(!schema.isValid(value))
    }

    @Test("Validation of values built in code")
    func builtValues() throws {
        let schema = try JSONSchema(parsing: #"{"properties": {"n": {"type": "integer", "maximum": 3}, "d": {"minimum": 0.5}}}"#)
        #expect(schema.validate(["n": 2, "d": 0.5]).isEmpty)
        #expect(schema.validate(["n": 4, "d": 0.25]).map(\.description) == ["$.n must be ≤ 3", "$.d must be ≥ 0.5"])
        #expect(schema.validate(["n": .number(JSONNumber(Int64.max))]).map(\.description) == ["$.n must be ≤ 3"])
    }

    @Test("One schema validates from many tasks at once")
    func concurrentValidation() async throws {
        let schema = try JSONSchema(
            parsing: #"{"properties": {"room": {"pattern": "^[a-z]+$"}, "n": {"multipleOf": 0.5}}, "required": ["room"]}"#)
        let good: JSONValue = ["room": "lobby", "n": 1.5]
        let bad: JSONValue = ["room": "Lobby", "n": 0.2]
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var mismatches = 0
                    for _ in 0..<500 {
                        if !schema.validate(good).isEmpty { mismatches += 1 }
                        if schema.validate(bad).map(\.description) != [
                            "$.room must match pattern ^[a-z]+$", "$.n must be a multiple of 0.5",
                        ] {
                            mismatches += 1
                        }
                    }
                    return mismatches
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test("The example in the documentation holds")
    func documentationExample() throws {
        let join = try JSONSchema(
            parsing: """
                {"type": "object",
                 "properties": {
                   "room":  {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[a-z0-9-]+$"},
                   "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                   "tags":  {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
                   "mode":  {"enum": ["read", "write"]},
                   "at":    {"type": "string", "format": "date-time"}
                 },
                 "required": ["room"],
                 "additionalProperties": false}
                """)
        #expect(
            join.validate(["limit": 0, "tags": ["a", 1], "mode": "admin", "x": true]).map(\.description) == [
                "$.room is required", "$.limit must be ≥ 1", "$.tags[1] must be a string, found integer",
                #"$.mode must be one of "read", "write""#, "$.x is not allowed",
            ])
        #expect(join.isValid(["room": "lobby"]))
        #expect(!join.isValid(["room": "Lobby"]))
    }
}
