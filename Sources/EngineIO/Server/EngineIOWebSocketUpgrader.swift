import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The WebSocket half of the HTTP upgrade (RFC 6455 §4.2), for swift-nio's
/// `HTTPServerUpgradeHandler`, which still does the HTTP side: the `Connection` and
/// `Upgrade` checks, the 101, removing the HTTP handlers and passing on bytes that came after
/// the request.
///
/// swift-nio's `NIOWebSocketServerUpgrader` adds its frame encoder and decoder on every
/// upgrade; ``EngineIOWebSocketHandler`` frames the bytes itself, so the decoder had to be
/// taken out again and the encoder, which cannot be removed, stayed in every connection's
/// pipeline unused. This upgrader answers the same requests the same way and installs only
/// ``EngineIOWebSocketHandler``. One per connection (as swift-nio's upgrader is made).
final class EngineIOWebSocketUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let supportedProtocol = "websocket"
    /// None: swift-nio would also want them named in `Connection`; the key and version are
    /// checked in `buildUpgradeResponse`, as swift-nio's own WebSocket upgrader does.
    let requiredUpgradeHeaders: [String] = []

    /// What becomes of this WebSocket (nil: refused; the request then gets the HTTP error reply).
    private let decide: @Sendable (Channel, HTTPRequestHead) -> EventLoopFuture<EngineIOHTTPServer.WebSocketDecision?>
    /// Installs the connection's handler once the 101 has gone out.
    private let install: @Sendable (Channel, EngineIOHTTPServer.WebSocketDecision) -> EventLoopFuture<Void>

    /// The decision, between `buildUpgradeResponse` and `upgrade` (both on the channel's loop).
    private let decision: NIOLoopBoundBox<EngineIOHTTPServer.WebSocketDecision?>

    init(
        eventLoop: EventLoop,
        decide: @escaping @Sendable (Channel, HTTPRequestHead) -> EventLoopFuture<EngineIOHTTPServer.WebSocketDecision?>,
        install: @escaping @Sendable (Channel, EngineIOHTTPServer.WebSocketDecision) -> EventLoopFuture<Void>
    ) {
        self.decision = NIOLoopBoundBox(nil, eventLoop: eventLoop)
        self.decide = decide
        self.install = install
    }

    /// RFC 6455 §4.2.2: `Sec-WebSocket-Accept` is the base64 of the SHA-1 of the key and this GUID.
    static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    static func accept(key: String) -> String {
        var hasher = SHA1()
        hasher.update(key.utf8)
        hasher.update(acceptGUID.utf8)
        var encoded = ByteBuffer()
        Base64.encode(hasher.finish(), into: &encoded)
        return String(buffer: encoded)
    }

    func buildUpgradeResponse(channel: Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        // Exactly one key and one version, and version 13 (as swift-nio's upgrader checks).
        let keys = upgradeRequest.headers[canonicalForm: "sec-websocket-key"]
        let versions = upgradeRequest.headers[canonicalForm: "sec-websocket-version"]
        guard keys.count == 1, versions.count == 1, versions[0] == "13" else {
            return channel.eventLoop.makeFailedFuture(NIOWebSocketUpgradeError.invalidUpgradeHeader)
        }
        let key = String(keys[0])
        return decide(channel, upgradeRequest).flatMapThrowing { decision in
            guard let decision else { throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget }
            self.decision.value = decision
            var headers = initialResponseHeaders
            headers.replaceOrAdd(name: "Upgrade", value: "websocket")
            headers.add(name: "Sec-WebSocket-Accept", value: Self.accept(key: key))
            headers.replaceOrAdd(name: "Connection", value: "upgrade")
            return headers
        }
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        guard let decision = decision.value else {
            return context.eventLoop.makeFailedFuture(NIOWebSocketUpgradeError.unsupportedWebSocketTarget)
        }
        self.decision.value = nil
        return install(context.channel, decision)
    }
}
