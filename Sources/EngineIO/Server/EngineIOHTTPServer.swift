import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Binds a TCP port and serves Engine.IO endpoints over HTTP/1.1 and WebSocket, with an
/// optional responder for every other path.
///
/// Per connection the pipeline is NIO's HTTP codec (with pipelining) and
/// ``EngineIOHTTPHandler``, which answers WebSocket upgrades itself; an upgraded connection
/// becomes ``EngineIOWebSocketHandler`` alone, which frames and reassembles messages itself,
/// bounded by `maxPayload`.
public final class EngineIOHTTPServer: Sendable {
    public let endpoints: [EngineIOServer]
    let fallback: (any HTTPFallbackResponder)?
    let logger: Logger

    public init(endpoints: [EngineIOServer], fallback: (any HTTPFallbackResponder)? = nil, logger: Logger) {
        precondition(Set(endpoints.map(\.path)).count == endpoints.count, "two endpoints share a path")
        self.endpoints = endpoints
        self.fallback = fallback
        self.logger = logger
    }

    /// Starts listening; the returned channel is the listening socket.
    public func bind(host: String, port: Int, group: EventLoopGroup) -> EventLoopFuture<Channel> {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // No SO_REUSEADDR on accepted sockets: it only affects binding, and each child
            // option is a system call and a dynamic cast per connection.
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(.recvAllocator, value: Self.receiveBuffers)
            .childChannelInitializer { channel in
                self.configure(channel: channel)
            }
            .bind(host: host, port: port)
    }

    /// Receive buffers start at 256 bytes instead of swift-nio's 2,048 and grow (to 64 KiB)
    /// only for connections that fill them. A channel keeps its last receive buffer for the
    /// next read, so this is memory every idle connection holds: an idle Socket.IO client
    /// sends a 1-byte pong every 25 s, and a handshake request that does not fit is simply
    /// read in several parts.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536)

    /// Installs the per-connection pipeline (also used by tests on `EmbeddedChannel`):
    /// swift-nio's HTTP/1 codec, its pipelining and error handlers, and
    /// ``EngineIOHTTPHandler``, which also answers WebSocket upgrades and then leaves the
    /// connection to ``EngineIOWebSocketHandler`` alone.
    public func configure(channel: Channel) -> EventLoopFuture<Void> {
        if channel.eventLoop.inEventLoop {
            return channel.eventLoop.makeCompletedFuture { try self.configureSync(channel: channel) }
        }
        return channel.eventLoop.submit { try self.configureSync(channel: channel) }
    }

    private func configureSync(channel: Channel) throws {
        // What swift-nio's `configureHTTPServerPipeline` adds, minus its upgrade handler: the
        // decoder forwards the bytes that follow an upgrade request instead of dropping them.
        let encoder = HTTPResponseEncoder()
        let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
        let pipelining = HTTPServerPipelineHandler()
        let validator = NIOHTTPResponseHeadersValidator()
        let errors = HTTPServerProtocolErrorHandler()
        let handler = EngineIOHTTPHandler(
            endpoints: endpoints,
            fallback: fallback,
            httpHandlers: .init(decoder: decoder, others: [encoder, pipelining, validator, errors])
        )
        try channel.pipeline.syncOperations.addHandlers([encoder, decoder, pipelining, validator, errors, handler])
    }

    /// Closes every session of every endpoint with `server shutting down`.
    public func closeAllSessions() {
        for endpoint in endpoints { endpoint.closeAllSessions(reason: .serverShuttingDown) }
    }
}
