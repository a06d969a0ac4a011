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
}
