// The JSON Schema loader and evaluator (Sources/SwitchyardSchema). Plugins supply schemas
// and clients supply the values they check, so both are input.
//
// Input: schema JSON, a 0x00 byte, instance JSON (without the 0x00 the schema document
// itself is the instance).
// Properties:
// - Loading is a function of the document's value: the same value loads (or fails with the
//   same error) again, and so does the document serialized and parsed back.
// - The fast check and the reporting check agree: `isValid(x)` exactly when
//   `validate(x)` is empty, for the instance, the schema document and a few fixed values;
//   a report has between 1 and `limit` violations.
import FuzzSupport
import SwitchyardJSON
import SwitchyardSchema

func load(_ document: JSONValue) -> Result<JSONSchema, SchemaError> {
    do throws(SchemaError) {
        return .success(try JSONSchema(document))
    } catch {
        return .failure(error)
    }
}

let fixedInstances: [JSONValue] = [.null, .bool(true), 0, -1.5, "", "a", [], [1, "1", nil], [:], ["a": 1]]

func fuzzJSONSchema(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let split = input.firstIndex(of: 0) ?? input.endIndex
    guard let document = try? JSONValue(parsing: input[..<split]) else { return 0 }
    let instance = split < input.endIndex ? (try? JSONValue(parsing: input[(split + 1)...])) : document

    let first = load(document)
    let second = load(document)
    let reparsed = load(try! JSONValue(parsing: document.serializedBytes()))
    switch (first, second, reparsed) {
    case (.success(let a), .success(let b), .success(let c)):
        require(a == b && b == c, "the same document loaded into different schemas")
    case (.failure(let a), .failure(let b), .failure(let c)):
        require(a == b && b == c, "the same document failed differently: \(a) / \(b) / \(c)")
        return 0
    default:
        propertyViolated("the same document loads only sometimes: \(first) / \(second) / \(reparsed)")
    }
    guard case .success(let schema) = first else { return 0 }

    for value in [instance, document].compactMap({ $0 }) + fixedInstances {
        let valid = schema.isValid(value)
        let violations = schema.validate(value, limit: 3)
        require(valid == violations.isEmpty, "isValid says \(valid), validate reports \(violations) for \(value.serialized())")
        require(violations.count <= 3, "\(violations.count) violations reported with a limit of 3")
        require(schema.validate(value, limit: 1).count == (valid ? 0 : 1), "limit 1 not respected")
    }
    return 0
}
