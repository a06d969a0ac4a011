import EngineIO
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import SocketIO
import SwitchyardJSON

/// Handles an operator command on this node: gets the command's payload, returns this
/// node's answer (returned to a ``RedisBackplane/requestCommand(_:payload:timeout:)`` caller;
/// ignored for ``RedisBackplane/publishCommand(_:payload:)``).
///
/// Handlers act on **this node only** — use `.local` broadcasts in them — since every node
/// runs the same handler.
public typealias ClusterCommandHandler = @Sendable (_ payload: JSONValue) async -> JSONValue

/// Handles a server-side emit with all its arguments (socket.io's `io.serverSideEmit(name,
/// ...args)`); the answer goes back when the sender asked for one (only the first value of
/// a JavaScript acknowledgement is sent, as the adapter does).
public typealias ClusterServerSideEmitHandler = @Sendable (_ arguments: [JSONValue]) async -> JSONValue

/// A socket somewhere in the cluster.
public struct ClusterSocket: Sendable, Hashable {
    public var id: String
    public var rooms: [String]
    /// The node it is on (nil for answers from a socket.io Node server).
    public var node: String?
    /// Its handshake as socket.io describes it: `headers`, `time`, `address`, `xdomain`,
    /// `secure`, `issued`, `url`, `query`, `auth`.
    public var handshake: JSONValue
    /// Its `data` (``SocketIOSocket/data``).
    public var data: JSONValue = .object([:])
}

/// The answers to a cluster request: what came back, and which live nodes did not answer
/// in time.
public struct ClusterReplies<Value: Sendable>: Sendable {
    public var value: Value
    /// Nodes alive when the request was sent that neither answered nor died before the
    /// timeout.
    public var missingNodes: [String]
    public var isComplete: Bool { missingNodes.isEmpty }
}

/// One node's answer to a command request.
public struct ClusterCommandReply: Sendable, Hashable {
    /// The answering node (this node's ``RedisBackplane/uid`` for the local answer).
    public var node: String?
    public var value: JSONValue
}

/// The Redis backplane: broadcasts, room operations, disconnects and operator commands
/// reach sockets on every node of a cluster, in the socket.io Redis adapter's wire format.
///
/// One per process, attached to the ``SocketIOServer``:
///
/// ```swift
/// let backplane = RedisBackplane(configuration: try .init(url: "redis://127.0.0.1:6379"),
///                                eventLoopGroup: group, logger: logger)
/// backplane.onOutage = { outage in audit.record(.redisOutage(outage)) }
/// backplane.onRecovery = { outage in audit.record(.redisRecovered(outage)) }
/// backplane.attach(to: io)            // io.backplane = backplane
/// try await backplane.start()         // throws RedisBackplaneError.unreachable unless startDegraded
/// …
/// await backplane.shutdown()          // says goodbye so requests stop waiting for this node
/// ```
///
/// Or run it in a `ServiceGroup`: ``run()`` starts it, waits for graceful shutdown, then
/// shuts it down.
///
/// **Delivery.** A broadcast is delivered to this node's sockets first, always, then
/// published; a node ignores its own messages. While Redis is unreachable local delivery
/// goes on, publishes are buffered up to ``RedisConfiguration/maxBufferedCommands`` and the
/// rest dropped and counted (``RedisBackplaneStatus/dropped``); the outage is logged once
/// and reported through ``onOutage`` / ``onRecovery``.
///
/// **Requests** (``fetchSockets(namespace:rooms:except:timeout:)``, ``allRooms(namespace:timeout:)``,
/// ``requestCommand(_:payload:timeout:)``) wait only for the nodes alive when they were
/// sent — nodes announce themselves every ``RedisBackplaneConfiguration/heartbeatInterval``
/// and are forgotten after ``RedisBackplaneConfiguration/heartbeatMissesBeforeExpiry``
/// missed beats — and for no longer than the request timeout.
///
/// **Operator commands** (kick, purge-room, admin broadcast…) are carried as socket.io
/// server-side emits: register a handler per name on every node with
/// ``registerCommand(_:handler:)``, and run it cluster-wide with ``publishCommand(_:payload:)``
/// (fire and forget) or ``requestCommand(_:payload:timeout:)`` (collects each node's answer).
public final class RedisBackplane: SocketIOBackplane, Service, @unchecked Sendable {
    /// This node's id on the wire (the adapter's `uid`).
    public let uid: String
    public let configuration: RedisBackplaneConfiguration
    public let channels: RedisChannels
    let logger: Logger
    let publisher: RedisClient
    let subscriber: RedisClient
    private let timerLoop: EventLoop

    private enum Lifecycle {
        case idle, starting, running, stopped
    }

    private enum Connection {
        case publisher, subscriber
    }

    private struct Waiter {
        var resume: @Sendable ([ClusterResponse], [String]) -> Void
    }

    private struct State {
        weak var server: SocketIOServer?
        var lifecycle = Lifecycle.idle
        var publisherReady = false
        var subscriberReady = false
        var lastError: RedisClientError?
        var outage: RedisOutage?
        var outageCount: UInt64 = 0
        var nodes: ClusterNodeTable
        var requests = ClusterRequestTable<Waiter>()
        var commands: [String: ClusterServerSideEmitHandler] = [:]
        /// The last request message, to recognise its second delivery (see ``isTwin(_:)``).
        var lastRequest: (channel: String, payload: ByteBuffer, viaPattern: Bool, twinSeen: Bool)?
        var published: UInt64 = 0
        var dropped: UInt64 = 0
        var received: UInt64 = 0
        var malformed: UInt64 = 0
        var heartbeatTask: RepeatedTask?
        var onOutage: (@Sendable (RedisOutage) -> Void)?
        var onRecovery: (@Sendable (RedisOutage) -> Void)?
    }

    private let state: NIOLockedValueBox<State>

    /// Lets the clients' callbacks reach the backplane without a retain cycle.
    private final class Sink: Sendable {
        let backplane = NIOLockedValueBox<WeakBox>(WeakBox())
        struct WeakBox { weak var value: RedisBackplane? }
        var value: RedisBackplane? { backplane.withLockedValue { $0.value } }
    }

    public init(configuration: RedisBackplaneConfiguration, eventLoopGroup: EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.channels = RedisChannels(key: configuration.key)
        self.uid = Self.randomID(bytes: 8)
        var logger = logger
        logger[metadataKey: "redis.node"] = "\(uid)"
        self.logger = logger
        self.state = NIOLockedValueBox(State(nodes: ClusterNodeTable(expiry: configuration.nodeExpiry)))
        let sink = Sink()
        self.publisher = RedisClient(
            configuration: configuration.redis,
            role: .commands,
            eventLoop: eventLoopGroup.next(),
            logger: logger,
            onEvent: { event in sink.value?.clientEvent(.publisher, event) }
        )
        self.subscriber = RedisClient(
            configuration: configuration.redis,
            role: .subscriber,
            eventLoop: eventLoopGroup.next(),
            logger: logger,
            onEvent: { event in sink.value?.clientEvent(.subscriber, event) },
            onMessage: { message in sink.value?.received(message) }
        )
        self.timerLoop = publisher.eventLoop
        sink.backplane.withLockedValue { $0.value = self }
    }

    // MARK: - Host wiring

    /// Makes this the server's backplane and the target of remote operations.
    ///
    /// A node listens on the request channel of every namespace it has (and of `/`), with
    /// an exact subscription as the socket.io Redis adapter does, so a Node server's
    /// `PUBSUB NUMSUB` counts it and waits for its answers.
    public func attach(to server: SocketIOServer) {
        state.withLockedValue { $0.server = server }
        server.backplane = self
        server.recovery?.mirror = self
        guard configuration.role == .node else { return }
        server.onNamespaceChange { [weak self] path, exists in self?.namespaceChanged(path, exists: exists) }
        if configuration.mode == .sharded {
            server.onRoomChange { [weak self] path, created, deleted in self?.roomsChanged(path, created: created, deleted: deleted) }
        }
        listen(to: ["/"] + server.namespaces.map(\.path))
    }

    private func namespaceChanged(_ path: String, exists: Bool) {
        if exists {
            listen(to: [path])
        } else if path != "/" {
            if configuration.mode == .sharded {
                subscriber.unsubscribe(shardChannels: [channels.broadcast(namespace: path), channels.broadcast(namespace: path, room: uid)])
            } else {
                subscriber.unsubscribe(channels: [channels.request(namespace: path), channels.switchyardRequest(namespace: path)])
            }
        }
    }

    /// Subscribes to the request channels of namespaces, each with its Switchyard twin in
    /// the same command (so `NUMSUB` never sees one without the other).
    private func listen(to paths: [String]) {
        if configuration.mode == .sharded {
            // The sharded adapter's namespace channel and this node's response channel.
            return subscriber.subscribe(
                shardChannels: paths.flatMap { [channels.broadcast(namespace: $0), channels.broadcast(namespace: $0, room: uid)] })
        }
        subscriber.subscribe(channels: paths.flatMap { [channels.request(namespace: $0), channels.switchyardRequest(namespace: $0)] })
    }

    /// Called (once) when an outage starts: a connection to Redis was lost, or Redis was
    /// unreachable at a degraded start. Turn it into an audit row and a metric.
    public var onOutage: (@Sendable (RedisOutage) -> Void)? {
        get { state.withLockedValue { $0.onOutage } }
        set { state.withLockedValue { $0.onOutage = newValue } }
    }

    /// Called when both connections are back (resubscribed), with the finished outage.
    public var onRecovery: (@Sendable (RedisOutage) -> Void)? {
        get { state.withLockedValue { $0.onRecovery } }
        set { state.withLockedValue { $0.onRecovery = newValue } }
    }

    /// Counters and connection state.
    public var status: RedisBackplaneStatus {
        let publisherStatistics = publisher.statistics
        let subscriberStatistics = subscriber.statistics
        return state.withLockedValue { state in
            RedisBackplaneStatus(
                isConnected: state.publisherReady && state.subscriberReady,
                outage: state.outage,
                outageCount: state.outageCount,
                published: state.published,
                dropped: state.dropped,
                received: state.received,
                malformed: state.malformed,
                aliveNodes: state.nodes.alive.sorted(),
                publisher: publisherStatistics,
                subscriber: subscriberStatistics
            )
        }
    }

    /// The other nodes currently alive.
    public var aliveNodes: Set<String> { state.withLockedValue { $0.nodes.alive } }

    // MARK: - Lifecycle

    /// Connects both connections, subscribes, announces this node and learns the others.
    ///
    /// Throws ``RedisBackplaneError/unreachable(url:reason:)`` when Redis cannot be used,
    /// unless ``RedisBackplaneConfiguration/startDegraded``: then it returns, reports an
    /// outage and keeps reconnecting.
    public func start() async throws {
        try state.withLockedValue { state in
            guard state.lifecycle == .idle else { throw RedisBackplaneError.alreadyStarted }
            state.lifecycle = .starting
        }
        // Requests come twice to a namespace this node has (the exact subscription counted
        // by NUMSUB, and the pattern that covers namespaces it does not have yet); the
        // second delivery is dropped (``isTwin(_:)``).
        var patterns = [channels.responsePattern]
        if configuration.mode == .sharded {
            patterns = []
            if configuration.role == .node {
                listen(to: ["/"])
            } else {
                subscriber.subscribe(shardChannels: [channels.broadcast(namespace: "/", room: uid)])
            }
        } else if configuration.role == .node {
            patterns += [channels.broadcastPattern, channels.requestPattern]
            listen(to: ["/"])
        }
        subscriber.subscribe(channels: [channels.heartbeat], patterns: patterns)

        let publisherReady = publisher.connect()
        let subscriberReady = subscriber.connect()
        var failure: Error?
        do { try await publisherReady.get() } catch { failure = error }
        do { try await subscriberReady.get() } catch { failure = failure ?? error }

        if let failure, !configuration.startDegraded {
            state.withLockedValue { $0.lifecycle = .stopped }
            _ = try? await publisher.close().get()
            _ = try? await subscriber.close().get()
            throw RedisBackplaneError.unreachable(url: configuration.redis.redactedURL, reason: "\(failure)")
        }
        let (healthy, started) = state.withLockedValue { state -> (Bool, RedisOutage?) in
            state.lifecycle = .running
            let healthy = state.publisherReady && state.subscriberReady
            guard !healthy else { return (true, nil) }
            let outage = RedisOutage(
                started: Date(), ended: nil, reason: (failure.map { "\($0)" } ?? state.lastError?.description) ?? "connection lost")
            state.outage = outage
            state.outageCount += 1
            return (false, outage)
        }
        startHeartbeats()
        if let started {
            reportOutage(started, atStart: true)
        } else if healthy {
            logger.info("Redis backplane connected", metadata: ["redis.url": "\(configuration.redis.redactedURL)"])
            await joinCluster()
        }
    }

    /// Announces departure (so requests stop waiting for this node), then closes both
    /// connections. Local delivery keeps working afterwards.
    public func shutdown() async {
        await stop(announce: true)
    }

    /// `Service`: starts, waits for graceful shutdown (or cancellation), shuts down.
    public func run() async throws {
        let alreadyStarted = state.withLockedValue { $0.lifecycle != .idle }
        if !alreadyStarted { try await start() }
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops; without `announce` it vanishes as a crashed node would (tests).
    func stop(announce: Bool) async {
        let (pending, task, wasRunning) = state.withLockedValue { state -> ([ClusterRequestTable<Waiter>.Pending], RepeatedTask?, Bool) in
            let wasRunning = state.lifecycle == .running
            state.lifecycle = .stopped
            let task = state.heartbeatTask
            state.heartbeatTask = nil
            _ = state.nodes.removeAll()
            return (state.requests.removeAll(), task, wasRunning)
        }
        task?.cancel()
        for request in pending { request.completion.resume(request.responses, Array(request.waitingFor)) }
        if announce, wasRunning, configuration.role == .node, publisher.statistics.isReady {
            publishRaw(ClusterJSON.encode(["uid": .string(uid), "type": "bye"]), to: channels.heartbeat)
            _ = try? await publisher.send(["DEL", .string(channels.nodeKey(uid: uid))]).get()
        }
        _ = try? await subscriber.close().get()
        _ = try? await publisher.close().get()
    }

    // MARK: - SocketIOBackplane

    public func broadcast(_ packet: SocketIOBroadcastPacket, namespace: SocketIONamespace, options: BroadcastOptions) {
        let offset = LocalBackplane.deliverLocally(packet, namespace: namespace, options: options)
        guard !options.local else { return }
        publishBroadcast(
            namespace: namespace.path, event: packet.event, arguments: packet.arguments, rooms: options.rooms, except: options.except,
            offset: offset)
    }

    public func socketsJoin(_ rooms: [String], namespace: SocketIONamespace, options: BroadcastOptions) {
        LocalBackplane().socketsJoin(rooms, namespace: namespace, options: options)
        guard !options.local else { return }
        publishRoomOperation(.remoteJoin, namespace: namespace.path, rooms: rooms, options: options)
    }

    public func socketsLeave(_ rooms: [String], namespace: SocketIONamespace, options: BroadcastOptions) {
        LocalBackplane().socketsLeave(rooms, namespace: namespace, options: options)
        guard !options.local else { return }
        publishRoomOperation(.remoteLeave, namespace: namespace.path, rooms: rooms, options: options)
    }

    public func disconnectSockets(namespace: SocketIONamespace, options: BroadcastOptions, close: Bool) {
        LocalBackplane().disconnectSockets(namespace: namespace, options: options, close: close)
        guard !options.local else { return }
        publishRoomOperation(.remoteDisconnect, namespace: namespace.path, rooms: [], options: options, close: close)
    }

    public func fetchSocketIDs(namespace: SocketIONamespace, options: BroadcastOptions) async -> [String] {
        await fetchSockets(namespace: namespace.path, rooms: options.rooms, except: options.except).value.map(\.id)
    }

    // MARK: - By namespace path (operator tools; the namespace need not exist here)

    /// Emits an event to the sockets of a namespace (narrowed by rooms and except) on
    /// every node.
    public func broadcast(
        namespace path: String, event: String, arguments: SocketIOArguments, rooms: Set<String> = [], except: Set<String> = []
    ) {
        var offset: String?
        if let namespace = server?.namespace(path) {
            offset = LocalBackplane.deliverLocally(
                SocketIOBroadcastPacket(event: event, arguments: arguments), namespace: namespace,
                options: BroadcastOptions(rooms: rooms, except: except))
        }
        publishBroadcast(namespace: path, event: event, arguments: arguments, rooms: rooms, except: except, offset: offset)
    }

    /// Makes the selected sockets of a namespace join rooms, on every node.
    public func socketsJoin(_ joined: [String], namespace path: String, rooms: Set<String> = [], except: Set<String> = []) {
        let options = BroadcastOptions(rooms: rooms, except: except)
        if let namespace = server?.namespace(path) { LocalBackplane().socketsJoin(joined, namespace: namespace, options: options) }
        publishRoomOperation(.remoteJoin, namespace: path, rooms: joined, options: options)
    }

    /// Makes the selected sockets of a namespace leave rooms, on every node.
    public func socketsLeave(_ left: [String], namespace path: String, rooms: Set<String> = [], except: Set<String> = []) {
        let options = BroadcastOptions(rooms: rooms, except: except)
        if let namespace = server?.namespace(path) { LocalBackplane().socketsLeave(left, namespace: namespace, options: options) }
        publishRoomOperation(.remoteLeave, namespace: path, rooms: left, options: options)
    }

    /// Disconnects the selected sockets of a namespace on every node (`rooms: [socketID]`
    /// kicks one socket wherever it is).
    public func disconnectSockets(namespace path: String, rooms: Set<String> = [], except: Set<String> = [], close: Bool = false) {
        let options = BroadcastOptions(rooms: rooms, except: except)
        if let namespace = server?.namespace(path) {
            LocalBackplane().disconnectSockets(namespace: namespace, options: options, close: close)
        }
        publishRoomOperation(.remoteDisconnect, namespace: path, rooms: [], options: options, close: close)
    }

    // MARK: - Cluster queries

    /// The sockets of a namespace (narrowed by rooms and except) on every live node.
    public func fetchSockets(namespace path: String, rooms: Set<String> = [], except: Set<String> = [], timeout: TimeAmount? = nil) async
        -> ClusterReplies<[ClusterSocket]>
    {
        var sockets = localSockets(namespace: path, options: BroadcastOptions(rooms: rooms, except: except))
        let body: JSONObject = [
            "type": .number(JSONNumber(ClusterRequestType.remoteFetch.rawValue)),
            "opts": ClusterJSON.options(rooms: rooms.sorted(), except: except.sorted()),
        ]
        let (responses, missing) = await request(namespace: path, body: body, timeout: timeout)
        var seen = Set(sockets.map(\.id))
        for response in responses {
            for entry in response.body["sockets"]?.arrayValue ?? [] {
                guard let id = entry["id"]?.stringValue, seen.insert(id).inserted else { continue }
                sockets.append(
                    ClusterSocket(
                        id: id, rooms: ClusterJSON.strings(entry["rooms"]), node: response.node, handshake: entry["handshake"] ?? .null,
                        data: entry["data"] ?? .null))
            }
        }
        return ClusterReplies(value: sockets, missingNodes: missing)
    }

    /// How many sockets of a namespace (narrowed by rooms and except) are connected across
    /// the cluster.
    public func countSockets(namespace path: String, rooms: Set<String> = [], except: Set<String> = [], timeout: TimeAmount? = nil) async
        -> ClusterReplies<Int>
    {
        let result = await fetchSockets(namespace: path, rooms: rooms, except: except, timeout: timeout)
        return ClusterReplies(value: result.value.count, missingNodes: result.missingNodes)
    }

    /// Every room of a namespace with a member somewhere in the cluster.
    /// (The sharded adapter has no such request: in sharded mode, this node's rooms only.)
    public func allRooms(namespace path: String, timeout: TimeAmount? = nil) async -> ClusterReplies<Set<String>> {
        var rooms = Set(server?.namespace(path)?.rooms().keys.map { $0 } ?? [])
        if configuration.mode == .sharded { return ClusterReplies(value: rooms, missingNodes: []) }
        let body: JSONObject = ["type": .number(JSONNumber(ClusterRequestType.allRooms.rawValue))]
        let (responses, missing) = await request(namespace: path, body: body, timeout: timeout)
        for response in responses { rooms.formUnion(ClusterJSON.strings(response.body["rooms"])) }
        return ClusterReplies(value: rooms, missingNodes: missing)
    }

    // MARK: - Operator commands

    /// Registers the handler every node runs for a command name (replacing any earlier one).
    public func registerCommand(_ name: String, handler: @escaping ClusterCommandHandler) {
        onServerSideEmit(name) { arguments in await handler(arguments.first ?? .null) }
    }

    /// Registers the handler every node runs for a server-side emit, with all its arguments
    /// (replacing any earlier one for that name, and any command of that name).
    public func onServerSideEmit(_ name: String, handler: @escaping ClusterServerSideEmitHandler) {
        state.withLockedValue { $0.commands[name] = handler }
    }

    /// socket.io's `io.serverSideEmit(name, ...arguments)` without an acknowledgement: runs on
    /// every other node (Switchyard or socket.io) listening on `/`, not on this one.
    public func serverSideEmit(_ name: String, _ arguments: [JSONValue]) {
        if configuration.mode == .sharded {
            return publishSharded(.serverSideEmit, namespace: "/", data: ["packet": .array([.string(name)] + arguments)])
        }
        let body: JSONObject = [
            "uid": .string(uid),
            "type": .number(JSONNumber(ClusterRequestType.serverSideEmit.rawValue)),
            "data": .array([.string(name)] + arguments),
        ]
        publishRaw(ClusterJSON.encode(body), to: channels.request(namespace: "/"))
    }

    /// Runs a command on every node: this one (when it has a handler) and, through Redis,
    /// the others. Fire and forget.
    ///
    /// On the wire it is a socket.io server-side emit on the main namespace
    /// (`{"uid","type":6,"data":[name,payload]}` on `<key>-request#/#`), so
    /// `io.serverSideEmit(name, payload)` from a Node server or emitter runs it too.
    public func publishCommand(_ name: String, payload: JSONValue) {
        if configuration.role == .node, let handler = state.withLockedValue({ $0.commands[name] }) {
            Task { _ = await handler([payload]) }
        }
        serverSideEmit(name, [payload])
    }

    /// Runs a command on every node and collects the answers: this node's first (when it
    /// has a handler), then every live node's, up to the timeout.
    public func requestCommand(_ name: String, payload: JSONValue, timeout: TimeAmount? = nil) async -> ClusterReplies<
        [ClusterCommandReply]
    > {
        var replies: [ClusterCommandReply] = []
        if configuration.role == .node, let handler = state.withLockedValue({ $0.commands[name] }) {
            replies.append(ClusterCommandReply(node: uid, value: await handler([payload])))
        }
        let body: JSONObject = [
            "type": .number(JSONNumber(ClusterRequestType.serverSideEmit.rawValue)),
            "data": .array([.string(name), payload]),
        ]
        let (responses, missing) = await request(namespace: "/", body: body, timeout: timeout)
        for response in responses { replies.append(ClusterCommandReply(node: response.node, value: response.body["data"] ?? .null)) }
        return ClusterReplies(value: replies, missingNodes: missing)
    }

    // MARK: - Publishing

    private var server: SocketIOServer? { state.withLockedValue { $0.server } }

    private func publishRaw(_ payload: ByteBuffer, to channel: String) {
        let accepted = publisher.publish(payload, to: channel)
        state.withLockedValue { state in
            if accepted { state.published &+= 1 } else { state.dropped &+= 1 }
        }
    }

    private func publishBroadcast(
        namespace: String, event: String, arguments: SocketIOArguments, rooms: Set<String>, except: Set<String>, offset: String? = nil
    ) {
        if configuration.mode == .sharded {
            // The ClusterAdapter protocol carries no offset: connection state recovery stays
            // on the node (docs/REDIS.md).
            return publishShardedBroadcast(namespace: namespace, event: event, arguments: arguments, rooms: rooms, except: except)
        }
        let sortedRooms = rooms.sorted()
        let message = ClusterBroadcast(
            uid: uid, namespace: namespace, event: event, arguments: arguments, rooms: sortedRooms, except: except.sorted(), offset: offset)
        let channel =
            sortedRooms.count == 1
            ? channels.broadcast(namespace: namespace, room: sortedRooms[0])
            : channels.broadcast(namespace: namespace)
        publishRaw(message.encoded(), to: channel)
    }

    private func publishRoomOperation(
        _ type: ClusterRequestType, namespace: String, rooms: [String], options: BroadcastOptions, close: Bool = false
    ) {
        if configuration.mode == .sharded {
            var data: JSONObject = ["opts": ShardedMessage.options(options)]
            if type == .remoteDisconnect { data["close"] = .bool(close) } else { data["rooms"] = .array(rooms.map(JSONValue.string)) }
            let kind: ShardedMessage.Kind = type == .remoteJoin ? .socketsJoin : type == .remoteLeave ? .socketsLeave : .disconnectSockets
            return publishSharded(kind, namespace: namespace, data: data)
        }
        var body: JSONObject = [
            "uid": .string(uid),
            "type": .number(JSONNumber(type.rawValue)),
            "opts": ClusterJSON.options(rooms: options.rooms.sorted(), except: options.except.sorted()),
        ]
        if type == .remoteDisconnect {
            body["close"] = .bool(close)
        } else {
            body["rooms"] = .array(rooms.map(JSONValue.string))
        }
        publishRaw(ClusterJSON.encode(body), to: channels.request(namespace: namespace))
    }

    /// Publishes a request and waits for the live nodes' responses.
    private func request(namespace: String, body: JSONObject, timeout: TimeAmount?) async -> ([ClusterResponse], [String]) {
        if configuration.mode == .sharded { return await shardedRequest(namespace: namespace, body: body, timeout: timeout) }
        let id = Self.randomID(bytes: 6)
        var body = body
        body["uid"] = .string(uid)
        body["requestId"] = .string(id)
        // Every Switchyard node answers a request so marked, whether or not it has the
        // namespace (it waits for the live ones by heartbeat); socket.io ignores the key.
        body["switchyard"] = true
        let payload = ClusterJSON.encode(body)
        let channel = channels.request(namespace: namespace)
        let timeout = timeout ?? configuration.requestTimeout
        let socketIONodes = await socketIONodeCount(namespace: namespace)
        return await withCheckedContinuation { (continuation: CheckedContinuation<([ClusterResponse], [String]), Never>) in
            let waiter = Waiter { responses, missing in continuation.resume(returning: (responses, missing)) }
            // Nobody to wait for: no other node, or Redis is down (then every node is
            // unreachable and reported missing at once).
            let unreachable = state.withLockedValue { state -> [String]? in
                guard state.lifecycle == .running else { return [] }
                let waitingFor = state.nodes.alive.subtracting([uid])
                guard !waitingFor.isEmpty || socketIONodes > 0 else { return [] }
                guard state.publisherReady, state.subscriberReady else { return waitingFor.sorted() }
                state.requests.add(id: id, waitingFor: waitingFor, anonymous: socketIONodes, completion: waiter)
                return nil
            }
            if let unreachable { return continuation.resume(returning: ([], unreachable)) }
            timerLoop.scheduleTask(in: timeout) {
                guard let request = self.state.withLockedValue({ $0.requests.remove(id) }) else { return }
                self.logger.debug(
                    "cluster request timed out", metadata: ["redis.request": "\(id)", "redis.missing": "\(request.waitingFor.sorted())"])
                request.completion.resume(request.responses, request.missing)
            }
            publishRaw(payload, to: channel)
        }
    }

    /// How many socket.io (Node) servers listen on a namespace's request channel and will
    /// answer: `PUBSUB NUMSUB` of the request channel, which the adapter uses to count
    /// nodes, minus the Switchyard nodes (subscribed to the twin channel too).
    private func socketIONodeCount(namespace: String) async -> Int {
        // During an outage the command would wait for the reconnection; nobody is reachable.
        guard state.withLockedValue({ $0.lifecycle == .running && $0.publisherReady && $0.subscriberReady }),
            let reply = try? await publisher.send([
                "PUBSUB", "NUMSUB", .string(channels.request(namespace: namespace)), .string(channels.switchyardRequest(namespace: namespace)),
            ]).get(),
            let parts = reply.array, parts.count == 4, let all = parts[1].integer, let switchyard = parts[3].integer
        else { return 0 }
        return max(0, Int(all - switchyard))
    }

    // MARK: - Receiving

    private func received(_ message: RedisPubSubMessage) {
        state.withLockedValue { $0.received &+= 1 }
        if message.isSharded { return receivedSharded(message) }
        let channel = message.channel
        if channel.hasPrefix(channels.broadcastPrefix) {
            receivedBroadcast(message.payload)
        } else if channel.hasPrefix(channels.requestPrefix) {
            guard let namespace = channels.namespace(ofRequestChannel: channel) else { return countMalformed() }
            guard !isTwin(message) else { return }
            receivedRequest(message.payload, namespace: namespace, counted: message.pattern == nil)
        } else if channel.hasPrefix(channels.responsePrefix) {
            receivedResponse(message.payload)
        } else if channel == channels.heartbeat {
            receivedHeartbeat(message.payload)
        }
    }

    /// Whether a request message is the second delivery of the previous one: Redis sends a
    /// message published on a channel this node subscribes to both exactly and by pattern
    /// twice, back to back (channel subscribers first, then patterns).
    private func isTwin(_ message: RedisPubSubMessage) -> Bool {
        let viaPattern = message.pattern != nil
        return state.withLockedValue { state in
            if let last = state.lastRequest, !last.twinSeen, last.viaPattern != viaPattern, last.channel == message.channel,
                last.payload == message.payload
            {
                state.lastRequest?.twinSeen = true
                return true
            }
            state.lastRequest = (message.channel, message.payload, viaPattern, false)
            return false
        }
    }

    private func countMalformed() {
        state.withLockedValue { $0.malformed &+= 1 }
    }

    private func receivedBroadcast(_ payload: ByteBuffer) {
        let broadcast: ClusterBroadcast
        do throws(ClusterMessageError) {
            guard let decoded = try ClusterBroadcast(decoding: payload) else { return }
            broadcast = decoded
        } catch {
            logger.debug("ignoring a malformed broadcast", metadata: ["redis.error": "\(error)"])
            return countMalformed()
        }
        guard broadcast.uid != uid, let namespace = server?.namespace(broadcast.namespace) else { return }
        LocalBackplane.deliverLocally(
            SocketIOBroadcastPacket(event: broadcast.event, arguments: broadcast.arguments, offset: broadcast.offset),
            namespace: namespace,
            options: BroadcastOptions(rooms: Set(broadcast.rooms), except: Set(broadcast.except))
        )
    }

    /// Answers or performs a request from another node. `counted` says it came through the
    /// exact subscription that the sender's `PUBSUB NUMSUB` counted: only then is it answered
    /// — a socket.io node waits for exactly that many answers — unless a Switchyard node sent
    /// it (`"switchyard": true`), which waits for every live Switchyard node instead.
    private func receivedRequest(_ payload: ByteBuffer, namespace path: String, counted: Bool) {
        guard let request = ClusterJSON.decode(payload), let typeNumber = request["type"]?.intValue else { return countMalformed() }
        let sender = request["uid"]?.stringValue
        guard sender != uid, let type = ClusterRequestType(rawValue: typeNumber) else { return }
        let answers = counted || request["switchyard"] == .bool(true)
        let namespace = server?.namespace(path)
        let options = BroadcastOptions(
            rooms: Set(ClusterJSON.strings(request["opts"]?["rooms"])),
            except: Set(ClusterJSON.strings(request["opts"]?["except"]))
        )
        func respond(_ body: JSONObject) {
            if answers { self.respond(to: request, namespace: path, body: body) }
        }
        switch type {
        case .remoteJoin, .remoteLeave, .remoteDisconnect:
            guard let namespace else { return }
            if request["opts"] == nil {
                // The adapter's older single-socket form: {sid, room} and a response.
                guard let sid = request["sid"]?.stringValue, let socket = namespace.socket(id: sid) else { return }
                switch type {
                case .remoteJoin: if let room = request["room"]?.stringValue { socket.join(room) }
                case .remoteLeave: if let room = request["room"]?.stringValue { socket.leave(room) }
                default: socket.disconnect(close: request["close"]?.boolValue ?? false)
                }
                respond([:])
                return
            }
            Self.applyRoomOperation(
                type, rooms: ClusterJSON.strings(request["rooms"]), namespace: namespace, options: options,
                close: request["close"]?.boolValue ?? false)
        case .sockets:
            let rooms = BroadcastOptions(rooms: Set(ClusterJSON.strings(request["rooms"])))
            let ids = localSockets(namespace: path, options: rooms).map { JSONValue.string($0.id) }
            respond(["sockets": .array(ids)])
        case .allRooms:
            let rooms = namespace?.rooms().keys.sorted() ?? []
            respond(["rooms": .array(rooms.map(JSONValue.string))])
        case .remoteFetch:
            respond(["sockets": .array(fetchAnswer(namespace: path, options: options, node: uid))])
        case .serverSideEmit:
            guard let data = request["data"]?.arrayValue, let name = data.first?.stringValue else { return }
            let handler = state.withLockedValue { $0.commands[name] }
            let arguments = Array(data.dropFirst())
            let wantsAnswer = request["requestId"] != nil
            let type = JSONValue.number(JSONNumber(ClusterRequestType.serverSideEmit.rawValue))
            guard let handler else {
                if wantsAnswer { respond(["type": type, "data": .null]) }
                return
            }
            Task {
                let answer = await handler(arguments)
                if wantsAnswer { respond(["type": type, "data": answer]) }
            }
        case .broadcast:
            receivedBroadcastWithAck(payload, namespace: namespace, answers: answers)
        case .broadcastClientCount, .broadcastAck:
            return  // answers, not requests; they come on response channels
        }
    }

    /// A socket.io node's `io.timeout(t).emit(…, ack)`: the event goes to this node's
    /// selected sockets with an ack id each; the requester learns how many sockets there are
    /// (BROADCAST_CLIENT_COUNT, JSON) and gets each socket's acknowledgement
    /// (BROADCAST_ACK, MessagePack, the first argument only, as the adapter sends it).
    private func receivedBroadcastWithAck(_ payload: ByteBuffer, namespace: SocketIONamespace?, answers: Bool) {
        let request: ClusterBroadcastRequest
        do throws(ClusterMessageError) {
            request = try ClusterBroadcastRequest(decoding: payload)
        } catch {
            logger.debug("ignoring a malformed broadcast with acknowledgements", metadata: ["redis.error": "\(error)"])
            return countMalformed()
        }
        guard answers else {
            // Not counted by the requester (a namespace this node has only just created):
            // deliver, but an answer would be one too many.
            for socket in Self.localTargets(namespace, request.options) { socket.emit(request.event, request.arguments) }
            return
        }
        let path = namespace?.path ?? request.namespace
        let channel = request.uid.map { channels.response(namespace: path, uid: $0) } ?? channels.response(namespace: path)
        Self.emitWithAcks(
            request.event, request.arguments, to: Self.localTargets(namespace, request.options), timeout: request.timeout,
            count: { count in
                self.publishRaw(
                    ClusterJSON.encode([
                        "type": .number(JSONNumber(ClusterRequestType.broadcastClientCount.rawValue)), "requestId": .string(request.requestID),
                        "clientCount": .number(JSONNumber(count)),
                    ]), to: channel)
            },
            ack: { [weak self] arguments in
                self?.publishRaw(ClusterBroadcastRequest.ack(requestID: request.requestID, arguments: arguments), to: channel)
            })
    }

    /// The sockets of `namespace` on this node that `options` selects.
    private static func localTargets(_ namespace: SocketIONamespace?, _ options: BroadcastOptions) -> [SocketIOSocket] {
        namespace.map { SocketIOBroadcast(namespace: $0, options: options).localSocketIDs().compactMap($0.socket(id:)) } ?? []
    }

    /// A broadcast with acknowledgements as every adapter answers it, whatever the wire
    /// format: first how many sockets it reached (`count`), then each socket's reply (`ack`).
    private static func emitWithAcks(
        _ event: String, _ arguments: SocketIOArguments, to targets: [SocketIOSocket], timeout: TimeAmount?,
        count: (Int) -> Void, ack: @escaping @Sendable (SocketIOArguments) -> Void
    ) {
        count(targets.count)
        for socket in targets {
            socket.emit(event, arguments, timeout: timeout) { result in
                guard case .success(let reply) = result else { return }
                ack(reply)
            }
        }
    }

    /// Publishes an answer on the requester's own response channel, which every adapter
    /// instance subscribes to (the shared one when the request names no requester).
    private func respond(to request: JSONObject, namespace: String, body: JSONObject) {
        guard configuration.role == .node, let requestID = request["requestId"] else { return }
        var body = body
        body["requestId"] = requestID
        body["uid"] = .string(uid)
        let channel =
            request["uid"]?.stringValue.map { channels.response(namespace: namespace, uid: $0) } ?? channels.response(namespace: namespace)
        publishRaw(ClusterJSON.encode(body), to: channel)
    }

    private func receivedResponse(_ payload: ByteBuffer) {
        guard let response = ClusterJSON.decode(payload), let id = response["requestId"]?.stringValue else { return countMalformed() }
        let finished = state.withLockedValue { state in
            state.requests.received(ClusterResponse(node: response["uid"]?.stringValue, body: response), for: id)
        }
        if let finished { finished.completion.resume(finished.responses, []) }
    }

    private func receivedHeartbeat(_ payload: ByteBuffer) {
        guard let beat = ClusterJSON.decode(payload), let sender = beat["uid"]?.stringValue else { return countMalformed() }
        guard sender != uid else { return }
        let now = NIODeadline.now()
        if beat["type"]?.stringValue == "bye" {
            let finished = state.withLockedValue { state -> [ClusterRequestTable<Waiter>.Pending] in
                state.nodes.left(sender)
                return state.requests.nodeGone(sender)
            }
            logger.debug("node left the cluster", metadata: ["redis.peer": "\(sender)"])
            for request in finished { request.completion.resume(request.responses, []) }
        } else {
            let isNew = state.withLockedValue { $0.lifecycle == .running && $0.nodes.heartbeat(from: sender, at: now) }
            if isNew { logger.debug("node joined the cluster", metadata: ["redis.peer": "\(sender)"]) }
        }
    }

    // MARK: - Local answers

    /// Applies a room operation another node sent to this node's selected sockets.
    private static func applyRoomOperation(
        _ type: ClusterRequestType, rooms: [String], namespace: SocketIONamespace, options: BroadcastOptions, close: Bool
    ) {
        switch type {
        case .remoteJoin: LocalBackplane().socketsJoin(rooms, namespace: namespace, options: options)
        case .remoteLeave: LocalBackplane().socketsLeave(rooms, namespace: namespace, options: options)
        default: LocalBackplane().disconnectSockets(namespace: namespace, options: options, close: close)
        }
    }

    /// The sockets of a fetch answer as the adapter sends them: `{id, handshake, rooms,
    /// data}` (plus `node` when given, which socket.io ignores).
    private func fetchAnswer(namespace path: String, options: BroadcastOptions, node: String? = nil) -> [JSONValue] {
        localSockets(namespace: path, options: options).map { socket in
            var entry: JSONObject = [
                "id": .string(socket.id), "handshake": socket.handshake, "rooms": .array(socket.rooms.map(JSONValue.string)), "data": socket.data,
            ]
            if let node { entry["node"] = .string(node) }
            return .object(entry)
        }
    }

    private func localSockets(namespace path: String, options: BroadcastOptions) -> [ClusterSocket] {
        guard let namespace = server?.namespace(path) else { return [] }
        return SocketIOBroadcast(namespace: namespace, options: options).localSocketIDs().compactMap { id in
            guard let socket = namespace.socket(id: id) else { return nil }
            return ClusterSocket(
                id: id, rooms: socket.rooms.sorted(), node: uid, handshake: Self.handshake(of: socket), data: socket.data)
        }
    }

    /// The handshake as socket.io builds it (`packages/socket.io/lib/socket.ts`,
    /// `buildHandshake`) and the adapter sends it in a REMOTE_FETCH answer: `headers`
    /// (lower-case names), `time` (`Date.prototype.toString` form, UTC), `address`,
    /// `xdomain` (an `Origin` header was sent), `secure` (always false: Switchyard serves
    /// plain HTTP), `issued` (milliseconds since 1970), `url`, `query`, `auth`.
    static func handshake(of socket: SocketIOSocket) -> JSONValue {
        let handshake = socket.handshake
        var headers = JSONObject()
        for (name, value) in handshake.headers { headers[name.lowercased()] = .string(value) }
        var query = JSONObject()
        for (name, value) in handshake.query.sorted(by: { $0.key < $1.key }) { query[name] = .string(value) }
        let issued = Date(timeIntervalSince1970: Double(socket.issued) / 1000)
        return .object([
            "headers": .object(headers),
            "time": .string(javaScriptDateString(issued)),
            "address": handshake.remoteAddress?.ipAddress.map(JSONValue.string) ?? .null,
            "xdomain": .bool(handshake.header("origin") != nil),
            "secure": false,
            "issued": .number(JSONNumber(Int64((issued.timeIntervalSince1970 * 1000).rounded(.down)))),
            "url": .string(handshake.uri),
            "query": .object(query),
            "auth": socket.auth,
        ])
    }

    /// `String(new Date())` in UTC: `Wed Dec 02 2026 13:21:00 GMT+0000 (Coordinated Universal Time)`.
    static func javaScriptDateString(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return "\(weekdays[(parts.weekday ?? 1) - 1]) \(months[(parts.month ?? 1) - 1]) \(two(parts.day)) \(parts.year ?? 1970) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) GMT+0000 (Coordinated Universal Time)"
    }

    // MARK: - Heartbeats and membership

    private func startHeartbeats() {
        let task = timerLoop.scheduleRepeatedTask(initialDelay: configuration.heartbeatInterval, delay: configuration.heartbeatInterval) {
            _ in
            self.heartbeatTick()
        }
        state.withLockedValue { $0.heartbeatTask = task }
    }

    private func heartbeatTick() {
        let now = NIODeadline.now()
        let (running, finished, expired) = state.withLockedValue { state -> (Bool, [ClusterRequestTable<Waiter>.Pending], [String]) in
            guard state.lifecycle == .running else { return (false, [], []) }
            let expired = state.nodes.expire(now: now)
            var finished: [ClusterRequestTable<Waiter>.Pending] = []
            for node in expired { finished += state.requests.nodeGone(node) }
            return (true, finished, expired)
        }
        guard running else { return }
        for node in expired {
            logger.info("node stopped sending heartbeats; no longer waiting for it", metadata: ["redis.peer": "\(node)"])
        }
        for request in finished { request.completion.resume(request.responses, []) }
        announce()
    }

    /// Publishes this node's heartbeat and refreshes its registry key.
    private func announce() {
        guard configuration.role == .node, publisher.statistics.isReady else { return }
        var info = configuration.nodeInfo
        info["uid"] = .string(uid)
        info["type"] = "heartbeat"
        let payload = ClusterJSON.encode(info)
        publishRaw(payload, to: channels.heartbeat)
        let expiry = configuration.nodeExpiry.nanoseconds / 1_000_000
        publisher.sendAndForget(["SET", .string(channels.nodeKey(uid: uid)), .bytes(payload), "PX", .string(String(max(1, expiry)))])
    }

    /// Announces this node and learns the others from the registry (after start and after
    /// every recovery).
    private func joinCluster() async {
        announce()
        var cursor = "0"
        var found: [String] = []
        repeat {
            guard
                let reply = try? await publisher.send(["SCAN", .string(cursor), "MATCH", .string(channels.nodeKeyPattern), "COUNT", "1000"])
                    .get(),
                let parts = reply.array, parts.count == 2, let next = parts[0].string, let keys = parts[1].array
            else { break }
            for key in keys {
                guard let name = key.string, name.hasPrefix(channels.nodeKeyPrefix) else { continue }
                let node = String(name.dropFirst(channels.nodeKeyPrefix.count))
                if node != uid { found.append(node) }
            }
            cursor = next
        } while cursor != "0"
        let now = NIODeadline.now()
        state.withLockedValue { state in
            guard state.lifecycle == .running else { return }
            for node in found { state.nodes.heartbeat(from: node, at: now) }
        }
    }

    // MARK: - Outages

    private func clientEvent(_ connection: Connection, _ event: RedisClientEvent) {
        enum Change { case none, started(RedisOutage), recovered(RedisOutage) }
        let change = state.withLockedValue { state -> Change in
            switch event {
            case .ready:
                if connection == .publisher { state.publisherReady = true } else { state.subscriberReady = true }
            case .lost(let error):
                if connection == .publisher { state.publisherReady = false } else { state.subscriberReady = false }
                state.lastError = error
            }
            guard state.lifecycle == .running else { return .none }
            let healthy = state.publisherReady && state.subscriberReady
            if !healthy, state.outage == nil {
                let outage = RedisOutage(started: Date(), ended: nil, reason: state.lastError?.description ?? "connection lost")
                state.outage = outage
                state.outageCount += 1
                return .started(outage)
            }
            if healthy, var outage = state.outage {
                outage.ended = Date()
                state.outage = nil
                return .recovered(outage)
            }
            return .none
        }
        switch change {
        case .none:
            break
        case .started(let outage):
            reportOutage(outage, atStart: false)
        case .recovered(let outage):
            logger.notice(
                "Redis backplane recovered; cluster delivery resumed",
                metadata: ["redis.outage_seconds": "\(String(format: "%.3f", outage.duration ?? 0))"]
            )
            state.withLockedValue { $0.onRecovery }?(outage)
            Task { await self.joinCluster() }
        }
    }

    private func reportOutage(_ outage: RedisOutage, atStart: Bool) {
        logger.warning(
            atStart
                ? "Redis backplane unreachable at start; serving this node only until it is back"
                : "Redis backplane lost; delivering to this node only until it is back",
            metadata: ["redis.error": "\(outage.reason)", "redis.url": "\(configuration.redis.redactedURL)"]
        )
        state.withLockedValue { $0.onOutage }?(outage)
    }

    // MARK: - Ids

    static func randomID(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var result: [UInt8] = []
        result.reserveCapacity(bytes * 2)
        for _ in 0..<bytes {
            let byte = UInt8.random(in: 0...255, using: &generator)
            result.append(digits[Int(byte >> 4)])
            result.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: result, as: UTF8.self)
    }
}

// MARK: - Sharded mode (createShardedAdapter)

extension RedisBackplane {
    /// Publishes a `ClusterAdapter` message with `SPUBLISH`: on the namespace's channel, or
    /// on one node's response channel.
    private func publishSharded(
        _ kind: ShardedMessage.Kind, namespace: String, data: JSONObject, attachments: [ByteBuffer] = [], to channel: String? = nil
    ) {
        let payload = ShardedMessage.encode(kind, data: data, attachments: attachments, uid: uid, namespace: namespace)
        let accepted = publisher.sendAndForget(["SPUBLISH", .string(channel ?? channels.broadcast(namespace: namespace)), .bytes(payload)])
        state.withLockedValue { state in
            if accepted { state.published &+= 1 } else { state.dropped &+= 1 }
        }
    }

    /// BROADCAST `{packet: {type: 2, data, nsp}, opts}`, always on the namespace channel
    /// (which every sharded adapter subscribes to, whatever its `subscriptionMode`).
    private func publishShardedBroadcast(namespace: String, event: String, arguments: SocketIOArguments, rooms: Set<String>, except: Set<String>) {
        let packet: JSONValue = .object([
            "type": 2, "data": .array([.string(event)] + arguments.values()), "nsp": .string(namespace),
        ])
        publishSharded(
            .broadcast, namespace: namespace,
            data: ["packet": packet, "opts": ShardedMessage.options(BroadcastOptions(rooms: rooms, except: except))],
            attachments: arguments.attachments)
    }

    /// FETCH_SOCKETS or SERVER_SIDE_EMIT with a `requestId`; waits for `SHARDNUMSUB` of the
    /// namespace channel answers (every other subscriber, as `ClusterAdapter.serverCount`).
    private func shardedRequest(namespace: String, body: JSONObject, timeout: TimeAmount?) async -> ([ClusterResponse], [String]) {
        let id = Self.randomID(bytes: 8)
        let kind: ShardedMessage.Kind
        let data: JSONObject
        if body["type"]?.intValue == ClusterRequestType.remoteFetch.rawValue {
            var options = body["opts"]?.objectValue ?? [:]
            options["flags"] = .object([:])
            (kind, data) = (.fetchSockets, ["opts": .object(options), "requestId": .string(id)])
        } else {
            (kind, data) = (.serverSideEmit, ["requestId": .string(id), "packet": body["data"] ?? .array([])])
        }
        subscriber.subscribe(shardChannels: [channels.broadcast(namespace: namespace, room: uid)])
        let selfCounted = configuration.role == .node && (namespace == "/" || server?.namespace(namespace) != nil)
        var others = 0
        if state.withLockedValue({ $0.lifecycle == .running && $0.publisherReady && $0.subscriberReady }),
            let reply = try? await publisher.send(["PUBSUB", "SHARDNUMSUB", .string(channels.broadcast(namespace: namespace))]).get(),
            let count = reply.array?.dropFirst().first?.integer
        {
            others = max(0, Int(count) - (selfCounted ? 1 : 0))
        }
        guard others > 0 else { return ([], []) }
        let timeout = timeout ?? configuration.requestTimeout
        return await withCheckedContinuation { (continuation: CheckedContinuation<([ClusterResponse], [String]), Never>) in
            state.withLockedValue { state in
                state.requests.add(
                    id: id, waitingFor: [], anonymous: others,
                    completion: Waiter { responses, missing in continuation.resume(returning: (responses, missing)) })
            }
            timerLoop.scheduleTask(in: timeout) {
                guard let request = self.state.withLockedValue({ $0.requests.remove(id) }) else { return }
                request.completion.resume(request.responses, request.missing)
            }
            publishSharded(kind, namespace: namespace, data: data)
        }
    }

    /// The sharded adapter's default `subscriptionMode: "dynamic"` publishes a broadcast to
    /// one public room (not a socket id) on `<key>#<nsp>#<room>#`: listen there while the
    /// room has a member on this node (`create-room` / `delete-room` in the adapter).
    private func roomsChanged(_ path: String, created: [String], deleted: [String]) {
        let namespace = server?.namespace(path)
        let isPublic = { (room: String) in namespace?.socket(id: room) == nil && room != self.uid }
        let added = created.filter(isPublic).map { channels.broadcast(namespace: path, room: $0) }
        let removed = deleted.filter(isPublic).map { channels.broadcast(namespace: path, room: $0) }
        if !added.isEmpty { subscriber.subscribe(shardChannels: added) }
        if !removed.isEmpty { subscriber.unsubscribe(shardChannels: removed) }
    }

    /// A message on a sharded channel: a response to this node, or a message to every node.
    private func receivedSharded(_ message: RedisPubSubMessage) {
        guard let value = ShardedMessage.decode(message.payload), let number = value["type"]?.intValue,
            let kind = ShardedMessage.Kind(rawValue: number)
        else { return countMalformed() }
        let sender = value["uid"]?.stringValue
        guard sender != uid else { return }
        let path = value["nsp"]?.stringValue ?? "/"
        let data = value["data"] ?? .map([])
        let requestID = data["requestId"]?.stringValue

        if message.channel == channels.broadcast(namespace: path, room: uid) {
            guard let requestID else { return countMalformed() }
            let body: JSONObject
            switch kind {
            case .fetchSocketsResponse: body = ["sockets": JSONValue(messagePack: data["sockets"] ?? .array([]))]
            case .serverSideEmitResponse: body = ["data": JSONValue(messagePack: data["packet"] ?? .null)]
            default: return  // counts and acks of broadcasts with acks: Switchyard sends none
            }
            let finished = state.withLockedValue { $0.requests.received(ClusterResponse(node: nil, body: body), for: requestID) }
            if let finished { finished.completion.resume(finished.responses, []) }
            return
        }

        let namespace = server?.namespace(path)
        let opts = data["opts"] ?? .map([])
        let options = BroadcastOptions(
            rooms: Set(ClusterBroadcast.roomList(opts["rooms"])), except: Set(ClusterBroadcast.roomList(opts["except"])))
        @Sendable func respond(_ kind: ShardedMessage.Kind, _ body: JSONObject, attachments: [ByteBuffer] = []) {
            guard configuration.role == .node, let sender else { return }
            publishSharded(kind, namespace: path, data: body, attachments: attachments, to: channels.broadcast(namespace: path, room: sender))
        }
        switch kind {
        case .broadcast:
            guard let packet = data["packet"], let (event, arguments) = try? ClusterBroadcast.event(of: packet) else { return countMalformed() }
            guard let requestID else {
                guard let namespace else { return }
                LocalBackplane.deliverLocally(SocketIOBroadcastPacket(event: event, arguments: arguments), namespace: namespace, options: options)
                return
            }
            let timeout = opts["flags"]?["timeout"]?.intValue.map { TimeAmount.milliseconds(Int64(max(0, $0))) }
            Self.emitWithAcks(
                event, arguments, to: Self.localTargets(namespace, options), timeout: timeout,
                count: { respond(.broadcastClientCount, ["requestId": .string(requestID), "clientCount": .number(JSONNumber($0))]) },
                ack: { reply in
                    var body: JSONObject = ["requestId": .string(requestID)]
                    if let first = reply.values().first { body["packet"] = first }
                    respond(.broadcastAck, body, attachments: reply.attachments)
                })
        case .socketsJoin, .socketsLeave, .disconnectSockets:
            guard let namespace else { return }
            Self.applyRoomOperation(
                kind == .socketsJoin ? .remoteJoin : kind == .socketsLeave ? .remoteLeave : .remoteDisconnect,
                rooms: ClusterBroadcast.roomList(data["rooms"]), namespace: namespace, options: options,
                close: data["close"]?.boolValue ?? false)
        case .fetchSockets:
            guard let requestID else { return countMalformed() }
            respond(.fetchSocketsResponse, ["requestId": .string(requestID), "sockets": .array(fetchAnswer(namespace: path, options: options))])
        case .serverSideEmit:
            guard case .array(let packet)? = data["packet"], let name = packet.first?.stringValue else { return countMalformed() }
            let arguments = packet.dropFirst().map { JSONValue(messagePack: $0) }
            let handler = state.withLockedValue { $0.commands[name] }
            Task {
                let answer = await handler?(arguments) ?? .null
                if let requestID { respond(.serverSideEmitResponse, ["requestId": .string(requestID), "packet": answer]) }
            }
        default:
            return  // heartbeats and adapter close: Switchyard tracks nodes with its own heartbeats
        }
    }
}
