import EngineIO
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SwitchyardTestSupport
import Testing

/// Echoes every message; records closes.
final class EchoApplication: EngineIOApplication, @unchecked Sendable {
    var closeReasons: [EngineIOCloseReason] = []
    var transportChanges: [EngineIOTransportKind] = []

    func sessionOpened(_ connection: EngineIOConnection) -> any EngineIOConnectionHandler {
        Handler(connection: connection, app: self)
    }

    final class Handler: EngineIOConnectionHandler {
        let connection: EngineIOConnection
        let app: EchoApplication
        init(connection: EngineIOConnection, app: EchoApplication) {
            self.connection = connection
            self.app = app
        }
        func didReceive(text: ByteBuffer) {
            if String(buffer: text) == "close-me" { return connection.close() }
            if text.readableBytesView.starts(with: "direct".utf8) {
                // Written straight into the frame; a capacity hint far too small on purpose.
                return connection.sendText(capacity: 1) { $0.writeImmutableBuffer(text) }
            }
            connection.send(.text(capacity: text.readableBytes) { $0.writeImmutableBuffer(text) })
        }
        func didReceive(binary: ByteBuffer) { connection.send(.binary(binary)) }
        func transportChanged(to transport: EngineIOTransportKind) { app.transportChanges.append(transport) }
        func didClose(reason: EngineIOCloseReason) { app.closeReasons.append(reason) }
    }
}

/// The HTTP and WebSocket handlers, through the real pipeline on `EmbeddedChannel`.
@Suite("Engine.IO handlers on EmbeddedChannel")
struct EngineIOHandlerTests {
    let app = EchoApplication()
    let server: EmbeddedServer
    let endpoint: EngineIOServer

    init() {
        var configuration = EngineIOConfiguration()
        configuration.pingInterval = .milliseconds(300)
        configuration.pingTimeout = .milliseconds(200)
        configuration.maxPayload = 1000
        configuration.upgradeTimeout = .milliseconds(1000)
        configuration.cors = CORSPolicy(allowedOrigins: ["https://app.example.com"])
        endpoint = EngineIOServer(configuration: configuration, application: app, logger: Logger(label: "test"))
        server = EmbeddedServer(endpoints: [endpoint])
    }

    struct OpenPacket: Decodable {
        var sid: String
        var upgrades: [String]
        var pingInterval: Int
        var pingTimeout: Int
        var maxPayload: Int
    }

    func decodeOpen(_ text: String) throws -> OpenPacket {
        #expect(text.first == "0")
        return try JSONDecoder().decode(OpenPacket.self, from: Data(text.dropFirst().utf8))
    }

    func openPollingSession(_ connection: EmbeddedConnection) throws -> String {
        let response = try #require(try connection.request("GET", "/socket.io/?EIO=4&transport=polling"))
        #expect(response.status == 200)
        return try decodeOpen(response.bodyText).sid
    }

    // MARK: Polling

    @Test("The polling handshake returns the open packet with the configured values")
    func pollingHandshake() throws {
        let connection = try server.connect()
        let response = try #require(try connection.request("GET", "/socket.io/?EIO=4&transport=polling", headers: [("Origin", "https://app.example.com")]))
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; charset=UTF-8")
        #expect(response.header("Access-Control-Allow-Origin") == "https://app.example.com")
        #expect(response.header("Access-Control-Allow-Credentials") == "true")
        let open = try decodeOpen(response.bodyText)
        #expect(open.sid.count == 20)
        #expect(open.upgrades == ["websocket"])
        #expect(open.pingInterval == 300)
        #expect(open.pingTimeout == 200)
        #expect(open.maxPayload == 1000)
        #expect(endpoint.sessionCount == 1)
    }

    @Test("A request delivered one byte at a time is handled the same")
    func byteByByteRequest() throws {
        let connection = try server.connect()
        let response = try #require(try connection.request("GET", "/socket.io/?EIO=4&transport=polling", chunkSize: 1))
        #expect(response.status == 200)
        #expect(response.bodyText.hasPrefix("0{\"sid\""))
    }

    @Test("Posted packets are echoed on the next poll, several per payload, binary as base64")
    func postThenPoll() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        let post = try #require(try connection.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "4one\u{1e}4two\u{1e}bAQIDBA=="))
        #expect(post.status == 200)
        #expect(post.bodyText == "ok")
        let poll = try #require(try connection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)"))
        #expect(poll.bodyText == "4one\u{1e}4two\u{1e}bAQIDBA==")
    }

    @Test("A poll with nothing to send is parked until a message arrives")
    func parkedPoll() throws {
        let pollConnection = try server.connect()
        let sid = try openPollingSession(pollConnection)
        #expect(try pollConnection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)") == nil)
        let postConnection = try server.connect()
        _ = try postConnection.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "4late")
        let released = try #require(try pollConnection.readResponse())
        #expect(released.bodyText == "4late")
    }

    @Test("A parked poll is answered by the ping when the interval passes")
    func pollReleasedByPing() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        #expect(try connection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)") == nil)
        server.advance(by: .milliseconds(299))
        #expect(try connection.readResponse() == nil)
        server.advance(by: .milliseconds(1))
        #expect(try connection.readResponse()?.bodyText == "2")
    }

    @Test("Without a pong the polling session closes with 'ping timeout'; its sid is then unknown")
    func pollingPingTimeout() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        server.advance(by: .milliseconds(300))
        server.advance(by: .milliseconds(200))
        #expect(app.closeReasons == [.pingTimeout])
        let poll = try #require(try connection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)"))
        #expect(poll.status == 400)
        #expect(poll.bodyText == #"{"code":1,"message":"Session ID unknown"}"#)
    }

    @Test("A pong keeps the session alive past the timeout")
    func pongKeepsAlive() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        for _ in 0..<5 {
            server.advance(by: .milliseconds(300))
            #expect(try connection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)")?.bodyText == "2")
            server.advance(by: .milliseconds(100))
            #expect(try connection.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "3")?.status == 200)
        }
        #expect(app.closeReasons.isEmpty)
    }

    @Test("A second concurrent poll closes the session: the parked one gets '1', the second a 400")
    func duplicatePoll() throws {
        let first = try server.connect()
        let sid = try openPollingSession(first)
        #expect(try first.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)") == nil)
        let second = try server.connect()
        let rejected = try #require(try second.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)&t=burst"))
        #expect(rejected.status == 400)
        #expect(try first.readResponse()?.bodyText == "1")
        #expect(app.closeReasons == [.transportError])
        #expect(try second.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)")?.status == 400)
    }

    @Test("An invalid POST body answers 400 and closes the session with 'parse error'")
    func invalidBody() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        let response = try #require(try connection.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "abc"))
        #expect(response.status == 400)
        #expect(app.closeReasons == [.parseError])
        #expect(endpoint.sessionCount == 0)
    }

    @Test("A POST announcing more than maxPayload is refused with 413 before its body is read")
    func oversizedByContentLength() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        let body = [UInt8](repeating: UInt8(ascii: "a"), count: 1001)
        let response = try #require(try connection.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: body))
        #expect(response.status == 413)
        #expect(response.bodyText == #"{"code":3,"message":"Payload too large"}"#)
        #expect(app.closeReasons == [.transportError])
        #expect(!connection.isActive)
    }

    @Test("A chunked POST that grows past maxPayload is refused when it crosses the limit")
    func oversizedChunked() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        let head = "POST /socket.io/?EIO=4&transport=polling&sid=\(sid) HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        try connection.writeRaw(Array(head.utf8))
        let chunk = String(repeating: "a", count: 600)
        try connection.writeRaw(Array("258\r\n\(chunk)\r\n".utf8))
        #expect(try connection.readResponse() == nil)
        try connection.writeRaw(Array("258\r\n\(chunk)\r\n".utf8))
        #expect(try connection.readResponse()?.status == 413)
        #expect(app.closeReasons == [.transportError])
    }

    @Test("A close packet posted while a poll is parked releases it with noop and ends the session")
    func clientClose() throws {
        let pollConnection = try server.connect()
        let sid = try openPollingSession(pollConnection)
        #expect(try pollConnection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)") == nil)
        let post = try server.connect()
        #expect(try post.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "1")?.status == 200)
        #expect(try pollConnection.readResponse()?.bodyText == "6")
        #expect(app.closeReasons == [.transportClose])
    }

    @Test("A server-side close reaches a polling client on its next poll, after the queued packets")
    func serverCloseOnPolling() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        _ = try connection.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "4queued\u{1e}4close-me")
        #expect(try connection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)")?.bodyText == "4queued\u{1e}1")
        #expect(app.closeReasons == [.forcedClose])
        #expect(endpoint.sessionCount == 0)
    }

    @Test("The parked poll's connection closing ends the session with 'transport error'")
    func abandonedPoll() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        #expect(try connection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)") == nil)
        _ = try? connection.channel.close().wait()
        server.run()
        #expect(app.closeReasons == [.transportError])
    }

    @Test("A CORS preflight answers 204 with the allowed origin, methods and requested headers")
    func preflight() throws {
        let connection = try server.connect()
        let response = try #require(try connection.request(
            "OPTIONS",
            "/socket.io/?EIO=4&transport=polling",
            headers: [("Origin", "https://app.example.com"), ("Access-Control-Request-Headers", "content-type")]
        ))
        #expect(response.status == 204)
        #expect(response.header("Access-Control-Allow-Origin") == "https://app.example.com")
        #expect(response.header("Access-Control-Allow-Headers") == "content-type")
        #expect(response.header("Access-Control-Allow-Methods")?.contains("POST") == true)
    }

    @Test("A disallowed origin is refused with 403 and code 4")
    func forbiddenOrigin() throws {
        let connection = try server.connect()
        let response = try #require(try connection.request("GET", "/socket.io/?EIO=4&transport=polling", headers: [("Origin", "https://evil-example.com")]))
        #expect(response.status == 403)
        #expect(response.bodyText == #"{"code":4,"message":"Origin not allowed"}"#)
        #expect(response.header("Access-Control-Allow-Origin") == nil)
        #expect(endpoint.sessionCount == 0)
    }

    @Test("Paths outside the endpoint get 404")
    func notFound() throws {
        let connection = try server.connect()
        #expect(try connection.request("GET", "/elsewhere")?.status == 404)
    }

    @Test("Keep-alive: several requests on one connection, answered in order")
    func keepAlive() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        for index in 0..<3 {
            #expect(try connection.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "4m\(index)")?.status == 200)
            #expect(try connection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)")?.bodyText == "4m\(index)")
        }
    }

    // MARK: WebSocket

    func openWebSocketSession(_ connection: EmbeddedConnection) throws -> String {
        let response = try #require(try connection.upgrade("/socket.io/?EIO=4&transport=websocket"))
        #expect(response.status == 101)
        let frames = try connection.readTexts()
        #expect(frames.count == 1)
        return try decodeOpen(frames[0]).sid
    }

    @Test("A WebSocket-only session opens with the open packet and no upgrades")
    func webSocketHandshake() throws {
        let connection = try server.connect()
        let response = try #require(try connection.upgrade("/socket.io/?EIO=4&transport=websocket"))
        #expect(response.status == 101)
        let open = try decodeOpen(try connection.readTexts()[0])
        #expect(open.upgrades == [])
        #expect(endpoint.sessionCount == 1)
    }

    @Test("Text and binary frames are echoed; several frames in one read are all handled")
    func webSocketEcho() throws {
        let connection = try server.connect()
        _ = try openWebSocketSession(connection)
        try connection.sendText("4hello")
        try connection.sendBinary([1, 2, 3, 4])
        #expect(try connection.readFrames() == [
            EmbeddedFrame(opcode: 1, payload: Array("4hello".utf8)),
            EmbeddedFrame(opcode: 2, payload: [1, 2, 3, 4]),
        ])
    }

    @Test("A frame delivered one byte at a time is handled")
    func frameByteByByte() throws {
        let connection = try server.connect()
        _ = try openWebSocketSession(connection)
        try connection.sendFrame(opcode: 1, payload: Array("4slow".utf8), chunkSize: 1)
        #expect(try connection.readTexts() == ["4slow"])
    }

    @Test("A fragmented message is reassembled")
    func fragmentedMessage() throws {
        let connection = try server.connect()
        _ = try openWebSocketSession(connection)
        try connection.sendFrame(opcode: 1, payload: Array("4frag".utf8), fin: false)
        try connection.sendFrame(opcode: 0, payload: Array("ment".utf8), fin: true)
        #expect(try connection.readTexts() == ["4fragment"])
    }

    @Test("A frame larger than maxPayload closes the WebSocket with 1009")
    func oversizedFrame() throws {
        let connection = try server.connect()
        _ = try openWebSocketSession(connection)
        try connection.sendFrame(opcode: 1, payload: [UInt8](repeating: UInt8(ascii: "4"), count: 1001))
        let frames = try connection.readFrames()
        #expect(frames.last?.isClose == true)
        #expect(frames.last?.payload.prefix(2) == [0x03, 0xF1])
        server.run()
        #expect(app.closeReasons.count == 1)
    }

    @Test("An invalid packet on the WebSocket closes the session with 'parse error'")
    func invalidWebSocketPacket() throws {
        let connection = try server.connect()
        _ = try openWebSocketSession(connection)
        try connection.sendText("abc")
        #expect(try connection.readFrames().last?.isClose == true)
        #expect(app.closeReasons == [.parseError])
    }

    @Test("WebSocket heartbeat: ping at the interval, close after the timeout without pong")
    func webSocketHeartbeat() throws {
        let connection = try server.connect()
        _ = try openWebSocketSession(connection)
        server.advance(by: .milliseconds(300))
        #expect(try connection.readTexts() == ["2"])
        try connection.sendText("3")
        server.advance(by: .milliseconds(300))
        #expect(try connection.readTexts() == ["2"])
        server.advance(by: .milliseconds(200))
        #expect(try connection.readFrames().last?.isClose == true)
        #expect(app.closeReasons == [.pingTimeout])
    }

    @Test("What one read produces leaves in one flush; a write outside a read is flushed at once")
    func coalescedFlushes() throws {
        let connection = try server.connect()
        _ = try openWebSocketSession(connection)
        let flushes = FlushCounter()
        try connection.channel.pipeline.syncOperations.addHandler(flushes, position: .first)
        // Three messages and a ping in one read: four frames back, one flush.
        let read = ["4one", "4two", "4direct three"].flatMap { EmbeddedConnection.maskedFrame(opcode: 1, payload: Array($0.utf8)) }
            + EmbeddedConnection.maskedFrame(opcode: 9, payload: [1])
        try connection.writeRaw(read)
        #expect(flushes.count == 1)
        let frames = try connection.readFrames()
        #expect(frames == [
            EmbeddedFrame(opcode: 1, payload: Array("4one".utf8)),
            EmbeddedFrame(opcode: 1, payload: Array("4two".utf8)),
            EmbeddedFrame(opcode: 1, payload: Array("4direct three".utf8)),
            EmbeddedFrame(opcode: 10, payload: [1]),
        ])
        // One message per read: one flush each.
        try connection.sendText("4four")
        try connection.sendText("4five")
        #expect(flushes.count == 3)
        #expect(try connection.readTexts() == ["4four", "4five"])
        // The heartbeat's ping comes from a timer, not a read: flushed when written.
        server.advance(by: .milliseconds(300))
        #expect(flushes.count == 4)
        #expect(try connection.readTexts() == ["2"])
    }

    @Test("A WebSocket ping is answered with a pong carrying the same data")
    func webSocketPingPong() throws {
        let connection = try server.connect()
        _ = try openWebSocketSession(connection)
        try connection.sendFrame(opcode: 9, payload: [7, 8, 9])
        #expect(try connection.readFrames() == [EmbeddedFrame(opcode: 10, payload: [7, 8, 9])])
        // The session is untouched.
        try connection.sendText("4still here")
        #expect(try connection.readTexts() == ["4still here"])
    }

    @Test("An unmasked client frame closes the WebSocket with 1002 and the session with 'transport error'")
    func unmaskedFrame() throws {
        let connection = try server.connect()
        _ = try openWebSocketSession(connection)
        try connection.writeRaw([0x81, 0x02] + Array("4x".utf8))
        let frames = try connection.readFrames()
        #expect(frames.last?.isClose == true)
        #expect(frames.last?.payload.prefix(2) == [0x03, 0xEA])
        server.run()
        #expect(app.closeReasons == [.transportError])
    }

    @Test("A text frame that is not UTF-8 closes the WebSocket with 1007")
    func invalidUTF8Frame() throws {
        let connection = try server.connect()
        _ = try openWebSocketSession(connection)
        try connection.sendFrame(opcode: 1, payload: [0x34, 0xC0, 0x80])
        let frames = try connection.readFrames()
        #expect(frames.last?.isClose == true)
        #expect(frames.last?.payload.prefix(2) == [0x03, 0xEF])
        server.run()
        #expect(app.closeReasons == [.transportError])
    }

    @Test("Messages echo back as single frames at each header size, large ones uncopied", arguments: [100, 1000, 20_000, 70_000])
    func outboundFrameSizes(length: Int) throws {
        try withLargeMessageWebSocket { connection in
            let message = "4" + String(repeating: "y", count: length)
            try connection.sendFrame(opcode: 1, payload: Array(message.utf8), chunkSize: 4096)
            try connection.sendText("4after")
            #expect(try connection.readTexts() == [message, "4after"])
        }
    }

    /// Runs `body` with a WebSocket session opened on a server whose maxPayload allows large
    /// messages; the server lives until `body` returns.
    func withLargeMessageWebSocket(_ body: (EmbeddedConnection) throws -> Void) throws {
        var configuration = EngineIOConfiguration()
        configuration.maxPayload = 1_000_000
        let big = EmbeddedServer(endpoints: [EngineIOServer(configuration: configuration, application: EchoApplication(), logger: Logger(label: "test"))])
        try withExtendedLifetime(big) {
            let connection = try big.connect()
            _ = try #require(try connection.upgrade("/socket.io/?EIO=4&transport=websocket"))
            _ = try connection.readTexts()
            try body(connection)
        }
    }

    @Test("Text written straight into the frame gets the right header at each size", arguments: [0, 118, 119, 1000, 65_528, 65_529, 70_000])
    func directTextFrameSizes(padding: Int) throws {
        try withLargeMessageWebSocket { connection in
            // "4direct" + padding: payloads of 7 + padding bytes, on both sides of the 125 / 65,535 header boundaries.
            let message = "4direct" + String(repeating: "z", count: padding)
            try connection.sendFrame(opcode: 1, payload: Array(message.utf8), chunkSize: 4096)
            try connection.sendText("4directly after")
            try connection.sendText("4queued after")
            #expect(try connection.readFrames() == [
                EmbeddedFrame(opcode: 1, payload: Array(message.utf8)),
                EmbeddedFrame(opcode: 1, payload: Array("4directly after".utf8)),
                EmbeddedFrame(opcode: 1, payload: Array("4queued after".utf8)),
            ])
        }
    }

    @Test("On polling, text for the frame is queued like any message")
    func directTextOnPolling() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        let post = try #require(try connection.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "4directly\u{1e}4then"))
        #expect(post.status == 200)
        let poll = try #require(try connection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)"))
        #expect(poll.bodyText == "4directly\u{1e}4then")
    }

    @Test("A WebSocket close frame is answered and ends the session with 'transport close'")
    func webSocketCloseFrame() throws {
        let connection = try server.connect()
        _ = try openWebSocketSession(connection)
        try connection.sendFrame(opcode: 8, payload: [0x03, 0xE8])
        #expect(try connection.readFrames().last?.isClose == true)
        server.run()
        #expect(app.closeReasons == [.transportClose])
    }

    /// engine.io `abortUpgrade` (lib/server.ts, socket.io monorepo d2d753fe): `HTTP/1.1 400 Bad
    /// Request`, `Connection: close`, `Content-type: text/html`, the message as the body,
    /// then the socket destroyed; the same 400 for every code, Forbidden included.
    @Test("A WebSocket request Engine.IO refuses gets engine.io's abortUpgrade reply: 400, the message as text/html, closed", arguments: [
        ("/socket.io/?transport=websocket", [], "Unsupported protocol version"),
        ("/socket.io/?EIO=abc&transport=websocket", [], "Unsupported protocol version"),
        ("/socket.io/?EIO=4", [], "Transport unknown"), ("/socket.io/?EIO=4&transport=abc", [], "Transport unknown"),
        ("/socket.io/?EIO=4&transport=websocket&sid=unknown", [], "Session ID unknown"),
        ("/socket.io/?EIO=4&transport=websocket", [("Origin", "https://evil-example.com")], "Origin not allowed"),
    ])
    func refusedUpgrade(uri: String, headers: [(String, String)], message: String) throws {
        let connection = try server.connect()
        let response = try #require(try connection.upgrade(uri, headers: headers))
        #expect(response.status == 400)
        #expect(response.bodyText == message)
        #expect(response.header("Content-Type") == "text/html")
        #expect(response.header("Connection") == "close")
        #expect(response.header("Access-Control-Allow-Origin") == nil)
        server.run()
        #expect(!connection.isActive)
        #expect(endpoint.sessionCount == 0)
    }

    @Test("An upgrade for an unknown sid is refused by Engine.IO before ws's checks run, as engine.io verifies first")
    func unknownSessionBeforeWebSocketChecks() throws {
        let connection = try server.connect()
        let headers = Self.upgradeHeaders + [("Sec-WebSocket-Key", "not a key"), ("Sec-WebSocket-Version", "13")]
        let response = try #require(try connection.request("GET", "/socket.io/?EIO=4&transport=websocket&sid=unknown", headers: headers))
        #expect(response.status == 400)
        #expect(response.bodyText == "Session ID unknown")
    }

    @Test("A closed session is freed at once, long before its queued ping deadline passes")
    func closedSessionIsFreed() throws {
        var configuration = EngineIOConfiguration()
        configuration.pingInterval = .seconds(25)
        let endpoint = EngineIOServer(configuration: configuration, application: app, logger: Logger(label: "test"))
        let server = EmbeddedServer(endpoints: [endpoint])
        weak var session: EngineIOConnection?
        do {
            let connection = try server.connect()
            let response = try #require(try connection.upgrade("/socket.io/?EIO=4&transport=websocket"))
            #expect(response.status == 101)
            let open = try decodeOpen(try #require(try connection.readTexts().first))
            session = endpoint.session(id: open.sid)
            #expect(session != nil)
            try connection.sendText("close-me")
            #expect(try connection.readFrames().last?.isClose == true)
            try connection.sendFrame(opcode: 0x8, payload: [0x03, 0xE8])  // the client's close frame
            server.run()
            #expect(!connection.isActive)
        }
        // The WebSocket handler's close timeout (2 s) still holds the channel, and so the session.
        server.advance(by: .seconds(3))
        #expect(endpoint.sessionCount == 0)
        #expect(session == nil)
    }

    static let upgradeHeaders = [("Upgrade", "websocket"), ("Connection", "Upgrade")]

    @Test("A WebSocket request Node's ws would refuse gets ws's answer and the connection is closed; no session opens", arguments: [
        ("GET", "dGhlIHNhbXBsZSBub25jZQ=", "13", 400, "Missing or invalid Sec-WebSocket-Key header"),  // 23 characters
        ("GET", "dGhlIHNhbXBsZSBub25jZQ=!", "13", 400, "Missing or invalid Sec-WebSocket-Key header"),
        ("GET", "", "13", 400, "Missing or invalid Sec-WebSocket-Key header"),
        ("GET", "dGhlIHNhbXBsZSBub25jZQ==", "12", 400, "Missing or invalid Sec-WebSocket-Version header"),
        ("GET", "dGhlIHNhbXBsZSBub25jZQ==", "", 400, "Missing or invalid Sec-WebSocket-Version header"),
        ("POST", "dGhlIHNhbXBsZSBub25jZQ==", "13", 405, "Invalid HTTP method"),
    ])
    func webSocketRefusedAsWsDoes(method: String, key: String, version: String, status: Int, message: String) throws {
        // engine.io checks the method only for a handshake ("Bad handshake method"); an upgrade
        // of an existing session reaches `ws`, which answers 405.
        let sessions = method == "POST" ? 1 : 0
        let uri = method == "POST" ? "/socket.io/?EIO=4&transport=websocket&sid=\(try openPollingSession(try server.connect()))" : "/socket.io/?EIO=4&transport=websocket"
        let connection = try server.connect()
        var headers = Self.upgradeHeaders
        if !key.isEmpty { headers.append(("Sec-WebSocket-Key", key)) }
        if !version.isEmpty { headers.append(("Sec-WebSocket-Version", version)) }
        let response = try #require(try connection.request(method, uri, headers: headers))
        #expect(response.status == status)
        #expect(response.bodyText == message)
        #expect(response.header("Content-Type") == "text/html")
        #expect(response.header("Connection") == "close")
        #expect(response.header("Sec-WebSocket-Version") == (message.contains("Version") ? "13, 8" : nil))
        server.run()
        #expect(!connection.isActive)
        #expect(endpoint.sessionCount == sessions)
    }

    @Test("Sec-WebSocket-Version 8 is accepted, as ws accepts it")
    func webSocketVersion8() throws {
        let other = try server.connect()
        let headers = Self.upgradeHeaders + [("Sec-WebSocket-Key", "x3JJHMbDL1EzLkh9GBhXDw=="), ("Sec-WebSocket-Version", "8")]
        let eight = try #require(try other.request("GET", "/socket.io/?EIO=4&transport=websocket", headers: headers))
        #expect(eight.status == 101)
        // RFC 6455 §1.3's second example pair.
        #expect(eight.header("Sec-WebSocket-Accept") == "HSmrc0sMlYUkAGmm5OPpG2HaGWk=")
        #expect(endpoint.sessionCount == 1)
    }

    @Test("The 101 and the open packet leave in one flush; a frame sent right behind the request reaches the session")
    func upgradeResponseAndOpenInOneFlush() throws {
        let connection = try server.connect()
        let flushes = FlushCounter()
        try connection.channel.pipeline.syncOperations.addHandler(flushes, position: .first)
        var bytes = Array(
            ("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8
        )
        bytes += EmbeddedConnection.maskedFrame(opcode: 1, payload: Array("4early".utf8))
        try connection.writeRaw(bytes)
        // The 101 and the open packet went out together, before the early frame was handled.
        #expect(flushes.count == 1)
        let response = try #require(try connection.readResponse())
        #expect(response.status == 101)
        #expect(response.header("Upgrade") == "websocket")
        #expect(response.header("Connection") == "Upgrade")
        #expect(response.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        let texts = try connection.readTexts()
        #expect(texts.count == 2)
        #expect(texts.first?.first == "0")
        #expect(texts.last == "4early")
        #expect(flushes.count == 2)
        // Only the WebSocket handler is left in the pipeline (and the test's counter).
        #expect(try connection.channel.pipeline.syncOperations.handler(type: FlushCounter.self) === flushes)
        #expect(throws: (any Error).self) { try connection.channel.pipeline.syncOperations.handler(type: HTTPResponseEncoder.self) }
    }

    @Test("A keep-alive connection that polled can upgrade to WebSocket afterwards")
    func upgradeOnKeepAliveConnection() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        #expect(try connection.upgrade("/socket.io/?EIO=4&transport=websocket&sid=\(sid)")?.status == 101)
        try connection.sendText("2probe")
        #expect(try connection.readTexts() == ["3probe"])
        try connection.sendText("5")
        try connection.sendText("4on the same connection")
        #expect(try connection.readTexts() == ["4on the same connection"])
        #expect(app.transportChanges == [.websocket])
    }

    @Test("A HEAD request is answered with the headers of its GET and no body")
    func headRequest() throws {
        let connection = try server.connect()
        try connection.writeRaw(Array("HEAD /elsewhere HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        server.run()
        var text = ""
        while let buffer = try connection.channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        #expect(text.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(text.lowercased().contains("content-length: 10\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
        // The connection is still in step: the next request gets its whole response.
        let next = try #require(try connection.request("GET", "/elsewhere"))
        #expect(next.status == 404)
        #expect(next.bodyText == "Not Found\n")
    }

    // MARK: Upgrade

    @Test("Upgrade: probe, noop to the parked poll, '5', then queued and new packets on the WebSocket in order")
    func upgrade() throws {
        let pollConnection = try server.connect()
        let sid = try openPollingSession(pollConnection)
        #expect(try pollConnection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)") == nil)

        let ws = try server.connect()
        #expect(try ws.upgrade("/socket.io/?EIO=4&transport=websocket&sid=\(sid)")?.status == 101)
        try ws.sendText("2probe")
        #expect(try ws.readTexts() == ["3probe"])
        #expect(try pollConnection.readResponse()?.bodyText == "6")

        // A message posted before "5" is echoed once the WebSocket takes over.
        let post = try server.connect()
        #expect(try post.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "4queued")?.status == 200)
        try ws.sendText("5")
        try ws.sendText("4after")
        #expect(try ws.readTexts() == ["4queued", "4after"])
        #expect(app.transportChanges == [.websocket])

        // Polling with this sid is over. A second WebSocket is accepted and closed at once,
        // as the reference server does; the upgraded one carries on.
        #expect(try pollConnection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)")?.status == 400)
        let second = try server.connect()
        #expect(try second.upgrade("/socket.io/?EIO=4&transport=websocket&sid=\(sid)")?.status == 101)
        #expect(try second.readFrames().map(\.description) == ["close([3, 232])"])
        try ws.sendText("4still")
        #expect(try ws.readTexts() == ["4still"])
        #expect(app.closeReasons == [])
    }

    @Test("A second WebSocket during an upgrade is accepted and closed; the first one completes the upgrade")
    func secondWebSocketDuringUpgrade() throws {
        let pollConnection = try server.connect()
        let sid = try openPollingSession(pollConnection)
        let ws = try server.connect()
        #expect(try ws.upgrade("/socket.io/?EIO=4&transport=websocket&sid=\(sid)")?.status == 101)
        try ws.sendText("2probe")
        #expect(try ws.readTexts() == ["3probe"])
        let second = try server.connect()
        #expect(try second.upgrade("/socket.io/?EIO=4&transport=websocket&sid=\(sid)")?.status == 101)
        #expect(try second.readFrames().map(\.description) == ["close([3, 232])"])
        try ws.sendText("5")
        try ws.sendText("4upgraded")
        #expect(try ws.readTexts() == ["4upgraded"])
        #expect(app.transportChanges == [.websocket])
    }

    @Test("An upgrade that never sends '5' is dropped after upgradeTimeout; polling goes on")
    func upgradeTimeout() throws {
        let connection = try server.connect()
        let sid = try openPollingSession(connection)
        let ws = try server.connect()
        #expect(try ws.upgrade("/socket.io/?EIO=4&transport=websocket&sid=\(sid)")?.status == 101)
        try ws.sendText("2probe")
        _ = try ws.readTexts()
        for _ in 0..<4 {
            server.advance(by: .milliseconds(300))
            #expect(try connection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)")?.bodyText == "2")
            #expect(try connection.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "3")?.status == 200)
        }
        #expect(try ws.readFrames().last?.isClose == true)
        #expect(app.closeReasons.isEmpty)
        #expect(try connection.request("POST", "/socket.io/?EIO=4&transport=polling&sid=\(sid)", body: "4still")?.status == 200)
        #expect(try connection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)")?.bodyText == "4still")
    }

    @Test("Closing every session sends close frames and answers parked polls")
    func closeAll() throws {
        let ws = try server.connect()
        _ = try openWebSocketSession(ws)
        let poll = try server.connect()
        let sid = try openPollingSession(poll)
        #expect(try poll.request("GET", "/socket.io/?EIO=4&transport=polling&sid=\(sid)") == nil)
        server.http.closeAllSessions()
        server.run()
        #expect(try ws.readFrames().last?.isClose == true)
        #expect(try poll.readResponse()?.bodyText == "1")
        #expect(Set(app.closeReasons) == [.serverShuttingDown])
        #expect(endpoint.sessionCount == 0)
    }
}

/// Counts the flushes that reach the socket.
final class FlushCounter: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    var count = 0
    func flush(context: ChannelHandlerContext) {
        count += 1
        context.flush()
    }
}
