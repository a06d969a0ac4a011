import NIOCore
import SwitchyardJSON

/// Conversions between JSON values (how Switchyard holds event arguments) and MessagePack
/// values (how the socket.io Redis adapter carries them).
///
/// Binary attachments are inline `bin` values in MessagePack and
/// `{"_placeholder":true,"num":N}` objects plus an attachment list in Socket.IO's JSON form;
/// the conversions move between the two, so a binary event crosses a mixed cluster intact.
extension MessagePackValue {
    /// The MessagePack form of a JSON value; placeholders are replaced by their attachment.
    public init(json: JSONValue, attachments: [ByteBuffer] = []) {
        switch json {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .number(let number):
            if let value = Int64(number.literal) {
                self = .int(value)
            } else if let value = UInt64(number.literal) {
                self = .uint(value)
            } else {
                let double = number.doubleValue
                // `1e3` and `2.0` are integers to JavaScript; keep them compact.
                if let exact = Int64(exactly: double), abs(double) < 9_007_199_254_740_992 {
                    self = .int(exact)
                } else {
                    self = .double(double)
                }
            }
        case .string(let string): self = .string(string)
        case .array(let array): self = .array(array.map { MessagePackValue(json: $0, attachments: attachments) })
        case .object(let object):
            if !attachments.isEmpty, object["_placeholder"] == .bool(true),
                let index = object["num"]?.intValue, attachments.indices.contains(index)
            {
                self = .binary(attachments[index])
                return
            }
            self = .map(
                object.map { MessagePackPair(key: .string($0.key), value: MessagePackValue(json: $0.value, attachments: attachments)) })
        }
    }
}

extension JSONValue {
    /// The JSON form of a MessagePack value, as `JSON.stringify` would write what the
    /// JavaScript decoder (`notepack.io`) makes of it. `bin` values become placeholders
    /// numbered in the order they are met and are appended to `attachments`; map keys that
    /// are not strings become what JavaScript's `String()` makes of them; timestamps (a JavaScript `Date`)
    /// become their ISO 8601 text (`Date.prototype.toJSON`); map members whose value is
    /// notepack 2.x's `undefined` are left out; other extension values and non-finite
    /// floats become `null`.
    public init(messagePack value: MessagePackValue, attachments: inout [ByteBuffer]) {
        switch value {
        case .null: self = .null
        case .extended:
            self = value.timestamp?.iso8601.map(JSONValue.string) ?? .null
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .number(JSONNumber(value))
        case .uint(let value): self = .number(JSONNumber(value))
        case .float(let value): self = value.isFinite ? .number(JSONNumber(Double(value))) : .null
        case .double(let value): self = value.isFinite ? .number(JSONNumber(value)) : .null
        case .string(let string): self = .string(string)
        case .binary(let bytes):
            self = .object(["_placeholder": true, "num": .number(JSONNumber(attachments.count))])
            attachments.append(bytes)
        case .array(let elements):
            var converted: [JSONValue] = []
            converted.reserveCapacity(elements.count)
            for element in elements { converted.append(JSONValue(messagePack: element, attachments: &attachments)) }
            self = .array(converted)
        case .map(let pairs):
            let keys = pairs.map { Self.propertyKey($0.key) }
            // As in the JavaScript object notepack.io builds: a repeated key's last value
            // wins, in the first one's place, and the values it replaces are never converted
            // (their binaries would be attachments no placeholder refers to). Members are
            // converted in the object's order, so binaries are numbered as socket.io numbers
            // them when it walks the object, and a round trip keeps the numbers (both found
            // by fuzzing: Tests/Fixtures/Fuzz/messagepack).
            var object = JSONObjectBuilder()
            for (index, winner) in Self.finalMembers(keys).enumerated() {
                guard let winner else { continue }
                let value = pairs[winner].value
                if value.isUndefined {
                    object.set(keys[index], Optional<JSONValue>.none)  // left out, as JSON.stringify does
                } else {
                    object.set(keys[index], JSONValue(messagePack: value, attachments: &attachments))
                }
            }
            self = .object(object.object)
        }
    }

    /// The property name JavaScript makes of a map key (`String(key)`): numbers and literals
    /// as text, a Buffer as its UTF-8, an array as its elements joined with commas, an object
    /// as `[object Object]`.
    ///
    /// Not the key's JSON text: a key nested in a key was escaped again at every level, so 96
    /// bytes of maps keyed by maps made 537 MB of text (found by fuzzing:
    /// Tests/Fixtures/Fuzz/messagepack/nested-map-keys-exponential.msgpack).
    static func propertyKey(_ key: MessagePackValue) -> String {
        switch key {
        case .string(let string): return string
        case .int(let value): return String(value)
        case .uint(let value): return String(value)
        case .float(let value):
            return value.isFinite ? JSONNumber(Double(value)).literal : value.isNaN ? "NaN" : value > 0 ? "Infinity" : "-Infinity"
        case .double(let value):
            return value.isFinite ? JSONNumber(value).literal : value.isNaN ? "NaN" : value > 0 ? "Infinity" : "-Infinity"
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        case .binary(let bytes): return String(decoding: bytes.readableBytesView, as: UTF8.self)
        case .array(let elements):
            // Array.prototype.join: null and undefined elements are empty.
            return elements.map { $0 == .null || $0.isUndefined ? "" : propertyKey($0) }.joined(separator: ",")
        case .map: return "[object Object]"
        case .extended:
            if key.isUndefined { return "undefined" }
            return key.timestamp?.iso8601 ?? "[object Object]"
        }
    }

    /// For the first member with each key, the index of the member whose value that key ends
    /// up with (its last); nil for the members that repeat a key.
    private static func finalMembers(_ keys: [String]) -> [Int?] {
        var result = [Int?](repeating: nil, count: keys.count)
        // A few keys are compared directly; many get a table (a hostile map can hold
        // hundreds of thousands of members).
        if keys.count <= 16 {
            for index in keys.indices where !keys[..<index].contains(keys[index]) {
                result[index] = keys.lastIndex(of: keys[index])
            }
            return result
        }
        var first: [String: Int] = [:]
        first.reserveCapacity(keys.count)
        for (index, key) in keys.enumerated() {
            if let firstIndex = first[key] {
                result[firstIndex] = index
            } else {
                first[key] = index
                result[index] = index
            }
        }
        return result
    }

    /// The JSON form of a MessagePack value that carries no binary.
    public init(messagePack value: MessagePackValue) {
        var attachments: [ByteBuffer] = []
        self.init(messagePack: value, attachments: &attachments)
    }
}

// MARK: - JavaScript's extension values

/// A point in time carried by a MessagePack timestamp.
public struct MessagePackTimestamp: Sendable, Hashable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64
    /// Nanoseconds within the second (0 ..< 1_000_000_000).
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// `Date.prototype.toJSON()` of the same instant: millisecond precision (a JavaScript
    /// `Date` holds milliseconds; finer digits are cut), `Z`, and the extended `±YYYYYY`
    /// year outside 0000–9999. Nil (JSON `null`, as for an invalid `Date`) beyond a
    /// `Date`'s range of ±8.64e15 ms.
    public var iso8601: String? {
        let limit: Int64 = 8_640_000_000_000
        guard seconds >= -limit, seconds < limit || (seconds == limit && nanoseconds < 1_000_000) else { return nil }
        let milliseconds = Int64(nanoseconds / 1_000_000)
        let days = seconds / 86_400 - (seconds % 86_400 < 0 ? 1 : 0)
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = CivilCalendar.civil(fromDays: days)

        func padded(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let yearText = (0...9999).contains(year) ? padded(year, 4) : (year < 0 ? "-" : "+") + padded(abs(year), 6)
        return "\(yearText)-\(padded(month, 2))-\(padded(day, 2))T\(padded(secondOfDay / 3600, 2)):"
            + "\(padded(secondOfDay / 60 % 60, 2)):\(padded(secondOfDay % 60, 2)).\(padded(milliseconds, 3))Z"
    }
}

extension MessagePackValue {
    /// The instant of a timestamp: the MessagePack timestamp extension (type -1, 4, 8 or
    /// 12 bytes), written by notepack.io 3.x for a `Date`, or notepack.io 2.x's own form
    /// (`fixext 8`, type 0, big-endian signed milliseconds), which socket.io-msgpack-parser
    /// 3.x uses. Nil for anything else.
    public var timestamp: MessagePackTimestamp? {
        guard case .extended(let type, let data) = self else { return nil }
        let bytes = Array(data.readableBytesView)
        func bigEndian(_ range: Range<Int>) -> UInt64 { bytes[range].reduce(0) { $0 << 8 | UInt64($1) } }
        switch (type, bytes.count) {
        case (-1, 4):
            return MessagePackTimestamp(seconds: Int64(bigEndian(0..<4)), nanoseconds: 0)
        case (-1, 8):
            let packed = bigEndian(0..<8)
            let nanoseconds = UInt32(packed >> 34)
            guard nanoseconds < 1_000_000_000 else { return nil }
            return MessagePackTimestamp(seconds: Int64(packed & 0x3_ffff_ffff), nanoseconds: nanoseconds)
        case (-1, 12):
            let nanoseconds = UInt32(bigEndian(0..<4))
            guard nanoseconds < 1_000_000_000 else { return nil }
            return MessagePackTimestamp(seconds: Int64(bitPattern: bigEndian(4..<12)), nanoseconds: nanoseconds)
        case (0, 8):
            let milliseconds = Int64(bitPattern: bigEndian(0..<8))
            let remainder = milliseconds % 1000
            return MessagePackTimestamp(
                seconds: milliseconds / 1000 - (remainder < 0 ? 1 : 0),
                nanoseconds: UInt32(remainder < 0 ? remainder + 1000 : remainder) * 1_000_000)
        default:
            return nil
        }
    }

    /// notepack.io 2.x's `undefined` (`fixext 1`, type 0: `d4 00 00`).
    public var isUndefined: Bool {
        guard case .extended(0, let data) = self else { return false }
        return data.readableBytes == 1
    }
}
