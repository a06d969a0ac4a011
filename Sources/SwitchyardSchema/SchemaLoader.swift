import SwitchyardJSON

/// The keywords of one schema while it is being read.
struct NodeFields {
    var location: String
    var source: JSONValue
    var acceptsNothing = false
    var reference: JSONSchema.Reference?
    var referenceIndex: Int?
    var types: [JSONSchema.InstanceType]?
    var enumValues: [JSONValue]?
    var constValue: JSONValue?
    var properties: [JSONSchema.Property] = []
    var required: [String] = []
    var additionalProperties: JSONSchema.Node?
    var minProperties: Int?
    var maxProperties: Int?
    var prefixItems: [JSONSchema.Node] = []
    var items: JSONSchema.Node?
    var minItems: Int?
    var maxItems: Int?
    var uniqueItems = false
    var minLength: Int?
    var maxLength: Int?
    var pattern: JSONSchema.Pattern?
    var format: JSONSchema.Format?
    var minimum: JSONNumber?
    var maximum: JSONNumber?
    var exclusiveMinimum: JSONNumber?
    var exclusiveMaximum: JSONNumber?
    var multipleOf: JSONNumber?
    var allOf: [JSONSchema.Node] = []
    var anyOf: [JSONSchema.Node] = []
    var oneOf: [JSONSchema.Node] = []
    var not: JSONSchema.Node?
    var annotations = JSONSchema.Annotations()

    init(location: String, source: JSONValue) {
        self.location = location
        self.source = source
    }
}

/// Reads and checks a schema document.
struct SchemaLoader {
    typealias Node = JSONSchema.Node

    struct Loaded {
        var table: [Node]
        var definitions: [JSONSchema.Definition]
        var isTrivial: Bool
    }

    /// `$defs` names, to their index in the table (the root is 0).
    let definitionIndex: [String: Int]

    static func load(_ document: JSONValue) throws(SchemaError) -> Loaded {
        var names: [String] = []
        var schemas: [JSONValue] = []
        if case .object(let object) = document, let defs = object["$defs"] {
            guard case .object(let members) = defs else {
                throw SchemaError(location: "/$defs", reason: "'$defs' must be an object, found \(found(defs))")
            }
            names = members.keys
            schemas = members.values
        }
        var index: [String: Int] = [:]
        for (offset, name) in names.enumerated() { index[name] = offset + 1 }
        let loader = SchemaLoader(definitionIndex: index)

        let root = try loader.node(document, at: "", isRoot: true)
        var definitions: [JSONSchema.Definition] = []
        for offset in names.indices {
            let schema = try loader.node(schemas[offset], at: JSONPointer.appending("/$defs", names[offset]), isRoot: false)
            definitions.append(JSONSchema.Definition(name: names[offset], schema: schema))
        }
        let table = [root] + definitions.map(\.schema)
        try checkReferenceCycles(table, names: names)
        var visiting: Set<Int> = []
        return Loaded(table: table, definitions: definitions, isTrivial: isTrivial(root, table, visiting: &visiting))
    }

    // MARK: Keywords

    func node(_ value: JSONValue, at location: String, isRoot: Bool) throws(SchemaError) -> Node {
        var fields = NodeFields(location: location, source: value)
        let object: JSONObject
        switch value {
        case .bool(let accepts):
            fields.acceptsNothing = !accepts
            return Node(fields)
        case .object(let members):
            object = members
        default:
            throw SchemaError(location: location, reason: "a schema must be an object or a boolean, found \(Self.found(value))")
        }

        for index in object.keys.indices {
            let keyword = object.keys[index]
            let value = object.values[index]
            let at = JSONPointer.appending(location, keyword)
            func fail(_ reason: String) -> SchemaError { SchemaError(location: at, reason: reason) }

            switch keyword {
            case "type":
                fields.types = try types(value, at: at)
            case "enum":
                guard case .array(let values) = value else { throw fail("'enum' must be an array, found \(Self.found(value))") }
                fields.enumValues = values
            case "const":
                fields.constValue = value
            case "properties":
                guard case .object(let members) = value else {
                    throw fail("'properties' must be an object, found \(Self.found(value))")
                }
                for member in members.keys.indices {
                    let name = members.keys[member]
                    let schema = try node(members.values[member], at: JSONPointer.appending(at, name), isRoot: false)
                    fields.properties.append(JSONSchema.Property(name: name, schema: schema))
                }
            case "required":
                guard case .array(let names) = value else {
                    throw fail("'required' must be an array of property names, found \(Self.found(value))")
                }
                for (offset, name) in names.enumerated() {
                    guard case .string(let name) = name else {
                        throw SchemaError(
                            location: JSONPointer.appending(at, offset),
                            reason: "'required' must list property names as strings, found \(Self.found(name))")
                    }
                    guard !fields.required.contains(name) else {
                        throw SchemaError(location: JSONPointer.appending(at, offset), reason: "'required' lists \"\(name)\" twice")
                    }
                    fields.required.append(name)
                }
            case "additionalProperties":
                fields.additionalProperties = try node(value, at: at, isRoot: false)
            case "minProperties":
                fields.minProperties = try nonNegativeInteger(value, keyword, at: at)
            case "maxProperties":
                fields.maxProperties = try nonNegativeInteger(value, keyword, at: at)
            case "items":
                if case .array = value {
                    throw fail("'items' must be a single schema (draft 2020-12); list per-position schemas in 'prefixItems'")
                }
                fields.items = try node(value, at: at, isRoot: false)
            case "prefixItems":
                fields.prefixItems = try schemaArray(value, keyword, at: at)
            case "minItems":
                fields.minItems = try nonNegativeInteger(value, keyword, at: at)
            case "maxItems":
                fields.maxItems = try nonNegativeInteger(value, keyword, at: at)
            case "uniqueItems":
                fields.uniqueItems = try boolean(value, keyword, at: at)
            case "minLength":
                fields.minLength = try nonNegativeInteger(value, keyword, at: at)
            case "maxLength":
                fields.maxLength = try nonNegativeInteger(value, keyword, at: at)
            case "pattern":
                let source = try string(value, keyword, at: at)
                do {
                    fields.pattern = JSONSchema.Pattern(source: source, compiled: try CompiledRegex(source))
                } catch {
                    throw fail("'pattern' is not a valid regular expression: \(error)")
                }
            case "format":
                fields.format = JSONSchema.Format(name: try string(value, keyword, at: at))
            case "minimum":
                fields.minimum = try number(value, keyword, at: at)
            case "maximum":
                fields.maximum = try number(value, keyword, at: at)
            case "exclusiveMinimum":
                fields.exclusiveMinimum = try number(value, keyword, at: at)
            case "exclusiveMaximum":
                fields.exclusiveMaximum = try number(value, keyword, at: at)
            case "multipleOf":
                let divisor = try number(value, keyword, at: at)
                guard let exact = ExactNumber(divisor.literal), !exact.isZero, !exact.negative else {
                    throw fail("'multipleOf' must be a number greater than 0, found \(divisor.literal)")
                }
                fields.multipleOf = divisor
            case "allOf":
                fields.allOf = try schemaArray(value, keyword, at: at)
            case "anyOf":
                fields.anyOf = try schemaArray(value, keyword, at: at)
            case "oneOf":
                fields.oneOf = try schemaArray(value, keyword, at: at)
            case "not":
                fields.not = try node(value, at: at, isRoot: false)
            case "$ref":
                (fields.reference, fields.referenceIndex) = try reference(value, at: at)
            case "$defs":
                // Read by `load`, before the root.
                guard isRoot else { throw fail("'$defs' is only supported at the root of the schema") }
            case "title":
                fields.annotations.title = try string(value, keyword, at: at)
            case "description":
                fields.annotations.description = try string(value, keyword, at: at)
            case "$comment":
                fields.annotations.comment = try string(value, keyword, at: at)
            case "default":
                fields.annotations.defaultValue = value
            case "examples":
                guard case .array(let examples) = value else { throw fail("'examples' must be an array, found \(Self.found(value))") }
                fields.annotations.examples = examples
            case "deprecated":
                fields.annotations.deprecated = try boolean(value, keyword, at: at)
            case "readOnly":
                fields.annotations.readOnly = try boolean(value, keyword, at: at)
            case "writeOnly":
                fields.annotations.writeOnly = try boolean(value, keyword, at: at)
            case "$schema":
                guard isRoot else { throw fail("'$schema' is only allowed at the root of the schema") }
                fields.annotations.schemaURI = try string(value, keyword, at: at)
            case "$id":
                guard isRoot else {
                    throw fail("'$id' is only supported at the root of the schema (embedded schema resources are not supported)")
                }
                fields.annotations.id = try string(value, keyword, at: at)
            default:
                if let hint = Self.hints[keyword] { throw fail("unsupported keyword '\(keyword)' (\(hint))") }
                throw fail("unsupported keyword '\(keyword)'")
            }
        }
        return Node(fields)
    }

    /// Advice for keywords from other drafts and dialects.
    static let hints: [String: String] = [
        "definitions": "use '$defs'",
        "additionalItems": "use 'items' after 'prefixItems'",
        "nullable": "use a 'type' array that includes \"null\"",
        "$recursiveRef": "use '$ref'",
        "$dynamicRef": "use '$ref'",
        "id": "use '$id'",
    ]

    private func types(_ value: JSONValue, at location: String) throws(SchemaError) -> [JSONSchema.InstanceType] {
        func type(_ value: JSONValue, at location: String) throws(SchemaError) -> JSONSchema.InstanceType {
            guard case .string(let name) = value, let type = JSONSchema.InstanceType(rawValue: name) else {
                let names = JSONSchema.InstanceType.allCases.map(\.rawValue).joined(separator: ", ")
                throw SchemaError(location: location, reason: "'type' must name one of \(names), found \(Self.found(value))")
            }
            return type
        }
        switch value {
        case .array(let elements):
            guard !elements.isEmpty else { throw SchemaError(location: location, reason: "'type' must not be an empty array") }
            var result: [JSONSchema.InstanceType] = []
            for (offset, element) in elements.enumerated() {
                let elementLocation = JSONPointer.appending(location, offset)
                let parsed = try type(element, at: elementLocation)
                guard !result.contains(parsed) else {
                    throw SchemaError(location: elementLocation, reason: "'type' lists \"\(parsed.rawValue)\" twice")
                }
                result.append(parsed)
            }
            return result
        default:
            return [try type(value, at: location)]
        }
    }

    private func reference(_ value: JSONValue, at location: String) throws(SchemaError) -> (JSONSchema.Reference, Int) {
        guard case .string(let text) = value else {
            throw SchemaError(location: location, reason: "'$ref' must be a string, found \(Self.found(value))")
        }
        if text == "#" { return (.root, 0) }
        let prefix = "#/$defs/"
        guard text.hasPrefix(prefix), let decoded = Self.percentDecoded(text.dropFirst(prefix.count)),
            !decoded.contains("/"), let name = JSONPointer.unescape(Substring(decoded))
        else {
            throw SchemaError(
                location: location,
                reason: "'$ref' \"\(text)\" is not supported: only local references '#' and '#/$defs/<name>' are")
        }
        guard let index = definitionIndex[name] else {
            throw SchemaError(location: location, reason: "'$ref' points to \"\(text)\", which is not defined in '$defs'")
        }
        return (.definition(name), index)
    }

    /// Decodes `%XX` escapes of a URI fragment; `nil` when one is malformed or not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        func hex(_ byte: UInt8?) -> UInt8? {
            guard let byte else { return nil }
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = hex(iterator.next()), let low = hex(iterator.next()) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        let decoded = String(decoding: bytes, as: UTF8.self)
        return decoded.utf8.elementsEqual(bytes) ? decoded : nil
    }

    private func nonNegativeInteger(_ value: JSONValue, _ keyword: String, at location: String) throws(SchemaError) -> Int {
        guard case .number(let number) = value, let exact = ExactNumber(number.literal), let integer = exact.nonNegativeInt else {
            throw SchemaError(location: location, reason: "'\(keyword)' must be a non-negative integer, found \(Self.found(value))")
        }
        return integer
    }

    private func number(_ value: JSONValue, _ keyword: String, at location: String) throws(SchemaError) -> JSONNumber {
        guard case .number(let number) = value, ExactNumber(number.literal) != nil else {
            throw SchemaError(location: location, reason: "'\(keyword)' must be a number, found \(Self.found(value))")
        }
        return number
    }

    private func string(_ value: JSONValue, _ keyword: String, at location: String) throws(SchemaError) -> String {
        guard case .string(let string) = value else {
            throw SchemaError(location: location, reason: "'\(keyword)' must be a string, found \(Self.found(value))")
        }
        return string
    }

    private func boolean(_ value: JSONValue, _ keyword: String, at location: String) throws(SchemaError) -> Bool {
        guard case .bool(let bool) = value else {
            throw SchemaError(location: location, reason: "'\(keyword)' must be true or false, found \(Self.found(value))")
        }
        return bool
    }

    private func schemaArray(_ value: JSONValue, _ keyword: String, at location: String) throws(SchemaError) -> [Node] {
        guard case .array(let elements) = value, !elements.isEmpty else {
            throw SchemaError(location: location, reason: "'\(keyword)' must be a non-empty array of schemas, found \(Self.found(value))")
        }
        var nodes: [Node] = []
        for (offset, element) in elements.enumerated() {
            nodes.append(try node(element, at: JSONPointer.appending(location, offset), isRoot: false))
        }
        return nodes
    }

    /// A value as quoted in an error: compact JSON, shortened past 40 characters.
    static func found(_ value: JSONValue) -> String {
        let text = value.serialized()
        guard text.unicodeScalars.count > 40 else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.prefix(37))) + "…"
    }

    // MARK: Whole-document checks

    /// Refuses `$ref` loops that never descend into the value (`A` → `B` → `A` through `$ref`,
    /// `allOf`, `anyOf`, `oneOf` or `not`): validating with them would never end.
    static func checkReferenceCycles(_ table: [Node], names: [String]) throws(SchemaError) {
        func edges(_ node: Node, into result: inout [(target: Int, location: String)]) {
            if let target = node.referenceIndex { result.append((target, JSONPointer.appending(node.location, "$ref"))) }
            for child in node.allOf { edges(child, into: &result) }
            for child in node.anyOf { edges(child, into: &result) }
            for child in node.oneOf { edges(child, into: &result) }
            if let child = node.not { edges(child, into: &result) }
        }
        let graph = table.map { node in
            var result: [(target: Int, location: String)] = []
            edges(node, into: &result)
            return result
        }
        func name(_ index: Int) -> String {
            index == 0 ? "#" : JSONSchema.Reference.definition(names[index - 1]).description
        }
        var state = [UInt8](repeating: 0, count: table.count)  // 0 unseen, 1 on the stack, 2 done
        var stack: [Int] = []
        func visit(_ index: Int) throws(SchemaError) {
            state[index] = 1
            stack.append(index)
            for edge in graph[index] {
                if state[edge.target] == 1 {
                    let loop = stack[stack.lastIndex(of: edge.target)!...].map(name) + [name(edge.target)]
                    throw SchemaError(
                        location: edge.location,
                        reason: "'$ref' loops without descending into the value: \(loop.joined(separator: " → "))")
                }
                if state[edge.target] == 0 { try visit(edge.target) }
            }
            stack.removeLast()
            state[index] = 2
        }
        for index in table.indices where state[index] == 0 { try visit(index) }
    }

    /// Whether `node` accepts every value.
    static func isTrivial(_ node: Node, _ table: [Node], visiting: inout Set<Int>) -> Bool {
        if node.acceptsNothing { return false }
        if !node.hasAssertions { return true }
        if node.types != nil || node.enumValues != nil || node.constValue != nil || !node.required.isEmpty
            || node.minProperties != nil || node.maxProperties != nil || node.minItems != nil || node.maxItems != nil
            || node.uniqueItems || node.minLength != nil || node.maxLength != nil || node.pattern != nil
            || (node.format?.isValidated ?? false) || node.hasNumericKeywords || node.not != nil
        {
            return false
        }
        if let target = node.referenceIndex {
            guard visiting.insert(target).inserted else { return false }
            defer { visiting.remove(target) }
            guard isTrivial(table[target], table, visiting: &visiting) else { return false }
        }
        for property in node.properties where !isTrivial(property.schema, table, visiting: &visiting) { return false }
        if let additional = node.additionalProperties, !isTrivial(additional, table, visiting: &visiting) { return false }
        for item in node.prefixItems where !isTrivial(item, table, visiting: &visiting) { return false }
        if let items = node.items, !isTrivial(items, table, visiting: &visiting) { return false }
        for branch in node.allOf where !isTrivial(branch, table, visiting: &visiting) { return false }
        if !node.anyOf.isEmpty, !node.anyOf.contains(where: { isTrivial($0, table, visiting: &visiting) }) { return false }
        if !node.oneOf.isEmpty, !(node.oneOf.count == 1 && isTrivial(node.oneOf[0], table, visiting: &visiting)) {
            return false
        }
        return true
    }
}
