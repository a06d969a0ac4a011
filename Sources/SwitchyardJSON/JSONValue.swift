/// A JSON value.
///
/// Objects keep their members in document order, so a value read and written again comes
/// out byte-for-byte equivalent (modulo insignificant whitespace), and numbers keep their
/// literal text, so a 64-bit identifier or `1.10` survives a round trip unchanged.
///
/// ```swift
/// let auth = try JSONValue(parsing: #"{"token":"123","n":1.50}"#)
/// auth["token"]?.stringValue   // "123"
/// auth.serialized()            // {"token":"123","n":1.50}
/// ```
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON number, stored as its validated literal text.
public struct JSONNumber: Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral
{
    /// The literal as it appeared in the document (always valid JSON number syntax).
    public let literal: String

    /// Wraps a literal that is already known to be valid JSON number syntax.
    init(validatedLiteral: String) { self.literal = validatedLiteral }

    public init(_ value: Int) { self.literal = String(value) }
    public init(_ value: Int64) { self.literal = String(value) }
    public init(_ value: UInt64) { self.literal = String(value) }

    /// A finite double; non-finite values have no JSON form and become `0`.
    ///
    /// Integers a double holds exactly (below 2^53) are written as integers, as JavaScript
    /// writes them (`1e15` is `1000000000000000`, not `1000000000000000.0`), so a number
    /// that crosses MessagePack keeps its JSON form (found by fuzzing the MessagePack bridge).
    public init(_ value: Double) {
        if !value.isFinite {
            self.literal = "0"
        } else if value == value.rounded(.towardZero), abs(value) < 9_007_199_254_740_992 {
            self.literal = String(Int64(value))
        } else {
            self.literal = "\(value)"
        }
    }

    public init(integerLiteral value: Int) { self.init(value) }
    public init(floatLiteral value: Double) { self.init(value) }

    public var description: String { literal }

    /// The value as a `Double` (always available, possibly rounded).
    public var doubleValue: Double { Double(literal) ?? .nan }

    /// The value as an `Int`, when it is an integer that fits.
    public var intValue: Int? {
        if let exact = Int(literal) { return exact }
        guard let double = Double(literal), double.rounded() == double,
            double >= Double(Int.min), double < Double(Int.max)
        else { return nil }
        return Int(double)
    }
}

/// Builds a ``JSONObject`` from members in document order in linear time: a repeated key's
/// later value replaces the earlier one in its place (as `JSON.parse` and a JavaScript object
/// do), and a nil value leaves the key out.
///
/// Setting members one by one through the object's subscript scans its keys each time, so a
/// document with many thousands of members — which a client may send — would cost seconds;
/// past a few members the builder keeps a table of where each key is.
///
/// ```swift
/// var builder = JSONObjectBuilder()
/// builder.set("a", 1)
/// builder.set("b", 2)
/// builder.set("a", 3)
/// builder.object      // {"a":3,"b":2}
/// ```
public struct JSONObjectBuilder {
    private var keys: [String] = []
    private var values: [JSONValue?] = []
    private var omitted = 0
    /// Index of each key, once there are more than `linearLimit` of them.
    private var positions: [String: Int]?
    private static let linearLimit = 16

    public init() {}

    public mutating func set(_ key: String, _ value: JSONValue?) {
        if let index = positions.map({ $0[key] }) ?? keys.firstIndex(of: key) {
            omitted += (value == nil ? 1 : 0) - (values[index] == nil ? 1 : 0)
            values[index] = value
            return
        }
        positions?[key] = keys.count
        keys.append(key)
        values.append(value)
        if value == nil { omitted += 1 }
        if positions == nil, keys.count > Self.linearLimit {
            var table: [String: Int] = [:]
            table.reserveCapacity(keys.count * 2)
            for (index, key) in keys.enumerated() { table[key] = index }
            positions = table
        }
    }

    /// The members set so far, in the order their keys first came.
    public var object: JSONObject {
        guard omitted > 0 else { return JSONObject(uniqueKeys: keys, values: values.map { $0! }) }
        var kept = JSONObject()
        for (key, value) in zip(keys, values) {
            guard let value else { continue }
            kept.appendUnique(key, value)
        }
        return kept
    }
}

/// A JSON object whose members keep their document order.
///
/// Lookups scan linearly: the objects that cross a realtime server are small, and a scan
/// over a few members beats hashing. Setting a key that exists replaces its value in place.
public struct JSONObject: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Member = (key: String, value: JSONValue)

    public private(set) var keys: [String]
    public private(set) var values: [JSONValue]

    public init() {
        self.keys = []
        self.values = []
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init()
        for (key, value) in elements { self[key] = value }
    }

    public init<S: Sequence>(_ members: S) where S.Element == (String, JSONValue) {
        self.init()
        for (key, value) in members { self[key] = value }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// Members whose keys are known to be distinct (``JSONObjectBuilder``).
    init(uniqueKeys keys: [String], values: [JSONValue]) {
        self.keys = keys
        self.values = values
    }

    mutating func appendUnique(_ key: String, _ value: JSONValue) {
        keys.append(key)
        values.append(value)
    }

    public subscript(key: String) -> JSONValue? {
        get {
            guard let index = keys.firstIndex(of: key) else { return nil }
            return values[index]
        }
        set {
            if let index = keys.firstIndex(of: key) {
                if let newValue {
                    values[index] = newValue
                } else {
                    keys.remove(at: index)
                    values.remove(at: index)
                }
            } else if let newValue {
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    public func makeIterator() -> some IteratorProtocol<Member> {
        var index = 0
        let keys = self.keys
        let values = self.values
        return AnyIterator {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            return (keys[index], values[index])
        }
    }

    /// Objects are equal when they have the same members, whatever their order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in zip(lhs.keys, lhs.values) where rhs[key] != value {
            return false
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent, to agree with ==.
        var combined = 0
        for (key, value) in zip(keys, values) {
            var member = Hasher()
            member.combine(key)
            member.combine(value)
            combined ^= member.finalize()
        }
        hasher.combine(count)
        hasher.combine(combined)
    }
}

extension JSONValue {
    public subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    public subscript(index: Int) -> JSONValue? {
        guard case .array(let array) = self, array.indices.contains(index) else { return nil }
        return array[index]
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var numberValue: JSONNumber? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var intValue: Int? { numberValue?.intValue }

    public var doubleValue: Double? { numberValue?.doubleValue }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The JSON Schema style name of the value's type (`"object"`, `"integer"`, …).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let number): return number.intValue != nil && !number.literal.contains(".") ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral,
    ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object = JSONObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
    public init(nilLiteral: ()) { self = .null }
}
