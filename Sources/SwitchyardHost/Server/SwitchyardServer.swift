import EngineIO
import Foundation
import Logging
import Metrics
import SwitchyardJSON
import SwitchyardRedis
import SwitchyardStore
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import SocketIO

/// The running server: plugins loaded into a frozen registry, endpoints composed from the
/// configuration, bound to a port, shut down gracefully (stop accepting, close every
/// session with `server shutting down`).
///
/// A `Service`: run it in a `ServiceGroup`, which ends it on SIGTERM or SIGINT.
public final class SwitchyardServer: Service, Sendable {
    public let configuration: ServerConfiguration
    let logger: Logger
    let group: EventLoopGroup
    let httpServer: EngineIOHTTPServer
    /// The Socket.IO server of the application.
    public let socketIO: SocketIOServer
    /// What the plugins contribute, frozen before anything is served.
    public let runtime: PluginRuntime
    /// The Redis backplane, when configured.
    public let backplane: RedisBackplane?
    /// Where connection state recovery is saved at shutdown.
    let database: SwitchyardDatabase?
    /// What operators do to the running server.
    public let operatorActions: OperatorActions
    /// The socket.io Admin UI's namespace, when `admin.ui` is configured.
    public let adminUI: AdminUI?
    let adminServer: EngineIOHTTPServer?
    /// The web console on the admin listener (with the admin endpoint).
    let console: AdminConsole?
    let adminToken: String
    private let onListening: (@Sendable (SocketAddress) -> Void)?

    /// Loads the plugins (the caller runs the preflight first if it wants one), checks
    /// and freezes the registry, and starts the plugins. Nothing is bound yet.
    public init(
        configuration: ServerConfiguration,
        group: EventLoopGroup,
        logger: Logger,
        audit: AuditTrail = .discarding,
        database: SwitchyardDatabase? = nil,
        auditWriter: AuditWriter? = nil,
        metrics: (@Sendable () -> String)? = nil,
        onListening: (@Sendable (SocketAddress) -> Void)? = nil
    ) throws {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.onListening = onListening

        let registry: OperationRegistry
        do throws(PluginHostError) {
            let files = try PluginHost.files(for: configuration.plugins)
            registry = try PluginHost.loadRegistry(
                files: files,
                routes: configuration.routes,
                namespaces: Array(configuration.namespaces.keys)
            )
        } catch {
            for problem in error.problems { audit.pluginFailed(problem) }
            throw error
        }
        for plugin in registry.plugins {
            logger.info(
                "plugin loaded",
                metadata: ["plugin.name": "\(plugin.name)", "plugin.version": "\(plugin.version)", "plugin.file": "\(plugin.file)"]
            )
            audit.pluginLoaded(name: plugin.name, version: plugin.version, file: plugin.file)
        }
        let adminUI = configuration.admin.ui.map { AdminUI(settings: $0, clustered: configuration.redis != nil, logger: logger) }
        let socketIO = SocketIOServer(
            configuration: configuration.socketIO,
            recovery: Self.restoreRecoveryState(configuration: configuration.socketIO, database: database, logger: logger),
            observer: adminUI,
            logger: logger
        )
        socketIO.onTransportChange { connection, transport in audit.upgraded(connection, to: transport) }
        let runtime = PluginRuntime(
            registry: registry,
            socketIO: socketIO,
            operationTimeout: configuration.plugins.operationTimeout,
            logger: logger,
            audit: audit,
            rooms: database?.rooms
        )
        let plan = try MiddlewarePlan.build(registry: registry, configuration: configuration)
        try runtime.registerNamespaces(plan: plan)
        try runtime.startPlugins(configuration: configuration.plugins.settings)

        var endpoints = [EngineIOServer(configuration: configuration.engine, application: socketIO, logger: logger)]
        if let echoPath = configuration.engineioEchoPath {
            var echo = configuration.engine
            echo.path = echoPath
            endpoints.append(EngineIOServer(configuration: echo, application: EngineIOEchoApplication(), logger: logger))
        }
        if let redis = configuration.redis {
            var settings = try RedisBackplaneConfiguration(url: redis.url)
            settings.startDegraded = redis.startDegraded
            settings.key = redis.key
            settings.requestTimeout = redis.requestTimeout
            settings.mode = redis.mode
            settings.nodeInfo["port"] = .number(JSONNumber(configuration.port))
            let backplane = RedisBackplane(configuration: settings, eventLoopGroup: group, logger: logger)
            backplane.onOutage = { outage in
                Counter(label: "switchyard_backplane_outages_total").increment()
                Gauge(label: "switchyard_backplane_connected").record(0)
                audit.backplaneOutage(started: outage.started, reason: outage.reason)
            }
            backplane.onRecovery = { outage in
                Gauge(label: "switchyard_backplane_connected").record(1)
                audit.backplaneRecovered(after: outage.duration ?? 0, reason: outage.reason)
            }
            backplane.attach(to: socketIO)
            self.backplane = backplane
        } else {
            self.backplane = nil
        }
        self.socketIO = socketIO
        self.runtime = runtime
        self.database = database
        self.adminUI = adminUI
        let backplaneForStatus = self.backplane
        let engine = endpoints[0]
        let status: @Sendable () -> ServerStatus = {
            var sockets: [String: Int] = [:]
            for namespace in socketIO.namespaces { sockets[namespace.path] = namespace.socketCount }
            var counters: [String: Int] = [:]
            if let writer = auditWriter {
                let current = writer.counters
                counters = ["written": current.written, "dropped": current.dropped, "failed_writes": current.failedWrites, "lost": current.lost, "queued": current.queued]
            }
            return ServerStatus(
                sessions: engine.sessionCount,
                sockets: sockets,
                backplaneConnected: backplaneForStatus.map { $0.status.isConnected },
                auditStorageError: auditWriter?.storageError,
                auditCounters: counters
            )
        }
        self.httpServer = EngineIOHTTPServer(endpoints: endpoints, fallback: HealthResponder(status: status, metrics: metrics), logger: logger)
        let actions = OperatorActions(socketIO: socketIO, engine: endpoints[0], runtime: runtime, backplane: backplane, logger: logger)
        actions.setActionHandler { action in audit.operatorAction(action) }
        if let rooms = database?.rooms {
            actions.setPurgeHandler { namespace, room in
                do {
                    return try rooms.purge(namespace: namespace, room: room)
                } catch {
                    logger.error("cannot delete the persisted memberships of room \(room): \(error)", metadata: ["sio.nsp": "\(namespace)"])
                    return 0
                }
            }
        }
        self.operatorActions = actions
        if let adminUI {
            try adminUI.attach(
                to: socketIO, backplane: backplane, clientsCount: { engine.sessionCount },
                validateEmit: { event, arguments in actions.validateBroadcast(event: event, arguments: arguments) })
            adminUI.setActionHandler { action in audit.operatorAction(action) }
        }
        let token = configuration.admin.token ?? Self.randomToken()
        self.adminToken = token
        if configuration.admin.enabled {
            let console = AdminConsole(
                actions: actions, socketIO: socketIO, engine: engine, database: database,
                registry: RegistryReport.json(registry, configuration: configuration, plan: plan), logger: logger)
            self.console = console
            self.adminServer = EngineIOHTTPServer(
                endpoints: [], fallback: AdminResponder(actions: actions, token: Array(token.utf8), console: console), logger: logger)
        } else {
            self.console = nil
            self.adminServer = nil
        }
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// Writes `<data>/admin.json` (`{"url", "token"}`, mode 0600) for the operator CLI.
    private func publishAdminAddress(_ address: SocketAddress) {
        let url = "http://\(address.ipAddress ?? configuration.admin.host):\(address.port ?? 0)"
        let document: JSONValue = ["url": .string(url), "token": .string(adminToken), "pid": .number(JSONNumber(Int(getpid())))]
        let directory = configuration.dataDirectory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let path = (directory as NSString).appendingPathComponent("admin.json")
            let temporary = path + ".tmp"
            guard FileManager.default.createFile(atPath: temporary, contents: Data(document.serializedBytes()), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            // rename(2) replaces the old file atomically: a reader sees the old or the new one.
            guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            logger.info("admin endpoint", metadata: ["admin.url": "\(url)", "admin.file": "\(path)"])
        } catch {
            logger.error("cannot write \(directory)/admin.json for the operator commands: \(error)", metadata: ["admin.url": "\(url)"])
        }
    }

    public func run() async throws {
        if let backplane {
            // Before serving: fails fast when Redis is unreachable, unless startDegraded.
            try await backplane.start()
            Gauge(label: "switchyard_backplane_connected").record(backplane.status.isConnected ? 1 : 0)
        }
        let channel = try await httpServer.bind(host: configuration.host, port: configuration.port, group: group).get()
        var adminChannel: Channel?
        if let adminServer {
            adminChannel = try await adminServer.bind(host: configuration.admin.host, port: configuration.admin.port, group: group).get()
            if let address = adminChannel?.localAddress { publishAdminAddress(address) }
        }
        adminUI?.start(on: group.next())
        console?.start(on: group.next())
        if let address = channel.localAddress {
            logger.info("listening", metadata: ["address": "\(address)"])
            onListening?(address)
        }
        // Wait for the group's shutdown signal (SIGTERM/SIGINT or cancellation).
        try? await gracefulShutdown()
        logger.info("shutting down")
        adminUI?.stop()
        console?.stop()
        try? await channel.close()
        try? await adminChannel?.close()
        httpServer.closeAllSessions()
        // Give the close frames and final poll answers a moment to leave.
        try? await Task.sleep(for: .milliseconds(100))
        await saveRecoveryState()
        await backplane?.shutdown()
    }

    // MARK: - Connection state recovery across restarts

    /// The recovery store to start with: the previous process's snapshot when one is stored
    /// (taken out of the database, so it serves one start only), else an empty one. Nil when
    /// recovery is off (a stored snapshot is then discarded).
    static func restoreRecoveryState(configuration: SocketIOConfiguration, database: SwitchyardDatabase?, logger: Logger) -> SocketIOSessionStore? {
        let snapshot: SocketIORecoveryState.Snapshot?
        do {
            snapshot = try database?.recovery.take()
        } catch {
            logger.error("cannot read the stored connection state; clients will get new sockets: \(error)")
            return configuration.connectionStateRecovery.map { SocketIOSessionStore(configuration: $0) }
        }
        guard let recovery = configuration.connectionStateRecovery else {
            if let snapshot, !snapshot.sessions.isEmpty {
                logger.notice("connection state recovery is off: \(snapshot.sessions.count) stored session(s) discarded")
            }
            return nil
        }
        guard let snapshot else { return SocketIOSessionStore(configuration: recovery) }
        guard let state = SocketIORecoveryState(configuration: recovery, snapshot: snapshot, now: SocketIOSessionStore.wallClock()) else {
            logger.error("the stored connection state is inconsistent; clients will get new sockets")
            return SocketIOSessionStore(configuration: recovery)
        }
        logger.info(
            "connection state restored",
            metadata: ["recovery.sessions": "\(state.sessionCount)", "recovery.packets": "\(state.packetCount)"]
        )
        return SocketIOSessionStore(state: state)
    }

    /// Writes the recovery store (the sessions of the sockets just closed with `server
    /// shutting down`, and of those still within their window) for the next start.
    func saveRecoveryState() async {
        guard let store = socketIO.recovery, let database else { return }
        let snapshot = store.snapshot()
        do {
            try await database.recovery.save(snapshot, at: store.now)
            logger.info(
                "connection state saved",
                metadata: ["recovery.sessions": "\(snapshot.sessions.count)", "recovery.packets": "\(snapshot.packets.count)"]
            )
        } catch {
            logger.error("cannot save the connection state; clients will get new sockets after the restart: \(error)")
        }
    }
}

/// What `/health` and `/metrics` report beyond the metrics backend's own samples.
public struct ServerStatus: Sendable {
    public var sessions: Int
    public var sockets: [String: Int]
    public var backplaneConnected: Bool?
    public var auditStorageError: String?
    public var auditCounters: [String: Int]
}

/// `GET /health` answers `{"status":"ok"|"degraded", …}` (200, or 503 when degraded);
/// `GET /metrics` answers the Prometheus text format; other paths 404.
struct HealthResponder: HTTPFallbackResponder {
    let status: @Sendable () -> ServerStatus
    let metrics: (@Sendable () -> String)?

    func respond(to head: HTTPRequestHead, body: ByteBuffer?, remoteAddress: SocketAddress?, eventLoop: EventLoop) -> EventLoopFuture<HTTPFallbackResponse> {
        let path = RequestTarget(head.uri).path
        let response: HTTPFallbackResponse
        switch path {
        case "/health":
            let current = status()
            var problems: [JSONValue] = []
            if let error = current.auditStorageError { problems.append(.string("audit log: \(error)")) }
            if current.backplaneConnected == false { problems.append("redis backplane disconnected") }
            let document: JSONValue = [
                "status": problems.isEmpty ? "ok" : "degraded",
                "sessions": .number(JSONNumber(current.sessions)),
                "problems": .array(problems),
            ]
            response = .text(problems.isEmpty ? .ok : .serviceUnavailable, document.serialized(), contentType: "application/json")
        case "/metrics":
            response = .text(.ok, Self.exposition(status(), backend: metrics?() ?? ""), contentType: "text/plain; version=0.0.4")
        default:
            response = .text(.notFound, "Not Found\n")
        }
        return eventLoop.makeSucceededFuture(response)
    }

    /// Gauges read at scrape time, after the backend's counters.
    static func exposition(_ status: ServerStatus, backend: String) -> String {
        var lines = [backend.trimmingCharacters(in: .newlines)]
        lines.append("# TYPE switchyard_sessions gauge")
        lines.append("switchyard_sessions \(status.sessions)")
        lines.append("# TYPE switchyard_sockets gauge")
        for (namespace, count) in status.sockets.sorted(by: { $0.key < $1.key }) {
            lines.append("switchyard_sockets{namespace=\"\(namespace.replacingOccurrences(of: "\"", with: "\\\""))\"} \(count)")
        }
        if let connected = status.backplaneConnected {
            lines.append("# TYPE switchyard_backplane_up gauge")
            lines.append("switchyard_backplane_up \(connected ? 1 : 0)")
        }
        for (name, value) in status.auditCounters.sorted(by: { $0.key < $1.key }) {
            lines.append("# TYPE switchyard_audit_\(name) gauge")
            lines.append("switchyard_audit_\(name) \(value)")
        }
        lines.append("# TYPE switchyard_audit_storage_ok gauge")
        lines.append("switchyard_audit_storage_ok \(status.auditStorageError == nil ? 1 : 0)")
        return lines.filter { !$0.isEmpty }.joined(separator: "\n") + "\n"
    }
}
