import NIOCore
import NIOHTTP1

/// Answers HTTP requests that are not for an Engine.IO endpoint (health, metrics, admin…).
public protocol HTTPFallbackResponder: Sendable {
    /// Produces the response for a complete request. Called on the connection's event loop.
    func respond(to head: HTTPRequestHead, body: ByteBuffer?, remoteAddress: SocketAddress?, eventLoop: EventLoop) -> EventLoopFuture<HTTPFallbackResponse>
}

/// A complete HTTP response from an ``HTTPFallbackResponder``.
public struct HTTPFallbackResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// When set, `body` is ignored: the head goes out without a length (chunked) and this is
    /// called with the open stream, which it writes to until it closes it or the client goes
    /// (server-sent events).
    public var stream: (@Sendable (HTTPResponseStream) -> Void)?

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response whose body is written over time; the connection serves nothing else.
    public static func streaming(headers: HTTPHeaders, _ stream: @escaping @Sendable (HTTPResponseStream) -> Void) -> HTTPFallbackResponse {
        var response = HTTPFallbackResponse(status: .ok, headers: headers)
        response.stream = stream
        return response
    }

    public static func text(_ status: HTTPResponseStatus, _ text: String, contentType: String = "text/plain; charset=utf-8") -> HTTPFallbackResponse {
        HTTPFallbackResponse(status: status, headers: ["Content-Type": contentType], body: ByteBuffer(string: text))
    }
}

/// The body of a streaming response; writes may come from any thread.
public struct HTTPResponseStream: Sendable {
    let channel: Channel

    /// Sends a chunk of the body at once.
    @discardableResult
    public func write(_ bytes: ByteBuffer) -> EventLoopFuture<Void> {
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(bytes)))
    }

    /// Completes when the connection closes (the client went away, or ``close()``).
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Ends the response and closes the connection.
    public func close() {
        let channel = self.channel
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// The HTTP side of Engine.IO: handshakes, long polls, posted packets, CORS and error
/// replies, and the WebSocket opening handshake: an accepted upgrade writes the 101 itself
/// (``WebSocketHandshake``), takes the HTTP handlers out of the pipeline synchronously and
/// leaves the connection to ``EngineIOWebSocketHandler``, whose first flush carries the 101
/// and the Engine.IO open packet together.
final class EngineIOHTTPHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        /// Collecting the body of a request to an endpoint.
        case engine(EngineIOServer, EngineIORequestKind, HTTPRequestHead, ByteBuffer?)
        /// Collecting the body of a request for the fallback responder.
        case fallback(HTTPRequestHead, ByteBuffer?)
        /// The request was answered early (error); its remaining parts are ignored.
        case discarding
        /// A long poll is parked in its session.
        case parked(EngineIOPollRequest)
        /// A response is being produced asynchronously.
        case responding
        /// A streaming response owns the connection until it closes.
        case streaming
        /// A WebSocket request (its key checked) waiting for its end.
        case webSocket(EngineIOServer, EngineIORequestKind, HTTPRequestHead, key: String)
        /// Waiting for a polling session's loop to reserve its upgrade.
        case upgrading
        /// The connection is a WebSocket now; this handler has left the pipeline.
        case upgraded
    }

    /// The HTTP handlers in front of this one, taken out when the connection upgrades.
    struct HTTPHandlers {
        /// Removed last: it passes on the bytes that followed the upgrade request.
        let decoder: ByteToMessageHandler<HTTPRequestDecoder>
        let others: [RemovableChannelHandler]
    }

    private let endpoints: [EngineIOServer]
    private let fallback: (any HTTPFallbackResponder)?
    private let httpHandlers: HTTPHandlers?
    private var state: State = .idle
    private var context: ChannelHandlerContext?
    /// The request being answered is a `HEAD`: its response goes without a body (swift-nio's
    /// encoder only knows this when its decoder was created with it, which is internal).
    private var answeringHEAD = false

    init(endpoints: [EngineIOServer], fallback: (any HTTPFallbackResponder)?, httpHandlers: HTTPHandlers?) {
        self.endpoints = endpoints
        self.fallback = fallback
        self.httpHandlers = httpHandlers
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .parked(let request) = state {
            state = .idle
            request.abandoned()
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if case .discarding = state { return }  // we already answered and are closing
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            received(head: head, context: context)
        case .body(let part):
            received(body: part, context: context)
        case .end:
            receivedEnd(context: context)
        }
    }

    // MARK: - Request parts

    private func received(head: HTTPRequestHead, context: ChannelHandlerContext) {
        if case .streaming = state { return }
        answeringHEAD = head.method == .HEAD
        let target = RequestTarget(head.uri)
        guard let endpoint = endpoints.first(where: { $0.matches(path: target.path) }) else {
            state = .fallback(head, nil)
            return
        }
        let origin = head.headers.first(name: "origin")
        let upgradeHeaders = WebSocketHandshake.RequestHeaders(head.headers)
        let isWebSocketUpgrade = upgradeHeaders.isUpgrade
        let classified = EngineIORequestKind.classify(
            method: head.method,
            target: target,
            origin: origin,
            isWebSocketUpgrade: isWebSocketUpgrade,
            configuration: endpoint.configuration
        )
        switch classified {
        case .failure(let error):
            if isWebSocketUpgrade {
                abortUpgrade(error, context: context)
            } else {
                respond(error: error, head: head, endpoint: endpoint, context: context)
            }
            state = .discarding
        case .success(.upgrade(let sid)) where endpoint.session(id: sid) == nil:
            // engine.io's `verify` looks the sid up before `ws` sees the request.
            abortUpgrade(EngineIOHTTPError(.unknownSessionID), context: context)
            state = .discarding
        case .success(let kind) where kind.isWebSocket:
            // `ws`'s own checks come after Engine.IO's (engine.io `Server.handleUpgrade`
            // verifies, then delegates to `ws.handleUpgrade`).
            switch WebSocketHandshake.validate(method: head.method, headers: upgradeHeaders) {
            case .success(let key):
                state = .webSocket(endpoint, kind, head, key: key)
            case .failure(let refusal):
                var headers: HTTPHeaders = ["Content-Type": "text/html"]
                headers.add(contentsOf: refusal.extraHeaders)
                writeResponse(status: refusal.status, headers: headers, body: ByteBuffer(string: refusal.message), keepAlive: false, context: context)
                state = .discarding
            }
        case .success(let kind):
            if case .send = kind, let length = head.headers.first(name: "content-length").flatMap(Int.init),
                length > endpoint.configuration.maxPayload
            {
                refuseOversizedBody(kind: kind, head: head, endpoint: endpoint, context: context)
                return
            }
            state = .engine(endpoint, kind, head, nil)
        }
    }

    private func received(body part: ByteBuffer, context: ChannelHandlerContext) {
        switch state {
        case .engine(let endpoint, let kind, let head, var body):
            state = .responding  // avoid a copy-on-write of the accumulated body
            if body == nil { body = part } else { body!.writeImmutableBuffer(part) }
            if case .send = kind, body!.readableBytes > endpoint.configuration.maxPayload {
                refuseOversizedBody(kind: kind, head: head, endpoint: endpoint, context: context)
                return
            }
            state = .engine(endpoint, kind, head, body)
        case .fallback(let head, var body):
            state = .responding
            if body == nil { body = part } else { body!.writeImmutableBuffer(part) }
            if body!.readableBytes > 1 << 20 {
                writeResponse(status: .payloadTooLarge, headers: [:], body: nil, keepAlive: false, context: context)
                state = .discarding
                return
            }
            state = .fallback(head, body)
        default:
            break
        }
    }

    private func receivedEnd(context: ChannelHandlerContext) {
        switch state {
        case .engine(let endpoint, let kind, let head, let body):
            state = .responding
            dispatch(kind: kind, head: head, body: body, endpoint: endpoint, context: context)
        case .fallback(let head, let body):
            state = .responding
            respondWithFallback(head: head, body: body, context: context)
        case .webSocket(let endpoint, let kind, let head, let key):
            state = .upgrading
            acceptWebSocket(kind: kind, head: head, key: key, endpoint: endpoint, context: context)
        case .discarding:
            state = .idle
        default:
            break
        }
    }

    // MARK: - WebSocket

    /// What becomes of a WebSocket request.
    enum WebSocketDecision {
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

    private func acceptWebSocket(kind: EngineIORequestKind, head: HTTPRequestHead, key: String, endpoint: EngineIOServer, context: ChannelHandlerContext) {
        switch kind {
        case .upgrade(let sid):
            guard let session = endpoint.session(id: sid) else {  // closed since the request's head
                abortUpgrade(EngineIOHTTPError(.unknownSessionID), context: context)
                state = .idle
                return
            }
            if session.eventLoop.inEventLoop {
                switchToWebSocket(session.reserveUpgrade() ? .upgrade(session) : .superfluous, key: key, context: context)
                return
            }
            // The request's remaining bytes wait in the decoder meanwhile (it stops parsing
            // after an upgrade request).
            session.eventLoop.submit { session.reserveUpgrade() }
                .hop(to: context.eventLoop)
                .whenSuccess { reserved in
                    guard let context = self.context, case .upgrading = self.state else { return }
                    self.switchToWebSocket(reserved ? .upgrade(session) : .superfluous, key: key, context: context)
                }
        default:
            let handshake = EngineIOHandshake(
                uri: head.uri,
                headers: head.headers,
                remoteAddress: context.channel.remoteAddress,
                transport: .websocket
            )
            switchToWebSocket(.newSession(endpoint, handshake), key: key, context: context)
        }
    }

    /// Leaves the connection to an ``EngineIOWebSocketHandler``: the HTTP handlers are
    /// removed (synchronously: they hold nothing for an upgrade request), the 101 is written
    /// (not flushed), the WebSocket handler goes in and flushes it with its first frame, and
    /// the decoder goes last, passing the bytes it holds after the request on to the
    /// WebSocket handler.
    private func switchToWebSocket(_ decision: WebSocketDecision, key: String, context: ChannelHandlerContext) {
        guard let httpHandlers else { return }
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
        state = .upgraded
        let pipeline = context.pipeline.syncOperations
        for handler in httpHandlers.others {
            pipeline.removeHandler(handler, promise: nil)
        }
        // Written now, flushed with the WebSocket handler's first frame (one `write`).
        context.write(NIOAny(WebSocketHandshake.switchingProtocols(key: key, allocator: context.channel.allocator)), promise: nil)
        let webSocket = EngineIOWebSocketHandler(role: role, eventLoop: context.eventLoop, maxMessageSize: maxMessageSize)
        do {
            try pipeline.addHandler(webSocket)
        } catch {
            context.close(promise: nil)
            return
        }
        pipeline.removeHandler(context: context, promise: nil)
        pipeline.removeHandler(httpHandlers.decoder, promise: nil)
    }

    // MARK: - Engine.IO requests

    private func dispatch(kind: EngineIORequestKind, head: HTTPRequestHead, body: ByteBuffer?, endpoint: EngineIOServer, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive
        let cors = corsHeaders(head: head, endpoint: endpoint)
        switch kind {
        case .preflight:
            var headers = cors
            headers.add(name: "Access-Control-Allow-Methods", value: "GET, POST, OPTIONS")
            if let requested = head.headers.first(name: "access-control-request-headers") {
                headers.add(name: "Access-Control-Allow-Headers", value: requested)
            }
            headers.add(name: "Access-Control-Max-Age", value: "86400")
            finish(status: .noContent, headers: headers, body: nil, keepAlive: keepAlive, context: context)

        case .handshake(.polling):
            let handshake = EngineIOHandshake(
                uri: head.uri,
                headers: head.headers,
                remoteAddress: context.channel.remoteAddress,
                transport: .polling
            )
            let packets = endpoint.openPollingSession(handshake: handshake, eventLoop: context.eventLoop)
            let payload = PollingPayload.encode(packets, allocator: context.channel.allocator)
            finish(status: .ok, headers: cors.adding(contentType: "text/plain; charset=UTF-8"), body: payload, keepAlive: keepAlive, context: context)

        case .poll(let sid):
            guard let session = endpoint.session(id: sid) else {
                respond(error: EngineIOHTTPError(.unknownSessionID), head: head, endpoint: endpoint, context: context)
                state = .idle
                return
            }
            let request = EngineIOPollRequest(handler: self, eventLoop: context.eventLoop, session: session, corsHeaders: cors, keepAlive: keepAlive)
            state = .parked(request)
            session.onLoop { $0.pollArrived(request) }

        case .send(let sid):
            guard let session = endpoint.session(id: sid) else {
                respond(error: EngineIOHTTPError(.unknownSessionID), head: head, endpoint: endpoint, context: context)
                state = .idle
                return
            }
            let decoded: Result<[EngineIOInboundPacket], EngineIOProtocolError>
            if let body, body.readableBytes > 0 {
                do throws(EngineIOProtocolError) {
                    decoded = .success(try PollingPayload.decode(body, allocator: context.channel.allocator))
                } catch {
                    decoded = .failure(error)
                }
            } else {
                decoded = .failure(.emptyPacket)
            }
            let loop = context.eventLoop
            let deliver: @Sendable (EngineIOConnection) -> EngineIOHTTPError? = { session in
                switch decoded {
                case .success(let packets): return session.dataReceived(packets)
                case .failure:
                    session.malformedDataReceived()
                    return EngineIOHTTPError(.badRequest)
                }
            }
            let reply: @Sendable (EngineIOHTTPError?) -> Void = { error in
                guard let context = self.context else { return }
                if let error {
                    self.respond(error: error, head: head, endpoint: endpoint, context: context)
                    self.state = .idle
                } else {
                    self.finish(status: .ok, headers: cors.adding(contentType: "text/html"), body: ByteBuffer(string: "ok"), keepAlive: keepAlive, context: context)
                }
            }
            if session.eventLoop === loop {
                reply(deliver(session))
            } else {
                session.eventLoop.execute {
                    let error = deliver(session)
                    loop.execute { reply(error) }
                }
            }

        case .handshake(.websocket), .upgrade:
            // WebSocket requests are answered by `acceptWebSocket` (`kind.isWebSocket`).
            assertionFailure("a WebSocket request reached dispatch")
            respond(error: EngineIOHTTPError(.badRequest), head: head, endpoint: endpoint, context: context)
            state = .idle
        }
    }

    private func refuseOversizedBody(kind: EngineIORequestKind, head: HTTPRequestHead, endpoint: EngineIOServer, context: ChannelHandlerContext) {
        if case .send(let sid) = kind, let session = endpoint.session(id: sid) {
            session.onLoop { $0.oversizedDataReceived() }
        }
        var headers = corsHeaders(head: head, endpoint: endpoint)
        headers.add(name: "Content-Type", value: "application/json")
        // The rest of the body is not read: close the connection after the reply.
        writeResponse(status: .payloadTooLarge, headers: headers, body: ByteBuffer(string: EngineIOHTTPError.payloadTooLarge.body), keepAlive: false, context: context)
        state = .discarding
    }

    private func corsHeaders(head: HTTPRequestHead, endpoint: EngineIOServer) -> HTTPHeaders {
        var headers = HTTPHeaders()
        let origin = head.headers.first(name: "origin")
        let policy = endpoint.configuration.cors
        if let allowed = policy.allowOriginHeader(for: origin) {
            headers.add(name: "Access-Control-Allow-Origin", value: allowed)
            if policy.allowCredentials, allowed != "*" {
                headers.add(name: "Access-Control-Allow-Credentials", value: "true")
            }
            if origin != nil { headers.add(name: "Vary", value: "Origin") }
        }
        return headers
    }

    /// A WebSocket request Engine.IO refuses, answered as the reference server answers it
    /// (engine.io `abortUpgrade` in `lib/server.ts`): 400 whatever the error code, the
    /// error's message as a `text/html` body (not the JSON of a polling error), no CORS
    /// headers, and the connection closed.
    private func abortUpgrade(_ error: EngineIOHTTPError, context: ChannelHandlerContext) {
        writeResponse(status: .badRequest, headers: ["Content-Type": "text/html"], body: ByteBuffer(string: error.message), keepAlive: false, context: context)
    }

    private func respond(error: EngineIOHTTPError, head: HTTPRequestHead, endpoint: EngineIOServer, context: ChannelHandlerContext) {
        var headers = corsHeaders(head: head, endpoint: endpoint)
        headers.add(name: "Content-Type", value: "application/json")
        writeResponse(status: error.status, headers: headers, body: ByteBuffer(string: error.body), keepAlive: head.isKeepAlive, context: context)
    }

    // MARK: - Fallback

    private func respondWithFallback(head: HTTPRequestHead, body: ByteBuffer?, context: ChannelHandlerContext) {
        guard let fallback else {
            finish(status: .notFound, headers: ["Content-Type": "text/plain; charset=utf-8"], body: ByteBuffer(string: "Not Found\n"), keepAlive: head.isKeepAlive, context: context)
            return
        }
        let keepAlive = head.isKeepAlive
        fallback.respond(to: head, body: body, remoteAddress: context.channel.remoteAddress, eventLoop: context.eventLoop)
            .hop(to: context.eventLoop)
            .whenComplete { result in
                guard let context = self.context else { return }
                switch result {
                case .success(let response) where response.stream != nil && !self.answeringHEAD:
                    self.state = .streaming
                    var headers = response.headers
                    headers.remove(name: "Content-Length")
                    let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
                    context.writeAndFlush(self.wrapOutboundOut(.head(head)), promise: nil)
                    response.stream?(HTTPResponseStream(channel: context.channel))
                case .success(let response):
                    self.finish(status: response.status, headers: response.headers, body: response.body, keepAlive: keepAlive, context: context)
                case .failure:
                    self.finish(status: .internalServerError, headers: [:], body: nil, keepAlive: false, context: context)
                }
            }
    }

    // MARK: - Writing

    /// Writes a response and returns to idle.
    private func finish(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer?, keepAlive: Bool, context: ChannelHandlerContext) {
        state = .idle
        writeResponse(status: status, headers: headers, body: body, keepAlive: keepAlive, context: context)
    }

    private func writeResponse(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer?, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Length", value: String(body?.readableBytes ?? 0))
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body, body.readableBytes > 0, !answeringHEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in boundContext.value.close(promise: nil) }
        }
    }

    // MARK: - Called by poll requests (on this handler's loop)

    func completePoll(_ request: EngineIOPollRequest, status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) {
        guard let context, case .parked(let parked) = state, parked === request else { return }
        finish(status: status, headers: headers, body: body, keepAlive: request.keepAlive, context: context)
    }
}

/// A long poll waiting in its session. Answered once, from any thread.
final class EngineIOPollRequest: @unchecked Sendable {
    private let handler: EngineIOHTTPHandler
    private let eventLoop: EventLoop
    private let session: EngineIOConnection
    private let corsHeaders: HTTPHeaders
    let keepAlive: Bool

    init(handler: EngineIOHTTPHandler, eventLoop: EventLoop, session: EngineIOConnection, corsHeaders: HTTPHeaders, keepAlive: Bool) {
        self.handler = handler
        self.eventLoop = eventLoop
        self.session = session
        self.corsHeaders = corsHeaders
        self.keepAlive = keepAlive
    }

    /// Answers 200 with the packets as a polling payload.
    func respond(_ packets: [EngineIOOutboundPacket]) {
        let body = PollingPayload.encode(packets, allocator: ByteBufferAllocator())
        let headers = corsHeaders.adding(contentType: "text/plain; charset=UTF-8")
        onHandlerLoop { $0.completePoll(self, status: .ok, headers: headers, body: body) }
    }

    /// Answers with an Engine.IO error.
    func reject(_ error: EngineIOHTTPError) {
        let headers = corsHeaders.adding(contentType: "application/json")
        onHandlerLoop { $0.completePoll(self, status: error.status, headers: headers, body: ByteBuffer(string: error.body)) }
    }

    /// The HTTP connection closed while the poll was parked.
    func abandoned() {
        session.onLoop { $0.pollAbandoned(self) }
    }

    private func onHandlerLoop(_ body: @escaping @Sendable (EngineIOHTTPHandler) -> Void) {
        if eventLoop.inEventLoop {
            body(handler)
        } else {
            eventLoop.execute { body(self.handler) }
        }
    }
}

extension EngineIOConnection {
    /// Runs `body` on the session's loop (now, if already there).
    func onLoop(_ body: @escaping @Sendable (EngineIOConnection) -> Void) {
        if eventLoop.inEventLoop {
            body(self)
        } else {
            eventLoop.execute { body(self) }
        }
    }
}

extension HTTPHeaders {
    func adding(contentType: String) -> HTTPHeaders {
        var headers = self
        headers.add(name: "Content-Type", value: contentType)
        return headers
    }
}
