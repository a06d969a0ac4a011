import NIOCore
import NIOHTTP1
import Testing

@testable import EngineIO

/// The handshake keeps its headers packed; what it gives back must be what it was given.
@Suite("Engine.IO handshake")
struct HandshakeTests {
    /// Repeated names, colons in values, an empty value, non-ASCII.
    static let sampleHeaders: HTTPHeaders = [
        "Host": "127.0.0.1:3000",
        "Cookie": "a=1",
        "Cookie": "b=2; c=3",
        "X-Empty": "",
        "Authorization": "Bearer x:y:z",
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
        "X-Unicode": "café ✓",
    ]

    @Test("Headers come back in order, with duplicates, colons in values and empty values")
    func headersRoundTrip() {
        let headers = Self.sampleHeaders
        let handshake = EngineIOHandshake(uri: "/socket.io/?EIO=4", headers: headers, remoteAddress: nil, transport: .polling)
        #expect(handshake.headers.map { "\($0.name)=\($0.value)" } == headers.map { "\($0.name)=\($0.value)" })
        #expect(handshake.headers[canonicalForm: "cookie"] == ["a=1", "b=2; c=3"])
        #expect(handshake.headers.first(name: "host") == "127.0.0.1:3000")
    }

    @Test("header(_:) reads one value from the packed form as HTTPHeaders.first(name:) does")
    func singleHeaderLookup() {
        var headers = Self.sampleHeaders
        headers.add(name: "Origin2", value: "not the origin")
        headers.add(name: "Origin", value: "https://app.example.com")
        let handshake = EngineIOHandshake(uri: "/", headers: headers, remoteAddress: nil, transport: .websocket)
        let names = ["host", "HOST", "cookie", "x-empty", "authorization", "user-agent", "USER-agent", "x-unicode",
                     "origin", "Origin2", "origin3", "orig", "", "x-empty-not", "cookie:", "a=1"]
        for name in names {
            #expect(handshake.header(name) == headers.first(name: name), "header \(name)")
        }
        #expect(handshake.header("origin") == "https://app.example.com")
        #expect(handshake.header("cookie") == "a=1")
        #expect(handshake.header("x-empty") == "")
        #expect(handshake.header("authorization") == "Bearer x:y:z")
        #expect(handshake.header("missing") == nil)
        // Letters match across case; other bytes that differ only in bit 0x20 do not.
        let odd = EngineIOHandshake(uri: "/", headers: ["X-A[": "1"], remoteAddress: nil, transport: .websocket)
        #expect(odd.header("x-a{") == nil)
        #expect(odd.header("X-a[") == "1")
        #expect(EngineIOHandshake(uri: "/", headers: [:], remoteAddress: nil, transport: .websocket).header("host") == nil)
    }

    @Test("No headers, and headers replaced through the setter")
    func emptyAndReplaced() {
        var handshake = EngineIOHandshake(uri: "/", headers: [:], remoteAddress: nil, transport: .websocket)
        #expect(handshake.headers.count == 0)
        handshake.headers = ["Origin": "https://app.example.com"]
        #expect(handshake.headers.first(name: "origin") == "https://app.example.com")
        #expect(handshake.headers.count == 1)
    }

    @Test("The query is read from the request target: first value of each name, percent-decoded")
    func queryFromURI() {
        let handshake = EngineIOHandshake(uri: "/socket.io/?EIO=4&transport=websocket&room=a%20b&room=second", headers: [:], remoteAddress: nil, transport: .websocket)
        #expect(handshake.query == ["EIO": "4", "transport": "websocket", "room": "a b"])
    }
}
