import Logging
import NIOCore

/// One Engine.IO session: the state machine plus the transports it drives.
///
/// Confined to ``eventLoop``: the public methods may be called from anywhere (they hop),
/// everything else runs on the loop. The state lives in ``EngineIOSessionStateMachine``;
/// this class only performs the actions it returns.
public final class EngineIOConnection: @unchecked Sendable, EventLoopTimerTarget {
    /// The session id (`sid`).
    public let id: String
    public let eventLoop: EventLoop
    public let handshake: EngineIOHandshake
    /// The endpoint's timer queue for this event loop, for layers above that need deadlines.
    public let timers: EventLoopTimerQueue

    private var machine: EngineIOSessionStateMachine
    unowned let endpoint: EngineIOServer
    private var handler: (any EngineIOConnectionHandler)?

    private var parkedPoll: EngineIOPollRequest?
    private var webSocket: EngineIOWebSocketHandler?
    private var probe: EngineIOWebSocketHandler?

    private var timerToken: UInt64 = 0
    /// Released when the session leaves its endpoint (``leaveEndpoint()``).
    private lazy var timerSlot = EventLoopTimerSlot(target: self)
    private var armedDeadline: NIODeadline?

    init(
        id: String,
        eventLoop: EventLoop,
        handshake: EngineIOHandshake,
        timing: EngineIOSessionStateMachine.Timing,
        endpoint: EngineIOServer,
        timers: EventLoopTimerQueue
    ) {
        self.id = id
        self.eventLoop = eventLoop
        self.handshake = handshake
        self.endpoint = endpoint
        self.timers = timers
        self.machine = EngineIOSessionStateMachine(transport: handshake.transport, timing: timing, now: eventLoop.now)
    }

    /// The transport currently carrying the session.
    public var transport: EngineIOTransportKind {
        eventLoop.assertInEventLoop()
        return machine.transport
    }

    public var isOpen: Bool {
        eventLoop.assertInEventLoop()
        return machine.isOpen
    }

    // MARK: - Public API

    /// Sends a message; dropped silently once the session is closed.
    public func send(_ message: OutboundMessage) {
        if eventLoop.inEventLoop {
            perform(machine.send(message.packet))
        } else {
            eventLoop.execute { self.perform(self.machine.send(message.packet)) }
        }
    }

    /// Sends a text message whose content `write` appends (after the `4` type digit) —
    /// the same as ``send(_:)`` with ``OutboundMessage/text(allocator:capacity:_:)``, but
    /// on the WebSocket transport, called on the loop, the content is written straight
    /// into the outgoing frame: no message buffer in between. `capacity` is a hint.
    public func sendText(capacity: Int, _ write: (inout ByteBuffer) -> Void) {
        if eventLoop.inEventLoop, machine.sendsDirectlyOverWebSocket, let webSocket, webSocket.eventLoop.inEventLoop {
            webSocket.writeText(capacity: capacity + 1) { buffer in
                buffer.writeInteger(EngineIOPacketType.message.digit)
                write(&buffer)
            }
        } else {
            send(OutboundMessage.text(capacity: capacity, write))
        }
    }

    /// Runs `body`; what it sends over the WebSocket leaves in one flush at its end instead
    /// of one per message (a recovered socket's missed packets and its CONNECT reply, say).
    /// Inside the handling of a read this is already so. On the loop.
    public func coalescingFlushes(_ body: () -> Void) {
        eventLoop.assertInEventLoop()
        if let webSocket, webSocket.eventLoop.inEventLoop {
            webSocket.coalescingFlushes(body)
        } else {
            body()
        }
    }

    /// Closes the session (reason `forced close` unless given).
    public func close(reason: EngineIOCloseReason = .forcedClose) {
        if eventLoop.inEventLoop {
            closeSession(reason)
        } else {
            eventLoop.execute { self.closeSession(reason) }
        }
    }

    // MARK: - Start

    /// Binds the application and returns the packets for the handshake response (the open
    /// packet, plus anything the application sent while opening).
    func start(application: any EngineIOApplication, openPacket: EngineIOOutboundPacket) -> [EngineIOOutboundPacket] {
        eventLoop.assertInEventLoop()
        handler = application.sessionOpened(self)
        updateTimer()
        return [openPacket] + machine.handshakeResponded()
    }

    /// Attaches the WebSocket of a session that started on WebSocket.
    func attachInitialWebSocket(_ socket: EngineIOWebSocketHandler, openPacket: EngineIOOutboundPacket) {
        eventLoop.assertInEventLoop()
        webSocket = socket
        socket.write(openPacket)
    }

    // MARK: - Polling

    func pollArrived(_ request: EngineIOPollRequest) {
        eventLoop.assertInEventLoop()
        runDueDeadlines(now: eventLoop.now)
        switch machine.pollRequestArrived() {
        case .respond(let packets):
            request.respond(packets)
        case .park:
            parkedPoll = request
        case .rejectDuplicate(let close):
            request.reject(EngineIOHTTPError(.badRequest))
            perform(close)
        case .rejectTransportMismatch:
            request.reject(EngineIOHTTPError(.badRequest))
        case .respondAndFinish(let packets):
            request.respond(packets)
            leaveEndpoint()
        case .rejectClosed:
            request.reject(EngineIOHTTPError(.unknownSessionID))
        }
        updateTimer()
    }

    func pollAbandoned(_ request: EngineIOPollRequest) {
        eventLoop.assertInEventLoop()
        guard parkedPoll === request else { return }
        parkedPoll = nil
        perform(machine.parkedPollAbandoned())
    }

    /// A POST body, already decoded. Returns the reply for the POST.
    func dataReceived(_ packets: [EngineIOInboundPacket]) -> EngineIOHTTPError? {
        eventLoop.assertInEventLoop()
        let now = eventLoop.now
        runDueDeadlines(now: now)
        guard machine.isOpen else {
            updateTimer()
            return EngineIOHTTPError(.unknownSessionID)
        }
        guard machine.transport == .polling else { return EngineIOHTTPError(.badRequest) }
        for packet in packets {
            guard machine.isOpen else { break }
            handle(machine.packetReceived(packet, now: now))
        }
        updateTimer()
        return nil
    }

    /// A POST body that is not Engine.IO.
    func malformedDataReceived() {
        eventLoop.assertInEventLoop()
        perform(machine.malformedDataReceived())
    }

    /// A POST body over `maxPayload`.
    func oversizedDataReceived() {
        eventLoop.assertInEventLoop()
        closeSession(.transportError)
    }

    // MARK: - WebSocket

    /// A WebSocket with this sid wants to attach as the upgrade transport.
    func reserveUpgrade() -> Bool {
        eventLoop.assertInEventLoop()
        let accepted = machine.upgradeRequested(now: eventLoop.now)
        updateTimer()
        return accepted
    }

    func attachProbe(_ socket: EngineIOWebSocketHandler) {
        eventLoop.assertInEventLoop()
        guard machine.isUpgrading, probe == nil else {
            socket.close()
            return
        }
        probe = socket
    }

    func webSocketReceived(_ packet: EngineIOInboundPacket, from socket: EngineIOWebSocketHandler) {
        eventLoop.assertInEventLoop()
        if socket === webSocket {
            handle(machine.packetReceived(packet, now: eventLoop.now))
        } else if socket === probe {
            switch machine.probePacketReceived(packet) {
            case .answerProbe(let release):
                socket.write(.probePong)
                if release { releaseParkedPoll() }
            case .completeUpgrade(let release, let flush):
                if release { releaseParkedPoll() }
                probe = nil
                webSocket = socket
                for packet in flush { socket.write(packet) }
                handler?.transportChanged(to: .websocket)
            case .abortUpgrade:
                probe = nil
                socket.close()
            case .ignore:
                break
            }
        }
        updateTimer()
    }

    func webSocketMalformed(from socket: EngineIOWebSocketHandler) {
        eventLoop.assertInEventLoop()
        if socket === webSocket {
            perform(machine.malformedDataReceived())
        } else if socket === probe {
            probe = nil
            machine.probeTransportClosed()
            socket.close()
        }
    }

    func webSocketClosed(_ socket: EngineIOWebSocketHandler, error: Bool) {
        eventLoop.assertInEventLoop()
        if socket === webSocket {
            webSocket = nil
            perform(machine.close(error ? .transportError : .transportClose))
        } else if socket === probe {
            probe = nil
            machine.probeTransportClosed()
        }
    }

    // MARK: - Timers

    /// The session is over: out of the endpoint's table, and no deadline keeps it alive.
    private func leaveEndpoint() {
        endpoint.remove(self)
        timerSlot.release()
    }

    public func timerFired(token: UInt64, now: NIODeadline) {
        guard token == timerToken else { return }
        armedDeadline = nil
        runDueDeadlines(now: now)
        updateTimer()
    }

    /// Performs whatever fell due by `now`. Also called when a request arrives, so that it
    /// meets the session as its deadlines say, whether or not the timer has fired yet (a
    /// poll that arrives after the pong was due finds the session closed by `ping timeout`).
    private func runDueDeadlines(now: NIODeadline) {
        loop: while true {
            switch machine.deadlineReached(now: now) {
            case .none:
                break loop
            case .sendPing(let action):
                perform(action)
            case .abortUpgrade:
                probe?.close()
                probe = nil
            case .close(let action):
                perform(action)
            case .finishClosing:
                leaveEndpoint()
            }
        }
    }

    private func updateTimer() {
        guard let next = machine.nextDeadline else {
            armedDeadline = nil
            return
        }
        // A later deadline needs no new entry: the armed one fires early, finds nothing
        // due, and re-arms. Only an earlier deadline is scheduled now.
        if let armedDeadline, armedDeadline <= next { return }
        timerToken &+= 1
        armedDeadline = next
        timers.schedule(at: next, slot: timerSlot, token: timerToken)
    }

    // MARK: - Performing actions

    private func perform(_ action: EngineIOSessionStateMachine.SendAction) {
        switch action {
        case .writeWebSocket(let packet):
            webSocket?.write(packet)
        case .respondToPoll(let packets):
            let request = parkedPoll
            parkedPoll = nil
            request?.respond(packets)
        case .queued, .dropped:
            break
        }
    }

    private func handle(_ action: EngineIOSessionStateMachine.InboundAction) {
        switch action {
        case .deliverText(let text): handler?.didReceive(text: text)
        case .deliverBinary(let bytes): handler?.didReceive(binary: bytes)
        case .ignore: break
        case .close(let close): perform(close)
        }
    }

    private func releaseParkedPoll() {
        let request = parkedPoll
        parkedPoll = nil
        request?.respond([.noop])
    }

    /// The one way a session ends.
    private func closeSession(_ reason: EngineIOCloseReason) {
        eventLoop.assertInEventLoop()
        perform(machine.close(reason, now: eventLoop.now))
    }

    private func perform(_ action: EngineIOSessionStateMachine.CloseAction) {
        guard case .closed(let reason, let answer, let closeWebSocket, let closeProbe, let awaitFinalPoll) = action
        else { return }
        if let answer {
            let request = parkedPoll
            parkedPoll = nil
            request?.respond(answer)
        }
        if closeWebSocket { webSocket?.close() }
        if closeProbe { probe?.close() }
        webSocket = nil
        probe = nil
        if !awaitFinalPoll { leaveEndpoint() }
        updateTimer()
        let handler = self.handler
        self.handler = nil
        endpoint.logger.debug(
            "session closed",
            metadata: ["eio.sid": "\(id)", "eio.reason": "\(reason.rawValue)"]
        )
        handler?.didClose(reason: reason)
    }
}
