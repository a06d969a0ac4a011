import NIOCore

/// The protocol state of one Engine.IO session, as a value.
///
/// Every event is a `mutating func` named for what happened; each returns what the caller
/// must do (respond to a poll, write a frame, close). It reads no clock (the caller passes
/// `now`), owns no I/O and no timers (the caller asks ``nextDeadline`` and calls
/// ``deadlineReached(now:)``), so tests drive it directly.
///
/// Transports: a session starts on polling or on WebSocket. A polling session may be
/// upgraded: a second transport (the *probe* WebSocket) attaches, sends `2probe` (answered
/// `3probe`, while a parked poll is released with `6`), then `5`; from then on the
/// WebSocket is the transport and packets queued meanwhile go out on it, in order.
public struct EngineIOSessionStateMachine: Sendable {
    public struct Timing: Sendable, Hashable {
        public var pingInterval: TimeAmount
        public var pingTimeout: TimeAmount
        public var upgradeTimeout: TimeAmount

        public init(pingInterval: TimeAmount, pingTimeout: TimeAmount, upgradeTimeout: TimeAmount) {
            self.pingInterval = pingInterval
            self.pingTimeout = pingTimeout
            self.upgradeTimeout = upgradeTimeout
        }
    }

    enum Heartbeat: Sendable, Hashable {
        /// The next ping is due at the deadline.
        case waitingToPing(NIODeadline)
        /// A ping is out; the pong is due by the deadline.
        case awaitingPong(NIODeadline)
    }

    enum Upgrade: Sendable, Hashable {
        case none
        /// A WebSocket is attached and has not sent `2probe` yet.
        case attached(deadline: NIODeadline)
        /// `3probe` was sent; waiting for `5`.
        case probed(deadline: NIODeadline)
    }

    enum Lifecycle: Sendable, Hashable {
        case open
        /// Closed for the application; the polling client still gets queued packets and
        /// a close packet on its next poll, until the deadline.
        case closing(EngineIOCloseReason, deadline: NIODeadline)
        case closed(EngineIOCloseReason)
    }

    public let timing: Timing
    public private(set) var transport: EngineIOTransportKind
    private(set) var upgrade: Upgrade = .none
    private(set) var heartbeat: Heartbeat
    private(set) var lifecycle: Lifecycle = .open
    /// Whether a GET is parked, waiting for packets (polling only).
    public private(set) var hasParkedPoll = false
    /// Packets waiting for a poll, or for the upgrade to complete. An array, not a ring
    /// buffer: it is only appended to and taken whole, and an empty array allocates nothing
    /// (a WebSocket session, i.e. almost every session, never queues a packet).
    private(set) var outbox: [EngineIOOutboundPacket] = []

    /// The queued packets, leaving the queue empty.
    private mutating func takeOutbox() -> [EngineIOOutboundPacket] {
        defer { outbox = [] }
        return outbox
    }

    public init(transport: EngineIOTransportKind, timing: Timing, now: NIODeadline) {
        self.transport = transport
        self.timing = timing
        self.heartbeat = .waitingToPing(now + timing.pingInterval)
    }

    /// Whether the session is still open for the application.
    public var isOpen: Bool {
        if case .open = lifecycle { return true }
        return false
    }

    /// Whether the session is gone for good (not even a final poll is expected).
    public var isFinished: Bool {
        if case .closed = lifecycle { return true }
        return false
    }

    public var isUpgrading: Bool { upgrade != .none }

    /// The earliest moment at which ``deadlineReached(now:)`` has something to do.
    public var nextDeadline: NIODeadline? {
        switch lifecycle {
        case .closed: return nil
        case .closing(_, let deadline): return deadline
        case .open: break
        }
        let heartbeatDeadline: NIODeadline
        switch heartbeat {
        case .waitingToPing(let deadline), .awaitingPong(let deadline): heartbeatDeadline = deadline
        }
        switch upgrade {
        case .none: return heartbeatDeadline
        case .attached(let deadline), .probed(let deadline): return min(heartbeatDeadline, deadline)
        }
    }

    // MARK: - Outbound

    public enum SendAction: Sendable, Equatable {
        /// Write the packet as a WebSocket frame.
        case writeWebSocket(EngineIOOutboundPacket)
        /// Answer the parked poll with these packets.
        case respondToPoll([EngineIOOutboundPacket])
        /// Queued until the next poll (or the end of an upgrade).
        case queued
        /// The session is closed; nothing is sent.
        case dropped
    }

    /// Whether ``send(_:)`` would hand a packet straight to the WebSocket now (the session
    /// is open on it), so a sender may write the packet into the frame directly.
    public var sendsDirectlyOverWebSocket: Bool {
        guard case .open = lifecycle, case .websocket = transport else { return false }
        return true
    }

    /// The application (or the heartbeat) sends a packet.
    public mutating func send(_ packet: EngineIOOutboundPacket) -> SendAction {
        guard case .open = lifecycle else { return .dropped }
        switch transport {
        case .websocket:
            return .writeWebSocket(packet)
        case .polling:
            if hasParkedPoll {
                hasParkedPoll = false
                var packets = takeOutbox()
                packets.append(packet)
                return .respondToPoll(packets)
            }
            outbox.append(packet)
            return .queued
        }
    }

    // MARK: - Polling requests

    public enum PollAction: Sendable, Equatable {
        /// Respond 200 with these packets.
        case respond([EngineIOOutboundPacket])
        /// Keep the request open until there is something to send.
        case park
        /// A second GET while one is parked: the new one gets a 400 and the session closes
        /// (the parked poll receives the close packet).
        case rejectDuplicate(CloseAction)
        /// The session is not on polling (it was upgraded): respond 400 `Bad request`.
        case rejectTransportMismatch
        /// Respond with these packets, then the session is gone.
        case respondAndFinish([EngineIOOutboundPacket])
        /// The session is closed: respond 400 `Session ID unknown`.
        case rejectClosed
    }

    /// A GET arrived for this session.
    public mutating func pollRequestArrived() -> PollAction {
        switch lifecycle {
        case .closed:
            return .rejectClosed
        case .closing(let reason, _):
            // A server-side close delivers what was queued and the close packet; the
            // client's own close answers the poll that raced it with a noop.
            var packets = takeOutbox()
            packets.append(reason == .transportClose ? .noop : .close)
            lifecycle = .closed(reason)
            return .respondAndFinish(packets)
        case .open:
            break
        }
        guard transport == .polling else { return .rejectTransportMismatch }
        if hasParkedPoll {
            // close() answers the parked poll with the close packet.
            return .rejectDuplicate(close(.transportError))
        }
        if !outbox.isEmpty {
            let packets = takeOutbox()
            return .respond(packets)
        }
        if case .probed = upgrade {
            // The client is pausing polling to finish the upgrade: release it at once.
            return .respond([.noop])
        }
        hasParkedPoll = true
        return .park
    }

    /// The packets to append to a polling handshake response (sent while opening).
    public mutating func handshakeResponded() -> [EngineIOOutboundPacket] {
        guard transport == .polling else { return [] }
        let packets = takeOutbox()
        return packets
    }

    /// The connection of the parked GET went away before it was answered.
    public mutating func parkedPollAbandoned() -> CloseAction {
        guard hasParkedPoll else { return .none }
        hasParkedPoll = false
        return close(.transportError)
    }

    // MARK: - Inbound packets

    public enum InboundAction: Sendable, Equatable {
        case deliverText(ByteBuffer)
        case deliverBinary(ByteBuffer)
        case ignore
        case close(CloseAction)
    }

    /// A packet arrived on the session's transport (a POST part, or a WebSocket frame
    /// once the WebSocket is the transport). `now` is read only for a pong or a close: a
    /// message, nearly every packet, needs no clock.
    public mutating func packetReceived(_ packet: EngineIOInboundPacket, now: @autoclosure () -> NIODeadline) -> InboundAction {
        guard case .open = lifecycle else { return .ignore }
        switch packet.type {
        case .message:
            switch packet.payload {
            case .text(let text): return .deliverText(text)
            case .binary(let bytes): return .deliverBinary(bytes)
            }
        case .pong:
            heartbeat = .waitingToPing(now() + timing.pingInterval)
            return .ignore
        case .close:
            return .close(close(.transportClose, now: now()))
        case .ping:
            // Engine.IO v4 heartbeats go from server to client only.
            return .close(close(.transportError))
        case .open, .upgrade, .noop:
            return .ignore
        }
    }

    /// The client's data could not be decoded.
    public mutating func malformedDataReceived() -> CloseAction {
        close(.parseError)
    }

    // MARK: - Upgrade

    /// A WebSocket with this session's id asks to attach. Returns whether it may.
    public mutating func upgradeRequested(now: NIODeadline) -> Bool {
        guard case .open = lifecycle, transport == .polling, upgrade == .none else { return false }
        upgrade = .attached(deadline: now + timing.upgradeTimeout)
        return true
    }

    public enum ProbeAction: Sendable, Equatable {
        /// Answer `3probe` on the probe WebSocket; release the parked poll with `6` if asked.
        case answerProbe(releaseParkedPoll: Bool)
        /// The WebSocket is now the transport: release the parked poll with `6` if asked,
        /// then write these packets on the WebSocket.
        case completeUpgrade(releaseParkedPoll: Bool, flush: [EngineIOOutboundPacket])
        /// The probe transport misbehaved: close it; the session stays on polling.
        case abortUpgrade
        case ignore
    }

    /// A packet arrived on the probe WebSocket.
    public mutating func probePacketReceived(_ packet: EngineIOInboundPacket) -> ProbeAction {
        guard case .open = lifecycle else { return .ignore }
        switch (upgrade, packet.type) {
        case (.attached(let deadline), .ping) where packet.isProbePing:
            upgrade = .probed(deadline: deadline)
            let release = hasParkedPoll
            hasParkedPoll = false
            return .answerProbe(releaseParkedPoll: release)
        case (.attached, .upgrade), (.probed, .upgrade):
            upgrade = .none
            transport = .websocket
            let release = hasParkedPoll
            hasParkedPoll = false
            let packets = takeOutbox()
            return .completeUpgrade(releaseParkedPoll: release, flush: packets)
        case (.none, _):
            return .ignore
        default:
            upgrade = .none
            return .abortUpgrade
        }
    }

    /// The probe WebSocket closed before the upgrade completed.
    public mutating func probeTransportClosed() {
        upgrade = .none
    }

    // MARK: - Timers

    public enum DeadlineAction: Sendable, Equatable {
        case none
        /// Send a ping (through ``send(_:)``'s rules; the action says how).
        case sendPing(SendAction)
        /// The upgrade took too long: close the probe WebSocket.
        case abortUpgrade
        case close(CloseAction)
        /// The closing session's last poll never came: it is gone.
        case finishClosing
    }

    /// Time has reached `now`. Call again until it returns `.none`.
    public mutating func deadlineReached(now: NIODeadline) -> DeadlineAction {
        switch lifecycle {
        case .closed:
            return .none
        case .closing(let reason, let deadline):
            if now >= deadline {
                lifecycle = .closed(reason)
                outbox.removeAll()
                return .finishClosing
            }
            return .none
        case .open:
            break
        }
        switch upgrade {
        case .attached(let deadline), .probed(let deadline):
            if now >= deadline {
                upgrade = .none
                return .abortUpgrade
            }
        case .none:
            break
        }
        switch heartbeat {
        case .waitingToPing(let deadline) where now >= deadline:
            heartbeat = .awaitingPong(Self.pongDeadline(pingDue: deadline, sentAt: now, pingTimeout: timing.pingTimeout))
            return .sendPing(send(.ping))
        case .awaitingPong(let deadline) where now >= deadline:
            return .close(close(.pingTimeout))
        default:
            return .none
        }
    }

    /// When the pong for a ping due at `pingDue` and sent at `sentAt` must have arrived.
    ///
    /// The heartbeat is a schedule, not a chain of relative timers: the pong is due
    /// `pingTimeout` after the ping was *due*, so a timer that fires a little late (a busy
    /// loop) does not move the session's end, and a client that waits `pingInterval +
    /// pingTimeout` after the handshake finds the session gone, as on the reference server
    /// (the official suite's "closes the session upon ping timeout" does exactly that). A
    /// ping sent very late (a stalled loop) still leaves the client half of `pingTimeout`.
    static func pongDeadline(pingDue: NIODeadline, sentAt: NIODeadline, pingTimeout: TimeAmount) -> NIODeadline {
        max(pingDue + pingTimeout, sentAt + .nanoseconds(pingTimeout.nanoseconds / 2))
    }

    // MARK: - Closing

    public enum CloseAction: Sendable, Equatable {
        /// Already closed: nothing to do.
        case none
        /// Tell the application; release transports as the fields say.
        case closed(
            reason: EngineIOCloseReason,
            answerParkedPoll: [EngineIOOutboundPacket]?,
            closeWebSocket: Bool,
            closeProbe: Bool,
            awaitFinalPoll: Bool
        )
    }

    /// Closes the session for the application. The single place a session ends.
    ///
    /// A server-side close of a polling session with no parked poll keeps the session
    /// reachable (``Lifecycle/closing(_:deadline:)``) so the client's next poll receives
    /// the queued packets and the close packet instead of a 400; the client's own close
    /// (given `now`) keeps it reachable for one poll that was already on its way.
    public mutating func close(_ reason: EngineIOCloseReason, now: NIODeadline? = nil) -> CloseAction {
        guard case .open = lifecycle else { return .none }
        let closeProbe = upgrade != .none
        upgrade = .none
        switch transport {
        case .websocket:
            lifecycle = .closed(reason)
            outbox.removeAll()
            return .closed(reason: reason, answerParkedPoll: nil, closeWebSocket: true, closeProbe: closeProbe, awaitFinalPoll: false)
        case .polling:
            let serverInitiated = reason == .forcedClose || reason == .serverShuttingDown
            if hasParkedPoll {
                hasParkedPoll = false
                var packets = serverInitiated ? outbox : []
                // The client asked to close: its own poll just ends (noop), as the reference
                // server does. Otherwise the poll carries the close packet.
                packets.append(reason == .transportClose ? .noop : .close)
                outbox.removeAll()
                lifecycle = .closed(reason)
                return .closed(reason: reason, answerParkedPoll: packets, closeWebSocket: false, closeProbe: closeProbe, awaitFinalPoll: false)
            }
            if serverInitiated, let now {
                lifecycle = .closing(reason, deadline: now + timing.pingInterval + timing.pingTimeout)
                return .closed(reason: reason, answerParkedPoll: nil, closeWebSocket: false, closeProbe: closeProbe, awaitFinalPoll: true)
            }
            if reason == .transportClose, let now {
                // The client's close packet came with no poll parked, but its GET may be on
                // the way (a client closes while polling; the GET and the POST travel on two
                // connections, possibly two event loops): that GET gets the noop it would have
                // got had it been parked first; the next one gets 400.
                outbox.removeAll()
                lifecycle = .closing(reason, deadline: now + timing.pingTimeout)
                return .closed(reason: reason, answerParkedPoll: nil, closeWebSocket: false, closeProbe: closeProbe, awaitFinalPoll: true)
            }
            outbox.removeAll()
            lifecycle = .closed(reason)
            return .closed(reason: reason, answerParkedPoll: nil, closeWebSocket: false, closeProbe: closeProbe, awaitFinalPoll: false)
        }
    }

    var closeReason: EngineIOCloseReason? {
        switch lifecycle {
        case .open: return nil
        case .closing(let reason, _), .closed(let reason): return reason
        }
    }
}
