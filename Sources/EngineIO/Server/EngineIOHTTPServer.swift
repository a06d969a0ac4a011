import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Binds a TCP port and serves Engine.IO endpoints over HTTP/1.1 and WebSocket, with an
/// optional responder for every other path.
///
/// Per connection the pipeline is NIO's HTTP codec (with pipelining and the upgrade handler,
/// given ``EngineIOWebSocketUpgrader``) and ``EngineIOHTTPHandler``; an upgraded connection
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
        let upgrader = EngineIOWebSocketUpgrader(
            eventLoop: channel.eventLoop,
            decide: { channel, head in self.shouldUpgrade(channel: channel, head: head) },
            install: { channel, decision in
                channel.pipeline.removeHandler(httpHandler).flatMap {
                    self.installWebSocket(channel: channel, decision: decision)
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

    private func installWebSocket(channel: Channel, decision: WebSocketDecision) -> EventLoopFuture<Void> {
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
        }
        // The HTTP handlers are gone; bytes that followed the request reach this handler
        // when the upgrade handler removes itself.
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                EngineIOWebSocketHandler(role: role, eventLoop: channel.eventLoop, maxMessageSize: maxMessageSize)
            )
        }
    }
}
