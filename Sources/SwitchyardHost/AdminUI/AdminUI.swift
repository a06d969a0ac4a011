import EngineIO
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SocketIO
import SwitchyardJSON
import SwitchyardRedis
import Synchronization

/// The server side of the socket.io Admin UI (`@socket.io/admin-ui` 0.5, `lib/index.ts`):
/// a namespace (`/admin`) the UI connects to, `server_stats` every 2 s, and — in
/// development mode — every socket, room change and event. `docs/ADMIN-UI.md` cites the
/// upstream source of each message.
///
/// It watches the Socket.IO server as its ``SocketIOServerObserver``: counters are atomics
/// bumped where traffic happens; the messages to the UI go out as broadcasts on the admin
/// namespace, so with a Redis backplane every node's messages reach a UI connected to any
/// node (as upstream with the Redis adapter).
public final class AdminUI: SocketIOServerObserver, Sendable {
    public let settings: AdminUISettings
    /// The id this server reports (`serverId` in `server_stats`).
    public let serverID: String
    let logger: Logger
    private let hostname: String
    private let startedAt = NIODeadline.now()

    // Aggregated since the last `server_stats` (upstream's EventBuffer), and gauges.
    private let rawConnections = Atomic<Int>(0)
    private let pollingClients = Atomic<Int>(0)
    private let packetsIn = Atomic<Int>(0)
    private let bytesIn = Atomic<Int>(0)
    private let packetsOut = Atomic<Int>(0)
    private let bytesOut = Atomic<Int>(0)
    private let disconnections = NIOLockedValueBox<[String: Int]>([:])

    private struct Attachment: Sendable {
        let socketIO: SocketIOServer
        let namespace: SocketIONamespace
        let backplane: RedisBackplane?
        let clientsCount: @Sendable () -> Int
        /// What is wrong with an emit's payload (the registry's schema of a server event), or nil.
        let validateEmit: @Sendable (_ event: String, _ arguments: JSONValue) -> String?
    }
    private let attachment = NIOLockedValueBox<Attachment?>(nil)
    private let ticker = NIOLockedValueBox<RepeatedTask?>(nil)
    /// Session ids handed out after a password check, with their expiry.
    private let sessions = NIOLockedValueBox<[String: NIODeadline]>([:])
    /// Called for every command the UI sends (the audit trail hooks in here).
    let onAction = NIOLockedValueBox<(@Sendable (OperatorActionRecord) -> Void)?>(nil)

    static let socketsCommand = "switchyard.admin-ui.sockets"
    static let sessionCommand = "switchyard.admin-ui.session"

    public init(settings: AdminUISettings, clustered: Bool, logger: Logger) {
        self.settings = settings
        self.logger = logger
        let host = ProcessInfo.processInfo.hostName
        self.hostname = host
        self.serverID = settings.serverID ?? (clustered ? "\(host)#\(getpid())" : host)
    }

    /// Registers the admin namespace on the server (which must have this object as its
    /// observer) and the cluster command that lists this node's sockets. `validateEmit`
    /// checks the UI's `emit` command as the operator CLI's broadcast is checked
    /// (`OperatorActions.validateBroadcast`: a server event's declared schema).
    public func attach(
        to socketIO: SocketIOServer, backplane: RedisBackplane?, clientsCount: @escaping @Sendable () -> Int,
        validateEmit: @escaping @Sendable (_ event: String, _ arguments: JSONValue) -> String? = { _, _ in nil }
    ) throws {
        try socketIO.register(settings.namespace, handler: AdminUINamespaceHandler(ui: self))
        guard let namespace = socketIO.namespace(settings.namespace) else { return }
        attachment.withLockedValue {
            $0 = Attachment(socketIO: socketIO, namespace: namespace, backplane: backplane, clientsCount: clientsCount, validateEmit: validateEmit)
        }
        backplane?.registerCommand(Self.socketsCommand) { [weak self] _ in
            guard let self else { return [] }
            return .array(await self.localSockets())
        }
        // A session made on one node is valid on every node (upstream needs its RedisStore
        // for that), so a UI that reconnects through a load balancer stays logged in.
        backplane?.registerCommand(Self.sessionCommand) { [weak self] payload in
            guard let self, let id = payload["id"]?.stringValue, Self.isSessionID(id) else { return .null }
            self.remember(id, now: .now())
            return .null
        }
    }

    static func isSessionID(_ id: String) -> Bool {
        id.utf8.count == 16
            && id.utf8.allSatisfy {
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            }
    }

    public func setActionHandler(_ handler: @escaping @Sendable (OperatorActionRecord) -> Void) {
        onAction.withLockedValue { $0 = handler }
    }

    /// Starts `server_stats` every 2 s (the first at once, as upstream).
    public func start(on loop: EventLoop) {
        let task = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(2)) { [weak self] _ in
            self?.emitStats()
        }
        ticker.withLockedValue { $0 = task }
    }

    public func stop() {
        ticker.withLockedValue {
            $0?.cancel(); $0 = nil
        }
    }

    private var adminNamespace: SocketIONamespace? { attachment.withLockedValue { $0?.namespace } }

    var isDevelopment: Bool { settings.mode == .development }

    /// The features the `config` event announces (upstream's `detectSupportedFeatures` for
    /// Socket.IO v4, then `AGGREGATED_EVENTS`, then `ALL_EVENTS` in development mode).
    var supportedFeatures: [String] {
        var features = settings.readonly ? [] : ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"]
        features.append("AGGREGATED_EVENTS")
        if isDevelopment { features.append("ALL_EVENTS") }
        return features
    }

    private func emit(_ event: String, _ values: [JSONValue]) {
        adminNamespace?.emit(event, SocketIOArguments(values))
    }

    // MARK: - Sessions

    /// A new session id (upstream: `randomBytes(8).toString("hex")`), valid for the
    /// configured lifetime.
    func newSession(now: NIODeadline = .now()) -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = String(generator.next() as UInt64, radix: 16)
        let id = String(repeating: "0", count: 16 - hex.count) + hex
        remember(id, now: now)
        if let backplane = attachment.withLockedValue({ $0?.backplane }) {
            backplane.publishCommand(Self.sessionCommand, payload: ["id": .string(id)])
        }
        return id
    }

    private func remember(_ id: String, now: NIODeadline) {
        let expiry = now + .milliseconds(Int64(settings.sessionLifetime))
        sessions.withLockedValue { sessions in
            sessions = sessions.filter { $0.value > now }
            sessions[id] = expiry
        }
    }

    func isValidSession(_ id: String, now: NIODeadline = .now()) -> Bool {
        sessions.withLockedValue { ($0[id]).map { $0 > now } ?? false }
    }

    // MARK: - server_stats

    /// Counters since the last call, as upstream's `aggregatedEvents` (`{timestamp, type,
    /// subType?, count}`), stamped with the current second.
    func takeAggregatedEvents(now milliseconds: Int64) -> [JSONValue] {
        let timestamp = milliseconds - milliseconds % 1000
        var events: [JSONValue] = []
        func add(_ type: String, _ subType: String?, _ count: Int) {
            guard count > 0 else { return }
            var object: JSONObject = ["timestamp": .number(JSONNumber(timestamp)), "type": .string(type)]
            if let subType { object["subType"] = .string(subType) }
            object["count"] = .number(JSONNumber(count))
            events.append(.object(object))
        }
        add("rawConnection", nil, rawConnections.exchange(0, ordering: .relaxed))
        let reasons: [String: Int] = disconnections.withLockedValue { current in
            let taken = current
            current = [:]
            return taken
        }
        for (reason, count) in reasons.sorted(by: { $0.key < $1.key }) {
            add("rawDisconnection", reason, count)
        }
        add("packetsIn", nil, packetsIn.exchange(0, ordering: .relaxed))
        add("bytesIn", nil, bytesIn.exchange(0, ordering: .relaxed))
        add("packetsOut", nil, packetsOut.exchange(0, ordering: .relaxed))
        add("bytesOut", nil, bytesOut.exchange(0, ordering: .relaxed))
        return events
    }

    func serverStats() -> JSONValue? {
        guard let attached = attachment.withLockedValue({ $0 }) else { return nil }
        let namespaces = attached.socketIO.namespaces.sorted { $0.path < $1.path }.map { namespace -> JSONValue in
            ["name": .string(namespace.path), "socketsCount": .number(JSONNumber(namespace.socketCount))]
        }
        let uptime = Double((NIODeadline.now() - startedAt).nanoseconds) / 1e9
        var stats = JSONObject()
        stats["serverId"] = .string(serverID)
        stats["hostname"] = .string(hostname)
        stats["pid"] = .number(JSONNumber(Int(getpid())))
        stats["uptime"] = .number(JSONNumber(uptime))
        stats["clientsCount"] = .number(JSONNumber(attached.clientsCount()))
        stats["pollingClientsCount"] = .number(JSONNumber(max(0, pollingClients.load(ordering: .relaxed))))
        stats["aggregatedEvents"] = .array(takeAggregatedEvents(now: Self.nowMilliseconds()))
        stats["namespaces"] = .array(namespaces)
        return .object(stats)
    }

    private func emitStats() {
        guard let stats = serverStats() else { return }
        emit("server_stats", [stats])
    }

    // MARK: - Sockets

    static func nowMilliseconds() -> Int64 { SocketIOSessionStore.wallClock() }

    /// `new Date()` as socket.io's JSON carries it (`Date.prototype.toJSON`): ISO 8601 in
    /// UTC with milliseconds, `2026-12-02T13:03:41.123Z`.
    static func isoTimestamp(_ milliseconds: Int64 = nowMilliseconds()) -> JSONValue {
        let time = UTCTime(milliseconds)
        return .string(
            "\(pad(time.year, 4))-\(pad(time.month, 2))-\(pad(time.day, 2))T\(pad(time.hour, 2)):\(pad(time.minute, 2)):\(pad(time.second, 2)).\(pad(time.millisecond, 3))Z"
        )
    }

    /// `new Date() + ""` as Node prints it in UTC (socket.io's `handshake.time`):
    /// `Wed Dec 02 2026 13:03:41 GMT+0000 (Coordinated Universal Time)`.
    static func jsDateString(_ milliseconds: Int64) -> String {
        let time = UTCTime(milliseconds)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(weekdays[time.weekday]) \(months[time.month - 1]) \(pad(time.day, 2)) \(pad(time.year, 4)) "
            + "\(pad(time.hour, 2)):\(pad(time.minute, 2)):\(pad(time.second, 2)) GMT+0000 (Coordinated Universal Time)"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// A UTC calendar time (the proleptic Gregorian calendar, as JavaScript's `Date`).
    struct UTCTime {
        var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millisecond = 0, weekday = 0

        init(_ milliseconds: Int64) {
            // Times before 1970 are not produced here; clamp rather than mis-divide.
            let milliseconds = max(0, milliseconds)
            let seconds = milliseconds / 1000
            let days = seconds / 86_400
            let secondOfDay = seconds % 86_400
            millisecond = Int(milliseconds % 1000)
            hour = Int(secondOfDay / 3600)
            minute = Int(secondOfDay % 3600 / 60)
            second = Int(secondOfDay % 60)
            weekday = Int((days + 4) % 7)  // 1970-01-01 was a Thursday
            let date = CivilCalendar.civil(fromDays: days)
            (year, month, day) = (Int(date.year), Int(date.month), Int(date.day))
        }
    }

    /// A socket as upstream's `serialize` describes it: `{id, clientId, transport, nsp,
    /// data, handshake: {address, headers, query, issued, secure, time, url, xdomain},
    /// rooms}`. On the socket's event loop.
    static func serialize(_ socket: SocketIOSocket) -> JSONValue {
        socket.eventLoop.assertInEventLoop()
        let handshake = socket.handshake
        let headers = HostSocketContext.headersObject(handshake)
        let address =
            headers["cf-connecting-ip"] ?? headers["x-forwarded-for"] ?? handshake.remoteAddress?.ipAddressText.map(JSONValue.string) ?? .null
        let time = jsDateString(socket.issued)
        let handshakeObject: JSONObject = [
            "address": address,
            "headers": .object(headers),
            "query": .object(JSONObject(handshake.query.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })),
            "issued": .number(JSONNumber(socket.issued)),
            "secure": false,
            "time": .string(time),
            "url": .string(handshake.uri),
            "xdomain": .bool(handshake.header("origin") != nil),
        ]
        return [
            "id": .string(socket.id),
            "clientId": .string(String(socket.connection.id.prefix(12))),
            "transport": .string(socket.connection.transport.rawValue),
            "nsp": .string(socket.namespace.path),
            "data": data(of: socket),
            "handshake": .object(handshakeObject),
            "rooms": .array(socket.rooms.sorted().map(JSONValue.string)),
        ]
    }

    /// What stands for socket.io's `socket.data`: the identity, when the connect chain
    /// resolved one.
    static func data(of socket: SocketIOSocket) -> JSONValue {
        if let context = socket.userInfo(as: HostSocketContext.self), !context.identity.isNull {
            return ["identity": context.identity]
        }
        if let outcome = socket.userInfo as? ConnectOutcome, !outcome.identity.isNull {
            return ["identity": outcome.identity]
        }
        return .object(JSONObject())
    }

    /// Every socket of every namespace on this node, each serialised on its own loop.
    func localSockets() async -> [JSONValue] {
        guard let socketIO = attachment.withLockedValue({ $0?.socketIO }) else { return [] }
        return await SocketSnapshot.read(SocketSnapshot.sockets(of: socketIO), Self.serialize)
    }

    /// Every socket in the cluster (this node's, then every other live node's).
    func allSockets() async -> [JSONValue] {
        guard let backplane = attachment.withLockedValue({ $0?.backplane }) else { return await localSockets() }
        let replies = await backplane.requestCommand(Self.socketsCommand, payload: .null)
        if !replies.missingNodes.isEmpty {
            logger.warning("all_sockets: some nodes did not answer", metadata: ["redis.missing": "\(replies.missingNodes)"])
        }
        return replies.value.flatMap { $0.value.arrayValue ?? [] }
    }

    // MARK: - SocketIOServerObserver

    public func sessionOpened(_ connection: EngineIOConnection) {
        rawConnections.add(1, ordering: .relaxed)
        if connection.handshake.transport == .polling { pollingClients.add(1, ordering: .relaxed) }
    }

    public func sessionClosed(_ connection: EngineIOConnection, transport: EngineIOTransportKind, reason: SocketIODisconnectReason) {
        if transport == .polling { pollingClients.subtract(1, ordering: .relaxed) }
        disconnections.withLockedValue { $0[reason.rawValue, default: 0] += 1 }
    }

    public func transportChanged(_ connection: EngineIOConnection, to transport: EngineIOTransportKind, sockets: [SocketIOSocket]) {
        if transport == .websocket, connection.handshake.transport == .polling { pollingClients.subtract(1, ordering: .relaxed) }
        guard isDevelopment else { return }
        for socket in sockets {
            emit(
                "socket_updated",
                [["id": .string(socket.id), "nsp": .string(socket.namespace.path), "transport": .string(transport.rawValue)]])
        }
    }

    public func socketConnected(_ socket: SocketIOSocket) {
        guard isDevelopment else { return }
        // Upstream's socket joins its own id room before "connection" (the adapter's join-room).
        let time = Self.isoTimestamp()
        emit("room_joined", [.string(socket.namespace.path), .string(socket.id), .string(socket.id), time])
        emit("socket_connected", [Self.serialize(socket), time])
    }

    public func socketDisconnected(_ socket: SocketIOSocket, reason: SocketIODisconnectReason, rooms: [String]) {
        guard isDevelopment else { return }
        let nsp = JSONValue.string(socket.namespace.path)
        let id = JSONValue.string(socket.id)
        let time = Self.isoTimestamp()
        emit("socket_disconnected", [nsp, id, .string(reason.rawValue), time])
        for room in rooms { emit("room_left", [nsp, .string(room), id, time]) }
    }

    public func roomsJoined(_ rooms: [String], socket: SocketIOSocket) {
        guard isDevelopment else { return }
        let time = Self.isoTimestamp()
        for room in rooms { emit("room_joined", [.string(socket.namespace.path), .string(room), .string(socket.id), time]) }
    }

    public func roomsLeft(_ rooms: [String], socket: SocketIOSocket) {
        guard isDevelopment else { return }
        let time = Self.isoTimestamp()
        for room in rooms { emit("room_left", [.string(socket.namespace.path), .string(room), .string(socket.id), time]) }
    }

    public func eventReceived(_ event: SocketIOEvent, socket: SocketIOSocket) {
        guard isDevelopment, socket.namespace.path != settings.namespace else { return }
        let args = [JSONValue.string(event.name)] + event.arguments.values()
        emit("event_received", [.string(socket.namespace.path), .string(socket.id), .array(args), Self.isoTimestamp()])
    }

    public func eventSent(_ name: String, _ arguments: SocketIOArguments, socket: SocketIOSocket) {
        guard isDevelopment, socket.namespace.path != settings.namespace else { return }
        let args = [JSONValue.string(name)] + arguments.values()
        emit("event_sent", [.string(socket.namespace.path), .string(socket.id), .array(args), Self.isoTimestamp()])
    }

    public func messageReceived(bytes: Int) {
        packetsIn.add(1, ordering: .relaxed)
        bytesIn.add(bytes, ordering: .relaxed)
    }

    public func messageSent(bytes: Int) {
        packetsOut.add(1, ordering: .relaxed)
        bytesOut.add(bytes, ordering: .relaxed)
    }

    // MARK: - Commands

    /// Runs one of the UI's commands (upstream's `registerFeatureHandlers`, Socket.IO v4
    /// branch): `emit(nsp, filter, ev, ...args)`, `join(nsp, room, filter?)`,
    /// `leave(nsp, room, filter?)`, `_disconnect(nsp, close, filter?)`. Returns an error
    /// text for a malformed or unknown command.
    func perform(_ command: String, _ arguments: [JSONValue], actor: String) -> String? {
        guard ["emit", "join", "leave", "_disconnect"].contains(command) else { return "unknown command '\(command)'" }
        guard !settings.readonly else { return "the Admin UI is read-only on this server" }
        guard let path = arguments.first?.stringValue else { return "\(command): the first argument must be a namespace" }
        let filter = Self.filter(arguments, at: command == "emit" ? 1 : 2)
        if case .invalid = filter { return "\(command): the filter must be a room name or null" }
        let rooms: Set<String> = filter.room.map { [$0] } ?? []
        let attached = attachment.withLockedValue { $0 }
        let namespace = attached?.socketIO.namespace(path)
        let backplane = attached?.backplane
        guard namespace != nil || backplane != nil else { return "\(command): no namespace \(path) on this server" }
        let broadcast = namespace.map { SocketIOBroadcast(namespace: $0, options: BroadcastOptions(rooms: rooms)) }
        let record: OperatorActionRecord
        switch command {
        case "emit":
            guard arguments.count >= 3, let event = arguments[2].stringValue, !event.isEmpty else {
                return "emit: the third argument must be an event name"
            }
            let values = Array(arguments.dropFirst(3))
            guard let target = broadcast else { return "emit: no namespace \(path) on this node" }
            if let problem = attached?.validateEmit(event, .array(values)) { return "emit: \(problem)" }
            target.emit(event, values)
            record = OperatorActionRecord(
                action: .broadcast, actor: actor, namespace: path, target: filter.room, reason: event,
                result: ["arguments": .number(JSONNumber(values.count))])
        case "join", "leave":
            guard arguments.count >= 2, let room = arguments[1].stringValue, !room.isEmpty else {
                return "\(command): the second argument must be a room name"
            }
            if command == "join" {
                if let target = broadcast {
                    target.socketsJoin([room])
                } else {
                    backplane?.socketsJoin([room], namespace: path, rooms: rooms)
                }
            } else {
                if let target = broadcast {
                    target.socketsLeave([room])
                } else {
                    backplane?.socketsLeave([room], namespace: path, rooms: rooms)
                }
            }
            record = OperatorActionRecord(
                action: command == "join" ? .join : .leave, actor: actor, namespace: path, target: room, reason: filter.room, result: [:])
        default:  // _disconnect
            guard arguments.count >= 2, let close = arguments[1].boolValue else {
                return "_disconnect: the second argument must be true or false"
            }
            if let target = broadcast {
                target.disconnectSockets(close: close)
            } else {
                backplane?.disconnectSockets(namespace: path, rooms: rooms, close: close)
            }
            record = OperatorActionRecord(
                action: .kick, actor: actor, namespace: path, target: filter.room ?? "namespace:\(path)",
                reason: close ? "Admin UI: disconnect the client" : "Admin UI: disconnect the socket",
                result: ["close": .bool(close)])
        }
        logger.info(
            "admin ui command",
            metadata: [
                "admin.action": "\(command)", "admin.actor": "\(actor)", "sio.nsp": "\(path)", "admin.target": "\(record.target ?? "")",
            ])
        onAction.withLockedValue { $0 }?(record)
        return nil
    }

    private enum Filter {
        case room(String)
        case none
        case invalid

        var room: String? { if case .room(let room) = self { return room } else { return nil } }
    }

    /// upstream tests `if (filter)`: a missing, null or empty filter means the whole namespace.
    private static func filter(_ arguments: [JSONValue], at index: Int) -> Filter {
        guard index < arguments.count else { return .none }
        switch arguments[index] {
        case .null: return .none
        case .string(let room): return room.isEmpty ? .none : .room(room)
        default: return .invalid
        }
    }
}

/// What an accepted admin socket carries from its CONNECT to its `connected` call.
struct AdminUIConnection: Sendable {
    /// A session created by this CONNECT's password check, to send after the CONNECT reply.
    var newSession: String?
    var actor: String
}

/// The admin namespace: authentication at CONNECT, then `session` (after the CONNECT
/// reply: the UI registers its listener in its `connect` handler), `config`, and in
/// development mode `all_sockets`; commands as events.
struct AdminUINamespaceHandler: SocketIONamespaceHandler {
    let ui: AdminUI

    func authorize(_ request: SocketIOConnectRequest, decide: @escaping @Sendable (SocketIOConnectDecision) -> Void) {
        let address = request.handshake.remoteAddress?.ipAddressText ?? "?"
        switch ui.settings.authentication {
        case .none:
            decide(.accepted(userInfo: AdminUIConnection(newSession: nil, actor: "admin-ui@\(address)")))
        case .basic(let username, let hash):
            if let session = request.auth["sessionId"]?.stringValue, ui.isValidSession(session) {
                decide(.accepted(userInfo: AdminUIConnection(newSession: nil, actor: "admin-ui:\(username)@\(address)")))
                return
            }
            guard request.auth["username"]?.stringValue == username, let password = request.auth["password"]?.stringValue else {
                ui.logger.notice("admin ui: invalid credentials", metadata: ["address": "\(address)"])
                decide(.refuse(message: "invalid credentials", data: nil))
                return
            }
            let ui = self.ui
            // bcrypt is slow on purpose: never on an event loop.
            NIOThreadPool.singleton.runIfActive(eventLoop: request.eventLoop) {
                BcryptHash.verify(password: password, hash: hash)
            }.whenComplete { result in
                guard case .success(true) = result else {
                    ui.logger.notice("admin ui: invalid credentials", metadata: ["address": "\(address)"])
                    decide(.refuse(message: "invalid credentials", data: nil))
                    return
                }
                decide(.accepted(userInfo: AdminUIConnection(newSession: ui.newSession(), actor: "admin-ui:\(username)@\(address)")))
            }
        }
    }

    func connected(_ socket: SocketIOSocket) {
        if let session = (socket.userInfo as? AdminUIConnection)?.newSession {
            socket.emit("session", [.string(session)])
        }
        socket.emit("config", [["supportedFeatures": .array(ui.supportedFeatures.map(JSONValue.string))]])
        guard ui.isDevelopment else { return }
        let ui = self.ui
        Task {
            let sockets = await ui.allSockets()
            socket.emit("all_sockets", [.array(sockets)])
        }
    }

    func received(_ event: SocketIOEvent, from socket: SocketIOSocket) {
        let actor = (socket.userInfo as? AdminUIConnection)?.actor ?? "admin-ui"
        guard let problem = ui.perform(event.name, event.arguments.values(), actor: actor) else { return }
        ui.logger.notice("admin ui: refused command: \(problem)", metadata: ["sio.sid": "\(socket.id)"])
        event.ack?.send([["error": .string(problem)]])
    }
}
