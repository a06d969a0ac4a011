import EngineIO
import NIOCore
import SocketIO
import SwitchyardJSON
import Testing

@Suite("Socket.IO packet parser and encoder")
struct SocketIOPacketTests {
    func decode(_ text: String) throws -> SocketIOPacket {
        try SocketIOPacket.decode(ByteBuffer(string: text))
    }

    @Test("CONNECT with and without namespace and auth")
    func connect() throws {
        #expect(try decode("0") == SocketIOPacket(type: .connect))
        let withAuth = try decode(#"0{"token":"123"}"#)
        #expect(withAuth.payload.map { String(buffer: $0) } == #"{"token":"123"}"#)
        #expect(try decode("0/custom,").namespace == "/custom")
        #expect(try decode("0/custom").namespace == "/custom")
        let custom = try decode(#"0/admin,{"a":1}"#)
        #expect(custom.namespace == "/admin")
        #expect(custom.payload.map { String(buffer: $0) } == #"{"a":1}"#)
    }

    @Test("EVENT splits the name from raw arguments without decoding them")
    func event() throws {
        let packet = try decode(#"2["message",1,"2",{"3":[true]}]"#)
        #expect(packet.type == .event)
        #expect(packet.eventName == "message")
        #expect(packet.ackID == nil)
        let arguments = try #require(packet.arguments)
        #expect(arguments.count == 3)
        #expect(String(buffer: arguments.json) == #"1,"2",{"3":[true]}"#)
        #expect(arguments.value(at: 2) == ["3": [true]])
    }

    @Test("EVENT arguments are read on from the end of the name, whitespace and all")
    func eventWhitespace() throws {
        let packet = try decode(#"2[ "ev" , 1 ,"x" , [2] ]"#)
        #expect(packet.eventName == "ev")
        let arguments = try #require(packet.arguments)
        #expect(arguments.count == 3)
        #expect(String(buffer: arguments.json) == #"1 ,"x" , [2]"#)
        #expect(String(buffer: arguments.rawElement(at: 1)) == #""x""#)
        #expect(arguments.value(at: 2) == [2])
        #expect(arguments.value(at: 3) == nil)
        #expect(arguments.values() == [1, "x", [2]])
    }

    @Test("EVENT with namespace and ack id, and with no arguments")
    func eventWithAck() throws {
        let packet = try decode(#"2/chat,456["hi"]"#)
        #expect(packet.namespace == "/chat")
        #expect(packet.ackID == 456)
        #expect(packet.eventName == "hi")
        #expect(packet.arguments?.isEmpty == true)
    }

    @Test("ACK carries its arguments")
    func ack() throws {
        let packet = try decode(#"3123[1,"x"]"#)
        #expect(packet.type == .ack)
        #expect(packet.ackID == 123)
        #expect(packet.arguments?.count == 2)
    }

    @Test("Binary packets announce their attachment count")
    func binary() throws {
        let packet = try decode(#"452-789["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#.dropFirst().description)
        #expect(packet.type == .binaryEvent)
        #expect(packet.attachmentCount == 2)
        #expect(packet.ackID == 789)
        let ack = try decode(#"61-/nsp,5[{"_placeholder":true,"num":0}]"#)
        #expect(ack.type == .binaryAck)
        #expect(ack.namespace == "/nsp")
        #expect(ack.ackID == 5)
        #expect(ack.attachmentCount == 1)
    }

    @Test("Malformed packets are refused", arguments: [
        "", "7", "a", "abc", "2", "2{}", "2[]", "2[1", "2abc[\"x\"]", "2[\"connect\"]", "2[\"disconnecting\"]",
        "2[{}]", "2[null]", "3", "3{}", "1{}", "0[]", "0\"x\"", "0{", "5[\"x\"]", "5-[\"x\"]", "5x-[\"x\"]",
        "511-[\"x\"]", "4", "4[1]", "2/chat[\"x\"", "218446744073709551616[\"x\"]", "2[\"x\"]]",
        "2[\"x\" 1]", "2[\"x\",]", "2[\"x\",1,]", "2[\"x\"] 5", "2[\"x\",{]", "3[1,]",
    ])
    func refuse(text: String) {
        #expect(throws: SocketIOProtocolError.self) { try decode(text) }
    }

    @Test("Number event names are accepted as their literal")
    func numericEventName() throws {
        #expect(try decode("2[42,1]").eventName == "42")
    }

    func text(_ message: OutboundMessage) -> String { String(buffer: message.content) }

    @Test("Encoded packets match the reference encoding")
    func encode() throws {
        #expect(text(SocketIOPacketEncoder.connect(namespace: "/", socketID: "abc")) == #"0{"sid":"abc"}"#)
        #expect(text(SocketIOPacketEncoder.connect(namespace: "/custom", socketID: "abc")) == #"0/custom,{"sid":"abc"}"#)
        #expect(text(SocketIOPacketEncoder.connectError(namespace: "/random", message: "Invalid namespace", data: nil)) == #"4/random,{"message":"Invalid namespace"}"#)
        #expect(text(SocketIOPacketEncoder.connectError(namespace: "/", message: "no", data: ["code": "E1"])) == #"4{"message":"no","data":{"code":"E1"}}"#)
        #expect(text(SocketIOPacketEncoder.disconnect(namespace: "/")) == "1")
        #expect(text(SocketIOPacketEncoder.disconnect(namespace: "/a")) == "1/a,")
        let args = try SocketIOArguments(jsonElements: #"1,"2",{"3":[true]}"#)
        #expect(SocketIOPacketEncoder.event(namespace: "/", name: "message-back", arguments: args).map(text) == [#"2["message-back",1,"2",{"3":[true]}]"#])
        #expect(SocketIOPacketEncoder.event(namespace: "/", name: "e", arguments: SocketIOArguments(), ackID: 1).map(text) == [#"21["e"]"#])
        #expect(SocketIOPacketEncoder.ack(namespace: "/", ackID: 456, arguments: args).map(text) == [#"3456[1,"2",{"3":[true]}]"#])
        #expect(SocketIOPacketEncoder.ack(namespace: "/x", ackID: 1, arguments: SocketIOArguments()).map(text) == [#"3/x,1[]"#])
    }

    @Test("Ack ids and attachment counts are written in decimal, 0 through UInt64.max, and read back")
    func decimalNumbers() throws {
        for id: UInt64 in [0, 9, 10, 99, 100, 12_345, 1 << 32, UInt64.max - 1, UInt64.max] {
            let encoded = SocketIOPacketEncoder.ack(namespace: "/", ackID: id, arguments: SocketIOArguments()).map(text)
            #expect(encoded == ["3\(id)[]"])
            #expect(try SocketIOPacket.decode(ByteBuffer(string: encoded[0])).ackID == id)
        }
        var args = SocketIOArguments()
        args.attachments = Array(repeating: ByteBuffer(bytes: [1]), count: 10)
        #expect(SocketIOPacketEncoder.event(namespace: "/", name: "e", arguments: args).map(text).first == #"510-["e"]"#)
        // Every part of the header at once: attachment count, a non-ASCII namespace, an id.
        args.attachments = Array(repeating: ByteBuffer(bytes: [1]), count: 12)
        #expect(SocketIOPacketEncoder.ack(namespace: "/café", ackID: 70, arguments: args).map(text).first == #"612-/café,70[]"#)
        #expect(SocketIOPacketEncoder.event(namespace: "/café", name: "e", arguments: args, ackID: 0).map(text).first == #"512-/café,0["e"]"#)
    }

    @Test("Reserved event names are refused; names of the same lengths are not")
    func reservedNames() throws {
        for name in SocketIOPacket.reservedEventNames {
            #expect(SocketIOPacket.isReservedEventName(name))
            #expect(throws: SocketIOProtocolError.self) { try SocketIOPacket.decode(ByteBuffer(string: "2[\"\(name)\"]")) }
        }
        for name in ["connecT", "disconnecT", "newlistener", "connect_erroR", "disconnectinG", "removelistener", "", "e"] {
            #expect(!SocketIOPacket.isReservedEventName(name))
            #expect(try SocketIOPacket.decode(ByteBuffer(string: "2[\"\(name)\"]")).eventName == name)
        }
    }

    @Test("Arguments with attachments encode as binary packets followed by the attachments")
    func encodeBinary() throws {
        var args = try SocketIOArguments(jsonElements: #"{"_placeholder":true,"num":0}"#)
        args.attachments = [ByteBuffer(bytes: [1, 2, 3])]
        let messages = SocketIOPacketEncoder.event(namespace: "/", name: "b", arguments: args, ackID: 7)
        #expect(messages.count == 2)
        #expect(text(messages[0]) == #"51-7["b",{"_placeholder":true,"num":0}]"#)
        #expect(messages[1].isBinary)
        #expect(Array(messages[1].content.readableBytesView) == [1, 2, 3])
        let ack = SocketIOPacketEncoder.ack(namespace: "/", ackID: 9, arguments: args)
        #expect(text(ack[0]) == #"61-9[{"_placeholder":true,"num":0}]"#)
    }

    @Test("Event names with quotes and unicode are escaped when encoding")
    func escapedEventName() {
        let message = SocketIOPacketEncoder.event(namespace: "/", name: "say \"hi\" ✓", arguments: SocketIOArguments())
        #expect(text(message[0]) == #"2["say \"hi\" ✓"]"#)
    }

    @Test("Decoding what was encoded gives the same packet")
    func roundTrip() throws {
        let args = SocketIOArguments(["a", 1, ["b": [nil, true]]])
        let encoded = SocketIOPacketEncoder.event(namespace: "/room/1", name: "evt", arguments: args, ackID: 99)
        let decoded = try SocketIOPacket.decode(encoded[0].content)
        #expect(decoded.namespace == "/room/1")
        #expect(decoded.ackID == 99)
        #expect(decoded.eventName == "evt")
        #expect(decoded.arguments?.values() == ["a", 1, ["b": [nil, true]]])
    }
}

@Suite("Socket.IO arguments")
struct SocketIOArgumentsTests {
    @Test("Building from values, reading elements back")
    func fromValues() throws {
        let args = SocketIOArguments([1, "two", ["three": 3]])
        #expect(args.count == 3)
        #expect(String(buffer: args.rawElement(at: 1)) == #""two""#)
        #expect(args.jsonArrayText == #"[1,"two",{"three":3}]"#)
        #expect(args.values() == [1, "two", ["three": 3]])
    }

    @Test("Dropping leading elements keeps the raw rest")
    func dropFirst() throws {
        let args = try SocketIOArguments(jsonElements: #""room", 1 , {"a":2}"#)
        let rest = args.dropFirst()
        #expect(rest.count == 2)
        #expect(String(buffer: rest.json) == #"1 , {"a":2}"#)
        #expect(rest.value(at: 1) == ["a": 2])
        #expect(args.dropFirst(3).isEmpty)
        #expect(args.dropFirst(0) == args)
    }

    @Test("Invalid JSON elements are refused")
    func invalid() {
        #expect(throws: SocketIOProtocolError.self) { try SocketIOArguments(jsonElements: "1,") }
        #expect(throws: SocketIOProtocolError.self) { try SocketIOArguments(jsonElements: "{") }
    }
}

@Suite("Namespace patterns")
struct NamespacePatternTests {
    @Test("Static and parameterised matching", arguments: [
        ("/", "/", [String: String]?.some([:])), ("/", "/x", nil), ("/chat", "/chat", [:]), ("/chat", "/chat/x", nil),
        ("/chat/:room", "/chat/lobby", ["room": "lobby"]), ("/chat/:room", "/chat", nil), ("/chat/:room", "/chat/", nil),
        ("/chat/:room", "/chat/a/b", nil), ("/org/:org/room/:room", "/org/acme/room/7", ["org": "acme", "room": "7"]),
        ("/org/:org/room/:room", "/org/acme/hall/7", nil),
    ])
    func match(pattern: String, path: String, expected: [String: String]?) throws {
        #expect(try NamespacePattern(pattern).match(path) == expected)
    }

    @Test("Invalid patterns are refused", arguments: ["chat", "/chat//x", "/chat/:", "/a/:x/b/:x", "/chat/"])
    func invalid(pattern: String) {
        #expect(throws: NamespacePattern.Error.self) { try NamespacePattern(pattern) }
    }
}
