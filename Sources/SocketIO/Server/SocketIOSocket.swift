import EngineIO
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import Synchronization
import SwitchyardJSON

/// One client's membership of one namespace.
///
/// Methods may be called from any thread; they run on the socket's event loop (hopping
/// when needed). State is confined to that loop.
public final class SocketIOSocket: @unchecked Sendable, EventLoopTimerTarget {
    /// The socket id (distinct from the Engine.IO session id), also the name of the
    /// socket's own room.
    public let id: String
    public let namespace: SocketIONamespace
    /// The CONNECT payload (`{}` when none was sent).
    public let auth: JSONValue
    let client: SocketIOClient
    /// How this socket's connection writes packets (fixed before the socket exists).
    public let parser: SocketIOParser
    /// The private session id sent in the CONNECT reply when connection state recovery is on;
    /// the client presents it to recover this socket.
    public let pid: String?
    /// Set when this socket is a recovered one: how long it was away, how much was replayed.
    public internal(set) var recovery: SocketIORecovery?
    /// Whether the socket came back through connection state recovery.
    public var recovered: Bool { recovery != nil }
    /// The offset the client presented when this socket was restored (`.some(nil)`: none).
    var recoveredFromOffset: String??
    /// Set when the client asked for recovery and got a new socket instead, and why.
    public internal(set) var recoveryFailure: SocketIORecoveryFailure?

    /// Application state attached to the socket (confined to ``eventLoop``).
    public var userInfo: (any Sendable)? {
        get { userInfoObject ?? userInfoValue }
        set {
            // A class instance is kept as a plain reference, so ``userInfo(as:)`` can read it
            // on every event without copying an existential and casting it.
            if let newValue, type(of: newValue) is AnyObject.Type {
                userInfoObject = (newValue as! AnyObject & Sendable)
                userInfoValue = nil
            } else {
                userInfoObject = nil
                userInfoValue = newValue
            }
        }
    }
    private var userInfoObject: (AnyObject & Sendable)?
    private var userInfoValue: (any Sendable)?

    /// ``userInfo`` when it is an instance of exactly the class `type` (not a subclass);
    /// nil otherwise. The read a handler does on every event: one type comparison.
    public func userInfo<Info: AnyObject & Sendable>(as type: Info.Type) -> Info? {
        guard let object = userInfoObject, ObjectIdentifier(Swift.type(of: object)) == ObjectIdentifier(type) else { return nil }
        return unsafeDowncast(object, to: type)
    }

    private let dataBox = NIOLockedValueBox<JSONValue>(.object([:]))

    /// socket.io's `socket.data`: JSON the application keeps with the socket, readable from
    /// any thread and sent with the socket in cluster `fetchSockets` answers.
    public var data: JSONValue {
        get { dataBox.withLockedValue { $0 } }
        set { dataBox.withLockedValue { $0 = newValue } }
    }

    /// Traffic of this socket, counted on its event loop.
    public struct Traffic: Sendable, Hashable {
        public var eventsIn = 0
        public var bytesIn = 0
        public var eventsOut = 0
        public var bytesOut = 0
    }

    /// Events and payload bytes received from and sent to the client (read on ``eventLoop``).
    public private(set) var traffic = Traffic()
    /// This socket object's number, unique in the process (never reused, unlike its address,
    /// and unlike its id, which a recovered socket takes over): what samplers that compare
    /// sockets across time key them by.
    public let serial = SocketIOSocket.serials.add(1, ordering: .relaxed).newValue
    private static let serials = Atomic<UInt64>(0)
    /// When the socket joined its namespace.
    public let connectedAt = NIODeadline.now()
    /// When the socket was created, in milliseconds since 1970 (socket.io's `handshake.issued`).
    public let issued = SocketIOSocket.wallClockMilliseconds()

    static func wallClockMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Bumped whenever the socket joins or leaves a room (from any thread), so callers can
    /// keep something derived from ``rooms`` until it changes.
    private let roomsRevisionCounter = Atomic<UInt64>(0)

    /// Changes whenever ``rooms`` may have changed.
    public var roomsRevision: UInt64 { roomsRevisionCounter.load(ordering: .acquiring) }

    func roomsChanged() {
        roomsRevisionCounter.add(1, ordering: .releasing)
    }

    private var connected = true
    /// Ack ids start at 1 per socket, as the reference servers number them.
    private var nextAckID: UInt64 = 1
    private var pendingAcks: [UInt64: @Sendable (Result<SocketIOArguments, SocketIOAckError>) -> Void] = [:]
    /// Made by the first emit that waits for an ack; released in ``onClose(reason:)``. Not a
    /// `lazy var`: most sockets never wait for an ack, and releasing one would create it.
    private var ackTimerSlot: EventLoopTimerSlot?
    private var timerSlot: EventLoopTimerSlot {
        if let ackTimerSlot { return ackTimerSlot }
        let slot = EventLoopTimerSlot(target: self)
        ackTimerSlot = slot
        return slot
    }
    /// The offset of the last stored packet sent to the client (connection state recovery).
    var lastOffset: String?
    /// The recovery log's last sequence number when the socket joined (or was recovered).
    var firstSequence: UInt64 = 0
    /// Stored packets up to this sequence number were replayed to a recovered socket; a live
    /// delivery of one of them is a duplicate and is dropped.
    var replayedThrough: UInt64 = 0

    init(id: String, namespace: SocketIONamespace, client: SocketIOClient, auth: JSONValue, pid: String? = nil) {
        self.id = id
        self.namespace = namespace
        self.client = client
        self.eventLoop = client.eventLoop
        self.parser = client.parser ?? .default
        self.auth = auth
        self.pid = pid
    }

    /// The connection's event loop, kept here: broadcasts and the console's sampler group
    /// thousands of sockets by loop, and reaching it through the client and its connection
    /// was two more cache misses per socket.
    public let eventLoop: EventLoop

    /// The HTTP request that opened the connection.
    public var handshake: EngineIOHandshake { client.connection.handshake }

    /// The Engine.IO connection carrying this socket.
    public var connection: EngineIOConnection { client.connection }

    /// Whether the socket is still in its namespace.
    public var isConnected: Bool {
        eventLoop.assertInEventLoop()
        return connected
    }

    /// The rooms the socket is in, including its own id room.
    public var rooms: Set<String> { namespace.adapter.rooms(of: id) }

    /// A new socket id (or private session id): 20 random base64url characters, as the
    /// reference server's (``RandomID``).
    static func makeID() -> String { RandomID.make() }

    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if eventLoop.inEventLoop { body() } else { eventLoop.execute(body) }
    }

    // MARK: - Emitting

    /// Sends an event to this socket's client.
    ///
    /// With connection state recovery on, the event is stored and carries an offset, as
    /// socket.io does it (packages/socket.io/lib/socket.ts `emit`: a broadcast to the
    /// socket's own room), so a client that loses its transport gets it again.
    public func emit(_ event: String, _ arguments: SocketIOArguments = SocketIOArguments()) {
        let path = namespace.path
        namespace.server.observer?.eventSent(event, arguments, socket: self)
        let stored = namespace.server.recovery?.record(namespace: path, event: event, arguments: arguments, rooms: [id], except: [])
        let mark: RecoveryMark? = stored.map { RecoveryMark(sequence: $0.sequence, offset: $0.offset, emitBoundary: $0.boundary ?? "") }
        if parser == .msgpack {
            let message = SocketIOMessagePackEncoder.event(namespace: path, name: event, arguments: arguments, offset: mark?.offset)
            return onLoop { self.sendRaw([message], mark: mark) }
        }
        if let mark {
            let offset = mark.offset
            let capacity = SocketIOPacketEncoder.eventCapacity(namespace: path, name: event, arguments: arguments) + offset.utf8.count
            sendPacket(capacity: capacity, attachments: arguments.attachments, mark: mark) {
                SocketIOPacketEncoder.writeEvent(namespace: path, name: event, arguments: arguments, ackID: nil, offset: offset, into: &$0)
            }
            return
        }
        sendPacket(capacity: SocketIOPacketEncoder.eventCapacity(namespace: path, name: event, arguments: arguments), attachments: arguments.attachments) {
            SocketIOPacketEncoder.writeEvent(namespace: path, name: event, arguments: arguments, ackID: nil, into: &$0)
        }
    }

    public func emit(_ event: String, _ values: [JSONValue]) {
        emit(event, SocketIOArguments(values))
    }

    /// Sends an event and waits for the client's acknowledgement.
    ///
    /// `ack` runs on the socket's event loop with the client's arguments, or with
    /// ``SocketIOAckError/timeout`` after `timeout` (default: the configured ack timeout),
    /// or ``SocketIOAckError/disconnected`` if the socket leaves first.
    public func emit(
        _ event: String,
        _ arguments: SocketIOArguments,
        timeout: TimeAmount? = nil,
        ack: @escaping @Sendable (Result<SocketIOArguments, SocketIOAckError>) -> Void
    ) {
        onLoop {
            guard self.connected else { return ack(.failure(.disconnected)) }
            self.namespace.server.observer?.eventSent(event, arguments, socket: self)
            let id = self.nextAckID
            self.nextAckID &+= 1
            self.pendingAcks[id] = ack
            let deadline = self.eventLoop.now + (timeout ?? self.namespace.server.configuration.ackTimeout)
            self.client.connection.timers.schedule(at: deadline, slot: self.timerSlot, token: id)
            let path = self.namespace.path
            if self.parser == .msgpack {
                return self.sendRaw([SocketIOMessagePackEncoder.event(namespace: path, name: event, arguments: arguments, ackID: id)])
            }
            self.sendPacket(capacity: SocketIOPacketEncoder.eventCapacity(namespace: path, name: event, arguments: arguments), attachments: arguments.attachments) {
                SocketIOPacketEncoder.writeEvent(namespace: path, name: event, arguments: arguments, ackID: id, into: &$0)
            }
        }
    }

    /// Sends an event and returns the client's acknowledgement.
    public func emitWithAck(_ event: String, _ arguments: SocketIOArguments = SocketIOArguments(), timeout: TimeAmount? = nil) async throws -> SocketIOArguments {
        try await withCheckedThrowingContinuation { continuation in
            emit(event, arguments, timeout: timeout) { result in continuation.resume(with: result) }
        }
    }

    /// Sends already-encoded messages (broadcast delivery). On the socket's loop. `mark` is
    /// the stored packet they carry (connection state recovery).
    func sendRaw(_ messages: [OutboundMessage], mark: RecoveryMark? = nil) {
        guard connected else { return }
        if let mark {
            guard mark.sequence > replayedThrough else { return }
            sent(mark)
        }
        count(messages)
        client.send(messages)
    }

    /// The last plain emits sent, with their boundaries (see ``SocketIOPersistedSession/emitBoundaries``).
    private var recentEmits: [(offset: String, boundary: String)] = []
    private static let recentEmitLimit = 16

    private func sent(_ mark: RecoveryMark) {
        lastOffset = mark.offset
        guard let boundary = mark.emitBoundary else { return }
        if recentEmits.count == Self.recentEmitLimit { recentEmits.removeFirst() }
        recentEmits.append((mark.offset, boundary))
    }

    /// Sends the packets a recovered socket missed, with their offsets. On the loop, before
    /// the CONNECT reply.
    func replay(_ packets: [SocketIORecoveryPacket], through: UInt64) {
        for packet in packets {
            let broadcast = SocketIOBroadcastPacket(event: packet.event, arguments: packet.arguments)
            sendRaw(broadcast.messages(namespace: namespace.path, parser: parser, offset: packet.offset))
            lastOffset = packet.offset
        }
        replayedThrough = through
    }

    private func count(_ messages: [OutboundMessage]) {
        traffic.eventsOut += 1
        let observer = namespace.server.observer
        for message in messages {
            traffic.bytesOut += message.content.readableBytes
            observer?.messageSent(bytes: message.content.readableBytes)
        }
    }

    func sendAck(id: UInt64, arguments: SocketIOArguments) {
        let path = namespace.path
        if parser == .msgpack {
            let message = SocketIOMessagePackEncoder.ack(namespace: path, ackID: id, arguments: arguments)
            return onLoop { self.sendRaw([message]) }
        }
        sendPacket(capacity: SocketIOPacketEncoder.ackCapacity(namespace: path, arguments: arguments), attachments: arguments.attachments) {
            SocketIOPacketEncoder.writeAck(namespace: path, ackID: id, arguments: arguments, into: &$0)
        }
    }

    /// Sends one packet to this socket's client: its text part, which `write` appends, then
    /// its binary attachments. The common case (on the loop, no attachments) writes the text
    /// straight into the outgoing frame (``EngineIOConnection/sendText(capacity:_:)``);
    /// otherwise the packet is encoded here and sent on the loop, like a broadcast.
    private func sendPacket(capacity: Int, attachments: [ByteBuffer], mark: RecoveryMark? = nil, _ write: (inout ByteBuffer) -> Void) {
        guard attachments.isEmpty, eventLoop.inEventLoop else {
            let messages = [OutboundMessage.text(capacity: capacity, write)] + attachments.map(OutboundMessage.binary)
            onLoop { self.sendRaw(messages, mark: mark) }
            return
        }
        guard connected else { return }
        if let mark { sent(mark) }
        var written = 0
        connection.sendText(capacity: capacity) { buffer in
            let start = buffer.writerIndex
            write(&buffer)
            written = buffer.writerIndex - start
        }
        traffic.eventsOut += 1
        traffic.bytesOut += written
        namespace.server.observer?.messageSent(bytes: written)
    }

    // MARK: - Rooms

    public func join(_ rooms: String...) { join(rooms) }

    public func join(_ rooms: [String]) {
        let joined = namespace.adapter.join(id, rooms: rooms)
        if let observer = namespace.server.observer, !joined.isEmpty { observer.roomsJoined(joined, socket: self) }
    }

    public func leave(_ room: String) {
        let left = namespace.adapter.leave(id, rooms: [room])
        if let observer = namespace.server.observer, !left.isEmpty { observer.roomsLeft(left, socket: self) }
    }

    /// A broadcast to these rooms that leaves this socket out.
    public func to(_ rooms: String...) -> SocketIOBroadcast {
        namespace.broadcast.to(rooms).except(id)
    }

    /// A broadcast to every other socket of the namespace.
    public var broadcast: SocketIOBroadcast {
        namespace.broadcast.except(id)
    }

    // MARK: - Disconnecting

    /// Removes the socket from its namespace with a DISCONNECT packet (reason
    /// `server namespace disconnect`); with `close`, closes the whole connection.
    public func disconnect(close: Bool = false) {
        onLoop {
            if close {
                self.client.disconnectAll()
                return
            }
            guard self.connected else { return }
            self.client.send([self.parser.disconnect(namespace: self.namespace.path)])
            self.onClose(reason: .serverNamespaceDisconnect)
        }
    }

    // MARK: - Called by the client (on the loop)

    /// An event for this socket: admitted (before its arguments are decoded), decoded,
    /// delivered.
    func onEvent(_ packet: SocketIOPacket, attachments: [ByteBuffer]) {
        let ack = packet.ackID.map { SocketIOAcknowledger(socket: self, id: $0) }
        let name = packet.eventName ?? ""
        let header = SocketIOEventHeader(
            name: name,
            byteCount: packet.payloadByteCount + attachments.reduce(0) { $0 + $1.readableBytes },
            attachmentCount: attachments.count,
            ack: ack
        )
        traffic.eventsIn += 1
        traffic.bytesIn += header.byteCount
        // One copy of the handler's existential for both calls.
        let handler = namespace.handler
        guard handler.admit(header, from: self) else { return }
        guard let arguments = client.decodeArguments(packet, attachments: attachments) else { return }
        let event = SocketIOEvent(name: name, arguments: consume arguments, ack: ack, byteCount: header.byteCount)
        if let observer = namespace.server.observer { observer.eventReceived(event, socket: self) }
        handler.received(event, from: self)
    }

    func onAck(id: UInt64, arguments: SocketIOArguments) {
        guard let callback = pendingAcks.removeValue(forKey: id) else { return }
        callback(.success(arguments))
    }

    func onClientDisconnect() {
        onClose(reason: .clientNamespaceDisconnect)
    }

    /// The single way a socket leaves its namespace.
    func onClose(reason: SocketIODisconnectReason) {
        guard connected else { return }
        connected = false
        client.socketDidLeave(self)
        namespace.server.socketLeft(self)
        if let store = namespace.server.recovery, let pid, reason.isRecoverable {
            // socket.io's Socket._onclose → adapter.persistSession, with the rooms before they are left.
            var session = SocketIOPersistedSession(
                sid: id, pid: pid, namespace: namespace.path, rooms: Array(rooms), disconnectedAt: 0,
                lastOffset: lastOffset, firstSequence: firstSequence, userInfo: userInfo
            )
            for emit in recentEmits { session.emitBoundaries[emit.offset] = emit.boundary }
            store.persist(session)
        }
        let leftRooms = namespace.adapter.remove(self)
        ackTimerSlot?.release()
        let acks = pendingAcks
        pendingAcks = [:]
        for callback in acks.values { callback(.failure(.disconnected)) }
        namespace.handler.disconnected(self, reason: reason)
        namespace.server.observer?.socketDisconnected(self, reason: reason, rooms: [id] + leftRooms.sorted())
        namespace.server.dropIfEmpty(namespace)
    }

    public func timerFired(token: UInt64, now: NIODeadline) {
        guard let callback = pendingAcks.removeValue(forKey: token) else { return }
        callback(.failure(.timeout))
    }
}

/// The stored packet a message carries: its log position and its offset.
struct RecoveryMark: Sendable {
    var sequence: UInt64
    var offset: String
    /// For a plain emit: the last broadcast offset before it ("" for none); nil for a broadcast.
    var emitBoundary: String?
}
