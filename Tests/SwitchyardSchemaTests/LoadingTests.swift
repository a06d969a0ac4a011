import SwitchyardJSON
import SwitchyardSchema
import Testing

@Suite("Loading schemas")
struct LoadingTests {
    @Test(
        "Every supported keyword loads",
        arguments: [
            "true", "false", "{}",
            #"{"type": "string"}"#, #"{"type": ["string", "null"]}"#,
            #"{"type": ["null", "boolean", "object", "array", "number", "integer", "string"]}"#,
            #"{"enum": ["a", 1, null, {"x": [true]}]}"#, #"{"enum": []}"#, #"{"const": null}"#, #"{"const": {"a": [1]}}"#,
            #"{"properties": {"a": {"type": "string"}, "b": true, "c d": false}}"#, #"{"required": ["a", "b"]}"#,
            #"{"required": []}"#, #"{"additionalProperties": false}"#, #"{"additionalProperties": {"type": "integer"}}"#,
            #"{"minProperties": 0, "maxProperties": 3}"#,
            #"{"items": {"type": "string"}}"#, #"{"items": false}"#, #"{"prefixItems": [{"type": "number"}, true]}"#,
            #"{"minItems": 1, "maxItems": 2.0, "uniqueItems": true}"#, #"{"uniqueItems": false}"#,
            #"{"minLength": 1, "maxLength": 1e3}"#, #"{"pattern": "^[a-z0-9-]+$"}"#, #"{"pattern": "^\\p{L}+\\d*$"}"#,
            #"{"format": "date-time"}"#, #"{"format": "date"}"#, #"{"format": "time"}"#, #"{"format": "email"}"#,
            #"{"format": "uuid"}"#, #"{"format": "uri"}"#, #"{"format": "hostname"}"#,
            #"{"minimum": -1.5, "maximum": 1e10, "exclusiveMinimum": 0, "exclusiveMaximum": 100, "multipleOf": 0.01}"#,
            #"{"allOf": [{"type": "number"}]}"#, #"{"anyOf": [{"type": "string"}, {"type": "null"}]}"#,
            #"{"oneOf": [true, false]}"#, #"{"not": {"const": 1}}"#,
            #"{"title": "T", "description": "D", "default": {"a": 1}, "examples": [1, "a"], "$comment": "c"}"#,
            #"{"deprecated": true, "readOnly": false, "writeOnly": true}"#,
            #"{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:switchyard:test"}"#,
            ##"{"$defs": {"A": {"type": "string"}}, "$ref": "#/$defs/A"}"##, #"{"$defs": {}}"#,
            ##"{"properties": {"next": {"$ref": "#"}}}"##,
        ])
    func loads(schema: String) throws {
        let loaded = try JSONSchema(parsing: schema)
        #expect(loaded.source == (try JSONValue(parsing: schema)))
    }

    @Test(
        "Unsupported keywords are refused at their location, naming the keyword",
        arguments: [
            RefusalCase(#"{"if": {"type": "string"}}"#, "/if", "unsupported keyword 'if'"),
            RefusalCase(#"{"then": {}}"#, "/then", "unsupported keyword 'then'"),
            RefusalCase(#"{"else": {}}"#, "/else", "unsupported keyword 'else'"),
            RefusalCase(
                #"{"properties": {"a": {"patternProperties": {}}}}"#, "/properties/a/patternProperties",
                "unsupported keyword 'patternProperties'"),
            RefusalCase(#"{"items": {"contains": {}}}"#, "/items/contains", "unsupported keyword 'contains'"),
            RefusalCase(#"{"anyOf": [{}, {"propertyNames": {}}]}"#, "/anyOf/1/propertyNames", "unsupported keyword 'propertyNames'"),
            RefusalCase(#"{"unevaluatedProperties": false}"#, "/unevaluatedProperties", "unsupported keyword 'unevaluatedProperties'"),
            RefusalCase(#"{"dependentRequired": {}}"#, "/dependentRequired", "unsupported keyword 'dependentRequired'"),
            RefusalCase(#"{"$anchor": "a"}"#, "/$anchor", "unsupported keyword '$anchor'"),
            RefusalCase(##"{"$dynamicRef": "#a"}"##, "/$dynamicRef", "unsupported keyword '$dynamicRef' (use '$ref')"),
            RefusalCase(#"{"definitions": {}}"#, "/definitions", "unsupported keyword 'definitions' (use '$defs')"),
            RefusalCase(
                #"{"additionalItems": false}"#, "/additionalItems",
                "unsupported keyword 'additionalItems' (use 'items' after 'prefixItems')"),
            RefusalCase(
                #"{"type": "string", "nullable": true}"#, "/nullable",
                #"unsupported keyword 'nullable' (use a 'type' array that includes "null")"#),
            RefusalCase(
                #"{"properties": {"a/b~c": {"maxlength": 3}}}"#, "/properties/a~1b~0c/maxlength",
                "unsupported keyword 'maxlength'"),
            RefusalCase(#"{"$defs": {"A": {"format": "email", "foo": 1}}}"#, "/$defs/A/foo", "unsupported keyword 'foo'"),
        ])
    func unsupported(refusal: RefusalCase) { refusal.check() }

    @Test(
        "Malformed keyword values are refused at their location",
        arguments: [
            RefusalCase("5", "", "a schema must be an object or a boolean, found 5"),
            RefusalCase(#"["string"]"#, "", #"a schema must be an object or a boolean, found ["string"]"#),
            RefusalCase(
                #"{"type": "strng"}"#, "/type",
                #"'type' must name one of null, boolean, object, array, number, integer, string, found "strng""#),
            RefusalCase(
                #"{"type": ["string", 1]}"#, "/type/1",
                "'type' must name one of null, boolean, object, array, number, integer, string, found 1"),
            RefusalCase(#"{"type": ["string", "string"]}"#, "/type/1", #"'type' lists "string" twice"#),
            RefusalCase(#"{"type": []}"#, "/type", "'type' must not be an empty array"),
            RefusalCase(#"{"enum": "a"}"#, "/enum", #"'enum' must be an array, found "a""#),
            RefusalCase(#"{"properties": []}"#, "/properties", "'properties' must be an object, found []"),
            RefusalCase(#"{"properties": {"a": 5}}"#, "/properties/a", "a schema must be an object or a boolean, found 5"),
            RefusalCase(
                #"{"properties": {"a": {"properties": {"b": {"minLength": -1}}}}}"#,
                "/properties/a/properties/b/minLength", "'minLength' must be a non-negative integer, found -1"),
            RefusalCase(#"{"required": "a"}"#, "/required", #"'required' must be an array of property names, found "a""#),
            RefusalCase(#"{"required": ["a", 1]}"#, "/required/1", "'required' must list property names as strings, found 1"),
            RefusalCase(#"{"required": ["a", "a"]}"#, "/required/1", #"'required' lists "a" twice"#),
            RefusalCase(
                #"{"additionalProperties": "no"}"#, "/additionalProperties",
                #"a schema must be an object or a boolean, found "no""#),
            RefusalCase(#"{"minProperties": true}"#, "/minProperties", "'minProperties' must be a non-negative integer, found true"),
            RefusalCase(#"{"maxProperties": 1.5}"#, "/maxProperties", "'maxProperties' must be a non-negative integer, found 1.5"),
            RefusalCase(
                #"{"items": [{"type": "string"}]}"#, "/items",
                "'items' must be a single schema (draft 2020-12); list per-position schemas in 'prefixItems'"),
            RefusalCase(
                #"{"items": {"type": "strin"}}"#, "/items/type",
                #"'type' must name one of null, boolean, object, array, number, integer, string, found "strin""#),
            RefusalCase(#"{"prefixItems": []}"#, "/prefixItems", "'prefixItems' must be a non-empty array of schemas, found []"),
            RefusalCase(#"{"prefixItems": [{}, 3]}"#, "/prefixItems/1", "a schema must be an object or a boolean, found 3"),
            RefusalCase(#"{"minItems": -1}"#, "/minItems", "'minItems' must be a non-negative integer, found -1"),
            RefusalCase(#"{"maxItems": "2"}"#, "/maxItems", #"'maxItems' must be a non-negative integer, found "2""#),
            RefusalCase(#"{"uniqueItems": 1}"#, "/uniqueItems", "'uniqueItems' must be true or false, found 1"),
            RefusalCase(#"{"minLength": 1.5}"#, "/minLength", "'minLength' must be a non-negative integer, found 1.5"),
            RefusalCase(#"{"maxLength": null}"#, "/maxLength", "'maxLength' must be a non-negative integer, found null"),
            RefusalCase(#"{"pattern": 5}"#, "/pattern", "'pattern' must be a string, found 5"),
            RefusalCase(#"{"format": ["email"]}"#, "/format", #"'format' must be a string, found ["email"]"#),
            RefusalCase(#"{"minimum": "1"}"#, "/minimum", #"'minimum' must be a number, found "1""#),
            RefusalCase(#"{"maximum": null}"#, "/maximum", "'maximum' must be a number, found null"),
            RefusalCase(#"{"exclusiveMinimum": true}"#, "/exclusiveMinimum", "'exclusiveMinimum' must be a number, found true"),
            RefusalCase(#"{"exclusiveMaximum": false}"#, "/exclusiveMaximum", "'exclusiveMaximum' must be a number, found false"),
            RefusalCase(#"{"multipleOf": 0}"#, "/multipleOf", "'multipleOf' must be a number greater than 0, found 0"),
            RefusalCase(#"{"multipleOf": -2}"#, "/multipleOf", "'multipleOf' must be a number greater than 0, found -2"),
            RefusalCase(#"{"allOf": []}"#, "/allOf", "'allOf' must be a non-empty array of schemas, found []"),
            RefusalCase(#"{"anyOf": {}}"#, "/anyOf", "'anyOf' must be a non-empty array of schemas, found {}"),
            RefusalCase(
                #"{"oneOf": [{}, {"type": 3}]}"#, "/oneOf/1/type",
                "'type' must name one of null, boolean, object, array, number, integer, string, found 3"),
            RefusalCase(#"{"not": []}"#, "/not", "a schema must be an object or a boolean, found []"),
            RefusalCase(#"{"title": 1}"#, "/title", "'title' must be a string, found 1"),
            RefusalCase(#"{"description": null}"#, "/description", "'description' must be a string, found null"),
            RefusalCase(#"{"$comment": []}"#, "/$comment", "'$comment' must be a string, found []"),
            RefusalCase(#"{"examples": {}}"#, "/examples", "'examples' must be an array, found {}"),
            RefusalCase(#"{"deprecated": "yes"}"#, "/deprecated", #"'deprecated' must be true or false, found "yes""#),
            RefusalCase(#"{"readOnly": 1}"#, "/readOnly", "'readOnly' must be true or false, found 1"),
            RefusalCase(#"{"writeOnly": 0}"#, "/writeOnly", "'writeOnly' must be true or false, found 0"),
            RefusalCase(#"{"$schema": 7}"#, "/$schema", "'$schema' must be a string, found 7"),
            RefusalCase(
                #"{"properties": {"a": {"$schema": "x"}}}"#, "/properties/a/$schema",
                "'$schema' is only allowed at the root of the schema"),
            RefusalCase(#"{"$id": 7}"#, "/$id", "'$id' must be a string, found 7"),
            RefusalCase(
                #"{"items": {"$id": "urn:x"}}"#, "/items/$id",
                "'$id' is only supported at the root of the schema (embedded schema resources are not supported)"),
            RefusalCase(#"{"$defs": []}"#, "/$defs", "'$defs' must be an object, found []"),
            RefusalCase(
                #"{"properties": {"a": {"$defs": {}}}}"#, "/properties/a/$defs",
                "'$defs' is only supported at the root of the schema"),
            RefusalCase(#"{"$defs": {"A": {"minimum": "x"}}}"#, "/$defs/A/minimum", #"'minimum' must be a number, found "x""#),
            RefusalCase(
                #"{"default": 1, "examples": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], "const": 1, "$comment": {}}"#,
                "/$comment", "'$comment' must be a string, found {}"),
        ])
    func malformed(refusal: RefusalCase) { refusal.check() }

    @Test("A long offending value is shortened in the message")
    func longValueShortened() {
        RefusalCase(
            #"{"minLength": "0123456789012345678901234567890123456789xyz"}"#, "/minLength",
            #"'minLength' must be a non-negative integer, found "012345678901234567890123456789012345…"#
        ).check()
    }

    @Test("An invalid pattern is refused when the schema loads", arguments: ["a(", "[z-a]", "a{2,1}", "(?<n>a)\\k<m>", "*a"])
    func invalidPattern(pattern: String) throws {
        let schema = JSONValue.object(["properties": ["name": ["pattern": .string(pattern)]]])
        #expect {
            try JSONSchema(schema)
        } throws: { error in
            let error = error as! SchemaError
            return error.location == "/properties/name/pattern"
                && error.reason.hasPrefix("'pattern' is not a valid regular expression: ")
        }
    }

    @Test("Text that is not JSON is refused")
    func invalidJSON() {
        #expect {
            try JSONSchema(parsing: #"{"type": "#)
        } throws: { error in
            let error = error as! SchemaError
            return error.location == "" && error.reason.hasPrefix("the schema is not valid JSON: ")
        }
    }

    @Test(
        "References must be local and point to a definition",
        arguments: [
            RefusalCase(#"{"$ref": 5}"#, "/$ref", "'$ref' must be a string, found 5"),
            RefusalCase(
                ##"{"$ref": "#/$defs/Missing"}"##, "/$ref", ##"'$ref' points to "#/$defs/Missing", which is not defined in '$defs'"##),
            RefusalCase(
                ##"{"$defs": {"A": {}}, "properties": {"a": {"items": {"$ref": "#/$defs/B"}}}}"##, "/properties/a/items/$ref",
                ##"'$ref' points to "#/$defs/B", which is not defined in '$defs'"##),
            RefusalCase(
                ##"{"$defs": {"A": {"$ref": "#/$defs/a"}}}"##, "/$defs/A/$ref",
                ##"'$ref' points to "#/$defs/a", which is not defined in '$defs'"##),
            RefusalCase(
                ##"{"$ref": "#/definitions/A"}"##, "/$ref",
                ##"'$ref' "#/definitions/A" is not supported: only local references '#' and '#/$defs/<name>' are"##),
            RefusalCase(
                #"{"$ref": "other.json#/$defs/A"}"#, "/$ref",
                #"'$ref' "other.json#/$defs/A" is not supported: only local references '#' and '#/$defs/<name>' are"#),
            RefusalCase(
                ##"{"$defs": {"A": {"properties": {"x": {}}}}, "$ref": "#/$defs/A/properties/x"}"##, "/$ref",
                ##"'$ref' "#/$defs/A/properties/x" is not supported: only local references '#' and '#/$defs/<name>' are"##),
            RefusalCase(
                ##"{"$defs": {"A": {}}, "$ref": "#/$defs/A%zz"}"##, "/$ref",
                ##"'$ref' "#/$defs/A%zz" is not supported: only local references '#' and '#/$defs/<name>' are"##),
            RefusalCase(
                ##"{"$ref": "#a"}"##, "/$ref", ##"'$ref' "#a" is not supported: only local references '#' and '#/$defs/<name>' are"##),
        ])
    func references(refusal: RefusalCase) { refusal.check() }

    @Test(
        "Reference loops that never descend into the value are refused",
        arguments: [
            RefusalCase(##"{"$ref": "#"}"##, "/$ref", "'$ref' loops without descending into the value: # → #"),
            RefusalCase(
                ##"{"$defs": {"A": {"$ref": "#/$defs/A"}}}"##, "/$defs/A/$ref",
                "'$ref' loops without descending into the value: #/$defs/A → #/$defs/A"),
            RefusalCase(
                ##"{"$defs": {"A": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/B"}]}, "B": {"not": {"$ref": "#/$defs/A"}}}, "$ref": "#/$defs/A"}"##,
                "/$defs/B/not/$ref", "'$ref' loops without descending into the value: #/$defs/A → #/$defs/B → #/$defs/A"),
            RefusalCase(
                ##"{"$defs": {"A": {"allOf": [{"$ref": "#"}]}}, "oneOf": [{"$ref": "#/$defs/A"}]}"##,
                "/$defs/A/allOf/0/$ref", "'$ref' loops without descending into the value: # → #/$defs/A → #"),
        ])
    func referenceLoops(refusal: RefusalCase) { refusal.check() }

    @Test("Recursive references that descend into the value load and resolve")
    func recursion() throws {
        let schema = try JSONSchema(
            parsing: """
                {"$defs": {"Node": {"type": "object", "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    "parent": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Node"}]}}}},
                 "$ref": "#/$defs/Node"}
                """)
        #expect(schema.root.reference == .definition("Node"))
        let node = try #require(schema[definition: "Node"])
        #expect(schema.resolve(.definition("Node")) === node)
        #expect(schema.resolve(.root) === schema.root)
        let items = try #require(node.properties.first?.schema.items)
        #expect(items.reference == .definition("Node"))
        #expect(items.reference?.description == "#/$defs/Node")
        #expect(!schema.isTrivial)
    }

    @Test(
        "Definition names are unescaped from the reference",
        arguments: [
            (#"#/$defs/a%20b"#, "a b"), (#"#/$defs/x~1y"#, "x/y"), (#"#/$defs/t~0"#, "t~"), (#"#/$defs/%C3%A9"#, "é"),
        ])
    func escapedReference(reference: String, name: String) throws {
        let document = JSONValue.object([
            "$defs": .object(JSONObject([(name, ["type": "string"] as JSONValue)])), "$ref": .string(reference),
        ])
        let schema = try JSONSchema(document)
        #expect(schema.root.reference == .definition(name))
        #expect(schema.validate(1).map(\.description) == ["$ must be a string, found integer"])
    }

    @Test("The parsed model exposes every keyword")
    func model() throws {
        let schema = try JSONSchema(
            parsing: """
                {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:chat:join",
                 "title": "Join", "description": "Joins a room", "$comment": "v1",
                 "type": "object",
                 "properties": {
                   "room": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[a-z]+$", "default": "lobby",
                            "examples": ["lobby", "dev"], "deprecated": true},
                   "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 100, "exclusiveMinimum": 0,
                             "exclusiveMaximum": 101, "multipleOf": 1, "readOnly": true, "writeOnly": true},
                   "tags": {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1, "maxItems": 2.0e1,
                            "uniqueItems": true},
                   "at": {"prefixItems": [{"type": "number"}, true], "items": false},
                   "mode": {"enum": ["r", "w"], "const": "r", "format": "x-mode"},
                   "meta": {"additionalProperties": {"type": "integer"}, "minProperties": 1, "maxProperties": 5, "required": ["a"]},
                   "any": {"allOf": [true], "anyOf": [{"$ref": "#/$defs/B"}], "oneOf": [false, true], "not": {"type": "null"}}
                 },
                 "required": ["room"],
                 "additionalProperties": false,
                 "$defs": {"B": {"type": "boolean"}, "A": true}}
                """)
        let root = schema.root
        #expect(root.location == "")
        #expect(root.types == [.object])
        #expect(root.properties.map(\.name) == ["room", "limit", "tags", "at", "mode", "meta", "any"])
        #expect(root.required == ["room"])
        #expect(root.additionalProperties?.acceptsNothing == true)
        #expect(root.annotations.title == "Join")
        #expect(root.annotations.description == "Joins a room")
        #expect(root.annotations.comment == "v1")
        #expect(root.annotations.schemaURI == "https://json-schema.org/draft/2020-12/schema")
        #expect(root.annotations.id == "urn:chat:join")
        #expect(schema.definitions.map(\.name) == ["B", "A"])
        #expect(schema.definitions[0].schema.location == "/$defs/B")

        let room = root.properties[0].schema
        #expect(room.location == "/properties/room")
        #expect(room.minLength == 1 && room.maxLength == 200)
        #expect(room.pattern?.source == "^[a-z]+$")
        #expect(room.annotations.defaultValue == "lobby")
        #expect(room.annotations.examples == ["lobby", "dev"])
        #expect(room.annotations.deprecated)

        let limit = root.properties[1].schema
        #expect(limit.types == [.integer, .null])
        #expect(limit.minimum?.literal == "1" && limit.maximum?.literal == "100")
        #expect(limit.exclusiveMinimum?.literal == "0" && limit.exclusiveMaximum?.literal == "101")
        #expect(limit.multipleOf?.literal == "1")
        #expect(limit.annotations.readOnly && limit.annotations.writeOnly)

        let tags = root.properties[2].schema
        #expect(tags.items?.format == .email)
        #expect(tags.minItems == 1 && tags.maxItems == 20 && tags.uniqueItems)

        let at = root.properties[3].schema
        #expect(at.prefixItems.count == 2 && at.prefixItems[0].types == [.number] && at.items?.acceptsNothing == true)

        let mode = root.properties[4].schema
        #expect(mode.enumValues == ["r", "w"] && mode.constValue == "r")
        #expect(mode.format == .other("x-mode") && mode.format?.isValidated == false)

        let meta = root.properties[5].schema
        #expect(meta.additionalProperties?.types == [.integer])
        #expect(meta.minProperties == 1 && meta.maxProperties == 5 && meta.required == ["a"])

        let any = root.properties[6].schema
        #expect(any.allOf.count == 1 && any.anyOf.first?.reference == .definition("B") && any.oneOf.count == 2)
        #expect(any.oneOf[0].acceptsNothing && !any.oneOf[1].acceptsNothing)
        #expect(any.not?.types == [.null])
        #expect(any.not?.location == "/properties/any/not")
    }

    @Test("Integral keyword values may be written as decimals; huge ones saturate")
    func integralKeywordValues() throws {
        let schema = try JSONSchema(parsing: #"{"minLength": 2.0, "maxLength": 1e30, "minItems": 300e-2}"#)
        #expect(schema.root.minLength == 2)
        #expect(schema.root.maxLength == Int.max)
        #expect(schema.root.minItems == 3)
    }

    @Test(
        "Trivial schemas are recognized",
        arguments: [
            ("true", true), ("{}", true), (#"{"format": "hostname"}"#, true), (#"{"properties": {"a": {}, "b": true}}"#, true),
            (
                #"{"title": "x", "description": "y", "default": 1, "examples": [1], "$comment": "c", "deprecated": true, "readOnly": true, "writeOnly": false, "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:x"}"#,
                true
            ),
            (#"{"anyOf": [{}, {"type": "string"}]}"#, true), (#"{"allOf": [{}, true]}"#, true), (#"{"items": {}}"#, true),
            (##"{"$defs": {"A": {"title": "A"}}, "$ref": "#/$defs/A"}"##, true), (#"{"oneOf": [{}]}"#, true),
            ("false", false), (#"{"type": "string"}"#, false), (#"{"format": "email"}"#, false), (#"{"not": {}}"#, false),
            (#"{"oneOf": [{}, {"type": "string"}]}"#, false), (#"{"required": ["a"]}"#, false),
            (#"{"additionalProperties": false}"#, false), (#"{"properties": {"a": false}}"#, false), (#"{"const": 1}"#, false),
            (##"{"$defs": {"A": {"minimum": 1}}, "$ref": "#/$defs/A"}"##, false), (#"{"prefixItems": [false]}"#, false),
            (#"{"uniqueItems": true}"#, false), (#"{"enum": []}"#, false),
        ])
    func trivial(schema: String, isTrivial: Bool) throws {
        let loaded = try JSONSchema(parsing: schema)
        #expect(loaded.isTrivial == isTrivial)
        // A trivial schema accepts everything; each non-trivial one above rejects one of these.
        let samples: [JSONValue] = [nil, true, 0, 1, 1.5, "", "a", [], [1, 1], [:], ["a": 1]]
        #expect(samples.allSatisfy(loaded.isValid) == isTrivial)
    }

    @Test("Errors describe their location and reason")
    func errorDescription() {
        #expect(
            SchemaError(location: "/if", reason: "unsupported keyword 'if'").description
                == "schema error at /if: unsupported keyword 'if'")
        #expect(SchemaError(location: "", reason: "r").description == "schema error at the root: r")
        #expect(SchemaViolation(path: "$.room", message: "is required").description == "$.room is required")
    }

    @Test("Schemas are equal when their documents are")
    func equality() throws {
        let a = try JSONSchema(parsing: #"{"type": "string", "minLength": 1}"#)
        let b = try JSONSchema(parsing: #"{"minLength": 1, "type": "string"}"#)
        let c = try JSONSchema(parsing: #"{"minLength": 2, "type": "string"}"#)
        #expect(a == b && a.hashValue == b.hashValue)
        #expect(a != c)
        #expect(a.description == #"{"type":"string","minLength":1}"#)
    }
}
