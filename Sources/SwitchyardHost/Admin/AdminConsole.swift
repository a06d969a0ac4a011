import EngineIO
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SocketIO
import SwitchyardJSON
import SwitchyardStore
import Synchronization

/// Reads sockets on their own event loops, one task per loop, never per socket.
enum SocketSnapshot {
    /// Every connected socket of every namespace on this node (admin namespaces included),
    /// by namespace path and id when `sorted` (what a listing shows), else in no order (what
    /// counting needs: sorting 10,000 ids was a quarter of the console's once-a-second cost).
    static func sockets(of socketIO: SocketIOServer, sorted: Bool = true) -> [SocketIOSocket] {
        var sockets: [SocketIOSocket] = []
        let namespaces = sorted ? socketIO.namespaces.sorted(by: { $0.path < $1.path }) : socketIO.namespaces
        for namespace in namespaces {
            let local = namespace.broadcast.local.localSockets()
            sockets.append(contentsOf: sorted ? local.sorted(by: { $0.id < $1.id }) : local)
        }
        return sockets
    }

    /// `body` applied to each still-connected socket on the socket's loop.
    static func read<T: Sendable>(_ sockets: [SocketIOSocket], _ body: @escaping @Sendable (SocketIOSocket) -> T) async -> [T] {
        var byLoop: [ObjectIdentifier: (EventLoop, [SocketIOSocket])] = [:]
        for socket in sockets { byLoop[ObjectIdentifier(socket.eventLoop), default: (socket.eventLoop, [])].1.append(socket) }
        var result: [T] = []
        for (loop, group) in byLoop.values {
            let values = try? await loop.submit { group.filter(\.isConnected).map(body) }.get()
            result.append(contentsOf: values ?? [])
        }
        return result
    }
}

/// The operator's web console on the admin listener: its data, its live stream and the
/// last hour of samples its charts draw.
///
/// Once a second (one timer, not per event) it reads every socket's counters on the
/// socket's loop, keeps a sample (sessions, sockets, connects, disconnects, events in and
/// out), and pushes a snapshot to the open streams.
final class AdminConsole: Sendable {
    let actions: OperatorActions
    let socketIO: SocketIOServer
    let engine: EngineIOServer
    let database: SwitchyardDatabase?
    let registry: JSONValue
    let logger: Logger

    /// One second of the server, as the charts draw it.
    struct Sample: Sendable {
        var time: Int64
        var sessions: Int
        var sockets: Int
        var connects: Int
        var disconnects: Int
        var eventsIn: Int
        var eventsOut: Int

        var json: JSONValue {
            [
                "t": .number(JSONNumber(time)), "sessions": .number(JSONNumber(sessions)), "sockets": .number(JSONNumber(sockets)),
                "connects": .number(JSONNumber(connects)), "disconnects": .number(JSONNumber(disconnects)),
                "eventsIn": .number(JSONNumber(eventsIn)), "eventsOut": .number(JSONNumber(eventsOut)),
            ]
        }
    }

    private struct State {
        var samples: [Sample] = []
        /// Events in and out of each socket at the last sample.
        var lastCounts: [SocketKey: (Int, Int)] = [:]
        var streams: [Int: HTTPResponseStream] = [:]
        var nextStream = 0
        var lastSnapshot: [UInt8]?
    }

    private let state = NIOLockedValueBox(State())
    private let ticking = Atomic<Bool>(false)
    private let ticker = NIOLockedValueBox<RepeatedTask?>(nil)
    static let historyLength = 3600
    static let connectionLimit = 1000

    init(
        actions: OperatorActions, socketIO: SocketIOServer, engine: EngineIOServer, database: SwitchyardDatabase?, registry: JSONValue,
        logger: Logger
    ) {
        self.actions = actions
        self.socketIO = socketIO
        self.engine = engine
        self.database = database
        self.registry = registry
        self.logger = logger
    }

    func start(on loop: EventLoop) {
        let task = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            guard let self, !self.ticking.exchange(true, ordering: .acquiringAndReleasing) else { return }
            Task {
                await self.tick()
                self.ticking.store(false, ordering: .releasing)
            }
        }
        ticker.withLockedValue { $0 = task }
    }

    func stop() {
        ticker.withLockedValue {
            $0?.cancel(); $0 = nil
        }
        let streams = state.withLockedValue { state in
            defer { state.streams = [:] }
            return Array(state.streams.values)
        }
        for stream in streams { stream.close() }
    }

    // MARK: - Sampling

    /// A socket across samples: its ``SocketIOSocket/serial``. Not the object's identity (a
    /// socket that left between two samples can be freed and a new one allocated at the same
    /// address, which would then count as the old one) and not namespace and id (hashing two
    /// strings per socket per second was most of the sampler's cost with 10,000 idle sockets).
    /// A socket recovered under its old id is a new object: the sample counts the client's
    /// disconnect and reconnect.
    struct SocketKey: Hashable, Sendable {
        let serial: UInt64
    }

    struct SocketReading: Sendable {
        let key: SocketKey
        let eventsIn: Int
        let eventsOut: Int
        var connection: JSONValue = .null
    }

    /// Connects, disconnects and events since the previous sample, from each socket's totals
    /// then and now (a socket's totals only grow).
    static func count(_ readings: [SocketReading], after last: [SocketKey: (Int, Int)], into sample: inout Sample) -> [SocketKey: (Int, Int)] {
        var counts: [SocketKey: (Int, Int)] = [:]
        counts.reserveCapacity(readings.count)
        var stayed = 0
        for reading in readings {
            let before = last[reading.key]
            if before == nil { sample.connects += 1 } else { stayed += 1 }
            sample.eventsIn += reading.eventsIn - (before?.0 ?? 0)
            sample.eventsOut += reading.eventsOut - (before?.1 ?? 0)
            counts[reading.key] = (reading.eventsIn, reading.eventsOut)
        }
        // Keys are unique on both sides, so whatever of `last` was not read again has left.
        sample.disconnects += last.count - stayed
        return counts
    }

    func tick() async {
        let now = AdminUI.nowMilliseconds()
        // Connections are described only while a console is watching; counting is all the
        // history needs.
        let describing = streamCount > 0
        let sockets = SocketSnapshot.sockets(of: socketIO, sorted: describing)
        let readings = await SocketSnapshot.read(sockets) { socket in
            SocketReading(
                key: SocketKey(serial: socket.serial), eventsIn: socket.traffic.eventsIn, eventsOut: socket.traffic.eventsOut,
                connection: describing ? Self.describe(socket, now: now) : .null)
        }
        let wantsSnapshot = state.withLockedValue { state in
            var sample = Sample(
                time: now, sessions: engine.sessionCount, sockets: readings.count, connects: 0, disconnects: 0, eventsIn: 0, eventsOut: 0)
            state.lastCounts = Self.count(readings, after: state.lastCounts, into: &sample)
            state.samples.append(sample)
            if state.samples.count > Self.historyLength { state.samples.removeFirst(state.samples.count - Self.historyLength) }
            return !state.streams.isEmpty
        }
        guard wantsSnapshot, describing else { return }
        let snapshot = await self.snapshot(connections: readings.map(\.connection), now: now)
        var bytes = Array("event: snapshot\ndata: ".utf8)
        snapshot.write(to: &bytes)
        bytes.append(contentsOf: Array("\n\n".utf8))
        let streams = state.withLockedValue { state in
            state.lastSnapshot = bytes
            return Array(state.streams.values)
        }
        for stream in streams { stream.write(ByteBuffer(bytes: bytes)) }
    }

    /// One socket as the console lists it. On the socket's loop.
    static func describe(_ socket: SocketIOSocket, now: Int64) -> JSONValue {
        let traffic = socket.traffic
        var identity: JSONValue = .null
        if let context = socket.userInfo(as: HostSocketContext.self), let id = context.identityID { identity = .string(id) }
        var object = JSONObject()
        object["id"] = .string(socket.id)
        object["sid"] = .string(socket.connection.id)
        object["namespace"] = .string(socket.namespace.path)
        object["transport"] = .string(socket.connection.transport.rawValue)
        object["address"] = socket.handshake.remoteAddress?.ipAddressText.map(JSONValue.string) ?? .null
        object["identity"] = identity
        object["rooms"] = .array(socket.rooms.subtracting([socket.id]).sorted().map(JSONValue.string))
        object["ageSeconds"] = .number(JSONNumber(max(0, (now - socket.issued) / 1000)))
        object["eventsIn"] = .number(JSONNumber(traffic.eventsIn))
        object["eventsOut"] = .number(JSONNumber(traffic.eventsOut))
        object["bytesIn"] = .number(JSONNumber(traffic.bytesIn))
        object["bytesOut"] = .number(JSONNumber(traffic.bytesOut))
        return .object(object)
    }

    /// What the live page shows: the cluster's nodes, this node's connections (the first
    /// ``connectionLimit``), namespaces with their rooms, and the latest sample.
    func snapshot(connections: [JSONValue], now: Int64) async -> JSONValue {
        let live = await actions.live()
        let latest = state.withLockedValue { $0.samples.last?.json } ?? .null
        var object = JSONObject()
        object["time"] = .number(JSONNumber(now))
        object["nodes"] = live["nodes"] ?? []
        object["missingNodes"] = live["missingNodes"] ?? []
        object["connectionCount"] = .number(JSONNumber(connections.count))
        object["connections"] = .array(Array(connections.prefix(Self.connectionLimit)))
        object["sample"] = latest
        return .object(object)
    }

    // MARK: - Streams

    /// Registers an open event stream; it gets the latest snapshot at once, then one a second.
    func subscribe(_ stream: HTTPResponseStream) {
        let (id, latest) = state.withLockedValue { state -> (Int, [UInt8]?) in
            let id = state.nextStream
            state.nextStream += 1
            state.streams[id] = stream
            return (id, state.lastSnapshot)
        }
        stream.write(ByteBuffer(string: ": switchyard console\nretry: 2000\n\n"))
        if let latest { stream.write(ByteBuffer(bytes: latest)) }
        stream.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLockedValue { _ = $0.streams.removeValue(forKey: id) }
        }
    }

    var streamCount: Int { state.withLockedValue { $0.streams.count } }

    // MARK: - History

    /// The last hour of samples, and the audit's refusals and errors per minute by kind.
    func history(now: Date = Date()) async throws -> JSONValue {
        let samples = state.withLockedValue { $0.samples.map(\.json) }
        var object = JSONObject()
        object["samples"] = .array(samples)
        object["rejections"] = try await rejectionsPerMinute(since: now.addingTimeInterval(-3600))
        return .object(object)
    }

    /// Kinds that count as a refusal or an error in the charts.
    static let rejectionKinds: [AuditKind] = [.connectRefused, .guardDenied, .rateLimited, .sizeViolation]

    private func rejectionsPerMinute(since: Date) async throws -> JSONValue {
        guard let database else { return [] }
        let counts = try await NIOThreadPool.singleton.runIfActive {
            try database.auditCountsPerMinute(since: since, kinds: Self.rejectionKinds, eventOutcomes: [.error, .refused])
        }
        return Self.rejectionChart(counts)
    }

    /// The chart's series: per minute (ms since 1970, ascending), counts by label — the kind,
    /// or for an event `outcome:errorKind`.
    static func rejectionChart(_ counts: [AuditMinuteCount]) -> JSONValue {
        var buckets: [Int64: [String: Int]] = [:]
        for count in counts {
            let minute = Int64((count.minute.timeIntervalSince1970 / 60).rounded(.down)) * 60_000
            let label = count.kind == .event ? "\(count.outcome?.rawValue ?? "error"):\(count.errorKind ?? "unknown")" : count.kind.rawValue
            buckets[minute, default: [:]][label, default: 0] += count.count
        }
        return .array(
            buckets.sorted { $0.key < $1.key }.map { minute, labels in
                var object = JSONObject()
                for (label, count) in labels.sorted(by: { $0.key < $1.key }) { object[label] = .number(JSONNumber(count)) }
                return ["t": .number(JSONNumber(minute)), "counts": .object(object)]
            })
    }

    // MARK: - Audit

    /// The audit rows a filter selects: newest first, `limit` per page, `before` an id to
    /// page back from; or, with `after`, every newer row oldest first (the live tail).
    func audit(parameters: [String: String]) async throws -> (entries: [AuditEntry], next: Int64?) {
        guard let database else { throw OperatorActions.Failure.invalidRequest("this server has no audit database") }
        var query = AuditQuery()
        let now = Date()
        do throws(AuditTimeExpression.ParseError) {
            if let since = parameters["since"], !since.isEmpty { query.since = try AuditTimeExpression.parse(since, now: now) }
            if let until = parameters["until"], !until.isEmpty { query.until = try AuditTimeExpression.parse(until, now: now) }
        } catch {
            throw OperatorActions.Failure.invalidRequest("\(error)")
        }
        if let kinds = parameters["kind"], !kinds.isEmpty {
            query.kinds = try kinds.split(separator: ",").map { name in
                guard let kind = AuditKind(rawValue: String(name)) else {
                    throw OperatorActions.Failure.invalidRequest(
                        "unknown kind '\(name)' (known: \(AuditKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return kind
            }
        }
        if let outcome = parameters["outcome"], !outcome.isEmpty {
            guard let parsed = AuditOutcome(rawValue: outcome) else {
                throw OperatorActions.Failure.invalidRequest("unknown outcome '\(outcome)' (ok, error, refused)")
            }
            query.outcome = parsed
        }
        for (key, path) in [("identity", \AuditQuery.identity), ("namespace", \AuditQuery.namespace), ("event", \AuditQuery.event)] {
            if let value = parameters[key], !value.isEmpty { query[keyPath: path] = value }
        }
        let limit = parameters["limit"].flatMap(Int.init) ?? 50
        guard (1...10_000).contains(limit) else { throw OperatorActions.Failure.invalidRequest("limit must be 1 to 10000") }
        if let after = parameters["after"] {
            guard let id = Int64(after) else { throw OperatorActions.Failure.invalidRequest("after must be a row id") }
            query.afterID = id
            query.order = .oldestFirst
            query.limit = limit
        } else {
            if let before = parameters["before"] {
                guard let id = Int64(before) else { throw OperatorActions.Failure.invalidRequest("before must be a row id") }
                query.throughID = id - 1
            }
            query.order = .newestFirst
            query.limit = limit
        }
        let finalQuery = query
        let entries = try await NIOThreadPool.singleton.runIfActive { try database.audit(finalQuery) }
        let next = parameters["after"] == nil && entries.count == limit ? entries.last?.id : nil
        return (entries, next)
    }
}
