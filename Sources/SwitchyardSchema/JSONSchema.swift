import SwitchyardJSON

/// A JSON Schema (a draft 2020-12 subset), checked when loaded and used to validate payloads.
///
/// Loading refuses anything the validator would not enforce exactly as written: an unknown or
/// unsupported keyword, a malformed keyword value, an invalid `pattern`, a `$ref` to a missing
/// definition. The error names the keyword and its JSON pointer in the schema:
///
/// ```swift
/// try JSONSchema(parsing: #"{"properties": {"room": {"minLength": -1}}}"#)
/// // throws: schema error at /properties/room/minLength: 'minLength' must be a non-negative integer, found -1
/// try JSONSchema(parsing: #"{"if": {"type": "string"}}"#)
/// // throws: schema error at /if: unsupported keyword 'if'
/// ```
///
/// Validation returns every violation (up to a limit), each with a path into the value and a
/// message meant for API clients:
///
/// ```swift
/// let join = try JSONSchema(parsing: """
///     {"type": "object",
///      "properties": {
///        "room":  {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[a-z0-9-]+$"},
///        "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
///        "tags":  {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
///        "mode":  {"enum": ["read", "write"]},
///        "at":    {"type": "string", "format": "date-time"}
///      },
///      "required": ["room"],
///      "additionalProperties": false}
///     """)
/// join.validate(["limit": 0, "tags": ["a", 1], "mode": "admin", "x": true])
/// // $.room is required
/// // $.limit must be ≥ 1
/// // $.tags[1] must be a string, found integer
/// // $.mode must be one of "read", "write"
/// // $.x is not allowed
/// join.isValid(["room": "lobby"])   // true
/// ```
///
/// More shapes plugin authors use:
///
/// ```json
/// {"type": ["string", "null"]}                                  nullable string
/// {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": false}
///                                                               a [x, y] pair, nothing more
/// {"type": "object", "additionalProperties": {"type": "integer"}}   a map of integers
/// {"type": "object", "oneOf": [{"$ref": "#/$defs/Text"}, {"$ref": "#/$defs/Image"}],
///  "$defs": {"Text":  {"properties": {"kind": {"const": "text"}, "body": {"type": "string"}},
///                      "required": ["kind", "body"]},
///            "Image": {"properties": {"kind": {"const": "image"}, "url": {"format": "uri"}},
///                      "required": ["kind", "url"]}}}                 a tagged union
/// {"$defs": {"Node": {"type": "object", "properties": {
///      "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
///  "$ref": "#/$defs/Node"}                                      a recursive tree
/// ```
///
/// Supported keywords:
/// - assertions: `type`, `enum`, `const`; objects `properties`, `required`,
///   `additionalProperties`, `minProperties`, `maxProperties`; arrays `items`, `prefixItems`,
///   `minItems`, `maxItems`, `uniqueItems`; strings `minLength`, `maxLength` (counted in Unicode
///   scalars), `pattern` (unanchored search, Swift `Regex` syntax with `.` matching one Unicode
///   scalar and `\d`, `\w` ASCII-only as in ECMAScript), `format` (`date-time`, `date`, `time`
///   per RFC 3339, `email`, `uuid`, `uri`; other formats are annotations); numbers `minimum`,
///   `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf` (all compared exactly, in
///   decimal, from the numbers' literals);
/// - applicators: `allOf`, `anyOf`, `oneOf`, `not`, `$ref` (`#` or `#/$defs/Name`), `$defs`
///   (at the root);
/// - annotations: `title`, `description`, `default`, `examples`, `deprecated`, `readOnly`,
///   `writeOnly`, `$comment`; `$schema` and `$id` at the root only.
///
/// When no alternative of an `anyOf` or `oneOf` matches, the report says what the client most
/// likely got wrong: the types they all want (`must be a string or null, found integer`), else
/// the violations of the one alternative whose type and `const`/`enum` tags fit, else the tag
/// values they all want (`$.kind must be one of "text", "image"`), else
/// `must match at least one of the allowed alternatives`.
///
/// Boolean schemas work anywhere a schema does: `true` accepts everything, `false` nothing.
/// Draft 2020-12 semantics apply whatever `$schema` says: `$ref` combines with its sibling
/// keywords, `items` is a single schema (tuples use `prefixItems`), and an integer is any number
/// with a zero fractional part (`1.0` and `1e2` are integers).
public struct JSONSchema: Sendable, Hashable, CustomStringConvertible {
    /// The schema document as loaded.
    public let source: JSONValue
    /// The schema at the root of the document.
    public let root: Node
    /// The entries of the root `$defs`, in document order.
    public let definitions: [Definition]
    /// Whether the schema accepts every value (`true`, or `{}` with annotations only), so that
    /// validating can be skipped.
    public let isTrivial: Bool

    /// Index 0 is the root; index `i + 1` is `definitions[i]`. `$ref`s are resolved to indexes.
    let table: [Node]

    /// How many violations `validate(_:)` reports at most, by default.
    public static let defaultViolationLimit = 20

    /// Parses and checks a schema written as JSON text.
    public init(parsing text: String) throws(SchemaError) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: text)
        } catch {
            throw SchemaError(location: "", reason: "the schema is not valid JSON: \(error)")
        }
        try self.init(value)
    }

    /// Checks a schema given as a JSON value.
    public init(_ value: JSONValue) throws(SchemaError) {
        let loaded = try SchemaLoader.load(value)
        self.source = value
        self.table = loaded.table
        self.root = loaded.table[0]
        self.definitions = loaded.definitions
        self.isTrivial = loaded.isTrivial
    }

    /// Validates `value`, returning its violations in a stable order (empty when it is valid).
    ///
    /// At most `limit` violations are reported (at least one for an invalid value). A valid
    /// value is recognized without allocating, building paths or formatting messages.
    public func validate(_ value: JSONValue, limit: Int = JSONSchema.defaultViolationLimit) -> [SchemaViolation] {
        if isTrivial { return [] }
        let evaluator = Evaluator(table: table)
        var fast = FastSink()
        evaluator.evaluate(root, value, &fast)
        if !fast.failed { return [] }
        var collector = Collector(path: [], limit: Swift.max(1, limit))
        evaluator.evaluate(root, value, &collector)
        return collector.recorded.map { SchemaViolation(path: $0.path, message: $0.message) }
    }

    /// Whether `value` is valid; stops at the first violation.
    public func isValid(_ value: JSONValue) -> Bool {
        if isTrivial { return true }
        var fast = FastSink()
        Evaluator(table: table).evaluate(root, value, &fast)
        return !fast.failed
    }

    /// The schema a `$ref` of this document points to (loading checked that it exists).
    public func resolve(_ reference: Reference) -> Node {
        switch reference {
        case .root:
            return root
        case .definition(let name):
            guard let definition = definitions.first(where: { $0.name == name }) else {
                preconditionFailure("\(reference) is not defined in this schema")
            }
            return definition.schema
        }
    }

    /// The `$defs` entry called `name`.
    public subscript(definition name: String) -> Node? {
        definitions.first { $0.name == name }?.schema
    }

    /// The schema document, as compact JSON.
    public var description: String { source.serialized() }

    /// Schemas are equal when their documents are.
    public static func == (lhs: JSONSchema, rhs: JSONSchema) -> Bool { lhs.source == rhs.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
}

/// Why a schema was refused, and where in the schema.
public struct SchemaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A JSON pointer into the schema document (`""` for its root), such as
    /// `/properties/room/minLength`; for an unsupported keyword, the keyword itself (`/if`).
    public var location: String
    /// What is wrong, naming the keyword: `'minLength' must be a non-negative integer, found -1`.
    public var reason: String

    public init(location: String, reason: String) {
        self.location = location
        self.reason = reason
    }

    public var description: String {
        "schema error at \(location.isEmpty ? "the root" : location): \(reason)"
    }
}

/// One way a value fails a schema: where (`$.items[2].name`) and why (`is required`).
public struct SchemaViolation: Hashable, Sendable, CustomStringConvertible {
    /// Where in the value: `$` is the value itself, then `.name` for an object member (or
    /// `["a b"]` when the key is not an identifier) and `[2]` for an array element.
    public var path: String
    /// What is wrong, as a predicate of the path: `must be a string, found integer`.
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `$.room must be at most 200 characters`
    public var description: String { "\(path) \(message)" }
}

extension JSONSchema {
    /// A JSON type name as used by `type`.
    public enum InstanceType: String, Hashable, Sendable, CaseIterable {
        case null, boolean, object, array, number, integer, string
    }

    /// A `$ref` target: the whole document (`#`) or a root `$defs` entry (`#/$defs/Name`).
    public enum Reference: Hashable, Sendable, CustomStringConvertible {
        case root
        case definition(String)

        /// The reference as written in a schema, escaped: `#/$defs/Name`.
        public var description: String {
            switch self {
            case .root: return "#"
            case .definition(let name): return "#/$defs/" + JSONPointer.escape(name)
            }
        }
    }

    /// A `format`: the ones that are validated, and any other name (an annotation only).
    public enum Format: Hashable, Sendable, CustomStringConvertible {
        /// RFC 3339 `date-time`: `2024-05-01T12:30:00Z`, `2024-05-01T12:30:00.5+02:00`.
        case dateTime
        /// RFC 3339 `full-date`: `2024-05-01`.
        case date
        /// RFC 3339 `full-time`: `12:30:00Z`.
        case time
        /// A plain address `local@domain` (no quoted local parts, no IP literals).
        case email
        /// `8-4-4-4-12` hexadecimal digits, any version, either case.
        case uuid
        /// An absolute URI: a scheme, `:`, then characters RFC 3986 allows.
        case uri
        /// Any other format: accepted, never validated.
        case other(String)

        init(name: String) {
            switch name {
            case "date-time": self = .dateTime
            case "date": self = .date
            case "time": self = .time
            case "email": self = .email
            case "uuid": self = .uuid
            case "uri": self = .uri
            default: self = .other(name)
            }
        }

        /// The name as written in a schema.
        public var description: String {
            switch self {
            case .dateTime: return "date-time"
            case .date: return "date"
            case .time: return "time"
            case .email: return "email"
            case .uuid: return "uuid"
            case .uri: return "uri"
            case .other(let name): return name
            }
        }

        /// Whether values are checked against this format.
        public var isValidated: Bool {
            if case .other = self { return false }
            return true
        }
    }

    /// An entry of `properties`.
    public struct Property: Sendable {
        public let name: String
        public let schema: Node
    }

    /// An entry of the root `$defs`.
    public struct Definition: Sendable {
        public let name: String
        public let schema: Node
    }

    /// A `pattern`, compiled when the schema is loaded.
    public struct Pattern: Sendable, Hashable, CustomStringConvertible {
        /// The regular expression as written.
        public let source: String
        let compiled: CompiledRegex

        public var description: String { source }
        public static func == (lhs: Pattern, rhs: Pattern) -> Bool { lhs.source == rhs.source }
        public func hash(into hasher: inout Hasher) { hasher.combine(source) }
    }

    /// Annotations: they document a schema and never affect validation.
    public struct Annotations: Sendable {
        public var title: String?
        public var description: String?
        public var defaultValue: JSONValue?
        public var examples: [JSONValue] = []
        public var deprecated = false
        public var readOnly = false
        public var writeOnly = false
        public var comment: String?
        public var schemaURI: String?
        public var id: String?
    }

    /// One schema in the tree: the root, a `$defs` entry, or a subschema of either.
    ///
    /// Every keyword is a property; absent keywords are `nil` or empty. Walk subschemas through
    /// `properties`, `additionalProperties`, `prefixItems`, `items`, `allOf`, `anyOf`, `oneOf`
    /// and `not`; a `reference` names a definition rather than holding it, so recursive schemas
    /// stay finite (look it up with `JSONSchema.resolve(_:)`).
    public final class Node: Sendable {
        /// The JSON pointer of this schema in the document (`""` for the root).
        public let location: String
        /// The schema as written.
        public let source: JSONValue
        /// The `false` schema, which accepts nothing.
        public let acceptsNothing: Bool

        /// `$ref`, applied together with the other keywords.
        public let reference: Reference?
        /// `type`, in the order written; `nil` when absent.
        public let types: [InstanceType]?
        /// `enum`
        public let enumValues: [JSONValue]?
        /// `const`; `.some(.null)` for `"const": null`.
        public let constValue: JSONValue?

        /// `properties`, in document order.
        public let properties: [Property]
        /// `required`
        public let required: [String]
        /// `additionalProperties`; `nil` when absent (anything allowed); the `false` schema forbids
        /// members not listed in `properties`.
        public let additionalProperties: Node?
        public let minProperties: Int?
        public let maxProperties: Int?

        /// `prefixItems`: schemas for the leading elements.
        public let prefixItems: [Node]
        /// `items`: the schema for the elements after `prefixItems`.
        public let items: Node?
        public let minItems: Int?
        public let maxItems: Int?
        public let uniqueItems: Bool

        /// In Unicode scalars.
        public let minLength: Int?
        /// In Unicode scalars.
        public let maxLength: Int?
        public let pattern: Pattern?
        public let format: Format?

        public let minimum: JSONNumber?
        public let maximum: JSONNumber?
        public let exclusiveMinimum: JSONNumber?
        public let exclusiveMaximum: JSONNumber?
        public let multipleOf: JSONNumber?

        public let allOf: [Node]
        public let anyOf: [Node]
        public let oneOf: [Node]
        public let not: Node?

        public let annotations: Annotations

        // Compiled forms, for the validator.
        let referenceIndex: Int?
        let regex: RegexBox?
        let typeMask: TypeMask
        let propertyIndex: [String: Int]?
        let minimumValue: ExactNumber?
        let maximumValue: ExactNumber?
        let exclusiveMinimumValue: ExactNumber?
        let exclusiveMaximumValue: ExactNumber?
        let multipleOfValue: ExactNumber?
        let hasNumericKeywords: Bool
        /// False when the schema has annotations only (or nothing at all).
        let hasAssertions: Bool

        init(_ fields: NodeFields) {
            location = fields.location
            source = fields.source
            acceptsNothing = fields.acceptsNothing
            reference = fields.reference
            types = fields.types
            enumValues = fields.enumValues
            constValue = fields.constValue
            properties = fields.properties
            required = fields.required
            additionalProperties = fields.additionalProperties
            minProperties = fields.minProperties
            maxProperties = fields.maxProperties
            prefixItems = fields.prefixItems
            items = fields.items
            minItems = fields.minItems
            maxItems = fields.maxItems
            uniqueItems = fields.uniqueItems
            minLength = fields.minLength
            maxLength = fields.maxLength
            pattern = fields.pattern
            format = fields.format
            minimum = fields.minimum
            maximum = fields.maximum
            exclusiveMinimum = fields.exclusiveMinimum
            exclusiveMaximum = fields.exclusiveMaximum
            multipleOf = fields.multipleOf
            allOf = fields.allOf
            anyOf = fields.anyOf
            oneOf = fields.oneOf
            not = fields.not
            annotations = fields.annotations

            referenceIndex = fields.referenceIndex
            regex = fields.pattern.map { RegexBox($0.compiled) }
            typeMask = TypeMask(types ?? [])
            propertyIndex =
                properties.count > 8
                ? Dictionary(properties.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first }) : nil
            minimumValue = minimum.flatMap { ExactNumber($0.literal) }
            maximumValue = maximum.flatMap { ExactNumber($0.literal) }
            exclusiveMinimumValue = exclusiveMinimum.flatMap { ExactNumber($0.literal) }
            exclusiveMaximumValue = exclusiveMaximum.flatMap { ExactNumber($0.literal) }
            multipleOfValue = multipleOf.flatMap { ExactNumber($0.literal) }
            hasNumericKeywords =
                minimum != nil || maximum != nil || exclusiveMinimum != nil || exclusiveMaximum != nil || multipleOf != nil
            hasAssertions =
                acceptsNothing || reference != nil || types != nil || enumValues != nil || constValue != nil
                || !properties.isEmpty || !required.isEmpty || additionalProperties != nil || minProperties != nil
                || maxProperties != nil || !prefixItems.isEmpty || items != nil || minItems != nil || maxItems != nil
                || uniqueItems || minLength != nil || maxLength != nil || pattern != nil || (format?.isValidated ?? false)
                || hasNumericKeywords || !allOf.isEmpty || !anyOf.isEmpty || !oneOf.isEmpty || not != nil
        }

        /// Finds the property schema for `name`.
        @inline(__always)
        func propertySchema(_ name: String) -> Node? {
            if let propertyIndex {
                guard let index = propertyIndex[name] else { return nil }
                return properties[index].schema
            }
            for property in properties where property.name == name { return property.schema }
            return nil
        }
    }
}

/// A bit per `type` name, for the validator.
struct TypeMask: OptionSet, Hashable, Sendable {
    let rawValue: UInt8
    static let null = TypeMask(rawValue: 1)
    static let boolean = TypeMask(rawValue: 2)
    static let object = TypeMask(rawValue: 4)
    static let array = TypeMask(rawValue: 8)
    static let number = TypeMask(rawValue: 16)
    static let integer = TypeMask(rawValue: 32)
    static let string = TypeMask(rawValue: 64)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ types: [JSONSchema.InstanceType]) {
        var mask: TypeMask = []
        for type in types {
            switch type {
            case .null: mask.insert(.null)
            case .boolean: mask.insert(.boolean)
            case .object: mask.insert(.object)
            case .array: mask.insert(.array)
            case .number: mask.insert(.number)
            case .integer: mask.insert(.integer)
            case .string: mask.insert(.string)
            }
        }
        self = mask
    }

    /// `a string or null`, `an object, an array or null`.
    var phrase: String {
        var parts: [String] = []
        if contains(.string) { parts.append("a string") }
        if contains(.number) {
            parts.append("a number")
        } else if contains(.integer) {
            parts.append("an integer")
        }
        if contains(.boolean) { parts.append("a boolean") }
        if contains(.object) { parts.append("an object") }
        if contains(.array) { parts.append("an array") }
        if contains(.null) { parts.append("null") }
        guard parts.count > 1 else { return parts.first ?? "nothing" }
        return parts.dropLast().joined(separator: ", ") + " or " + parts.last!
    }
}

/// A compiled `pattern`. `Regex` is not declared `Sendable`, but a compiled regex is immutable
/// after its program is lowered, which the standard library does atomically; the loader also
/// lowers it before the schema is shared, by running one match.
struct CompiledRegex: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>

    init(_ pattern: String) throws {
        regex = try Regex(pattern).matchingSemantics(.unicodeScalar).asciiOnlyDigits().asciiOnlyWordCharacters()
        _ = "".contains(regex)
    }

    @inline(__always)
    func matches(_ string: String) -> Bool { string.contains(regex) }
}

/// A compiled `pattern` behind a reference, so that the validator tests for its presence with
/// a null check rather than copying a `Regex`.
final class RegexBox: Sendable {
    let compiled: CompiledRegex
    init(_ compiled: CompiledRegex) { self.compiled = compiled }
}

/// JSON pointer escaping (RFC 6901).
enum JSONPointer {
    static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return token }
        var result = ""
        for scalar in token.unicodeScalars {
            switch scalar {
            case "~": result += "~0"
            case "/": result += "~1"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func unescape(_ token: Substring) -> String? {
        var result = ""
        var iterator = token.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            if scalar == "~" {
                switch iterator.next() {
                case "0": result.unicodeScalars.append("~")
                case "1": result.unicodeScalars.append("/")
                default: return nil
                }
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func appending(_ location: String, _ token: String) -> String { location + "/" + escape(token) }
    static func appending(_ location: String, _ index: Int) -> String { location + "/" + String(index) }
}
