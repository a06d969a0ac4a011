// The JSON reader (Sources/SwitchyardJSON), which reads every payload a client sends.
//
// Properties:
// - Validating without building (RawJSON.validate, splitArray) accepts exactly what
//   building a value (JSONValue(parsing:)) accepts.
// - decode → encode → decode: the serialized value parses to an equal value, and
//   serializing that gives the same bytes.
// - It agrees with Foundation's JSONSerialization (fragments allowed) on accept/reject and
//   on the value, except for these deliberate differences (docs/FUZZING.md):
//   1. Foundation guesses UTF-16/32 from NUL bytes and skips a UTF-8 byte order mark; we
//      read UTF-8 only and refuse both (RFC 8259 §8.1: no BOM). Such inputs must be refused.
//   2. Foundation accepts a trailing comma (`[1,]`, `{"a":1,}`); we follow RFC 8259.
//   3. Foundation nests 512 levels, we 64 (JSONReader.defaultDepthLimit) to protect the stack.
//   4. Foundation refuses numbers a Double cannot hold (`1e400`); we keep the literal.
//   5. Numbers are compared as values: integers exactly, others as Doubles (Foundation's
//      NSDecimalNumber for huge integers within a relative 1e-12).
import Foundation
import FuzzSupport
import SwitchyardJSON

func parseOurs(_ bytes: [UInt8]) -> Result<JSONValue, JSONParseError> {
    do throws(JSONParseError) {
        return .success(try JSONValue(parsing: bytes))
    } catch {
        return .failure(error)
    }
}

func numbers(in value: JSONValue) -> [JSONNumber] {
    switch value {
    case .number(let number): return [number]
    case .array(let elements): return elements.flatMap(numbers(in:))
    case .object(let object): return object.values.flatMap(numbers(in:))
    default: return []
    }
}

func sameNumber(_ ours: JSONNumber, _ theirs: NSNumber) -> Bool {
    let literal = ours.literal
    if !(theirs is NSDecimalNumber) {
        let type = String(cString: theirs.objCType)
        if type == "q" || type == "i" || type == "l" || type == "s" || type == "c" { return Int64(literal) == theirs.int64Value }
        if type == "Q" || type == "L" || type == "I" || type == "S" || type == "C" { return UInt64(literal) == theirs.uint64Value }
    }
    guard let double = Double(literal) else { return false }
    let other = theirs.doubleValue
    if double == other { return true }
    return abs(double - other) <= 1e-12 * max(abs(double), abs(other))
}

func same(_ ours: JSONValue, _ theirs: Any) -> Bool {
    switch ours {
    case .null: return theirs is NSNull
    case .bool(let bool):
        guard let number = theirs as? NSNumber, String(cString: number.objCType) == "c" else { return false }
        return number.boolValue == bool
    case .number(let number):
        guard let other = theirs as? NSNumber, String(cString: other.objCType) != "c" || theirs is NSDecimalNumber else { return false }
        return sameNumber(number, other)
    case .string(let string):
        guard let other = theirs as? String else { return false }
        return Array(string.utf8) == Array(other.utf8)
    case .array(let elements):
        guard let other = theirs as? [Any], other.count == elements.count else { return false }
        return zip(elements, other).allSatisfy { same($0, $1) }
    case .object(let object):
        guard let other = theirs as? [String: Any], other.count == object.count else { return false }
        return object.allSatisfy { member in other[member.key].map { same(member.value, $0) } ?? false }
    }
}

func fuzzJSONReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let ours = parseOurs(input)

    // Skipping and building agree.
    let validated = input.withUnsafeBytes { bytes in Result { () throws(JSONParseError) in try RawJSON.validate(bytes) } }
    switch (ours, validated) {
    case (.success, .failure(let error)): propertyViolated("RawJSON.validate refuses (\(error)) what JSONValue(parsing:) accepts")
    case (.failure(let error), .success): propertyViolated("RawJSON.validate accepts what JSONValue(parsing:) refuses (\(error))")
    default: break
    }
    if case .success(.array(let elements)) = ours {
        let ranges = input.withUnsafeBytes { try? RawJSON.splitArray($0) }
        require(ranges?.count == elements.count, "splitArray found \(ranges?.count ?? -1) elements, the reader \(elements.count)")
        for (range, element) in zip(ranges ?? [], elements) {
            require(try! JSONValue(parsing: input[range]) == element, "splitArray's element differs from the reader's")
        }
    }

    // decode → encode → decode.
    if case .success(let value) = ours {
        let serialized = value.serializedBytes()
        guard case .success(let again) = parseOurs(serialized) else {
            propertyViolated("serialized value does not parse: \(String(decoding: serialized, as: UTF8.self))")
        }
        require(again == value, "decode → encode → decode changed the value")
        require(again.serializedBytes() == serialized, "serializing twice gives different bytes")
    }

    // Foundation.
    if input.prefix(4).contains(0) || input.starts(with: [0xEF, 0xBB, 0xBF]) || input.starts(with: [0xFE, 0xFF])
        || input.starts(with: [0xFF, 0xFE])
    {
        // Difference 1: Foundation would guess another encoding or skip the BOM.
        if case .success = ours { propertyViolated("accepted a document that is not plain UTF-8") }
        return 0
    }
    let theirs = Result { try JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed]) }
    switch (ours, theirs) {
    case (.success(let value), .success(let object)):
        require(same(value, object), "value differs from Foundation's: \(value.serialized()) vs \(object)")
    case (.success(let value), .failure(let error)):
        // Difference 4.
        let outOfRange = numbers(in: value).contains { Double($0.literal)?.isInfinite ?? true }
        require(outOfRange, "accepted what Foundation refuses (\(error)): \(value.serialized())")
    case (.failure(let error), .success):
        switch error.reason {
        case .tooDeep: break  // Difference 3.
        case .unexpectedByte(let byte) where byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}"):
            // Difference 2: the byte before, whitespace aside, must be a comma.
            let before = input[..<error.offset].last { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
            require(before == UInt8(ascii: ","), "refused (\(error)) what Foundation accepts")
        default:
            propertyViolated("refused (\(error)) what Foundation accepts")
        }
    case (.failure, .failure):
        break
    }
    return 0
}
