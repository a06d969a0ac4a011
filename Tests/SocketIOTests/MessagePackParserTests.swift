import EngineIO
import Foundation
import Logging
import NIOCore
import SocketIO
import SwitchyardJSON
import SwitchyardMessagePack
import SwitchyardTestSupport
import Testing

/// Bytes from hex text; spaces and `|` (which separate map members below) are ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter(\.isHexDigit))
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0..<$0 + 2]), radix: 16)! }
}

/// Hex of a string's MessagePack `fixstr` form.
func fixstr(_ text: String) -> String {
    precondition(text.utf8.count < 32)
    return ([0xa0 | UInt8(text.utf8.count)] + Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
}

func messageBytes(_ message: OutboundMessage) -> [UInt8] { Array(message.content.readableBytesView) }

/// The byte vectors below are what socket.io (Node) with socket.io-msgpack-parser 3.0.2 writes:
/// notepack.io 2.2 (`lib/encode.js`, darrachequesne/notepack: shortest int forms, every
/// non-integer as float 64, fixstr below 32 bytes, `undefined` as `d4 00 00`, a `Date` as
/// `d7 00` + big-endian milliseconds) encoding the packet object with its keys in the order
/// socket.io sets them (socketio/socket.io `packages/socket.io/lib/socket.ts` `emit`, `ack`,
/// `_onconnect`, `packet`; `lib/namespace.ts` refusals; `lib/client.ts` unknown namespace;
/// `packages/socket.io-adapter/lib/in-memory-adapter.ts` `broadcast`).
@Suite("socket.io-msgpack-parser packets")
struct MessagePackPacketTests {
    @Test("CONNECT: {type: 0, data: {sid, pid: undefined}, nsp}")
    func connect() {
        let message = SocketIOMessagePackEncoder.connect(namespace: "/", socketID: "abc")
        #expect(message.isBinary)
        #expect(
            messageBytes(message)
                == hex(
                    "83 | \(fixstr("type")) 00 | \(fixstr("data")) 82 \(fixstr("sid")) \(fixstr("abc")) \(fixstr("pid")) d4 00 00 | \(fixstr("nsp")) \(fixstr("/"))"
                ))
    }

    @Test("EVENT without and with an ack id: {type: 2, data, [id], nsp}")
    func event() throws {
        let arguments = SocketIOArguments(try JSONValue(parsing: #"[1,-1,300,1.5,"x",null,true,{"b":[],"a":{}}]"#).arrayValue!)
        #expect(
            messageBytes(SocketIOMessagePackEncoder.event(namespace: "/", name: "hello", arguments: arguments))
                == hex(
                    "83 | \(fixstr("type")) 02 | \(fixstr("data")) 99 \(fixstr("hello")) 01 ff cd 01 2c cb 3f f8 00 00 00 00 00 00 \(fixstr("x")) c0 c3 82 \(fixstr("b")) 90 \(fixstr("a")) 80 | \(fixstr("nsp")) \(fixstr("/"))"
                ))
        #expect(
            messageBytes(SocketIOMessagePackEncoder.event(namespace: "/chat", name: "ev", arguments: SocketIOArguments(), ackID: 7))
                == hex("84 | \(fixstr("type")) 02 | \(fixstr("data")) 91 \(fixstr("ev")) | \(fixstr("id")) 07 | \(fixstr("nsp")) \(fixstr("/chat"))"))
    }

    @Test("Binary arguments are inline bin values, not attachments")
    func binaryEvent() throws {
        let arguments = SocketIOArguments(
            [.string("f"), .object(["_placeholder": true, "num": 0])], attachments: [ByteBuffer(bytes: [1, 2, 3])])
        #expect(
            messageBytes(SocketIOMessagePackEncoder.event(namespace: "/", name: "file", arguments: arguments))
                == hex("83 | \(fixstr("type")) 02 | \(fixstr("data")) 93 \(fixstr("file")) \(fixstr("f")) c4 03 01 02 03 | \(fixstr("nsp")) \(fixstr("/"))"))
    }

    @Test("ACK: {id, type: 3, data, nsp}")
    func ack() {
        #expect(
            messageBytes(SocketIOMessagePackEncoder.ack(namespace: "/", ackID: 200, arguments: SocketIOArguments([true, .null])))
                == hex("84 | \(fixstr("id")) cc c8 | \(fixstr("type")) 03 | \(fixstr("data")) 92 c3 c0 | \(fixstr("nsp")) \(fixstr("/"))"))
    }

    @Test("CONNECT_ERROR: refused {type: 4, data: {message, data}, nsp}; unknown namespace {type: 4, nsp, data: {message}}")
    func connectError() {
        #expect(
            messageBytes(SocketIOMessagePackEncoder.connectError(namespace: "/", message: "no", data: ["code": "E"]))
                == hex(
                    "83 | \(fixstr("type")) 04 | \(fixstr("data")) 82 \(fixstr("message")) \(fixstr("no")) \(fixstr("data")) 81 \(fixstr("code")) \(fixstr("E")) | \(fixstr("nsp")) \(fixstr("/"))"
                ))
        #expect(
            messageBytes(SocketIOMessagePackEncoder.connectError(namespace: "/", message: "no", data: nil))
                == hex("83 | \(fixstr("type")) 04 | \(fixstr("data")) 82 \(fixstr("message")) \(fixstr("no")) \(fixstr("data")) d4 00 00 | \(fixstr("nsp")) \(fixstr("/"))"))
        #expect(
            messageBytes(SocketIOMessagePackEncoder.invalidNamespace("/x"))
                == hex("83 | \(fixstr("type")) 04 | \(fixstr("nsp")) \(fixstr("/x")) | \(fixstr("data")) 81 \(fixstr("message")) \(fixstr("Invalid namespace"))"))
    }

    @Test("DISCONNECT: {type: 1, nsp}")
    func disconnect() {
        #expect(messageBytes(SocketIOMessagePackEncoder.disconnect(namespace: "/chat")) == hex("82 | \(fixstr("type")) 01 | \(fixstr("nsp")) \(fixstr("/chat"))"))
    }

    private func decode(_ text: String) throws(SocketIOProtocolError) -> (packet: SocketIOPacket, attachments: [ByteBuffer]) {
        try SocketIOPacket.decodeMessagePack(ByteBuffer(bytes: hex(text)))
    }

    @Test("A JavaScript client's CONNECT without auth ({data: undefined}) and with auth")
    func decodeConnect() throws {
        let bare = try decode("83 \(fixstr("type")) 00 \(fixstr("data")) d4 00 00 \(fixstr("nsp")) \(fixstr("/"))").packet
        #expect(bare.type == .connect && bare.namespace == "/" && bare.payload == nil)
        let withAuth = try decode("83 \(fixstr("nsp")) \(fixstr("/chat")) \(fixstr("type")) 00 \(fixstr("data")) 81 \(fixstr("token")) \(fixstr("t"))").packet
        #expect(withAuth.namespace == "/chat")
        #expect(withAuth.payload.map { String(buffer: $0) } == #"{"token":"t"}"#)
    }

    @Test("A client EVENT with options and an ack id; binary (bin and notepack 2's ArrayBuffer ext) becomes attachments")
    func decodeEvent() throws {
        var (packet, attachments) = try decode(
            "85 \(fixstr("type")) 02 \(fixstr("data")) 94 \(fixstr("echo")) 01 c4 02 0a 0b c7 01 00 0c \(fixstr("options")) 81 \(fixstr("compress")) c3 \(fixstr("id")) 03 \(fixstr("nsp")) \(fixstr("/"))"
        )
        #expect(packet.type == .binaryEvent)
        #expect(packet.ackID == 3)
        #expect(packet.eventName == "echo")
        #expect(packet.attachmentCount == 2)
        #expect(attachments.map { Array($0.readableBytesView) } == [[0x0a, 0x0b], [0x0c]])
        try packet.decodeArguments()
        #expect(packet.arguments?.jsonArrayText == #"[1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
    }

    @Test("Dates arrive as the ISO text JSON.stringify gives them: notepack 2 (d7 00) and the timestamp extension (d6 ff)")
    func decodeDates() throws {
        // Both encode new Date("2000-06-13T00:00:00.000Z") (darrachequesne/notepack HISTORY.md, 3.0.0).
        var (packet, _) = try decode(
            "84 \(fixstr("type")) 03 \(fixstr("data")) 92 d7 00 00 00 00 df b7 62 9c 00 d6 ff 39 45 79 80 \(fixstr("id")) 01 \(fixstr("nsp")) \(fixstr("/"))"
        )
        try packet.decodeArguments()
        #expect(packet.type == .ack)
        #expect(packet.arguments?.jsonArrayText == #"["2000-06-13T00:00:00.000Z","2000-06-13T00:00:00.000Z"]"#)
    }

    @Test("Packets the msgpack parser refuses are refused", arguments: [
        "c0",  // not a map
        "82 \(fixstr("type")) 05 \(fixstr("nsp")) \(fixstr("/"))",  // BINARY_EVENT is not a msgpack packet type
        "82 \(fixstr("type")) cb 3f f8 00 00 00 00 00 00 \(fixstr("nsp")) \(fixstr("/"))",  // type 1.5
        "81 \(fixstr("type")) 00",  // no nsp
        "82 \(fixstr("type")) 00 \(fixstr("nsp")) 01",  // nsp not a string
        "83 \(fixstr("type")) 00 \(fixstr("data")) 90 \(fixstr("nsp")) \(fixstr("/"))",  // CONNECT data not a map
        "83 \(fixstr("type")) 01 \(fixstr("data")) 80 \(fixstr("nsp")) \(fixstr("/"))",  // DISCONNECT with data
        "83 \(fixstr("type")) 02 \(fixstr("data")) c0 \(fixstr("nsp")) \(fixstr("/"))",  // EVENT data null
        "83 \(fixstr("type")) 02 \(fixstr("data")) 90 \(fixstr("nsp")) \(fixstr("/"))",  // EVENT without a name
        "83 \(fixstr("type")) 02 \(fixstr("data")) 91 \(fixstr("connect")) \(fixstr("nsp")) \(fixstr("/"))",  // reserved name
        "84 \(fixstr("type")) 02 \(fixstr("data")) 91 \(fixstr("e")) \(fixstr("id")) ff \(fixstr("nsp")) \(fixstr("/"))",  // id -1
        "84 \(fixstr("type")) 02 \(fixstr("data")) 91 \(fixstr("e")) \(fixstr("id")) \(fixstr("1")) \(fixstr("nsp")) \(fixstr("/"))",  // id "1"
        "82 \(fixstr("type")) 01 \(fixstr("nsp")) \(fixstr("/")) c0",  // trailing bytes
        "83 \(fixstr("type")) 02 \(fixstr("data")) 91 \(fixstr("e"))",  // truncated
    ])
    func refused(_ text: String) {
        #expect(throws: SocketIOProtocolError.self) { try SocketIOPacket.decodeMessagePack(ByteBuffer(bytes: hex(text))) }
    }

    @Test("More bin values than maxAttachments are refused")
    func tooManyAttachments() {
        let packet = hex("83 \(fixstr("type")) 02 \(fixstr("data")) 93 \(fixstr("e")) c4 00 c4 00 \(fixstr("nsp")) \(fixstr("/"))")
        #expect(throws: SocketIOProtocolError.tooManyAttachments(limit: 1)) {
            try SocketIOPacket.decodeMessagePack(ByteBuffer(bytes: packet), maxAttachments: 1)
        }
    }
}

/// A client of the msgpack parser over the embedded pipeline: binary WebSocket frames.
struct MessagePackClient {
    let connection: EmbeddedConnection

    static func open(_ server: EmbeddedServer) throws -> MessagePackClient {
        let raw = try RawSocketIOClient.open(server)
        return MessagePackClient(connection: raw.connection)
    }

    func send(_ packet: MessagePackValue) throws { try connection.sendBinary(Array(packet.encoded().readableBytesView)) }

    /// The packets received since the last read, decoded (text frames would fail the test).
    func received() throws -> [MessagePackValue] {
        try connection.readFrames().filter { !($0.isText && $0.text == "2") }.map { frame in
            #expect(frame.isBinary, "a msgpack connection got \(frame)")
            return try MessagePackValue(decoding: frame.payload)
        }
    }

    func join(_ namespace: String = "/") throws -> String {
        try send(.object([("type", .int(0)), ("nsp", .string(namespace))]))
        let packets = try received()
        let connect = try #require(packets.first)
        #expect(connect["type"] == .int(0))
        #expect(connect["nsp"] == .string(namespace))
        return try #require(connect["data"]?["sid"]?.stringValue)
    }
}

@Suite("The msgpack parser chosen per connection")
struct MessagePackConnectionTests {
    let handler = RecordingHandler()
    let io: SocketIOServer
    let server: EmbeddedServer

    init() throws {
        try self.init(parsers: [.default, .msgpack])
    }

    init(parsers: Set<SocketIOParser>) throws {
        var configuration = SocketIOConfiguration()
        configuration.parsers = parsers
        io = SocketIOServer(configuration: configuration, logger: Logger(label: "test"))
        try io.register("/", handler: handler)
        server = EmbeddedServer(endpoints: [
            EngineIOServer(configuration: EngineIOConfiguration(), application: io, logger: Logger(label: "test"))
        ])
    }

    @Test("A binary CONNECT makes a msgpack connection: CONNECT, events and acks come back as msgpack; the handler sees JSON")
    func session() throws {
        let client = try MessagePackClient.open(server)
        try client.send(.object([("type", .int(0)), ("data", .map([])), ("nsp", .string("/"))]))
        let packets = try client.received()
        #expect(packets.count == 2)
        let sid = try #require(packets[0]["data"]?["sid"]?.stringValue)
        #expect(packets[0].encoded() == SocketIOMessagePackEncoder.connect(namespace: "/", socketID: sid).content)
        #expect(packets[1] == .object([("type", .int(2)), ("data", .array([.string("welcome"), .map([])])), ("nsp", .string("/"))]))

        try client.send(
            .object([
                ("type", .int(2)), ("data", .array([.string("echo"), .int(1), .binary(ByteBuffer(bytes: [9])), .string("é")])),
                ("id", .int(5)), ("nsp", .string("/")),
            ]))
        #expect(handler.lines.last == #"event echo [1,{"_placeholder":true,"num":0},"é"] ack=true attachments=1"#)
        let ack = try client.received()
        #expect(ack.map { $0.encoded() } == [
            ByteBuffer(bytes: hex("84 \(fixstr("id")) 05 \(fixstr("type")) 03 \(fixstr("data")) 93 01 c4 01 09 a2 c3 a9 \(fixstr("nsp")) \(fixstr("/"))"))
        ])

        try client.send(.object([("type", .int(2)), ("data", .array([.string("bye")])), ("nsp", .string("/"))]))
        #expect(try client.received().map { $0.encoded() } == [SocketIOMessagePackEncoder.disconnect(namespace: "/").content])
    }

    @Test("One broadcast reaches a room of JSON and msgpack clients, each in its own parser's bytes")
    func mixedRoom() throws {
        let json = try RawSocketIOClient.open(server)
        let pack = try MessagePackClient.open(server)
        _ = try json.join()
        _ = try pack.join()
        _ = try json.received()
        try json.send(#"21["join","mixed"]"#)
        try pack.send(.object([("type", .int(2)), ("data", .array([.string("join"), .string("mixed")])), ("id", .int(1)), ("nsp", .string("/"))]))
        #expect(try json.received() == [#"31["mixed"]"#])
        #expect(try pack.received().count == 1)

        try json.send(#"2["to-room","mixed",{"n":1.25},[-7]]"#)
        #expect(try json.received() == [#"2["room",{"n":1.25},[-7]]"#])
        #expect(try pack.received().map { Array($0.encoded().readableBytesView) } == [
            hex("83 \(fixstr("type")) 02 \(fixstr("data")) 93 \(fixstr("room")) 81 \(fixstr("n")) cb 3f f4 00 00 00 00 00 00 91 f9 \(fixstr("nsp")) \(fixstr("/"))")
        ])

        // From the msgpack side, with binary: JSON clients get placeholders and an attachment.
        try pack.send(
            .object([
                ("type", .int(2)), ("data", .array([.string("to-room"), .string("mixed"), .binary(ByteBuffer(bytes: [1, 2]))])),
                ("nsp", .string("/")),
            ]))
        #expect(try json.frames().map(\.description) == [#"text(451-["room",{"_placeholder":true,"num":0}])"#, "binary([1, 2])"])
        #expect(try pack.received() == [
            .object([("type", .int(2)), ("data", .array([.string("room"), .binary(ByteBuffer(bytes: [1, 2]))])), ("nsp", .string("/"))])
        ])
    }

    @Test("A text packet on a msgpack connection, or an invalid msgpack packet, closes the connection")
    func violations() throws {
        for second in [
            { (client: MessagePackClient) in try client.connection.sendText("42[\"echo\"]") },
            { (client: MessagePackClient) in try client.connection.sendBinary([0xc1]) },
            { (client: MessagePackClient) in try client.connection.sendBinary(hex("82 \(fixstr("type")) 02 \(fixstr("nsp")) \(fixstr("/"))")) },
        ] {
            let client = try MessagePackClient.open(server)
            _ = try client.join()
            try second(client)
            #expect(try client.connection.readFrames().last?.isClose == true)
        }
    }

    @Test("A parser left out of socketio.parsers is refused at the first packet")
    func disabledParsers() throws {
        let jsonOnly = try MessagePackConnectionTests(parsers: [.default])
        let pack = try MessagePackClient.open(jsonOnly.server)
        try pack.send(.object([("type", .int(0)), ("nsp", .string("/"))]))
        #expect(try pack.connection.readFrames().last?.isClose == true)
        #expect(jsonOnly.io.namespace("/")?.socketCount == 0)

        let msgpackOnly = try MessagePackConnectionTests(parsers: [.msgpack])
        let text = try RawSocketIOClient.open(msgpackOnly.server)
        try text.send("0")
        #expect(try text.frames().last?.isClose == true)
        _ = try MessagePackClient.open(msgpackOnly.server).join()
    }
}
