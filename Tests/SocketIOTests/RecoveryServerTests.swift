import EngineIO
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SocketIO
import SwitchyardJSON
import SwitchyardMessagePack
import SwitchyardTestSupport
import Testing

/// The recording handler, plus what the connect decision and the connected socket say about
/// recovery.
final class RecoveryRecordingHandler: SocketIONamespaceHandler {
    let inner = RecordingHandler()
    let log = NIOLockedValueBox<[String]>([])
    var lines: [String] { log.withLockedValue { $0 } }
    /// Each connected socket's id and ``SocketIOSocket/serial``, in order.
    let serials = NIOLockedValueBox<[(id: String, serial: UInt64)]>([])

    func authorize(_ request: SocketIOConnectRequest, decide: @escaping @Sendable (SocketIOConnectDecision) -> Void) {
        let failure = request.recoveryFailure?.rawValue ?? "-"
        log.withLockedValue { $0.append("authorize recovering=\(request.isRecovering) failure=\(failure)") }
        inner.authorize(request, decide: decide)
    }

    func connected(_ socket: SocketIOSocket) {
        let recovery = socket.recovery.map { "away=\($0.disconnectedFor) replayed=\($0.replayed)" } ?? "new"
        log.withLockedValue { $0.append("connected \(recovery)") }
        serials.withLockedValue { $0.append((socket.id, socket.serial)) }
        socket.emit("welcome", [])
    }

    func received(_ event: SocketIOEvent, from socket: SocketIOSocket) { inner.received(event, from: socket) }

    func disconnected(_ socket: SocketIOSocket, reason: SocketIODisconnectReason) {
        log.withLockedValue { $0.append("disconnected \(reason.rawValue)") }
    }
}

/// Wall-clock milliseconds the tests move by hand.
final class ManualClock: Sendable {
    let value = NIOLockedValueBox<Int64>(1_000_000)
    var now: Int64 { value.withLockedValue { $0 } }
    func advance(_ milliseconds: Int64) { value.withLockedValue { $0 += milliseconds } }
}

/// Connection state recovery over the real pipeline on embedded channels.
@Suite("Connection state recovery over the embedded pipeline")
struct RecoveryServerTests {
    let handler = RecoveryRecordingHandler()
    let clock = ManualClock()
    let io: SocketIOServer
    let server: EmbeddedServer

    init() throws {
        try self.init(skipMiddlewares: false)
    }

    init(skipMiddlewares: Bool) throws {
        var configuration = SocketIOConfiguration()
        let recovery = SocketIORecoveryConfiguration(
            maxDisconnectionDuration: 5_000, skipMiddlewares: skipMiddlewares, maxPacketsPerSession: 4)
        configuration.connectionStateRecovery = recovery
        let clock = self.clock
        let store = SocketIOSessionStore(configuration: recovery, epoch: "e", clock: { clock.now })
        io = SocketIOServer(configuration: configuration, recovery: store, logger: Logger(label: "test"))
        try io.register("/", handler: handler)
        try io.register("/chat", handler: handler)
        var engine = EngineIOConfiguration()
        engine.pingInterval = .milliseconds(300)
        engine.pingTimeout = .milliseconds(200)
        server = EmbeddedServer(endpoints: [EngineIOServer(configuration: engine, application: io, logger: Logger(label: "test"))])
    }

    /// A joined client: its sid, its pid, and the offset of its welcome event.
    struct Joined {
        var client: RawSocketIOClient
        var sid: String
        var pid: String
        var lastOffset: String
    }

    func join(auth: String = "") throws -> Joined {
        let client = try RawSocketIOClient.open(server)
        try client.send("0" + auth)
        let packets = try client.received()
        #expect(packets.count == 2)
        let connect = try JSONValue(parsing: String(try #require(packets.first).dropFirst()))
        let welcome = try #require(packets.last)
        return Joined(
            client: client, sid: try #require(connect["sid"]?.stringValue), pid: try #require(connect["pid"]?.stringValue),
            lastOffset: try #require(Self.offset(of: welcome))
        )
    }

    /// The last argument of an EVENT packet when it is a string.
    static func offset(of packet: String) -> String? {
        guard packet.hasPrefix("2["), let array = try? JSONValue(parsing: String(packet.dropFirst())).arrayValue else { return nil }
        return array.last?.stringValue
    }

    static func recoveryAuth(pid: String, offset: String?, extra: String = "") -> String {
        var auth = #"{"pid":"\#(pid)""#
        if let offset { auth += #","offset":"\#(offset)""# }
        return auth + extra + "}"
    }

    func dropTransport(_ client: RawSocketIOClient) throws {
        try client.connection.sendFrame(opcode: 8, payload: [0x03, 0xE8])
        _ = try client.frames()
        server.run()
    }

    @Test("CONNECT carries a pid; plain emits and broadcasts carry an offset; acks and emits awaiting an ack do not")
    func whatCarriesAnOffset() throws {
        let alice = try join()
        #expect(alice.lastOffset == "e-1")
        #expect(alice.pid != alice.sid)
        try alice.client.send(#"2["echo","x"]"#)
        #expect(try alice.client.received() == [#"2["echo","x","e-2"]"#])
        try alice.client.send(#"27["echo","x"]"#)
        #expect(try alice.client.received() == [#"37["x"]"#])
        try alice.client.send(#"2["ask","q"]"#)
        #expect(try alice.client.received() == [#"21["question","q"]"#])
        try alice.client.send(#"31["yes"]"#)
        #expect(try alice.client.received() == [#"2["answer","yes","e-3"]"#])
        try alice.client.send(#"2["to-room","\#(alice.sid)",1]"#)
        #expect(try alice.client.received() == [#"2["room",1,"e-4"]"#])
        io.namespace("/")?.emit("news", SocketIOArguments([]))
        #expect(try alice.client.received() == [#"2["news","e-5"]"#])
        // Five stored packets: welcome, echo, answer, room, news.
        #expect(io.recovery?.packetCount == 5)
        try alice.client.send(#"2["bye"]"#)
        #expect(try alice.client.received() == ["1"])
        #expect(io.recovery?.packetCount == 5)
    }

    @Test("Binary events are stored and replayed with their attachments and the offset last")
    func binaryEvents() throws {
        let alice = try join()
        try dropTransport(alice.client)
        io.namespace("/")?.to(alice.sid).emit(
            "file", SocketIOArguments([["_placeholder": true, "num": 0]], attachments: [ByteBuffer(bytes: [1, 2, 3])]))
        let back = try RawSocketIOClient.open(server)
        try back.send("0" + Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset))
        let frames = try back.frames()
        #expect(
            frames.map(\.description).prefix(3) == [
                #"text(451-["file",{"_placeholder":true,"num":0},"e-2"])"#, "binary([1, 2, 3])",
                #"text(40{"sid":"\#(alice.sid)","pid":"\#(alice.pid)"})"#,
            ])
    }

    @Test("After a transport close: same id and pid, rooms, missed events once and in order before the CONNECT reply")
    func recoversAfterTransportClose() throws {
        let alice = try join()
        let bob = try join()
        try alice.client.send(#"21["join","red"]"#)
        #expect(try alice.client.received() == [#"31["red"]"#])
        try dropTransport(alice.client)
        #expect(handler.lines.last == "disconnected transport close")

        clock.advance(1_500)
        try bob.client.send(#"2["to-room","red","m1"]"#)
        try bob.client.send(#"2["to-room","\#(alice.sid)","m2"]"#)
        try bob.client.send(#"2["to-room","blue","not-for-alice"]"#)
        try bob.client.send(#"2["to-all-except-room","red","not-for-red"]"#)
        io.namespace("/")?.emit("m3", SocketIOArguments([]))
        _ = try bob.client.received()

        let back = try RawSocketIOClient.open(server)
        try back.send("0" + Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset, extra: #","token":"ok""#))
        let packets = try back.received()
        #expect(packets.count == 5)
        #expect(packets[0].hasPrefix(#"2["room","m1","e-"#))
        #expect(packets[1].hasPrefix(#"2["room","m2","e-"#))
        #expect(packets[2].hasPrefix(#"2["m3","e-"#))
        #expect(packets[3] == #"0{"sid":"\#(alice.sid)","pid":"\#(alice.pid)"}"#)
        #expect(packets[4].hasPrefix(#"2["welcome""#))
        #expect(handler.lines.suffix(2) == ["authorize recovering=true failure=-", "connected away=1500 replayed=3"])
        // The recovered socket has the old id but is a new object, with a serial of its own.
        let serials = handler.serials.withLockedValue { $0 }
        #expect(serials.map(\.id) == [alice.sid, bob.sid, alice.sid])
        #expect(Set(serials.map(\.serial)).count == 3)
        #expect(serials[2].serial > serials[1].serial && serials[1].serial > serials[0].serial)

        try back.send(#"22["rooms"]"#)
        let rooms = try JSONValue(parsing: String(try #require(try back.received().first).dropFirst(2)))[0]?.arrayValue?.compactMap(
            \.stringValue)
        #expect(Set(rooms ?? []) == [alice.sid, "red"])
        try bob.client.send(#"2["to-room","red","live"]"#)
        let live = try back.received()
        #expect(live.count == 1)
        #expect(live.first?.hasPrefix(#"2["room","live","e-"#) == true)
    }

    @Test(
        "Sessions are kept only for transport-level reasons",
        arguments: [
            ("transport close", true), ("server shutting down", true), ("ping timeout", true), ("transport error", true),
            ("client namespace disconnect", false), ("server namespace disconnect", false), ("forced server close", false),
            ("parse error", false),
        ]
    )
    func reasons(reason: String, recoverable: Bool) throws {
        let alice = try join()
        switch reason {
        case "transport close": try dropTransport(alice.client)
        case "server shutting down": server.http.closeAllSessions()
        case "ping timeout":
            server.advance(by: .milliseconds(300))
            server.advance(by: .milliseconds(200))
        case "transport error": try alice.client.connection.writeRaw([0x81, 0x02] + Array("4x".utf8))
        case "client namespace disconnect": try alice.client.send("1")
        case "server namespace disconnect": try alice.client.send(#"2["bye"]"#)
        case "forced server close": io.namespace("/")?.socket(id: alice.sid)?.connection.close()  // a kick by session id
        case "parse error": try alice.client.send("9garbage")
        default: Issue.record("unknown reason \(reason)")
        }
        server.run()
        #expect(handler.lines.last == "disconnected \(reason)")
        #expect(io.recovery?.sessionCount == (recoverable ? 1 : 0))

        let back = try RawSocketIOClient.open(server)
        try back.send("0" + Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset))
        let connect = try JSONValue(parsing: String(try #require(try back.received().first).dropFirst()))
        #expect((connect["sid"]?.stringValue == alice.sid) == recoverable)
        #expect((connect["pid"]?.stringValue == alice.pid) == recoverable)
        #expect(handler.lines.suffix(2).first == "authorize recovering=\(recoverable) failure=\(recoverable ? "-" : "unknown session")")
    }

    @Test("Back before the old transport was seen closing: the old connection is closed ('transport close') and the socket recovered")
    func reconnectsBeforeTheCloseArrives() throws {
        let alice = try join()
        try alice.client.send(#"21["join","red"]"#)
        #expect(try alice.client.received() == [#"31["red"]"#])
        // No close from the old connection yet: the client already has a new one.
        let back = try RawSocketIOClient.open(server)
        try back.send("0" + Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset))
        server.run()
        #expect(try alice.client.frames().last?.isClose == true || !alice.client.connection.isActive)
        let packets = try back.received()
        #expect(packets.first == #"0{"sid":"\#(alice.sid)","pid":"\#(alice.pid)"}"#)
        #expect(handler.lines.contains("disconnected transport close"))
        #expect(handler.lines.last?.hasPrefix("connected away=0 replayed=0") == true)
        try back.send(#"22["rooms"]"#)
        let rooms = try JSONValue(parsing: String(try #require(try back.received().first).dropFirst(2)))[0]?.arrayValue?.compactMap(\.stringValue)
        #expect(Set(rooms ?? []) == [alice.sid, "red"])
    }

    @Test("A pid is good once: the second attempt is a new connection")
    func singleUse() throws {
        let alice = try join()
        try dropTransport(alice.client)
        let first = try join(auth: Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset))
        #expect(first.sid == alice.sid)
        let second = try join(auth: Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset))
        #expect(second.sid != alice.sid)
        #expect(second.pid != alice.pid)
        #expect(handler.lines.contains("authorize recovering=false failure=unknown session"))
    }

    @Test("After maxDisconnectionDuration the client gets a new socket")
    func expired() throws {
        let alice = try join()
        try dropTransport(alice.client)
        clock.advance(5_001)
        let back = try join(auth: Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset))
        #expect(back.sid != alice.sid)
        #expect(handler.lines.contains("authorize recovering=false failure=expired"))
    }

    @Test("More missed packets than maxPacketsPerSession: a new socket")
    func tooManyPackets() throws {
        let alice = try join()
        try dropTransport(alice.client)
        for index in 0..<5 { io.namespace("/")?.emit("n\(index)", SocketIOArguments([])) }
        let back = try join(auth: Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset))
        #expect(back.sid != alice.sid)
        #expect(handler.lines.contains("authorize recovering=false failure=too many packets"))
    }

    @Test("An offset that is not a string, or unknown, is a new connection without an error")
    func badOffsets() throws {
        for offset in [#""offset":42"#, #""offset":"zz-1""#, #""offset":null"#] {
            let alice = try join()
            try dropTransport(alice.client)
            let back = try join(auth: #"{"pid":"\#(alice.pid)",\#(offset)}"#)
            #expect(back.sid != alice.sid)
            #expect(handler.lines.contains("authorize recovering=false failure=unknown offset"))
        }
    }

    @Test("A recovering client still goes through the connect decision (skipMiddlewares false): refused, and the session is gone")
    func middlewaresRunAgain() throws {
        let alice = try join()
        try dropTransport(alice.client)
        let back = try RawSocketIOClient.open(server)
        try back.send("0" + Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset, extra: #","token":"bad""#))
        #expect(try back.received() == [#"4{"message":"Not authorized","data":{"code":"E_AUTH"}}"#])
        let again = try join(auth: Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset))
        #expect(again.sid != alice.sid)
    }

    @Test("With skipMiddlewares a recovered socket skips the connect decision")
    func skipMiddlewares() throws {
        let suite = try RecoveryServerTests(skipMiddlewares: true)
        let alice = try suite.join()
        try suite.dropTransport(alice.client)
        let back = try suite.join(auth: Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset, extra: #","token":"bad""#))
        #expect(back.sid == alice.sid)
        #expect(suite.handler.lines.last == "connected away=0 replayed=0")
        #expect(!suite.handler.lines.contains("authorize recovering=true failure=-"))
    }

    @Test("A session of one namespace does not restore a socket of another")
    func otherNamespace() throws {
        let alice = try join()
        try dropTransport(alice.client)
        let back = try RawSocketIOClient.open(server)
        try back.send("0/chat," + Self.recoveryAuth(pid: alice.pid, offset: alice.lastOffset))
        let connect = try #require(try back.received().first)
        #expect(connect.hasPrefix(#"0/chat,{"sid":""#))
        #expect(!connect.contains(alice.sid))
        #expect(handler.lines.contains("authorize recovering=false failure=wrong namespace"))
    }

    @Test("With the msgpack parser: the pid in the CONNECT data, the offset last in data, and a recovery")
    func messagePack() throws {
        let client = try MessagePackClient.open(server)
        try client.send(.object([("type", .int(0)), ("nsp", .string("/"))]))
        let packets = try client.received()
        #expect(packets.count == 2)
        let sid = try #require(packets[0]["data"]?["sid"]?.stringValue)
        let pid = try #require(packets[0]["data"]?["pid"]?.stringValue)
        #expect(packets[1] == .object([("type", .int(2)), ("data", .array([.string("welcome"), .string("e-1")])), ("nsp", .string("/"))]))
        try client.connection.sendFrame(opcode: 8, payload: [0x03, 0xE8])
        server.run()
        io.namespace("/")?.to(sid).emit("missed", [1])

        let back = try MessagePackClient.open(server)
        try back.send(
            .object([("type", .int(0)), ("data", .object([("pid", .string(pid)), ("offset", .string("e-1"))])), ("nsp", .string("/"))]))
        let replay = try back.received()
        #expect(replay.count == 3)
        #expect(
            replay[0]
                == .object([("type", .int(2)), ("data", .array([.string("missed"), .int(1), .string("e-2")])), ("nsp", .string("/"))]))
        #expect(replay[1]["data"]?["sid"]?.stringValue == sid)
        #expect(replay[1]["data"]?["pid"]?.stringValue == pid)
    }

    @Test("Without connectionStateRecovery: no pid, no offsets, a pid in the auth is ignored")
    func off() throws {
        let plain = SocketIOServer(configuration: SocketIOConfiguration(), logger: Logger(label: "test"))
        try plain.register("/", handler: handler)
        let server = EmbeddedServer(endpoints: [
            EngineIOServer(configuration: EngineIOConfiguration(), application: plain, logger: Logger(label: "test"))
        ])
        let client = try RawSocketIOClient.open(server)
        try client.send(#"0{"pid":"x","offset":"e-1"}"#)
        let packets = try client.received()
        #expect(packets.count == 2)
        #expect(packets.first?.contains("pid") == false)
        #expect(packets.last == #"2["welcome"]"#)
        #expect(plain.recovery == nil)
        #expect(handler.lines.first == "authorize recovering=false failure=-")
    }
}
