import SwitchyardJSON
import SwitchyardSchema
import Testing

/// One validation example: a schema, a value, and the violations expected, each written as
/// `SchemaViolation.description` (`"$.a must be a string, found integer"`).
struct ValidationCase: Sendable, CustomTestStringConvertible {
    let schema: String
    let value: String
    let expected: [String]

    init(_ schema: String, _ value: String, _ expected: [String] = []) {
        self.schema = schema
        self.value = value
        self.expected = expected
    }

    var testDescription: String { "\(schema) ⟵ \(value)" }

    func check(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let schema = try JSONSchema(parsing: schema)
        let value = try JSONValue(parsing: value)
        let violations = schema.validate(value)
        #expect(violations.map(\.description) == expected, sourceLocation: sourceLocation)
        // The fast check and the detailed one agree.
        #expect(schema.isValid(value) == expected.isEmpty, sourceLocation: sourceLocation)
    }
}

/// A schema that must be refused, where, and why.
struct RefusalCase: Sendable, CustomTestStringConvertible {
    let schema: String
    let location: String
    let reason: String

    init(_ schema: String, _ location: String, _ reason: String) {
        self.schema = schema
        self.location = location
        self.reason = reason
    }

    var testDescription: String { schema }

    func check(sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let loaded = try JSONSchema(parsing: schema)
            Issue.record("accepted: \(loaded)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.location == location, sourceLocation: sourceLocation)
            #expect(error.reason == reason, sourceLocation: sourceLocation)
        }
    }
}
