import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Binds a TCP port and serves Engine.IO endpoints over HTTP/1.1 and WebSocket, with an
/// optional responder for every other path.
///
/// Per connection the pipeline is NIO's HTTP codec (with pipelining and the WebSocket
/// upgrader) and ``EngineIOHTTPHandler``; an upgraded connection becomes
/// ``EngineIOWebSocketHandler``, which frames and reassembles messages itself, bounded by
/// `maxPayload`.
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
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
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

    /// Installs the per-connection pipeline (also used by tests on `EmbeddedChannel`).
    public func configure(channel: Channel) -> EventLoopFuture<Void> {
        let httpHandler = EngineIOHTTPHandler(endpoints: endpoints, fallback: fallback)
        // What `shouldUpgrade` decided for this connection's WebSocket, read when the
        // handshake has completed. Both run on the channel's loop.
        let decision = NIOLoopBoundBox<WebSocketDecision?>(nil, eventLoop: channel.eventLoop)
        let maxFrameSize = endpoints.map(\.configuration.maxPayload).max() ?? 1_000_000
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: maxFrameSize,
            // EngineIOWebSocketHandler answers protocol errors itself, with a clean close.
            automaticErrorHandling: false,
            shouldUpgrade: { channel, head in
                self.shouldUpgrade(channel: channel, head: head).map { verdict in
                    decision.value = verdict
                    return verdict == nil ? nil : HTTPHeaders()
                }
            },
            upgradePipelineHandler: { channel, head in
                channel.pipeline.removeHandler(httpHandler).flatMap {
                    self.installWebSocket(channel: channel, decision: decision.value)
                }
            }
        )
        return channel.pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: true,
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }),
            withErrorHandling: true
        ).flatMap {
            channel.pipeline.addHandler(httpHandler)
        }
    }

    /// Closes every session of every endpoint with `server shutting down`.
    public func closeAllSessions() {
        for endpoint in endpoints { endpoint.closeAllSessions(reason: .serverShuttingDown) }
    }

    // MARK: - WebSocket upgrade

    private func endpoint(for head: HTTPRequestHead) -> (EngineIOServer, RequestTarget)? {
        let target = RequestTarget(head.uri)
        guard let endpoint = endpoints.first(where: { $0.matches(path: target.path) }) else { return nil }
        return (endpoint, target)
    }

    /// What becomes of a WebSocket request once its handshake has completed.
    enum WebSocketDecision: Sendable {
        /// A new session on this WebSocket.
        case newSession(EngineIOServer, EngineIOHandshake)
        /// The probe transport of a polling session's upgrade (reserved in the session).
        case upgrade(EngineIOConnection)
        /// The session exists but has upgraded already, or is upgrading on another
        /// WebSocket: the reference server (engine.io `Server.onWebSocket`) completes the
        /// handshake and closes this socket, so a client library that treats any answer but
        /// 101 as an error sees a clean close instead.
        case superfluous
    }

    /// `nil` refuses the upgrade: the request goes on to the HTTP handler, which replies
    /// with the reason (unknown session id, bad transport, disallowed origin…).
    private func shouldUpgrade(channel: Channel, head: HTTPRequestHead) -> EventLoopFuture<WebSocketDecision?> {
        guard let (endpoint, target) = endpoint(for: head) else { return channel.eventLoop.makeSucceededFuture(nil) }
        let kind = EngineIORequestKind.classify(
            method: head.method,
            target: target,
            origin: head.headers.first(name: "origin"),
            isWebSocketUpgrade: true,
            configuration: endpoint.configuration
        )
        switch kind {
        case .success(.handshake(.websocket)):
            let handshake = EngineIOHandshake(
                uri: head.uri,
                headers: head.headers,
                remoteAddress: channel.remoteAddress,
                transport: .websocket
            )
            return channel.eventLoop.makeSucceededFuture(.newSession(endpoint, handshake))
        case .success(.upgrade(let sid)):
            guard let session = endpoint.session(id: sid) else { return channel.eventLoop.makeSucceededFuture(nil) }
            return session.eventLoop.submit { () -> WebSocketDecision? in
                session.reserveUpgrade() ? .upgrade(session) : .superfluous
            }
            .hop(to: channel.eventLoop)
        default:
            return channel.eventLoop.makeSucceededFuture(nil)
        }
    }

    private func installWebSocket(channel: Channel, decision: WebSocketDecision?) -> EventLoopFuture<Void> {
        let role: EngineIOWebSocketHandler.Role
        let maxMessageSize: Int
        switch decision {
        case .newSession(let endpoint, let handshake):
            role = .newSession(endpoint, handshake)
            maxMessageSize = endpoint.configuration.maxPayload
        case .upgrade(let session):
            role = .upgrade(session)
            maxMessageSize = session.endpoint.configuration.maxPayload
        case .superfluous:
            role = .superfluous
            maxMessageSize = 125
        case nil:
            return channel.eventLoop.makeFailedFuture(NIOWebSocketUpgradeError.unsupportedWebSocketTarget)
        }
        // NIO's upgrader has just added its frame encoder and decoder. The handler does
        // its own framing on raw bytes, so the decoder goes and the handler is placed in
        // front of the encoder (which is not removable): inbound bytes, and anything the
        // upgrader buffered, reach the handler; its writes go straight to the socket.
        do {
            let operations = channel.pipeline.syncOperations
            let decoder = try operations.context(handlerType: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            operations.removeHandler(context: decoder, promise: nil)
            let encoder = try operations.handler(type: WebSocketFrameEncoder.self)
            try operations.addHandler(
                EngineIOWebSocketHandler(role: role, eventLoop: channel.eventLoop, maxMessageSize: maxMessageSize),
                position: .before(encoder)
            )
            return channel.eventLoop.makeSucceededVoidFuture()
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
    }
}
