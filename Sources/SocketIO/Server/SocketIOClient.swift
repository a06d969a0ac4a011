import EngineIO
import Logging
import NIOCore
import SwitchyardJSON

/// The Socket.IO side of one Engine.IO connection: decodes packets, reassembles binary
/// ones, and routes them to the sockets of the namespaces the client joined.
///
/// Confined to the connection's event loop. Protocol violations close the connection
/// (reason `parse error`), as the Socket.IO specification requires.
final class SocketIOClient: EngineIOConnectionHandler, EventLoopTimerTarget, @unchecked Sendable {
    unowned let server: SocketIOServer
    let connection: EngineIOConnection
    /// Connected sockets, one per namespace.
    private var sockets = ClientSockets()
    /// Namespaces whose CONNECT is being decided.
    private var pendingConnects: [String] = []
    /// A binary packet waiting for its attachments.
    private var reconstructing: (packet: SocketIOPacket, attachments: [ByteBuffer])?
    private var closed = false
    /// The connection's parser, fixed by its first message (nil until then).
    private(set) var parser: SocketIOParser?

    private static let connectTimeoutToken: UInt64 = 0
    /// Released in ``didClose(reason:)``.
    private lazy var timerSlot = EventLoopTimerSlot(target: self)

    init(server: SocketIOServer, connection: EngineIOConnection) {
        self.server = server
        self.connection = connection
        connection.timers.schedule(
            at: connection.eventLoop.now + server.configuration.connectTimeout,
            slot: timerSlot,
            token: Self.connectTimeoutToken
        )
    }

    var eventLoop: EventLoop { connection.eventLoop }

    // MARK: - EngineIOConnectionHandler

    func didReceive(text: ByteBuffer) {
        guard !closed else { return }
        server.observer?.messageReceived(bytes: text.readableBytes)
        if parser == nil {
            guard server.configuration.parsers.contains(.default) else {
                return protocolViolation(.parserNotAccepted("text packets (the default parser) are disabled"))
            }
            parser = .default
        }
        guard parser == .default else { return protocolViolation(.parserNotAccepted("text packet on a msgpack connection")) }
        if reconstructing != nil { return protocolViolation(.unexpectedText) }
        let packet: SocketIOPacket
        do throws(SocketIOProtocolError) {
            packet = try SocketIOPacket.decodeHeader(text, maxAttachments: server.configuration.maxAttachments)
        } catch {
            return protocolViolation(error)
        }
        if packet.type.isBinary, packet.attachmentCount > 0 {
            reconstructing = (packet, [])
            return
        }
        route(packet)
    }

    func didReceive(binary: ByteBuffer) {
        guard !closed else { return }
        server.observer?.messageReceived(bytes: binary.readableBytes)
        if parser == nil {
            // A default-parser client starts with a text CONNECT; binary first means msgpack.
            guard server.configuration.parsers.contains(.msgpack) else {
                return protocolViolation(.parserNotAccepted("binary packets (the msgpack parser) are disabled"))
            }
            parser = .msgpack
        }
        if parser == .msgpack {
            do throws(SocketIOProtocolError) {
                let (packet, attachments) = try SocketIOPacket.decodeMessagePack(binary, maxAttachments: server.configuration.maxAttachments)
                route(packet, attachments: attachments)
            } catch {
                protocolViolation(error)
            }
            return
        }
        guard var pending = reconstructing else { return protocolViolation(.unexpectedBinary) }
        pending.attachments.append(binary)
        guard pending.attachments.count == pending.packet.attachmentCount else {
            reconstructing = pending
            return
        }
        reconstructing = nil
        route(pending.packet, attachments: pending.attachments)
    }

    func transportChanged(to transport: EngineIOTransportKind) {
        server.transportChanged(connection, to: transport)
        server.observer?.transportChanged(connection, to: transport, sockets: sockets.all)
    }

    func didClose(reason: EngineIOCloseReason) {
        guard !closed else { return }
        closed = true
        timerSlot.release()
        reconstructing = nil
        let reason = SocketIODisconnectReason(reason)
        for socket in sockets.removeAll() { socket.onClose(reason: reason) }
        server.observer?.sessionClosed(connection, transport: connection.transport, reason: reason)
    }

    func timerFired(token: UInt64, now: NIODeadline) {
        guard token == Self.connectTimeoutToken, !closed, sockets.isEmpty else { return }
        server.logger.debug("no namespace joined in time, closing", metadata: ["eio.sid": "\(connection.id)"])
        connection.close(reason: .forcedClose)
    }

    // MARK: - Routing

    private func route(_ packet: SocketIOPacket, attachments: [ByteBuffer] = []) {
        switch packet.type {
        case .connect:
            guard socket(for: packet.namespace) == nil, !pendingConnects.contains(packet.namespace) else {
                return protocolViolation(.invalidState("second CONNECT to \(packet.namespace)"))
            }
            connect(namespace: packet.namespace, auth: packet.payload)
        case .disconnect:
            guard let socket = socket(for: packet.namespace) else {
                return protocolViolation(.invalidState("DISCONNECT for unjoined namespace \(packet.namespace)"))
            }
            socket.onClientDisconnect()
        case .event, .binaryEvent:
            guard let socket = socket(for: packet.namespace) else {
                return protocolViolation(.invalidState("event for unjoined namespace \(packet.namespace)"))
            }
            socket.onEvent(packet, attachments: attachments)
        case .ack, .binaryAck:
            guard let socket = socket(for: packet.namespace) else {
                return protocolViolation(.invalidState("ack for unjoined namespace \(packet.namespace)"))
            }
            guard let arguments = decodeArguments(packet, attachments: attachments) else { return }
            if let id = packet.ackID { socket.onAck(id: id, arguments: arguments) }
        case .connectError:
            protocolViolation(.invalidState("CONNECT_ERROR from a client"))
        }
    }

    private func socket(for namespace: String) -> SocketIOSocket? {
        sockets.socket(for: namespace)
    }

    // MARK: - Connect

    private func connect(namespace path: String, auth: ByteBuffer?) {
        guard let namespace = server.reserveNamespace(forConnect: path) else {
            send([(parser ?? .default).invalidNamespace(path)])
            return
        }
        var authValue: JSONValue = .object(JSONObject())
        if let auth {
            // Already validated as a JSON object by the decoder.
            authValue = (try? auth.withUnsafeReadableBytes { bytes throws(JSONParseError) in try JSONValue(parsing: bytes) }) ?? authValue
        }
        pendingConnects.append(path)
        // Connection state recovery (socket.io's Namespace._createSocket): a CONNECT carrying
        // a `pid` (and the last `offset` the client saw) asks for its old socket back. On any
        // failure it is an ordinary new connection; the reason is on the request. With a
        // cluster the session may come from another node (asynchronously).
        guard let store = server.recovery, let pid = authValue["pid"]?.stringValue else {
            return decideConnect(namespace: namespace, auth: authValue, attempt: nil)
        }
        // An offset that is not a string is one this server never handed out ("" never
        // parses); the attempt still uses the session up.
        let offset = authValue["offset"].map { $0.stringValue ?? "" }
        let loop = eventLoop
        let auth = authValue
        let restore: @Sendable () -> Void = {
            store.restore(pid: pid, namespace: path, offset: offset) { attempt in
                if loop.inEventLoop {
                    self.decideConnect(namespace: namespace, auth: auth, attempt: attempt)
                } else {
                    loop.execute { self.decideConnect(namespace: namespace, auth: auth, attempt: attempt) }
                }
            }
        }
        // The client is back before this node saw its old transport close (a close frame
        // still on its way, a ping timeout not yet due): it has a new connection, so the old
        // one is closed now — `transport close`, which keeps the session — and then restored.
        // Not when that socket is itself the restore of this pid and offset: a pid and offset
        // are good for one restore.
        guard let old = server.liveSocket(pid: pid), old.client !== self, old.namespace === namespace,
            old.recoveredFromOffset != .some(offset)
        else { return restore() }
        old.eventLoop.execute {
            old.client.connection.close(reason: .transportClose)
            loop.execute(restore)
        }
    }

    /// Runs the namespace's connect decision (unless a restored socket skips it).
    private func decideConnect(namespace: SocketIONamespace, auth authValue: JSONValue, attempt: Result<SocketIORestoredSession, SocketIORecoveryFailure>?) {
        if case .failure(let failure) = attempt {
            server.logger.debug(
                "connection state not recovered", metadata: ["eio.sid": "\(connection.id)", "sio.nsp": "\(namespace.path)", "recovery.failure": "\(failure.rawValue)"])
        }
        let restored = try? attempt?.get()
        let recoveryFailure: SocketIORecoveryFailure?
        if case .failure(let failure) = attempt { recoveryFailure = failure } else { recoveryFailure = nil }
        let request = SocketIOConnectRequest(
            socketID: restored?.session.sid ?? SocketIOSocket.makeID(),
            namespace: namespace,
            auth: authValue,
            handshake: connection.handshake,
            eventLoop: connection.eventLoop,
            recovery: restored.map { SocketIORecovery(disconnectedFor: $0.disconnectedFor, replayed: $0.missed.count) },
            recoveryFailure: recoveryFailure
        )
        if let restored, !restored.session.fromSnapshot, server.configuration.connectionStateRecovery?.skipMiddlewares == true {
            return completeConnect(request, decision: .accepted(userInfo: restored.session.userInfo), restored: restored)
        }
        let loop = eventLoop
        namespace.handler.authorize(request) { decision in
            if loop.inEventLoop {
                self.completeConnect(request, decision: decision, restored: restored)
            } else {
                loop.execute { self.completeConnect(request, decision: decision, restored: restored) }
            }
        }
    }

    private func completeConnect(_ request: SocketIOConnectRequest, decision: SocketIOConnectDecision, restored: SocketIORestoredSession? = nil) {
        let namespace = request.namespace
        defer { server.releaseReservation(namespace) }
        guard let index = pendingConnects.firstIndex(of: namespace.path) else { return }
        pendingConnects.remove(at: index)
        // Nearly every client connects once: no storage kept for the rest of its life.
        if pendingConnects.isEmpty { pendingConnects = [] }
        guard !closed else { return }
        switch decision {
        case .refuse(let message, let data):
            send([(parser ?? .default).connectError(namespace: namespace.path, message: message, data: data)])
        case .accepted(let userInfo):
            // A decision that arrives later (a plugin's guard, a Redis lookup) is outside the
            // read: the missed packets, the CONNECT reply and what the connect hooks send go
            // out in one flush all the same.
            connection.coalescingFlushes {
                accept(request, userInfo: userInfo, restored: restored)
            }
        }
    }

    private func accept(_ request: SocketIOConnectRequest, userInfo: (any Sendable)?, restored: SocketIORestoredSession?) {
        let namespace = request.namespace
        if let restored, let socket = recover(restored, request: request, userInfo: userInfo) {
            namespace.handler.connected(socket)
            if let observer = server.observer, socket.isConnected { observer.socketConnected(socket) }
            return
        }
        let pid = server.recovery == nil ? nil : SocketIOSocket.makeID()
        let id = restored == nil ? request.socketID : SocketIOSocket.makeID()
        let socket = SocketIOSocket(id: id, namespace: namespace, client: self, auth: request.auth, pid: pid)
        socket.userInfo = userInfo
        socket.recoveryFailure = restored == nil ? request.recoveryFailure : .packetsDropped
        socket.firstSequence = server.recovery?.lastSequence ?? 0
        sockets.append(socket)
        namespace.adapter.add(socket)
        server.socketJoined(socket)
        send([connectReply(socket)])
        namespace.handler.connected(socket)
        if let observer = server.observer, socket.isConnected { observer.socketConnected(socket) }
    }

    /// The CONNECT reply in the socket's parser, with its pid when recovery is on.
    private func connectReply(_ socket: SocketIOSocket) -> OutboundMessage {
        socket.parser.connect(namespace: socket.namespace.path, socketID: socket.id, pid: socket.pid)
    }

    /// Brings a restored session back: the old id and pid, its rooms, the missed packets,
    /// then the CONNECT reply (socket.io's Socket constructor with a previous session, then
    /// `_onconnect`). The socket joins its rooms before the log is read again, so a packet
    /// broadcast meanwhile is either replayed or delivered live, and a packet that is both is
    /// dropped the second time. Nil when the packets are no longer all there (the caller
    /// makes a new connection).
    private func recover(_ restored: SocketIORestoredSession, request: SocketIOConnectRequest, userInfo: (any Sendable)?) -> SocketIOSocket? {
        guard let store = server.recovery else { return nil }
        let namespace = request.namespace
        let session = restored.session
        let socket = SocketIOSocket(id: session.sid, namespace: namespace, client: self, auth: request.auth, pid: session.pid)
        socket.userInfo = userInfo
        namespace.adapter.add(socket)
        namespace.adapter.join(socket.id, rooms: session.rooms)
        let (missed, through) = store.missedPackets(namespace: namespace.path, rooms: session.rooms, after: restored.after, broadcastsOnly: restored.broadcastsOnly)
        guard case .success(let packets) = missed else {
            namespace.adapter.remove(socket)
            return nil
        }
        // Set before the socket is published by pid (the lock orders it for other loops).
        socket.recoveredFromOffset = .some(restored.offset)
        server.socketJoined(socket)
        socket.recovery = SocketIORecovery(disconnectedFor: restored.disconnectedFor, replayed: packets.count)
        socket.firstSequence = through
        socket.lastOffset = restored.offset ?? session.lastOffset
        server.logger.debug(
            "socket recovered",
            metadata: [
                "eio.sid": "\(connection.id)", "sio.id": "\(socket.id)", "sio.nsp": "\(namespace.path)",
                "recovery.after": "\(restored.after)", "recovery.through": "\(through)", "recovery.replayed": "\(packets.count)",
            ]
        )
        sockets.append(socket)
        socket.replay(packets, through: through)
        send([connectReply(socket)])
        return socket
    }

    // MARK: - Called by sockets

    func send(_ messages: [OutboundMessage]) {
        for message in messages { connection.send(message) }
    }

    /// A socket left (by either side); it has already notified its handler.
    func socketDidLeave(_ socket: SocketIOSocket) {
        sockets.remove(socket)
    }

    /// Disconnects every socket with DISCONNECT packets, then closes the connection.
    func disconnectAll() {
        for socket in sockets.all { socket.disconnect(close: false) }
        connection.close(reason: .forcedClose)
    }

    /// Validates and splits a packet's arguments and attaches its binary parts; a protocol
    /// violation closes the connection and returns nil.
    func decodeArguments(_ packet: SocketIOPacket, attachments: [ByteBuffer]) -> SocketIOArguments? {
        do throws(SocketIOProtocolError) {
            guard var arguments = try packet.decodedArguments() else { throw .invalidPayload("missing") }
            if !attachments.isEmpty {
                try Self.validatePlaceholders(arguments, attachmentCount: attachments.count)
                arguments.attachments = attachments
            }
            return arguments
        } catch {
            protocolViolation(error)
            return nil
        }
    }

    // MARK: - Errors

    func protocolViolation(_ error: SocketIOProtocolError) {
        server.logger.debug(
            "protocol violation, closing the connection",
            metadata: ["eio.sid": "\(connection.id)", "sio.error": "\(error)"]
        )
        connection.close(reason: .parseError)
    }

    static func validatePlaceholders(_ arguments: SocketIOArguments, attachmentCount: Int) throws(SocketIOProtocolError) {
        let values = arguments.values()
        func check(_ value: JSONValue) throws(SocketIOProtocolError) {
            switch value {
            case .object(let object):
                if object["_placeholder"] == .bool(true) {
                    guard let number = object["num"]?.intValue, number >= 0, number < attachmentCount else {
                        throw .illegalAttachments
                    }
                    return
                }
                for value in object.values { try check(value) }
            case .array(let array):
                for value in array { try check(value) }
            default:
                break
            }
        }
        for value in values { try check(value) }
    }
}

/// A client's sockets, one per namespace joined, in the order they joined. Nearly every
/// client has exactly one: it is kept inline, and only a second one makes an array. (An
/// array was a heap object per connection, and loading it from wherever it was allocated
/// was a cache miss on every routed packet.)
struct ClientSockets {
    private var first: SocketIOSocket?
    /// The sockets after `first`; empty whenever `first` is nil.
    private var others: [SocketIOSocket] = []

    var isEmpty: Bool { first == nil }

    /// Every socket, in joining order.
    var all: [SocketIOSocket] {
        guard let first else { return [] }
        return [first] + others
    }

    func socket(for namespace: String) -> SocketIOSocket? {
        if let first, first.namespace.path == namespace { return first }
        for socket in others where socket.namespace.path == namespace { return socket }
        return nil
    }

    mutating func append(_ socket: SocketIOSocket) {
        if first == nil { first = socket } else { others.append(socket) }
    }

    mutating func remove(_ socket: SocketIOSocket) {
        if first === socket {
            first = others.isEmpty ? nil : others.removeFirst()
        } else {
            others.removeAll { $0 === socket }
        }
        if others.isEmpty { others = [] }
    }

    /// Every socket, in joining order; none are left.
    mutating func removeAll() -> [SocketIOSocket] {
        defer {
            first = nil
            others = []
        }
        return all
    }
}
