import EngineIO
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SocketIO
import SwitchyardJSON
import SwitchyardTestSupport
import Testing

/// A namespace handler that records what happens and reacts to a few events.
final class RecordingHandler: SocketIONamespaceHandler {
    let log = NIOLockedValueBox<[String]>([])

    func record(_ line: String) { log.withLockedValue { $0.append(line) } }
    var lines: [String] { log.withLockedValue { $0 } }

    func authorize(_ request: SocketIOConnectRequest, decide: @escaping @Sendable (SocketIOConnectDecision) -> Void) {
        switch request.auth["token"]?.stringValue {
        case "bad": decide(.refuse(message: "Not authorized", data: ["code": "E_AUTH"]))
        case "slow": request.namespace.socket(id: "") == nil ? Self.later(decide) : ()
        default: decide(.accept)
        }
    }

    /// Decides after a virtual 50 ms (an asynchronous identity lookup).
    static func later(_ decide: @escaping @Sendable (SocketIOConnectDecision) -> Void) {
        pendingDecisions.withLockedValue { $0.append(decide) }
    }
    static let pendingDecisions = NIOLockedValueBox<[@Sendable (SocketIOConnectDecision) -> Void]>([])

    func connected(_ socket: SocketIOSocket) {
        record("connected \(socket.namespace.path) \(socket.namespace.parameters.sorted { $0.key < $1.key })")
        socket.emit("welcome", [.object(JSONObject(socket.namespace.parameters.map { ($0.key, JSONValue.string($0.value)) }))])
    }

    func received(_ event: SocketIOEvent, from socket: SocketIOSocket) {
        record("event \(event.name) \(event.arguments.jsonArrayText) ack=\(event.ack != nil) attachments=\(event.arguments.attachments.count)")
        let room = event.arguments.value(at: 0)?.stringValue ?? ""
        switch event.name {
        case "echo":
            if let ack = event.ack { ack.send(event.arguments) } else { socket.emit("echo", event.arguments) }
        case "join":
            socket.join(room)
            event.ack?.send([.string(room)])
        case "leave":
            socket.leave(room)
            event.ack?.send([.string(room)])
        case "to-room":
            socket.namespace.to(room).emit("room", event.arguments.dropFirst())
        case "to-others-in-room":
            socket.to(room).emit("room", event.arguments.dropFirst())
        case "to-all-except-room":
            socket.namespace.broadcast.except(room).emit("room", event.arguments.dropFirst())
        case "ask":
            socket.emit("question", event.arguments, timeout: .milliseconds(100)) { result in
                switch result {
                case .success(let reply): socket.emit("answer", reply)
                case .failure(let error): socket.emit("answer", [.string("\(error)")])
                }
            }
        case "rooms":
            event.ack?.send([.array(socket.rooms.sorted().map { .string($0) })])
        case "bye":
            socket.disconnect()
        case "close":
            socket.disconnect(close: true)
        default:
            break
        }
    }

    func disconnected(_ socket: SocketIOSocket, reason: SocketIODisconnectReason) {
        record("disconnected \(socket.namespace.path) \(reason.rawValue)")
    }
}

@Suite("Socket.IO server over the embedded pipeline")
struct SocketIOServerTests {
    let handler = RecordingHandler()
    let io: SocketIOServer
    let server: EmbeddedServer

    init() throws {
        var socketConfiguration = SocketIOConfiguration()
        socketConfiguration.connectTimeout = .milliseconds(1000)
        io = SocketIOServer(configuration: socketConfiguration, logger: Logger(label: "test"))
        try io.register("/", handler: handler)
        try io.register("/chat/:room", handler: handler)
        var engine = EngineIOConfiguration()
        engine.pingInterval = .milliseconds(300)
        engine.pingTimeout = .milliseconds(200)
        server = EmbeddedServer(endpoints: [EngineIOServer(configuration: engine, application: io, logger: Logger(label: "test"))])
    }

    @Test("CONNECT answers with a socket id distinct from the session id, then the app's emits follow")
    func connect() throws {
        let client = try RawSocketIOClient.open(server)
        try client.send("0")
        let packets = try client.received()
        #expect(packets.count == 2)
        #expect(packets[0].hasPrefix(#"0{"sid":""#))
        #expect(packets[1] == #"2["welcome",{}]"#)
        #expect(handler.lines == ["connected / []"])
        #expect(io.namespace("/")?.socketCount == 1)
    }

    @Test("An unknown namespace is refused with 'Invalid namespace'")
    func unknownNamespace() throws {
        let client = try RawSocketIOClient.open(server)
        try client.send("0/random")
        #expect(try client.received() == [#"4/random,{"message":"Invalid namespace"}"#])
        #expect(client.connection.isActive)
    }

    @Test("A refused CONNECT carries the handler's message and data")
    func refusedConnect() throws {
        let client = try RawSocketIOClient.open(server)
        try client.send(#"0{"token":"bad"}"#)
        #expect(try client.received() == [#"4{"message":"Not authorized","data":{"code":"E_AUTH"}}"#])
        #expect(io.namespace("/")?.socketCount == 0)
    }

    @Test("A CONNECT decided later is answered when the decision arrives")
    func asynchronousConnect() throws {
        RecordingHandler.pendingDecisions.withLockedValue { $0.removeAll() }
        let client = try RawSocketIOClient.open(server)
        try client.send(#"0{"token":"slow"}"#)
        #expect(try client.received() == [])
        let decisions = RecordingHandler.pendingDecisions.withLockedValue { $0 }
        #expect(decisions.count == 1)
        decisions.first?(.accept)
        server.run()
        let packets = try client.received()
        #expect(packets.first?.hasPrefix(#"0{"sid":"#) == true)
    }

    @Test("A parameterised namespace gets its parameters, and is dropped when its last socket leaves")
    func parameterisedNamespace() throws {
        let client = try RawSocketIOClient.open(server)
        try client.send("0/chat/lobby,")
        let packets = try client.received()
        #expect(packets.count == 2)
        #expect(packets[1] == #"2/chat/lobby,["welcome",{"room":"lobby"}]"#)
        #expect(io.namespace("/chat/lobby")?.parameters == ["room": "lobby"])
        try client.send("1/chat/lobby,")
        #expect(io.namespace("/chat/lobby") == nil)
        #expect(handler.lines.last == "disconnected /chat/lobby client namespace disconnect")
    }

    @Test("Events reach the handler; acks go back with the same id")
    func eventsAndAcks() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join()
        try client.send(#"2["echo",1,"2",{"3":[true]}]"#)
        try client.send(#"242["echo","x"]"#)
        #expect(try client.received() == [#"2["echo",1,"2",{"3":[true]}]"#, #"342["x"]"#])
    }

    @Test("Binary events are reassembled from their attachments and echoed with them")
    func binaryEvent() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join()
        try client.send(#"52-["echo",{"_placeholder":true,"num":0},"mid",{"_placeholder":true,"num":1}]"#)
        #expect(handler.lines.count == 1)  // not delivered until the attachments arrive
        try client.connection.sendBinary([1, 2, 3])
        try client.connection.sendBinary([4, 5])
        let frames = try client.frames()
        #expect(frames.map(\.description) == [
            #"text(452-["echo",{"_placeholder":true,"num":0},"mid",{"_placeholder":true,"num":1}])"#,
            "binary([1, 2, 3])", "binary([4, 5])",
        ])
        #expect(handler.lines.last?.hasSuffix("attachments=2") == true)
    }

    @Test("Binary ack ids and placeholders survive the round trip")
    func binaryAck() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join()
        try client.send(#"51-9["echo",{"_placeholder":true,"num":0}]"#)
        try client.connection.sendBinary([7])
        #expect(try client.frames().map(\.description) == [#"text(461-9[{"_placeholder":true,"num":0}])"#, "binary([7])"])
    }

    @Test("Protocol violations close the connection", arguments: [
        ["4abc"], [#"2{}"#], [#"2abc["echo"]"#], [#"51-["echo",{"_placeholder":true,"num":1}]"#, "bin:1"],
        [#"51-["echo",{"_placeholder":true,"num":0}]"#, #"42["echo"]"#], ["bin:1"], [#"2/other,["echo"]"#], ["0"],
        [#"4{"message":"x"}"#], [#"511-["e"]"#], ["1/other,"],
    ])
    func violations(packets: [String]) throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join()
        for packet in packets {
            if packet.hasPrefix("bin:") {
                try client.connection.sendBinary([1])
            } else {
                try client.connection.sendText(packet.first == "4" && packet.count > 1 && packet.dropFirst().first?.isNumber == true ? packet : "4" + packet)
            }
        }
        #expect(try client.frames().last?.isClose == true)
        #expect(handler.lines.last == "disconnected / parse error")
    }

    @Test("Server-to-client acks: the reply arrives, or a timeout after the deadline")
    func serverToClientAck() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join()
        try client.send(#"2["ask","q1"]"#)
        #expect(try client.received() == [#"21["question","q1"]"#])
        try client.send(#"31["a1"]"#)
        #expect(try client.received() == [#"2["answer","a1"]"#])

        try client.send(#"2["ask","q2"]"#)
        #expect(try client.received() == [#"22["question","q2"]"#])
        server.advance(by: .milliseconds(99))
        #expect(try client.received().filter { !$0.isEmpty } == [])
        server.advance(by: .milliseconds(1))
        #expect(try client.received() == [#"2["answer","timeout"]"#])
        // A late ack for a spent id is ignored.
        try client.send(#"32["late"]"#)
        #expect(try client.received() == [])
    }

    @Test("Rooms: members get room broadcasts, socket.to() leaves out the sender, except() filters")
    func rooms() throws {
        let alice = try RawSocketIOClient.open(server)
        let bob = try RawSocketIOClient.open(server)
        let carol = try RawSocketIOClient.open(server)
        let aliceID = try alice.join()
        _ = try bob.join()
        _ = try carol.join()
        for client in [alice, bob] {
            try client.send(#"21["join","red"]"#)
            #expect(try client.received() == [#"31["red"]"#])
        }
        try alice.send(#"22["rooms"]"#)
        let roomsAck = try #require(try alice.received().first)
        #expect(roomsAck.hasPrefix("32"))
        let rooms = try JSONValue(parsing: String(roomsAck.dropFirst(2)))[0]?.arrayValue?.compactMap(\.stringValue)
        #expect(Set(rooms ?? []) == [aliceID, "red"])
        #expect(rooms?.count == 2)

        try alice.send(#"2["to-room","red",1,{"x":2}]"#)
        #expect(try alice.received() == [#"2["room",1,{"x":2}]"#])
        #expect(try bob.received() == [#"2["room",1,{"x":2}]"#])
        #expect(try carol.received() == [])

        try alice.send(#"2["to-others-in-room","red","hi"]"#)
        #expect(try alice.received() == [])
        #expect(try bob.received() == [#"2["room","hi"]"#])

        try carol.send(#"2["to-all-except-room","red","not-red"]"#)
        #expect(try alice.received() == [])
        #expect(try bob.received() == [])
        #expect(try carol.received() == [#"2["room","not-red"]"#])

        // A socket id names the socket's own room.
        try carol.send(#"2["to-room","\#(aliceID)","direct"]"#)
        #expect(try alice.received() == [#"2["room","direct"]"#])
        #expect(try bob.received() == [])

        try bob.send(#"23["leave","red"]"#)
        #expect(try bob.received() == [#"33["red"]"#])
        try alice.send(#"2["to-room","red","after"]"#)
        #expect(try bob.received() == [])
        #expect(try alice.received() == [#"2["room","after"]"#])
        #expect(io.namespace("/")?.rooms() == ["red": 1])
    }

    @Test("Several namespaces share one connection; a DISCONNECT leaves only its namespace")
    func multiplexing() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join()
        _ = try client.join("/chat/a")
        _ = try client.received()
        try client.send(#"2/chat/a,["echo","in a"]"#)
        try client.send(#"2["echo","in main"]"#)
        #expect(try client.received() == [#"2/chat/a,["echo","in a"]"#, #"2["echo","in main"]"#])
        try client.send("1/chat/a,")
        try client.send(#"2["echo","still"]"#)
        #expect(try client.received() == [#"2["echo","still"]"#])
        #expect(handler.lines.contains("disconnected /chat/a client namespace disconnect"))
    }

    @Test("The first namespace joined can leave while later ones keep routing, and join again; a close leaves all in joining order")
    func firstNamespaceLeaves() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join()
        _ = try client.join("/chat/a")
        _ = try client.join("/chat/b")
        _ = try client.received()
        try client.send("1")
        try client.send(#"2/chat/b,["echo","b"]"#)
        try client.send(#"2/chat/a,["echo","a"]"#)
        #expect(try client.received() == [#"2/chat/b,["echo","b"]"#, #"2/chat/a,["echo","a"]"#])
        _ = try client.join()
        _ = try client.received()
        try client.send(#"2["echo","main again"]"#)
        #expect(try client.received() == [#"2["echo","main again"]"#])
        try client.connection.sendFrame(opcode: 8, payload: [0x03, 0xE8])
        _ = try client.frames()
        server.run()
        let left = handler.lines.filter { $0.hasPrefix("disconnected") }
        #expect(left == [
            "disconnected / client namespace disconnect", "disconnected /chat/a transport close",
            "disconnected /chat/b transport close", "disconnected / transport close",
        ])
    }

    @Test("A second CONNECT to a joined namespace closes the connection")
    func duplicateConnect() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join()
        try client.send("0")
        #expect(try client.frames().last?.isClose == true)
    }

    @Test("Server-side disconnect sends DISCONNECT and keeps the connection; close ends it")
    func serverDisconnect() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join()
        _ = try client.join("/chat/b")
        _ = try client.received()
        try client.send(#"2["bye"]"#)
        #expect(try client.received() == ["1"])
        #expect(client.connection.isActive)
        #expect(handler.lines.last == "disconnected / server namespace disconnect")
        try client.send(#"2/chat/b,["close"]"#)
        let frames = try client.frames()
        #expect(frames.first?.text == "41/chat/b,")
        #expect(frames.last?.isClose == true)
        #expect(handler.lines.last == "disconnected /chat/b server namespace disconnect")
    }

    @Test("Disconnect reasons follow the Engine.IO close reason")
    func pingTimeoutReason() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join()
        server.advance(by: .milliseconds(300))
        server.advance(by: .milliseconds(200))
        #expect(handler.lines.last == "disconnected / ping timeout")
        #expect(io.namespace("/")?.socketCount == 0)
    }

    @Test("A client that joins no namespace within connectTimeout is closed")
    func connectTimeout() throws {
        let client = try RawSocketIOClient.open(server)
        // Keep the Engine.IO session alive with pongs; only the Socket.IO timeout applies.
        server.advance(by: .milliseconds(300))
        try client.connection.sendText("3")
        server.advance(by: .milliseconds(300))
        try client.connection.sendText("3")
        server.advance(by: .milliseconds(300))
        try client.connection.sendText("3")
        #expect(client.connection.isActive)
        #expect(try client.frames().contains(where: \.isClose) == false)
        server.advance(by: .milliseconds(100))
        #expect(try client.frames().last?.isClose == true)
    }

    @Test("Joining a namespace in time cancels the connect timeout")
    func connectTimeoutCancelled() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join()
        for _ in 0..<5 {
            server.advance(by: .milliseconds(300))
            try client.connection.sendText("3")
        }
        #expect(try client.frames().contains(where: \.isClose) == false)
    }

    @Test("Broadcasting to a namespace reaches every socket on every connection")
    func namespaceBroadcast() throws {
        let clients = try (0..<5).map { _ in try RawSocketIOClient.open(server) }
        for client in clients { _ = try client.join() }
        io.namespace("/")?.emit("news", SocketIOArguments(["all"]))
        for client in clients { #expect(try client.received() == [#"2["news","all"]"#]) }
    }
}
