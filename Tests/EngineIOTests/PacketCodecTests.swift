import NIOCore
import Testing

@testable import EngineIO

@Suite("Engine.IO packets and polling payloads")
struct PacketCodecTests {
    @Test("Text packets decode type and data", arguments: [
        ("0", EngineIOPacketType.open, ""), ("1", .close, ""), ("2probe", .ping, "probe"), ("3", .pong, ""),
        ("4hello", .message, "hello"), ("5", .upgrade, ""), ("6", .noop, ""), ("4", .message, ""),
        ("4é€😀", .message, "é€😀"),
    ])
    func decodeText(text: String, type: EngineIOPacketType, data: String) throws {
        let packet = try EngineIOInboundPacket.decodeText(ByteBuffer(string: text))
        #expect(packet.type == type)
        #expect(packet.payload == .text(ByteBuffer(string: data)))
    }

    @Test("Malformed text packets are refused", arguments: ["", "7", "9x", "a", "abc", " 4", "\u{1e}"])
    func refuseMalformed(text: String) {
        #expect(throws: EngineIOProtocolError.self) { try EngineIOInboundPacket.decodeText(ByteBuffer(string: text)) }
    }

    @Test("A payload of several packets splits on the record separator")
    func decodeManyPerPayload() throws {
        let packets = try PollingPayload.decode(ByteBuffer(string: "4test1\u{1e}4test2\u{1e}4test3"))
        #expect(packets.map(\.payload) == ["test1", "test2", "test3"].map { .text(ByteBuffer(string: $0)) })
    }

    @Test("Binary parts are b-prefixed base64")
    func decodeBinary() throws {
        let packets = try PollingPayload.decode(ByteBuffer(string: "4hello\u{1e}bAQIDBA=="))
        #expect(packets.count == 2)
        #expect(packets[1] == EngineIOInboundPacket(type: .message, payload: .binary(ByteBuffer(bytes: [1, 2, 3, 4]))))
    }

    @Test("Payloads with empty parts, bad base64 or bad types are refused", arguments: [
        "4a\u{1e}\u{1e}4b", "4a\u{1e}", "\u{1e}4a", "b!!!!", "bAQIDBA=", "bA", "4a\u{1e}x", "bAQ=X",
    ])
    func refuseBadPayload(body: String) {
        #expect(throws: EngineIOProtocolError.self) { try PollingPayload.decode(ByteBuffer(string: body)) }
    }

    @Test("Encoding joins packets and base64-encodes binary")
    func encode() {
        let packets = [
            OutboundMessage.text("hello").packet,
            OutboundMessage.binary(ByteBuffer(bytes: [1, 2, 3, 4])).packet,
            EngineIOOutboundPacket.ping,
        ]
        let body = PollingPayload.encode(packets, allocator: ByteBufferAllocator())
        #expect(String(buffer: body) == "4hello\u{1e}bAQIDBA==\u{1e}2")
    }

    @Test("Base64 round-trips every length and byte value")
    func base64RoundTrip() {
        for length in 0..<64 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) }
            var encoded = ByteBuffer()
            Base64.encode(bytes, into: &encoded)
            let decoded = Base64.decode(Array(encoded.readableBytesView), allocator: ByteBufferAllocator())
            #expect(decoded.map { Array($0.readableBytesView) } == bytes)
        }
        var all = ByteBuffer()
        Base64.encode(Array(0...255), into: &all)
        #expect(Base64.decode(Array(all.readableBytesView), allocator: ByteBufferAllocator()).map { Array($0.readableBytesView) } == Array(0...255))
    }

    @Test("Outbound text messages carry the message type digit in the same buffer")
    func outboundMessageLayout() {
        let message = OutboundMessage.text(capacity: 8) { $0.writeStaticString("payload") }
        #expect(message.packet == EngineIOOutboundPacket(storage: .text(ByteBuffer(string: "4payload"))))
        #expect(String(buffer: message.content) == "payload")
        #expect(!message.isBinary)
    }
}

@Suite("CORS origin matching")
struct CORSPolicyTests {
    @Test("Origins matched against patterns", arguments: [
        ("*", "https://anything.example", true),
        ("https://app.example.com", "https://app.example.com", true),
        ("https://app.example.com", "http://app.example.com", false),
        ("https://app.example.com", "https://app.example.com.evil.io", false),
        ("https://*.example.com", "https://a.example.com", true),
        ("https://*.example.com", "https://a.b.example.com", true),
        ("https://*.example.com", "https://example.com", false),
        ("https://*.example.com", "https://evil-example.com", false),
        ("https://*.example.com", "https://a.evil-example.com", false),
        ("https://*.example.com", "http://a.example.com", false),
        ("*.example.com", "http://a.example.com", true),
        ("*.example.com", "https://a.example.com", true),
        ("*.example.com", "https://.example.com", false),
        ("https://*.example.com:8443", "https://a.example.com:8443", true),
        ("https://*.example.com:8443", "https://a.example.com", false),
        ("https://APP.example.com", "https://app.EXAMPLE.com", true),
    ])
    func matching(pattern: String, origin: String, allowed: Bool) {
        #expect(CORSPolicy(allowedOrigins: [pattern]).allows(origin: origin) == allowed)
    }

    @Test("Requests without an Origin header (non-browser clients) are allowed")
    func noOrigin() {
        #expect(CORSPolicy(allowedOrigins: ["https://only.example"]).allows(origin: nil))
    }

    @Test("The allow-origin header echoes an allowed origin and is absent for others")
    func allowOriginHeader() {
        let policy = CORSPolicy(allowedOrigins: ["https://*.example.com"])
        #expect(policy.allowOriginHeader(for: "https://a.example.com") == "https://a.example.com")
        #expect(policy.allowOriginHeader(for: "https://evil.com") == nil)
        #expect(CORSPolicy.allowAll.allowOriginHeader(for: nil) == "*")
    }
}

@Suite("Engine.IO request classification")
struct RequestClassificationTests {
    func classify(_ method: HTTPMethodName, _ uri: String, origin: String? = nil, upgrade: Bool = false, cors: CORSPolicy = .allowAll) -> Result<EngineIORequestKind, EngineIOHTTPError> {
        var configuration = EngineIOConfiguration()
        configuration.cors = cors
        return EngineIORequestKind.classify(method: method.nio, target: RequestTarget(uri), origin: origin, isWebSocketUpgrade: upgrade, configuration: configuration)
    }

    @Test("Valid requests", arguments: [
        (HTTPMethodName.get, "/socket.io/?EIO=4&transport=polling", false, EngineIORequestKind.handshake(.polling)),
        (.get, "/socket.io/?EIO=4&transport=websocket", true, .handshake(.websocket)),
        (.get, "/socket.io/?EIO=4&transport=polling&sid=abc", false, .poll(sid: "abc")),
        (.post, "/socket.io/?EIO=4&transport=polling&sid=abc", false, .send(sid: "abc")),
        (.get, "/socket.io/?EIO=4&transport=websocket&sid=abc", true, .upgrade(sid: "abc")),
        (.options, "/socket.io/?EIO=4&transport=polling", false, .preflight),
    ])
    func valid(method: HTTPMethodName, uri: String, upgrade: Bool, kind: EngineIORequestKind) {
        #expect(classify(method, uri, upgrade: upgrade) == .success(kind))
    }

    @Test("Refusals carry the reference error codes", arguments: [
        (HTTPMethodName.get, "/socket.io/?EIO=4", false, EngineIOHTTPError.Code.unknownTransport),
        (.get, "/socket.io/?EIO=4&transport=abc", false, .unknownTransport),
        (.get, "/socket.io/?transport=polling", false, .unsupportedProtocolVersion),
        (.get, "/socket.io/?EIO=abc&transport=polling", false, .unsupportedProtocolVersion),
        (.get, "/socket.io/?EIO=3&transport=polling", false, .unsupportedProtocolVersion),
        (.post, "/socket.io/?EIO=4&transport=polling", false, .badHandshakeMethod),
        (.put, "/socket.io/?EIO=4&transport=polling", false, .badHandshakeMethod),
        (.get, "/socket.io/?EIO=4&transport=websocket", false, .badRequest),
        (.get, "/socket.io/?EIO=4&transport=websocket&sid=x", false, .badRequest),
        (.put, "/socket.io/?EIO=4&transport=polling&sid=x", false, .badRequest),
    ])
    func refused(method: HTTPMethodName, uri: String, upgrade: Bool, code: EngineIOHTTPError.Code) throws {
        guard case .failure(let error) = classify(method, uri, upgrade: upgrade) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(error.code == code)
        #expect(error.status == .badRequest)
    }

    @Test("A disallowed Origin gets 403 with code 4")
    func forbiddenOrigin() throws {
        let result = classify(.get, "/socket.io/?EIO=4&transport=polling", origin: "https://evil.com", cors: CORSPolicy(allowedOrigins: ["https://good.com"]))
        guard case .failure(let error) = result else {
            Issue.record("expected a refusal")
            return
        }
        #expect(error.code == .forbidden)
        #expect(error.status == .forbidden)
        #expect(error.body == #"{"code":4,"message":"Origin not allowed"}"#)
    }

    @Test("Query parameters are percent-decoded")
    func queryDecoding() {
        let target = RequestTarget("/socket.io/?EIO=4&transport=polling&name=a%20b%2Bc&plus=x+y&empty=&t=1&t=2")
        #expect(target.path == "/socket.io/")
        #expect(target.query["name"] == "a b+c")
        #expect(target.query["plus"] == "x y")
        #expect(target.query["empty"] == "")
        #expect(target.query["t"] == "1")
    }

    @Test("Request targets: malformed escapes stay literal, empty pairs are skipped, UTF-8 survives", arguments: [
        ("/a%2Fb", "/a/b", [:]),
        ("/p+q", "/p+q", [:]),
        ("/?", "/", [:]),
        ("/?&&a=1&&", "/", ["a": "1"]),
        ("/?a", "/", ["a": ""]),
        ("/?a=b=c", "/", ["a": "b=c"]),
        ("/?x=%", "/", ["x": "%"]),
        ("/?x=%4", "/", ["x": "%4"]),
        ("/?x=%zz1", "/", ["x": "%zz1"]),
        ("/?x=50%25", "/", ["x": "50%"]),
        ("/?%61=%62", "/", ["a": "b"]),
        ("/caf%C3%A9?n=%E2%9C%93&m=é", "/café", ["n": "✓", "m": "é"]),
        ("/?x=%ff", "/", ["x": "\u{FFFD}"]),
    ] as [(String, String, [String: String])])
    func requestTargets(uri: String, path: String, query: [String: String]) {
        let target = RequestTarget(uri)
        #expect(target.path == path)
        #expect(target.query == query)
    }
}

/// HTTP methods as test arguments (NIO's `HTTPMethod` is not `Sendable`-friendly in
/// parameterised tests on every toolchain).
enum HTTPMethodName: Sendable, CustomTestStringConvertible {
    case get, post, put, options

    var nio: NIOHTTP1.HTTPMethod {
        switch self {
        case .get: return .GET
        case .post: return .POST
        case .put: return .PUT
        case .options: return .OPTIONS
        }
    }

    var testDescription: String { "\(nio)" }
}

import NIOHTTP1
