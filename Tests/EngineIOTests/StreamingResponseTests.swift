import EngineIO
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import SwitchyardTestSupport
import Testing

/// A fallback responder whose answer is a stream (server-sent events), on EmbeddedChannel.
@Suite("Streaming fallback responses")
struct StreamingResponseTests {
    final class Streamer: HTTPFallbackResponder {
        let opened = NIOLockedValueBox<[HTTPResponseStream]>([])

        func respond(to head: HTTPRequestHead, body: ByteBuffer?, remoteAddress: SocketAddress?, eventLoop: EventLoop) -> EventLoopFuture<
            HTTPFallbackResponse
        > {
            let opened = self.opened
            return eventLoop.makeSucceededFuture(
                .streaming(headers: ["Content-Type": "text/event-stream"]) { stream in
                    opened.withLockedValue { $0.append(stream) }
                })
        }
    }

    func drain(_ connection: EmbeddedConnection, _ server: EmbeddedServer) throws -> String {
        server.run()
        var text = ""
        while let buffer = try connection.channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    @Test("The head goes out chunked at once; each write is a chunk; close ends the body and the connection")
    func streams() throws {
        let streamer = Streamer()
        let server = EmbeddedServer(endpoints: [], fallback: streamer)
        let connection = try server.connect()
        try connection.writeRaw(Array("GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        let head = try drain(connection, server).lowercased()
        #expect(head.hasPrefix("http/1.1 200 ok\r\n"))
        #expect(head.contains("content-type: text/event-stream\r\n"))
        #expect(head.contains("transfer-encoding: chunked\r\n"))
        #expect(!head.contains("content-length"))
        #expect(head.hasSuffix("\r\n\r\n"))
        let stream = try #require(streamer.opened.withLockedValue { $0.first })

        stream.write(ByteBuffer(string: "data: 1\n\n"))
        #expect(try drain(connection, server) == "9\r\ndata: 1\n\n\r\n")

        // The stream owns the connection: another request on it is not answered.
        try connection.writeRaw(Array("GET /other HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        #expect(try drain(connection, server) == "")
        #expect(streamer.opened.withLockedValue { $0.count } == 1)

        var closed = false
        stream.closeFuture.whenComplete { _ in closed = true }
        stream.close()
        #expect(try drain(connection, server) == "0\r\n\r\n")
        #expect(closed)
        #expect(!connection.isActive)
    }
}
