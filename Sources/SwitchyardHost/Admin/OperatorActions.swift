import EngineIO
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SocketIO
import SwitchyardJSON
import SwitchyardRedis

/// Who asked for an operator action, for the log and the audit trail.
public struct OperatorRequest: Sendable {
    public var actor: String
    public init(actor: String) { self.actor = actor }
}

/// What operators do to a running server: kick, broadcast, purge a room, look inside.
///
/// Each action runs on this node, and — with a Redis backplane — on every node of the
/// cluster, through backplane commands; the answer sums what every node did.
public final class OperatorActions: Sendable {
    let socketIO: SocketIOServer
    let runtime: PluginRuntime
    let engine: EngineIOServer
    let backplane: RedisBackplane?
    let logger: Logger
    /// Called after every action with its description (the audit trail hooks in here).
    let onAction: NIOLockedValueBox<(@Sendable (OperatorActionRecord) -> Void)?> = NIOLockedValueBox(nil)
    /// Called when a room is purged on this node, to drop persisted memberships; returns
    /// how many were removed.
    let onPurge: NIOLockedValueBox<(@Sendable (String, String) -> Int)?> = NIOLockedValueBox(nil)

    public init(socketIO: SocketIOServer, engine: EngineIOServer, runtime: PluginRuntime, backplane: RedisBackplane?, logger: Logger) {
        self.socketIO = socketIO
        self.engine = engine
        self.runtime = runtime
        self.backplane = backplane
        self.logger = logger
        backplane?.registerCommand(Self.kickCommand) { [weak self] payload in
            guard let self else { return .null }
            return await self.kickHere(payload)
        }
        backplane?.registerCommand(Self.purgeCommand) { [weak self] payload in
            guard let self else { return .null }
            return self.purgeHere(payload)
        }
        backplane?.registerCommand(Self.broadcastCommand) { [weak self] payload in
            guard let self else { return .null }
            return self.broadcastHere(payload)
        }
        backplane?.registerCommand(Self.liveCommand) { [weak self] _ in
            guard let self else { return .null }
            return self.liveHere()
        }
    }

    static let kickCommand = "switchyard.kick"
    static let purgeCommand = "switchyard.purge-room"
    static let liveCommand = "switchyard.live"
    static let broadcastCommand = "switchyard.broadcast"

    /// Sets the audit hook.
    public func setActionHandler(_ handler: @escaping @Sendable (OperatorActionRecord) -> Void) {
        onAction.withLockedValue { $0 = handler }
    }

    /// Sets what a purge does to persisted room memberships.
    public func setPurgeHandler(_ handler: @escaping @Sendable (_ namespace: String, _ room: String) -> Int) {
        onPurge.withLockedValue { $0 = handler }
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case invalidRequest(String)
        case unknownNamespace(String)
        case schemaViolation(String)

        public var description: String {
            switch self {
            case .invalidRequest(let text): return text
            case .unknownNamespace(let path): return "no namespace \(path) is served"
            case .schemaViolation(let text): return text
            }
        }
    }

    // MARK: - Kick

    /// Disconnects the sockets with this socket id (or Engine.IO session id), or every socket
    /// of an identity, closing their connections; the client first gets an `error` event with
    /// code `kicked` and the reason. Returns how many sockets were disconnected, cluster-wide.
    public func kick(socketID: String?, identity: String?, namespace: String?, reason: String, by request: OperatorRequest) async throws -> JSONValue {
        guard (socketID == nil) != (identity == nil) else { throw Failure.invalidRequest("give exactly one of sid and identity") }
        var object = JSONObject()
        object["sid"] = socketID.map { .string($0) } ?? .null
        object["identity"] = identity.map { .string($0) } ?? .null
        object["namespace"] = namespace.map { .string($0) } ?? .null
        object["reason"] = .string(reason)
        let payload = JSONValue.object(object)
        let result = try await clusterWide(Self.kickCommand, payload: payload) { await self.kickHere(payload) }
        record(OperatorActionRecord(action: .kick, actor: request.actor, namespace: namespace, target: socketID ?? identity.map { "identity:\($0)" }, reason: reason, result: result))
        return result
    }

    func kickHere(_ payload: JSONValue) async -> JSONValue {
        let sid = payload["sid"]?.stringValue
        let identity = payload["identity"]?.stringValue
        let namespaceFilter = payload["namespace"]?.stringValue
        let reason = payload["reason"]?.stringValue ?? "kicked by an operator"
        var kicked = 0
        var sessionsClosed = 0
        for namespace in socketIO.namespaces where namespaceFilter == nil || namespace.path == namespaceFilter {
            let sockets: [SocketIOSocket]
            if let sid {
                sockets = namespace.socket(id: sid).map { [$0] } ?? []
            } else {
                sockets = runtime.identities.sockets(of: identity ?? "", in: namespace.path).compactMap { namespace.socket(id: $0) }
            }
            for socket in sockets {
                socket.emit("error", [["error": ["detail": .string(reason), "code": "kicked", "kind": "authorization"]]])
                socket.disconnect(close: true)
                kicked += 1
            }
        }
        if let sid, kicked == 0, let session = engine.session(id: sid) {
            session.close(reason: .forcedClose)
            sessionsClosed += 1
        }
        if kicked + sessionsClosed > 0 {
            logger.notice("kicked", metadata: ["sockets": "\(kicked)", "sessions": "\(sessionsClosed)", "reason": "\(reason)"])
        }
        return ["sockets": .number(JSONNumber(kicked)), "sessions": .number(JSONNumber(sessionsClosed))]
    }

    // MARK: - Purge

    /// Makes every socket leave the room and deletes the room's persisted memberships.
    public func purgeRoom(namespace: String, room: String, by request: OperatorRequest) async throws -> JSONValue {
        let payload: JSONValue = ["namespace": .string(namespace), "room": .string(room)]
        let result = try await clusterWide(Self.purgeCommand, payload: payload) { self.purgeHere(payload) }
        record(OperatorActionRecord(action: .purge, actor: request.actor, namespace: namespace, target: room, reason: nil, result: result))
        return result
    }

    func purgeHere(_ payload: JSONValue) -> JSONValue {
        let path = payload["namespace"]?.stringValue ?? "/"
        let room = payload["room"]?.stringValue ?? ""
        var sockets = 0
        if let namespace = socketIO.namespace(path) {
            let members = namespace.broadcast.to(room).local.localSocketIDs()
            sockets = members.count
            namespace.broadcast.to(room).local.socketsLeave([room])
        }
        let memberships = onPurge.withLockedValue { $0 }?(path, room) ?? 0
        return ["sockets": .number(JSONNumber(sockets)), "memberships": .number(JSONNumber(memberships))]
    }

    // MARK: - Broadcast

    /// Emits an event to a namespace (or one room of it), validated against the event's
    /// declared schema when a plugin declares it. With Redis, every node validates and
    /// delivers to its own sockets, so each socket gets the event once.
    public func broadcast(namespace path: String, room: String?, event: String, arguments: JSONValue, by request: OperatorRequest) async throws -> JSONValue {
        guard arguments.arrayValue != nil else { throw Failure.invalidRequest("arguments must be a JSON array") }
        guard !event.isEmpty else { throw Failure.invalidRequest("an event name is required") }
        if let problem = validateBroadcast(event: event, arguments: arguments) { throw Failure.schemaViolation(problem) }
        if backplane == nil, socketIO.namespace(path) == nil { throw Failure.unknownNamespace(path) }
        let payload: JSONValue = ["namespace": .string(path), "room": room.map { .string($0) } ?? .null, "event": .string(event), "arguments": arguments]
        let result = try await clusterWide(Self.broadcastCommand, payload: payload) { self.broadcastHere(payload) }
        record(OperatorActionRecord(action: .broadcast, actor: request.actor, namespace: path, target: room, reason: event, result: result))
        return result
    }

    func validateBroadcast(event: String, arguments: JSONValue) -> String? {
        guard let declared = runtime.registry.serverEvents[event], let schema = declared.schema else { return nil }
        let violations = schema.validate(arguments.arrayValue?.first ?? .null)
        guard !violations.isEmpty else { return nil }
        return "the payload does not match the schema of '\(event)': " + violations.map(\.description).joined(separator: "; ")
    }

    func broadcastHere(_ payload: JSONValue) -> JSONValue {
        let path = payload["namespace"]?.stringValue ?? "/"
        let event = payload["event"]?.stringValue ?? ""
        let arguments = payload["arguments"] ?? []
        if let problem = validateBroadcast(event: event, arguments: arguments) {
            return ["refused": 1, "error": .string(problem)]
        }
        guard let namespace = socketIO.namespace(path) else { return ["sockets": 0] }
        var broadcast = namespace.broadcast.local
        if let room = payload["room"]?.stringValue { broadcast = broadcast.to(room) }
        let sockets = broadcast.localSocketIDs().count
        broadcast.emit(event, SocketIOArguments(arguments.arrayValue ?? []))
        return ["sockets": .number(JSONNumber(sockets))]
    }

    // MARK: - Live view

    /// Connections, namespaces with their socket counts and rooms (per node with Redis).
    public func live() async -> JSONValue {
        guard let backplane else { return ["nodes": [liveHere()]] }
        let replies = await backplane.requestCommand(Self.liveCommand, payload: .null)
        var nodes = replies.value.map(\.value)
        if nodes.isEmpty { nodes = [liveHere()] }
        return ["nodes": .array(nodes), "missingNodes": .array(replies.missingNodes.map { .string($0) })]
    }

    func liveHere() -> JSONValue {
        let namespaces = socketIO.namespaces.sorted { $0.path < $1.path }.map { namespace -> JSONValue in
            let rooms = namespace.rooms().sorted { $0.key < $1.key }.map { JSONValue.object(["room": .string($0.key), "sockets": .number(JSONNumber($0.value))]) }
            return ["namespace": .string(namespace.path), "sockets": .number(JSONNumber(namespace.socketCount)), "rooms": .array(rooms)]
        }
        return [
            "node": .string(backplane?.uid ?? "local"),
            "connections": .number(JSONNumber(engine.sessionCount)),
            "namespaces": .array(namespaces),
        ]
    }

    // MARK: - Helpers

    /// Runs a command on every node (through Redis) or here, summing numeric results.
    private func clusterWide(_ command: String, payload: JSONValue, here: @Sendable () async -> JSONValue) async throws -> JSONValue {
        guard let backplane else { return await here() }
        let replies = await backplane.requestCommand(command, payload: payload)
        return Self.sum(replies.value.map(\.value), nodes: replies.value.count, missing: replies.missingNodes)
    }

    /// Adds up the nodes' answers (numbers are summed, other values kept).
    public static func sum(_ answers: [JSONValue], nodes: Int, missing: [String]) -> JSONValue {
        var totals = JSONObject()
        for answer in answers {
            for (key, value) in answer.objectValue ?? JSONObject() {
                if let number = value.intValue {
                    totals[key] = .number(JSONNumber((totals[key]?.intValue ?? 0) + number))
                } else {
                    totals[key] = value
                }
            }
        }
        totals["nodes"] = .number(JSONNumber(nodes))
        if !missing.isEmpty { totals["missingNodes"] = .array(missing.map { .string($0) }) }
        return .object(totals)
    }

    private func record(_ action: OperatorActionRecord) {
        logger.info(
            "operator action",
            metadata: ["admin.action": "\(action.action.rawValue)", "admin.actor": "\(action.actor)", "admin.target": "\(action.target ?? "")", "admin.result": "\(action.result.serialized())"]
        )
        onAction.withLockedValue { $0 }?(action)
    }
}

/// One operator action, as the audit trail records it.
public struct OperatorActionRecord: Sendable {
    public enum Action: String, Sendable { case kick, purge, broadcast, join, leave }
    public var action: Action
    public var actor: String
    public var namespace: String?
    public var target: String?
    public var reason: String?
    public var result: JSONValue
}
