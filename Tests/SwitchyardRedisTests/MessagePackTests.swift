import Foundation
import NIOCore
import SwitchyardJSON
import SwitchyardMessagePack
import Testing

@testable import SwitchyardRedis

@Suite("MessagePack codec")
struct MessagePackTests {
    private func bytes(_ value: MessagePackValue) -> [UInt8] {
        Array(value.encoded().readableBytesView)
    }

    @Test("Integers take their shortest form, as notepack.io writes them")
    func integers() {
        #expect(bytes(.int(0)) == [0x00])
        #expect(bytes(.int(127)) == [0x7f])
        #expect(bytes(.int(128)) == [0xcc, 0x80])
        #expect(bytes(.int(256)) == [0xcd, 0x01, 0x00])
        #expect(bytes(.int(65536)) == [0xce, 0x00, 0x01, 0x00, 0x00])
        #expect(bytes(.int(1 << 32)) == [0xcf, 0, 0, 0, 1, 0, 0, 0, 0])
        #expect(bytes(.int(-1)) == [0xff])
        #expect(bytes(.int(-32)) == [0xe0])
        #expect(bytes(.int(-33)) == [0xd0, 0xdf])
        #expect(bytes(.int(-129)) == [0xd1, 0xff, 0x7f])
        #expect(bytes(.int(-32769)) == [0xd2, 0xff, 0xff, 0x7f, 0xff])
        #expect(bytes(.uint(UInt64.max)) == [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    }

    @Test("Scalars, strings, binary and containers encode to the specified bytes")
    func scalarsAndContainers() {
        #expect(bytes(.null) == [0xc0])
        #expect(bytes(.bool(false)) == [0xc2])
        #expect(bytes(.bool(true)) == [0xc3])
        #expect(bytes(.double(1.5)) == [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0])
        #expect(bytes(.float(1.5)) == [0xca, 0x3f, 0xc0, 0, 0])
        #expect(bytes(.string("")) == [0xa0])
        #expect(bytes(.string("abc")) == [0xa3, 0x61, 0x62, 0x63])
        #expect(bytes(.string(String(repeating: "x", count: 32))) == [0xd9, 0x20] + Array(repeating: 0x78, count: 32))
        #expect(bytes(.string(String(repeating: "x", count: 256))).prefix(3) == [0xda, 0x01, 0x00])
        #expect(bytes(.binary(ByteBuffer(bytes: [1, 2, 3]))) == [0xc4, 0x03, 1, 2, 3])
        #expect(bytes(.array([.int(1), .int(2)])) == [0x92, 0x01, 0x02])
        #expect(bytes(.array(Array(repeating: .null, count: 16))).prefix(3) == [0xdc, 0x00, 0x10])
        #expect(bytes(.object([("a", .int(1))])) == [0x81, 0xa1, 0x61, 0x01])
        #expect(bytes(.extended(type: 0, data: ByteBuffer(bytes: [0]))) == [0xd4, 0x00, 0x00])
    }

    @Test("Every encoded value decodes back to itself")
    func roundTrip() throws {
        let values: [MessagePackValue] = [
            .null, .bool(true), .int(0), .int(-5), .int(300), .int(Int64.min), .int(Int64.max), .uint(UInt64.max),
            .double(-0.25), .float(2.5), .string("héllo ✓"), .string(String(repeating: "y", count: 70_000)),
            .binary(ByteBuffer(bytes: Array(0...255))),
            .array([.string("nested"), .array([.map([MessagePackPair(key: .int(1), value: .null)])])]),
            .object([("type", .int(2)), ("data", .array([.string("ev")])), ("nsp", .string("/"))]),
            .extended(type: 5, data: ByteBuffer(bytes: [1, 2, 3])),
        ]
        for value in values {
            #expect(try MessagePackValue(decoding: value.encoded()) == value)
        }
    }

    @Test("Truncated input, reserved bytes, lying lengths and trailing bytes are errors")
    func errors() {
        #expect(throws: MessagePackError.truncated) { try MessagePackValue(decoding: [0xa3, 0x61]) }
        #expect(throws: MessagePackError.invalidTypeByte(0xc1)) { try MessagePackValue(decoding: [0xc1]) }
        #expect(throws: MessagePackError.truncated) { try MessagePackValue(decoding: [0xdd, 0xff, 0xff, 0xff, 0xff]) }
        #expect(throws: MessagePackError.trailingBytes(1)) { try MessagePackValue(decoding: [0xc0, 0xc0]) }
        #expect(throws: MessagePackError.invalidUTF8) { try MessagePackValue(decoding: [0xa1, 0xff]) }
        let deep = Array(repeating: UInt8(0x91), count: 100) + [0xc0]
        #expect(throws: MessagePackError.tooDeep) { try MessagePackValue(decoding: deep) }
    }

    @Test("JSON converts to MessagePack with placeholders replaced by their bytes, and back")
    func jsonConversion() throws {
        let json = try JSONValue(
            parsing: #"{"n":1,"f":1.5,"big":18446744073709551615,"s":"x","a":[true,null],"file":{"_placeholder":true,"num":0}}"#)
        let attachment = ByteBuffer(bytes: [9, 8, 7])
        let packed = MessagePackValue(json: json, attachments: [attachment])
        #expect(packed["n"] == .int(1))
        #expect(packed["f"] == .double(1.5))
        #expect(packed["big"] == .uint(UInt64.max))
        #expect(packed["file"] == .binary(attachment))
        var attachments: [ByteBuffer] = []
        let back = JSONValue(messagePack: packed, attachments: &attachments)
        #expect(back == json)
        #expect(attachments == [attachment])
    }

    @Test("notepack's undefined and non-finite numbers become null")
    func undefinedBecomesNull() {
        #expect(JSONValue(messagePack: .extended(type: 0, data: ByteBuffer(bytes: [0]))) == .null)
        #expect(JSONValue(messagePack: .double(.infinity)) == .null)
    }

    @Test("An undefined map member is left out and an undefined element is null, as JSON.stringify does")
    func undefinedMembers() throws {
        let value = try MessagePackValue(decoding: [0x82, 0xa1, 0x61, 0xd4, 0x00, 0x00, 0xa1, 0x62, 0x92, 0xd4, 0x00, 0x00, 0x01])
        #expect(JSONValue(messagePack: value) == ["b": [.null, 1]])
    }

    @Test("notepack.io 2.x's ArrayBuffer (ext 8/16/32 with type 0) decodes as binary")
    func arrayBufferExtension() throws {
        #expect(try MessagePackValue(decoding: [0xc7, 0x03, 0x00, 1, 2, 3]) == .binary(ByteBuffer(bytes: [1, 2, 3])))
        #expect(try MessagePackValue(decoding: [0xc8, 0x00, 0x01, 0x00, 9]) == .binary(ByteBuffer(bytes: [9])))
        #expect(try MessagePackValue(decoding: [0xc7, 0x01, 0x05, 9]) == .extended(type: 5, data: ByteBuffer(bytes: [9])))
    }

    /// `new Date("2000-06-13T00:00:00.000Z")` as notepack.io 2.x and 3.x write it
    /// (darrachequesne/notepack HISTORY.md, 3.0.0: `d7 00 00 00 00 df b7 62 9c 00` before,
    /// `d6 ff 39 45 79 80` after); the other forms from the MessagePack specification's
    /// timestamp extension (timestamp 64: nanoseconds in the upper 30 bits, seconds in the
    /// lower 34; timestamp 96: 32-bit nanoseconds then signed 64-bit seconds).
    @Test(
        "Timestamps become Date.prototype.toJSON text",
        arguments: [
            ([0xd6, 0xff, 0x39, 0x45, 0x79, 0x80], "2000-06-13T00:00:00.000Z"),
            ([0xd7, 0x00, 0x00, 0x00, 0x00, 0xdf, 0xb7, 0x62, 0x9c, 0x00], "2000-06-13T00:00:00.000Z"),
            ([0xd7, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "1969-12-31T23:59:59.999Z"),
            // 500_000_123 ns << 34 | 1 s: milliseconds kept, the rest cut as a Date does.
            ([0xd7, 0xff, 0x77, 0x35, 0x95, 0xec, 0x00, 0x00, 0x00, 0x01], "1970-01-01T00:00:01.500Z"),
            ([0xc7, 0x0c, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "1969-12-31T23:59:59.000Z"),
            // 253402300800 s: 10000-01-01, written with the extended year.
            ([0xc7, 0x0c, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x3a, 0xff, 0xf4, 0x41, 0x80], "+010000-01-01T00:00:00.000Z"),
            ([0xd6, 0xff, 0x00, 0x00, 0x00, 0x00], "1970-01-01T00:00:00.000Z"),
        ] as [([UInt8], String)])
    func timestamps(bytes: [UInt8], text: String) throws {
        #expect(JSONValue(messagePack: try MessagePackValue(decoding: bytes)) == .string(text))
    }

    @Test("A timestamp beyond a JavaScript Date's range, or with nanoseconds of a second or more, is null")
    func invalidTimestamps() throws {
        let farFuture: [UInt8] = [0xc7, 0x0c, 0xff, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        #expect(JSONValue(messagePack: try MessagePackValue(decoding: farFuture)) == .null)
        let badNanoseconds: [UInt8] = [0xc7, 0x0c, 0xff, 0x3b, 0x9a, 0xca, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
        #expect(JSONValue(messagePack: try MessagePackValue(decoding: badNanoseconds)) == .null)
        let smallest: [UInt8] = [0xd7, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0]
        #expect(JSONValue(messagePack: try MessagePackValue(decoding: smallest)) == .null)
    }
}

/// Inputs the fuzzer found (Fuzz/Targets/messagepack; docs/FUZZING.md), kept as fixtures.
@Suite("MessagePack inputs found by fuzzing")
struct MessagePackFuzzRegressionTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/Fuzz/messagepack/\(name)").standardized.path
        return try Array(Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Placeholders in a JSON value, by number.
    static func placeholders(in value: JSONValue) -> [Int] {
        switch value {
        case .object(let object):
            if object["_placeholder"] == .bool(true), let number = object["num"]?.intValue { return [number] }
            return object.values.flatMap(placeholders(in:))
        case .array(let elements): return elements.flatMap(placeholders(in:))
        default: return []
        }
    }

    @Test("A duplicate map key drops the replaced value's binary instead of keeping an orphan attachment")
    func duplicateKeysOrphanBinary() throws {
        // A map whose nine keys are all 0; the first value is an empty bin.
        let value = try MessagePackValue(decoding: Self.fixture("duplicate-keys-orphan-binary.msgpack"))
        var attachments: [ByteBuffer] = []
        let json = JSONValue(messagePack: value, attachments: &attachments)
        #expect(attachments.count == Self.placeholders(in: json).count)
        var again: [ByteBuffer] = []
        #expect(JSONValue(messagePack: MessagePackValue(json: json, attachments: attachments), attachments: &again) == json)
        #expect(again == attachments)
    }

    @Test("An integral float64 between 1e15 and 2^53 keeps its JSON form through MessagePack and back")
    func integralDoubleRoundTrip() throws {
        // cb c3 3f 7b 00 00 00 00 00: the float64 -8860964208246784.
        let value = try MessagePackValue(decoding: Self.fixture("integral-double-above-1e15.msgpack"))
        let json = JSONValue(messagePack: value)
        #expect(json.serialized() == "-8860964208246784")
        #expect(JSONValue(messagePack: MessagePackValue(json: json)) == json)
    }

    @Test("A large map with repeated keys converts as a small one does")
    func duplicateKeysLargeMap() {
        let undefined = MessagePackValue.extended(type: 0, data: ByteBuffer(bytes: [0]))
        var pairs = (0..<40).map { MessagePackPair(key: .string("k\($0)"), value: .int(Int64($0))) }
        pairs.append(MessagePackPair(key: .string("k0"), value: .binary(ByteBuffer(bytes: [7]))))
        pairs.append(MessagePackPair(key: .string("k1"), value: undefined))
        var attachments: [ByteBuffer] = []
        guard case .object(let object) = JSONValue(messagePack: .map(pairs), attachments: &attachments) else {
            Issue.record("not an object")
            return
        }
        #expect(object.keys == ["k0"] + (2..<40).map { "k\($0)" })
        #expect(object["k0"] == ["_placeholder": true, "num": 0])
        #expect(attachments == [ByteBuffer(bytes: [7])])
    }

    @Test("Map keys nested in map keys convert in linear size, not doubling with every level")
    func nestedMapKeys() throws {
        // 96 bytes: maps whose keys are maps whose keys are maps …; written as JSON text, each
        // level escaped the one inside it again, and libFuzzer timed out.
        let value = try MessagePackValue(decoding: Self.fixture("nested-map-keys-exponential.msgpack"))
        #expect(JSONValue(messagePack: value).serialized().utf8.count < 1_000)
    }

    @Test(
        "A key that is not a string becomes what JavaScript's String() makes of it",
        arguments: [
            (MessagePackValue.int(-1), "-1"), (.uint(UInt64.max), "18446744073709551615"), (.double(1.5), "1.5"),
            (.bool(true), "true"), (.null, "null"), (.extended(type: 0, data: ByteBuffer(bytes: [0])), "undefined"),
            (.binary(ByteBuffer(string: "hi")), "hi"), (.array([.int(1), .string("a"), .null, .array([.int(2), .int(3)])]), "1,a,,2,3"),
            (.map([MessagePackPair(key: .string("a"), value: .int(1))]), "[object Object]"),
        ])
    func nonStringKeys(key: MessagePackValue, text: String) {
        #expect(JSONValue(messagePack: .map([MessagePackPair(key: key, value: .int(0))])) == .object(JSONObject([(text, JSONValue.number(0))])))
    }

    @Test("Binaries are numbered in the order of the object's members, so a round trip keeps the numbers")
    func placeholderOrderAfterRepeatedKey() throws {
        let value = try MessagePackValue(decoding: Self.fixture("placeholder-order-after-repeated-key.msgpack"))
        var attachments: [ByteBuffer] = []
        let json = JSONValue(messagePack: value, attachments: &attachments)
        var again: [ByteBuffer] = []
        #expect(JSONValue(messagePack: MessagePackValue(json: json, attachments: attachments), attachments: &again) == json)
        #expect(again == attachments)

        // {b: bin 1, a: bin 2, b: bin 3} is the object {b: bin 3, a: bin 2}, numbered in that order.
        let map = MessagePackValue.map([
            MessagePackPair(key: .string("b"), value: .binary(ByteBuffer(bytes: [1]))),
            MessagePackPair(key: .string("a"), value: .binary(ByteBuffer(bytes: [2]))),
            MessagePackPair(key: .string("b"), value: .binary(ByteBuffer(bytes: [3]))),
        ])
        var numbered: [ByteBuffer] = []
        #expect(
            JSONValue(messagePack: map, attachments: &numbered).serialized()
                == #"{"b":{"_placeholder":true,"num":0},"a":{"_placeholder":true,"num":1}}"#)
        #expect(numbered == [ByteBuffer(bytes: [3]), ByteBuffer(bytes: [2])])
    }

    @Test("A later duplicate key wins at the first one's place, as in a JavaScript object")
    func duplicateKeysLastWins() throws {
        let first = ByteBuffer(bytes: [1])
        let second = ByteBuffer(bytes: [2])
        let value = MessagePackValue.map([
            MessagePackPair(key: .string("a"), value: .binary(first)),
            MessagePackPair(key: .string("b"), value: .int(1)),
            MessagePackPair(key: .string("a"), value: .binary(second)),
            MessagePackPair(key: .string("c"), value: .int(2)),
            MessagePackPair(key: .string("c"), value: .extended(type: 0, data: ByteBuffer(bytes: [0]))),
        ])
        var attachments: [ByteBuffer] = []
        let json = JSONValue(messagePack: value, attachments: &attachments)
        #expect(json.serialized() == #"{"a":{"_placeholder":true,"num":0},"b":1}"#)
        #expect(attachments == [second])
    }
}
