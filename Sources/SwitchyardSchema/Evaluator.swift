import SwitchyardJSON

/// A step from a value into one of its members or elements.
enum PathComponent {
    case key(String)
    case index(Int)
}

/// What a violation says about the value, for choosing what to report from failed `anyOf` and
/// `oneOf` alternatives.
enum ViolationKind {
    /// The value is not of the expected types.
    case type(TypeMask)
    /// The value is not one of these (`const`, `enum`): often the tag of a tagged union.
    case discriminator([JSONValue])
    case other
}

struct RecordedViolation {
    var path: String
    /// The number of path components.
    var depth: Int
    var message: String
    var kind: ViolationKind
}

/// Where the evaluator reports violations. Evaluation runs twice on an invalid value: first
/// with `FastSink`, which stops at the first violation and builds neither paths nor messages,
/// then with `Collector`, which records them all (up to a limit). Both run the same code, so
/// they always agree on validity.
protocol ViolationSink {
    static var collectsDetails: Bool { get }
    /// Whether evaluation can stop.
    var isDone: Bool { get }
    var limit: Int { get }
    var path: [PathComponent] { get }
    mutating func fail(_ kind: @autoclosure () -> ViolationKind, _ message: @autoclosure () -> String)
    mutating func push(_ component: PathComponent)
    mutating func pop()
    mutating func absorb(_ violations: [RecordedViolation])
}

struct FastSink: ViolationSink {
    static var collectsDetails: Bool { false }
    var failed = false
    var isDone: Bool { failed }
    var limit: Int { 1 }
    var path: [PathComponent] { [] }
    @inline(__always) mutating func fail(_ kind: @autoclosure () -> ViolationKind, _ message: @autoclosure () -> String) {
        failed = true
    }
    @inline(__always) mutating func push(_ component: PathComponent) {}
    @inline(__always) mutating func pop() {}
    mutating func absorb(_ violations: [RecordedViolation]) { if !violations.isEmpty { failed = true } }
}

struct Collector: ViolationSink {
    static var collectsDetails: Bool { true }
    var path: [PathComponent]
    var recorded: [RecordedViolation] = []
    let limit: Int

    init(path: [PathComponent], limit: Int) {
        self.path = path
        self.limit = limit
    }

    var isDone: Bool { recorded.count >= limit }

    mutating func fail(_ kind: @autoclosure () -> ViolationKind, _ message: @autoclosure () -> String) {
        guard !isDone else { return }
        recorded.append(RecordedViolation(path: Self.render(path), depth: path.count, message: message(), kind: kind()))
    }

    mutating func push(_ component: PathComponent) { path.append(component) }
    mutating func pop() { path.removeLast() }

    mutating func absorb(_ violations: [RecordedViolation]) {
        for violation in violations where !isDone { recorded.append(violation) }
    }

    /// `$`, `$.room`, `$.items[2].name`, `$["a b"]`.
    static func render(_ path: [PathComponent]) -> String {
        var result = "$"
        for component in path {
            switch component {
            case .index(let index):
                result += "[\(index)]"
            case .key(let key):
                if isIdentifier(key) {
                    result += "." + key
                } else {
                    result += "[" + JSONValue.string(key).serialized() + "]"
                }
            }
        }
        return result
    }

    /// An ASCII JavaScript identifier: `[A-Za-z_$][A-Za-z0-9_$]*`.
    static func isIdentifier(_ key: String) -> Bool {
        var first = true
        for byte in key.utf8 {
            let letter = (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$")
            guard letter || (!first && byte &- UInt8(ascii: "0") < 10) else { return false }
            first = false
        }
        return !first
    }
}

/// Validates values against the nodes of one schema document.
struct Evaluator {
    typealias Node = JSONSchema.Node
    let table: [Node]

    func evaluate<Sink: ViolationSink>(_ node: Node, _ value: JSONValue, _ sink: inout Sink) {
        guard node.hasAssertions else { return }
        if node.acceptsNothing {
            // Of no type at all: an alternative that is `false` never is what the client meant.
            sink.fail(.type([]), "is not allowed")
            return
        }
        if let target = node.referenceIndex {
            evaluate(table[target], value, &sink)
            if sink.isDone { return }
        }

        var exact: ExactNumber?
        if case .number(let number) = value, !node.typeMask.isEmpty || node.hasNumericKeywords {
            exact = ExactNumber(number.literal)
        }
        var typeMatches = true
        if !node.typeMask.isEmpty {
            typeMatches = Self.matches(node.typeMask, value, exact)
            if !typeMatches {
                sink.fail(.type(node.typeMask), "must be \(node.typeMask.phrase), found \(Self.typeName(value, exact))")
                if sink.isDone { return }
            }
        }
        // A value of the wrong type is not also reported as outside `enum` or `const`.
        if typeMatches {
            if let constant = node.constValue, !JSONEquality.equal(constant, value) {
                sink.fail(.discriminator([constant]), Self.mustBeOneOf([constant]))
            }
            if let values = node.enumValues, !values.contains(where: { JSONEquality.equal($0, value) }) {
                sink.fail(.discriminator(values), Self.mustBeOneOf(values))
            }
            if sink.isDone { return }
        }

        switch value {
        case .string(let string):
            checkString(node, string, &sink)
        case .number:
            if node.hasNumericKeywords, let exact { checkNumber(node, exact, &sink) }
        case .array(let array):
            checkArray(node, array, &sink)
        case .object(let object):
            checkObject(node, object, &sink)
        case .null, .bool:
            break
        }
        // A value of the wrong type is valid or not already; its alternatives would only add noise.
        if sink.isDone || !typeMatches { return }

        for branch in node.allOf {
            evaluate(branch, value, &sink)
            if sink.isDone { return }
        }
        if !node.anyOf.isEmpty {
            checkAlternatives(node.anyOf, exactlyOne: false, value, &sink)
            if sink.isDone { return }
        }
        if !node.oneOf.isEmpty {
            checkAlternatives(node.oneOf, exactlyOne: true, value, &sink)
            if sink.isDone { return }
        }
        if let excluded = node.not {
            var probe = FastSink()
            evaluate(excluded, value, &probe)
            if !probe.failed { sink.fail(.other, Self.negation(excluded)) }
        }
    }

    // MARK: Types

    @inline(__always)
    static func matches(_ mask: TypeMask, _ value: JSONValue, _ exact: ExactNumber?) -> Bool {
        switch value {
        case .null: return mask.contains(.null)
        case .bool: return mask.contains(.boolean)
        case .string: return mask.contains(.string)
        case .array: return mask.contains(.array)
        case .object: return mask.contains(.object)
        case .number: return mask.contains(.number) || (mask.contains(.integer) && exact?.isInteger == true)
        }
    }

    static func typeName(_ value: JSONValue, _ exact: ExactNumber?) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        case .number(let number):
            return (exact ?? ExactNumber(number.literal))?.isInteger == true ? "integer" : "number"
        }
    }

    // MARK: Strings, numbers

    private func checkString<Sink: ViolationSink>(_ node: Node, _ string: String, _ sink: inout Sink) {
        if node.minLength != nil || node.maxLength != nil {
            // A string has at most as many scalars as UTF-8 bytes: count them only when needed.
            let bytes = string.utf8.count
            var scalars: Int {
                var count = 0
                for byte in string.utf8 where byte & 0xC0 != 0x80 { count += 1 }
                return count
            }
            // And at least a quarter as many.
            if let minimum = node.minLength, bytes < minimum || ((bytes + 3) / 4 < minimum && scalars < minimum) {
                sink.fail(.other, "must be at least \(Self.plural(minimum, "character"))")
            }
            if let maximum = node.maxLength, bytes > maximum, scalars > maximum {
                sink.fail(.other, "must be at most \(Self.plural(maximum, "character"))")
            }
        }
        if let regex = node.regex, !regex.compiled.matches(string) {
            sink.fail(.other, "must match pattern \(node.pattern!.source)")
        }
        if let format = node.format, format.isValidated, !FormatChecker.check(format, string) {
            sink.fail(.other, FormatChecker.message(format))
        }
    }

    private func checkNumber<Sink: ViolationSink>(_ node: Node, _ number: ExactNumber, _ sink: inout Sink) {
        if let bound = node.minimumValue, number.compare(bound) < 0 { sink.fail(.other, "must be ≥ \(bound.literal)") }
        if let bound = node.exclusiveMinimumValue, number.compare(bound) <= 0 { sink.fail(.other, "must be > \(bound.literal)") }
        if let bound = node.maximumValue, number.compare(bound) > 0 { sink.fail(.other, "must be ≤ \(bound.literal)") }
        if let bound = node.exclusiveMaximumValue, number.compare(bound) >= 0 { sink.fail(.other, "must be < \(bound.literal)") }
        if let divisor = node.multipleOfValue, !number.isMultiple(of: divisor) {
            sink.fail(.other, "must be a multiple of \(divisor.literal)")
        }
    }

    // MARK: Arrays, objects

    private func checkArray<Sink: ViolationSink>(_ node: Node, _ array: [JSONValue], _ sink: inout Sink) {
        if let minimum = node.minItems, array.count < minimum {
            sink.fail(.other, "must have at least \(Self.plural(minimum, "item"))")
        }
        if let maximum = node.maxItems, array.count > maximum {
            sink.fail(.other, "must have at most \(Self.plural(maximum, "item"))")
        }
        if node.uniqueItems, let (earlier, later) = JSONEquality.firstDuplicate(in: array) {
            sink.fail(.other, "must not contain duplicates, but items [\(earlier)] and [\(later)] are equal")
        }
        if sink.isDone { return }
        let prefixCount = Swift.min(node.prefixItems.count, array.count)
        for index in 0..<prefixCount where node.prefixItems[index].hasAssertions {
            sink.push(.index(index))
            evaluate(node.prefixItems[index], array[index], &sink)
            sink.pop()
            if sink.isDone { return }
        }
        if let items = node.items, items.hasAssertions, array.count > prefixCount {
            for index in prefixCount..<array.count {
                sink.push(.index(index))
                evaluate(items, array[index], &sink)
                sink.pop()
                if sink.isDone { return }
            }
        }
    }

    private func checkObject<Sink: ViolationSink>(_ node: Node, _ object: JSONObject, _ sink: inout Sink) {
        if let minimum = node.minProperties, object.count < minimum {
            sink.fail(.other, "must have at least \(Self.plural(minimum, "property", "properties"))")
        }
        if let maximum = node.maxProperties, object.count > maximum {
            sink.fail(.other, "must have at most \(Self.plural(maximum, "property", "properties"))")
        }
        for name in node.required where !object.keys.contains(name) {
            sink.push(.key(name))
            sink.fail(.other, "is required")
            sink.pop()
            if sink.isDone { return }
        }
        guard !node.properties.isEmpty || node.additionalProperties != nil else { return }
        let keys = object.keys
        let values = object.values
        for index in keys.indices {
            let schema: Node
            if let property = node.propertySchema(keys[index]) {
                schema = property
            } else if let additional = node.additionalProperties {
                schema = additional
            } else {
                continue
            }
            guard schema.hasAssertions else { continue }
            sink.push(.key(keys[index]))
            evaluate(schema, values[index], &sink)
            sink.pop()
            if sink.isDone { return }
        }
    }

    // MARK: anyOf, oneOf, not

    private func checkAlternatives<Sink: ViolationSink>(
        _ branches: [Node], exactlyOne: Bool, _ value: JSONValue, _ sink: inout Sink
    ) {
        var matched = 0
        for branch in branches {
            var probe = FastSink()
            evaluate(branch, value, &probe)
            if !probe.failed {
                matched += 1
                if !exactlyOne || matched > 1 { break }
            }
        }
        if exactlyOne ? matched == 1 : matched > 0 { return }
        if matched > 1 {
            sink.fail(.other, "must match exactly one of the allowed alternatives, but matches more than one")
            return
        }
        guard Sink.collectsDetails else {
            sink.fail(.other, "")
            return
        }

        // No alternative matched: say what the client most likely got wrong.
        let base = sink.path.count
        let results = branches.map { branch in
            var collector = Collector(path: sink.path, limit: sink.limit)
            evaluate(branch, value, &collector)
            return collector.recorded
        }

        // Every alternative wants another type: "must be a string or null, found integer".
        var types: TypeMask = []
        let allRejectType = results.allSatisfy { violations in
            for violation in violations where violation.depth == base {
                if case .type(let mask) = violation.kind {
                    types.formUnion(mask)
                    return true
                }
            }
            return false
        }
        if allRejectType {
            sink.fail(.type(types), types.isEmpty ? "is not allowed" : "must be \(types.phrase), found \(Self.typeName(value, nil))")
            return
        }

        // Exactly one alternative has the right type and tag: report its violations.
        let candidates = results.indices.filter { index in
            !results[index].contains { violation in
                switch violation.kind {
                case .type: return violation.depth == base
                case .discriminator: return violation.depth <= base + 1
                case .other: return false
                }
            }
        }
        if candidates.count == 1 {
            sink.absorb(results[candidates[0]])
            return
        }

        // Every alternative rejects the same tag: "$.kind must be one of "text", "image"".
        func tag(_ violations: [RecordedViolation], at path: String?) -> (RecordedViolation, [JSONValue])? {
            for violation in violations where violation.depth <= base + 1 && (path == nil || violation.path == path) {
                if case .discriminator(let values) = violation.kind { return (violation, values) }
            }
            return nil
        }
        if let (first, _) = tag(results[0], at: nil) {
            var allowed: [JSONValue] = []
            let allRejectTag = results.allSatisfy { violations in
                guard let (_, values) = tag(violations, at: first.path) else { return false }
                for value in values where !allowed.contains(where: { JSONEquality.equal($0, value) }) { allowed.append(value) }
                return true
            }
            if allRejectTag {
                sink.absorb([
                    RecordedViolation(
                        path: first.path, depth: first.depth, message: Self.mustBeOneOf(allowed), kind: .discriminator(allowed))
                ])
                return
            }
        }

        sink.fail(.other, "must match \(exactlyOne ? "exactly" : "at least") one of the allowed alternatives")
    }

    /// `must not be "admin"`, `must not be null`, or a general message.
    static func negation(_ node: Node) -> String {
        guard case .object(let object) = node.source else { return "is not allowed" }
        let assertions = object.keys.filter { !annotationKeywords.contains($0) }
        if assertions == ["const"], let constant = node.constValue { return "must not be \(constant.serialized())" }
        if assertions == ["enum"], let values = node.enumValues {
            return values.count == 1 ? "must not be \(values[0].serialized())" : "must not be one of \(list(values))"
        }
        if assertions == ["type"] { return "must not be \(node.typeMask.phrase)" }
        return "must not match the excluded schema"
    }

    static let annotationKeywords: Set<String> = [
        "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment", "$schema", "$id", "$defs",
    ]

    // MARK: Messages

    /// `must be "a"`, `must be one of "a", "b"`.
    static func mustBeOneOf(_ values: [JSONValue]) -> String {
        switch values.count {
        case 0: return "is not allowed"
        case 1: return "must be \(values[0].serialized())"
        default: return "must be one of \(list(values))"
        }
    }

    /// `"a", "b", 3`, with at most ten values shown.
    static func list(_ values: [JSONValue]) -> String {
        let shown = values.prefix(10).map { $0.serialized() }.joined(separator: ", ")
        return values.count > 10 ? shown + ", … (\(values.count) values)" : shown
    }

    /// `1 character`, `200 characters`.
    static func plural(_ count: Int, _ singular: String, _ plural: String? = nil) -> String {
        count == 1 ? "1 \(singular)" : "\(count) \(plural ?? singular + "s")"
    }
}
