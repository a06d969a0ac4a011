import NIOCore
import NIOWebSocket

/// The WebSocket transport of one session: turns frames into Engine.IO packets and packets
/// into frames.
///
/// Lives on its channel's event loop, which may differ from the session's when a polling
/// session upgrades; packets hop to the session's loop and frames hop back.
final class EngineIOWebSocketHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    enum Role {
        /// A new session starts on this WebSocket.
        case newSession(EngineIOServer, EngineIOHandshake)
        /// This WebSocket upgrades an existing polling session.
        case upgrade(EngineIOConnection)
    }

    private let role: Role
    /// The channel's event loop; fixed at creation so other loops can hop to it.
    let eventLoop: EventLoop
    private var context: ChannelHandlerContext?
    private var session: EngineIOConnection?
    private var closeSent = false
    private var reportedClosed = false

    init(role: Role, eventLoop: EventLoop) {
        self.role = role
        self.eventLoop = eventLoop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    private func start(context: ChannelHandlerContext) {
        switch role {
        case .newSession(let endpoint, let handshake):
            session = endpoint.openWebSocketSession(on: self, handshake: handshake, eventLoop: context.eventLoop)
        case .upgrade(let session):
            self.session = session
            onSessionLoop(session) { $0.attachProbe(self) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let session else { return }
        // Closing: only the peer's close frame matters now.
        if closeSent, frame.opcode != .connectionClose { return }
        switch frame.opcode {
        case .text:
            let packet: EngineIOInboundPacket
            do {
                packet = try EngineIOInboundPacket.decodeText(frame.unmaskedData)
            } catch {
                onSessionLoop(session) { $0.webSocketMalformed(from: self) }
                return
            }
            onSessionLoop(session) { $0.webSocketReceived(packet, from: self) }
        case .binary:
            let packet = EngineIOInboundPacket(type: .message, payload: .binary(frame.unmaskedData))
            onSessionLoop(session) { $0.webSocketReceived(packet, from: self) }
        case .ping:
            var data = frame.unmaskedData
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: data.readSlice(length: data.readableBytes) ?? ByteBuffer())
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            // Echo the close handshake (or, if we started it, this completes it), then hang up.
            if closeSent {
                context.close(promise: nil)
            } else {
                sendCloseFrame(context: context, code: .normalClosure)
            }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        reportClosed(error: false)
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error {
        case let error as NIOWebSocketError:
            // An oversized or malformed frame: say why, then close cleanly.
            reportClosed(error: true)
            sendCloseFrame(context: context, code: error == .invalidFrameLength ? .messageTooLarge : .protocolError)
        case let error as NIOWebSocketFrameAggregator.Error:
            reportClosed(error: true)
            sendCloseFrame(context: context, code: error == .accumulatedFrameSizeIsTooLarge ? .messageTooLarge : .protocolError)
        case ByteToMessageDecoderError.dataReceivedInErrorState:
            // The rest of a refused frame, arriving while we wait for the peer to close.
            break
        default:
            reportClosed(error: true)
            context.close(promise: nil)
        }
    }

    private func reportClosed(error: Bool) {
        guard !reportedClosed, let session else { return }
        reportedClosed = true
        onSessionLoop(session) { $0.webSocketClosed(self, error: error) }
    }

    private func onSessionLoop(_ session: EngineIOConnection, _ body: @escaping @Sendable (EngineIOConnection) -> Void) {
        if session.eventLoop.inEventLoop {
            body(session)
        } else {
            session.eventLoop.execute { body(session) }
        }
    }

    // MARK: - Called by the session

    /// Writes one packet as a frame.
    func write(_ packet: EngineIOOutboundPacket) {
        if eventLoop.inEventLoop {
            writeNow(packet)
        } else {
            eventLoop.execute { self.writeNow(packet) }
        }
    }

    private func writeNow(_ packet: EngineIOOutboundPacket) {
        guard let context, !closeSent else { return }
        let frame: WebSocketFrame
        switch packet.storage {
        case .text(let buffer): frame = WebSocketFrame(fin: true, opcode: .text, data: buffer)
        case .binary(let bytes): frame = WebSocketFrame(fin: true, opcode: .binary, data: bytes)
        }
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    /// Ends the WebSocket with a close frame (the session is already closed or detached).
    func close() {
        if eventLoop.inEventLoop {
            closeNow()
        } else {
            eventLoop.execute { self.closeNow() }
        }
    }

    private func closeNow() {
        reportedClosed = true
        if let context { sendCloseFrame(context: context, code: .normalClosure) }
    }

    /// The closing handshake: send the close frame, stop sending (FIN), and keep reading
    /// (discarding) until the peer closes or `closeTimeout` passes. Closing at once with
    /// unread input would make the kernel reset the connection and the peer would never
    /// see the close frame and its code (1009 for an oversized message, say).
    private func sendCloseFrame(context: ChannelHandlerContext, code: WebSocketErrorCode) {
        guard !closeSent else {
            context.close(promise: nil)
            return
        }
        closeSent = true
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            boundContext.value.close(mode: .output, promise: nil)
        }
        context.eventLoop.scheduleTask(in: Self.closeTimeout) {
            boundContext.value.close(promise: nil)
        }
    }

    static let closeTimeout: TimeAmount = .seconds(2)
}
