import NIOCore
import NIOHTTP1
import Testing

@testable import EngineIO

/// The handshake keeps its headers packed; what it gives back must be what it was given.
@Suite("Engine.IO handshake")
struct HandshakeTests {
    @Test("Headers come back in order, with duplicates, colons in values and empty values")
    func headersRoundTrip() {
        let headers: HTTPHeaders = [
            "Host": "127.0.0.1:3000",
            "Cookie": "a=1",
            "Cookie": "b=2; c=3",
            "X-Empty": "",
            "Authorization": "Bearer x:y:z",
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
            "X-Unicode": "café ✓",
        ]
        let handshake = EngineIOHandshake(uri: "/socket.io/?EIO=4", headers: headers, remoteAddress: nil, transport: .polling)
        #expect(handshake.headers.map { "\($0.name)=\($0.value)" } == headers.map { "\($0.name)=\($0.value)" })
        #expect(handshake.headers[canonicalForm: "cookie"] == ["a=1", "b=2; c=3"])
        #expect(handshake.headers.first(name: "host") == "127.0.0.1:3000")
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
