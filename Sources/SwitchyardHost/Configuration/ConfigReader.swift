import SwitchyardJSON

/// A configuration problem, located by its key path (`engine.pingInterval`).
public struct ConfigurationError: Error, Hashable, CustomStringConvertible {
    public var source: String
    public var keyPath: String
    public var problem: String

    public init(source: String, keyPath: String, problem: String) {
        self.source = source
        self.keyPath = keyPath
        self.problem = problem
    }

    public var description: String {
        keyPath.isEmpty ? "\(source): \(problem)" : "\(source): \(keyPath): \(problem)"
    }
}

/// Reads one JSON object of a configuration file, strictly: wrong types and unknown keys
/// are errors that name the key path, so a typo never silently falls back to a default.
struct ConfigReader {
    let source: String
    let path: String
    private let object: JSONObject
    private var consumed: Set<String> = []

    init(source: String, path: String, value: JSONValue) throws(ConfigurationError) {
        guard case .object(let object) = value else {
            throw ConfigurationError(source: source, keyPath: path, problem: "expected an object, found \(value.typeName)")
        }
        self.source = source
        self.path = path
        self.object = object
    }

    private func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(source: source, keyPath: keyPath(key), problem: problem)
    }

    private mutating func value(_ key: String) -> JSONValue? {
        consumed.insert(key)
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    mutating func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let string) = value else { throw error(key, "expected a string, found \(value.typeName)") }
        return string
    }

    mutating func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let bool) = value else { throw error(key, "expected true or false, found \(value.typeName)") }
        return bool
    }

    mutating func int(_ key: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = value(key) else { return nil }
        guard let int = value.intValue, value.typeName == "integer" else {
            throw error(key, "expected an integer, found \(value.serialized())")
        }
        guard range.contains(int) else {
            throw error(key, "\(int) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
        return int
    }

    mutating func number(_ key: String) throws(ConfigurationError) -> Double? {
        guard let value = value(key) else { return nil }
        guard let double = value.doubleValue else { throw error(key, "expected a number, found \(value.typeName)") }
        return double
    }

    mutating func strings(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let array) = value else { throw error(key, "expected an array of strings, found \(value.typeName)") }
        var strings: [String] = []
        for (index, element) in array.enumerated() {
            guard case .string(let string) = element else {
                throw ConfigurationError(source: source, keyPath: "\(keyPath(key))[\(index)]", problem: "expected a string, found \(element.typeName)")
            }
            strings.append(string)
        }
        return strings
    }

    /// The value as it is (nil when absent or null), for settings of more than one type.
    mutating func raw(_ key: String) -> JSONValue? { value(key) }

    /// An error located at this key.
    func failure(_ key: String, _ problem: String) -> ConfigurationError { error(key, problem) }

    mutating func object(_ key: String) throws(ConfigurationError) -> ConfigReader? {
        guard let value = value(key) else { return nil }
        return try ConfigReader(source: source, path: keyPath(key), value: value)
    }

    /// An array of objects, each with its own reader.
    mutating func objects(_ key: String) throws(ConfigurationError) -> [ConfigReader]? {
        guard let value = value(key) else { return nil }
        guard case .array(let array) = value else { throw error(key, "expected an array of objects, found \(value.typeName)") }
        var readers: [ConfigReader] = []
        for (index, element) in array.enumerated() {
            readers.append(try ConfigReader(source: source, path: "\(keyPath(key))[\(index)]", value: element))
        }
        return readers
    }

    /// The keys of the object, in document order.
    var keys: [String] { object.keys }

    /// Every member as raw JSON (for free-form sections such as plugin settings).
    mutating func remainingObjects() -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for (key, value) in object {
            consumed.insert(key)
            result[key] = value
        }
        return result
    }

    /// Throws if the object has keys nobody asked for.
    func finish() throws(ConfigurationError) {
        for key in object.keys where !consumed.contains(key) {
            throw error(key, "unknown setting")
        }
    }
}
