import NIOCore

/// The WebSocket transport of one session: turns the bytes of WebSocket frames into
/// Engine.IO packets and packets into frames.
///
/// It does the framing itself (``WebSocketMessageParser``, ``WebSocketFrameWriter``) on raw
/// bytes; ``EngineIOHTTPHandler`` answers the opening handshake and installs it as the
/// connection's only handler. Lives on its channel's event loop, which may differ from the
/// session's when a polling session upgrades; packets hop to the session's loop and frames
/// hop back.
final class EngineIOWebSocketHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Role {
        /// A new session starts on this WebSocket.
        case newSession(EngineIOServer, EngineIOHandshake)
        /// This WebSocket upgrades an existing polling session.
        case upgrade(EngineIOConnection)
        /// This WebSocket names a session that has already upgraded (or is upgrading on
        /// another WebSocket). As the reference server does, the handshake completes and the
        /// socket is closed at once, leaving the session's transport untouched.
        case superfluous
    }

    private let role: Role
    /// The channel's event loop; fixed at creation so other loops can hop to it.
    let eventLoop: EventLoop
    private var context: ChannelHandlerContext?
    private var session: EngineIOConnection?
    private var closeSent = false
    private var reportedClosed = false

    private var parser: WebSocketMessageParser
    /// Set once the input can no longer be parsed; the rest is discarded.
    private var inputFailed = false
    /// Reused for every outgoing frame: once the socket has taken a frame the buffer is
    /// uniquely ours again.
    private var scratch = ReusableBuffer()
    /// While a read is being handled (or another ``coalescingFlushes(_:)`` body runs), frames
    /// are written but not flushed: everything the read produced for this connection (a
    /// recovered socket's missed packets and its CONNECT reply, acks of several pipelined
    /// events, pongs) leaves in one `writev`.
    private var corked = false
    private var flushPending = false

    /// Frames up to this payload size are copied with their header into one buffer (one
    /// `write`); larger ones go out as header plus the payload buffer, uncopied.
    static let copyLimit = 16 * 1024

    init(role: Role, eventLoop: EventLoop, maxMessageSize: Int) {
        self.role = role
        self.eventLoop = eventLoop
        self.parser = WebSocketMessageParser(maxMessageSize: maxMessageSize)
    }

    /// Starts the session. The first frame (the open packet, or the close frame of a
    /// superfluous WebSocket) is flushed once `start` is done, together with the 101 that
    /// ``EngineIOHTTPHandler`` wrote just before adding this handler.
    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        guard context.channel.isActive else { return }
        coalescingFlushes {
            flushPending = true
            start(context: context)
        }
    }

    private func start(context: ChannelHandlerContext) {
        switch role {
        case .newSession(let endpoint, let handshake):
            session = endpoint.openWebSocketSession(on: self, handshake: handshake, eventLoop: context.eventLoop)
        case .upgrade(let session):
            self.session = session
            onSessionLoop(session) { $0.attachProbe(self) }
        case .superfluous:
            closeNow()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !inputFailed else { return }
        parser.append(unwrapInboundIn(data))
        coalescingFlushes {
            readMessages(context: context)
        }
    }

    private func readMessages(context: ChannelHandlerContext) {
        do throws(WebSocketMessageParser.Failure) {
            while let message = try parser.next() {
                received(message, context: context)
            }
        } catch {
            // An oversized or malformed frame: say why, then close cleanly. What follows
            // cannot be framed any more and is discarded.
            inputFailed = true
            reportClosed(error: true)
            sendCloseFrame(context: context, code: error.closeCode)
        }
    }

    private func received(_ message: WebSocketMessageParser.Message, context: ChannelHandlerContext) {
        guard let session else { return }
        // Closing: only the peer's close frame matters now.
        if closeSent {
            guard case .close = message else { return }
        }
        switch message {
        case .text(let text):
            let packet: EngineIOInboundPacket
            do {
                packet = try EngineIOInboundPacket.decodeText(text)
            } catch {
                onSessionLoop(session) { $0.webSocketMalformed(from: self) }
                return
            }
            // Not through `onSessionLoop`: its escaping closure would be a heap allocation
            // per message even when it runs at once.
            if session.eventLoop.inEventLoop {
                session.webSocketReceived(packet, from: self)
            } else {
                onSessionLoop(session) { $0.webSocketReceived(packet, from: self) }
            }
        case .binary(let bytes):
            let packet = EngineIOInboundPacket(type: .message, payload: .binary(bytes))
            onSessionLoop(session) { $0.webSocketReceived(packet, from: self) }
        case .ping(let data):
            writeFrame(opcode: 0xA, payload: data, context: context)
        case .pong:
            break
        case .close:
            // Echo the close handshake (or, if we started it, this completes it), then hang up.
            if closeSent {
                context.close(promise: nil)
            } else {
                sendCloseFrame(context: context, code: 1000)
            }
        }
    }

    /// Runs `body` with flushes held back to its end (nested calls join the outer one). On the loop.
    func coalescingFlushes(_ body: () -> Void) {
        eventLoop.assertInEventLoop()
        if corked { return body() }
        corked = true
        defer {
            corked = false
            if flushPending {
                flushPending = false
                context?.flush()
            }
        }
        body()
    }

    /// Writes a frame; flushes it now, or at the end of the read being handled.
    private func send(_ frame: ByteBuffer, context: ChannelHandlerContext) {
        if corked {
            context.write(wrapOutboundOut(frame), promise: nil)
            flushPending = true
        } else {
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        reportClosed(error: false)
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        reportClosed(error: true)
        context.close(promise: nil)
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
        switch packet.storage {
        case .text(let buffer): writeFrame(opcode: 0x1, payload: buffer, context: context)
        case .binary(let bytes): writeFrame(opcode: 0x2, payload: bytes, context: context)
        }
    }

    /// Writes and flushes (see ``send(_:context:)``) one text frame whose payload `write` appends, on the loop. The
    /// payload is written after room for the longest header; the header then goes in
    /// front of it, so nothing is copied.
    func writeText(capacity: Int, _ write: (inout ByteBuffer) -> Void) {
        eventLoop.assertInEventLoop()
        guard let context, !closeSent else { return }
        let room = WebSocketFrameWriter.maxHeaderLength
        var frame = scratch.take(minimumCapacity: room + capacity)
        frame.moveWriterIndex(forwardBy: room)
        frame.moveReaderIndex(forwardBy: room)
        write(&frame)
        let headerStart = room - WebSocketFrameWriter.headerLength(payload: frame.readableBytes)
        WebSocketFrameWriter.setHeader(opcode: 0x1, payloadLength: frame.readableBytes, in: &frame, at: headerStart)
        frame.moveReaderIndex(to: headerStart)
        scratch.keep(frame)
        send(frame, context: context)
    }

    /// Writes and flushes one final, unmasked frame.
    private func writeFrame(opcode: UInt8, payload: ByteBuffer, context: ChannelHandlerContext) {
        let length = payload.readableBytes
        let headerLength = WebSocketFrameWriter.headerLength(payload: length)
        if length > Self.copyLimit {
            var header = context.channel.allocator.buffer(capacity: headerLength)
            WebSocketFrameWriter.writeHeader(opcode: opcode, payloadLength: length, into: &header)
            context.write(wrapOutboundOut(header), promise: nil)
            send(payload, context: context)
            return
        }
        var frame = scratch.take(minimumCapacity: headerLength + length)
        WebSocketFrameWriter.writeHeader(opcode: opcode, payloadLength: length, into: &frame)
        frame.writeImmutableBuffer(payload)
        scratch.keep(frame)
        send(frame, context: context)
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
        if let context { sendCloseFrame(context: context, code: 1000) }
    }

    /// The closing handshake: send the close frame, stop sending (FIN), and keep reading
    /// (discarding) until the peer closes or `closeTimeout` passes. Closing at once with
    /// unread input would make the kernel reset the connection and the peer would never
    /// see the close frame and its code (1009 for an oversized message, say).
    private func sendCloseFrame(context: ChannelHandlerContext, code: UInt16) {
        guard !closeSent else {
            context.close(promise: nil)
            return
        }
        closeSent = true
        scratch.release()
        var frame = context.channel.allocator.buffer(capacity: 4)
        WebSocketFrameWriter.writeHeader(opcode: 0x8, payloadLength: 2, into: &frame)
        frame.writeInteger(code)
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
