import SwitchyardJSON

/// JSON Schema equality, for `enum`, `const` and `uniqueItems`: numbers are equal when their
/// values are (`1 == 1.0`), strings when their Unicode scalars are, objects whatever their member
/// order.
enum JSONEquality {
    static func equal(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)):
            if a.literal == b.literal { return true }
            guard let x = ExactNumber(a.literal), let y = ExactNumber(b.literal) else { return false }
            return x == y
        case (.string(var a), .string(var b)):
            guard a.utf8.count == b.utf8.count else { return false }
            return a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return false }
            for index in a.indices where !equal(a[index], b[index]) { return false }
            return true
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for index in a.keys.indices {
                guard let other = b[a.keys[index]], equal(a.values[index], other) else { return false }
            }
            return true
        default: return false
        }
    }

    /// A hash that agrees with `equal`.
    static func hash(_ value: JSONValue, into hasher: inout Hasher) {
        switch value {
        case .null: hasher.combine(0 as UInt8)
        case .bool(let bool): hasher.combine(bool ? 1 as UInt8 : 2)
        case .number(let number):
            hasher.combine(3 as UInt8)
            if let exact = ExactNumber(number.literal) { exact.hash(into: &hasher) } else { hasher.combine(number.literal) }
        case .string(let string):
            hasher.combine(4 as UInt8)
            for byte in string.utf8 { hasher.combine(byte) }
        case .array(let array):
            hasher.combine(5 as UInt8)
            hasher.combine(array.count)
            for element in array { hash(element, into: &hasher) }
        case .object(let object):
            hasher.combine(6 as UInt8)
            hasher.combine(object.count)
            var combined = 0
            for index in object.keys.indices {
                var member = Hasher()
                for byte in object.keys[index].utf8 { member.combine(byte) }
                hash(object.values[index], into: &member)
                combined ^= member.finalize()
            }
            hasher.combine(combined)
        }
    }

    /// The first pair of equal elements, as indexes `(earlier, later)`.
    static func firstDuplicate(in array: [JSONValue]) -> (Int, Int)? {
        if array.count < 2 { return nil }
        if array.count <= 16 {
            for later in 1..<array.count {
                for earlier in 0..<later where equal(array[earlier], array[later]) { return (earlier, later) }
            }
            return nil
        }
        var seen: [Int: [Int]] = [:]
        seen.reserveCapacity(array.count)
        for index in array.indices {
            var hasher = Hasher()
            hash(array[index], into: &hasher)
            let key = hasher.finalize()
            if let candidates = seen[key] {
                for earlier in candidates where equal(array[earlier], array[index]) { return (earlier, index) }
            }
            seen[key, default: []].append(index)
        }
        return nil
    }
}
