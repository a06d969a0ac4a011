import EngineIO
import Foundation
import SwitchyardRedis
import SwitchyardStore
import NIOCore
import SocketIO
import SwitchyardJSON

/// Everything `switchyard serve` needs, from defaults, a config file, the environment and
/// flags (later sources override earlier ones).
///
/// The file is JSON; every key is optional:
///
/// ```json
/// {
///   "listen": { "host": "127.0.0.1", "port": 3000 },
///   "engine": { "pingInterval": 25000, "pingTimeout": 20000, "maxPayload": 1000000,
///               "upgradeTimeout": 10000, "transports": ["polling", "websocket"],
///               "cors": { "origins": ["*"], "credentials": true } },
///   "socketio": { "path": "/socket.io/", "connectTimeout": 45000, "ackTimeout": 30000,
///                 "maxAttachments": 10, "parsers": ["default", "msgpack"],
///                 "connectionStateRecovery": { "maxDisconnectionDuration": 120000,
///                                              "skipMiddlewares": false, "maxPacketsPerSession": 1000 } },
///   "plugins": { "directory": "plugins", "enabled": ["chat"], "preflight": true,
///                "operationTimeout": 10000, "settings": { "chat": { "maxRooms": 10 } } },
///   "routes": [ { "namespace": "/chat", "event": "say", "operation": "messages.create", "ack": true } ],
///   "namespaces": { "/chat": { "identity": "token" } },
///   "engineioEcho": "/engine.io/",
///   "threads": 2,
///   "logLevel": "info"
/// }
/// ```
/// Durations are integer milliseconds.
public struct ServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 3000
    /// Event-loop threads (default: one per core).
    public var threads: Int = System.coreCount
    public var logLevel: String = "info"
    public var engine = EngineIOConfiguration()
    public var socketIO = SocketIOConfiguration()
    public var plugins = PluginsConfiguration()
    /// Routes added to (or overriding) the plugins' default routes.
    public var routes: [RouteConfiguration] = []
    /// Per-namespace settings, by namespace pattern.
    public var namespaces: [String: NamespaceConfiguration] = [:]
    /// Middleware for namespaces that configure none of their own.
    public var middleware = MiddlewareConfiguration()
    /// Serve a raw Engine.IO echo endpoint at this path (the reference server of the
    /// official Engine.IO protocol suite); nil: none.
    public var engineioEchoPath: String?
    /// The Redis backplane; nil: this process alone.
    public var redis: RedisSettings?
    /// Where the database and the admin endpoint's address file live (`--data`).
    public var dataDirectory = "data"
    public var audit = AuditSettings()
    public var admin = AdminSettings()

    public init() {}

    /// Reads a configuration file over the defaults.
    public static func load(file path: String) throws(ConfigurationError) -> ServerConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(source: path, keyPath: "", problem: "cannot read the file")
        }
        let value: JSONValue
        do throws(JSONParseError) {
            value = try JSONValue(parsing: data)
        } catch {
            throw ConfigurationError(source: path, keyPath: "", problem: "not valid JSON: \(error)")
        }
        var configuration = ServerConfiguration()
        try configuration.apply(value, source: path)
        return configuration
    }

    /// Applies a parsed configuration document.
    public mutating func apply(_ document: JSONValue, source: String) throws(ConfigurationError) {
        var root = try ConfigReader(source: source, path: "", value: document)
        if var listen = try root.object("listen") {
            host = try listen.string("host") ?? host
            port = try listen.int("port", range: 0...65535) ?? port
            try listen.finish()
        }
        threads = try root.int("threads", range: 1...256) ?? threads
        if let level = try root.string("logLevel") {
            guard Self.logLevels.contains(level) else {
                throw ConfigurationError(source: source, keyPath: "logLevel", problem: "expected one of \(Self.logLevels.joined(separator: ", "))")
            }
            logLevel = level
        }
        if var engineReader = try root.object("engine") {
            try applyEngine(&engineReader)
            try engineReader.finish()
        }
        if var socketReader = try root.object("socketio") {
            engine.path = try socketReader.string("path") ?? engine.path
            if let ms = try socketReader.int("connectTimeout", range: 1...86_400_000) { socketIO.connectTimeout = .milliseconds(Int64(ms)) }
            if let ms = try socketReader.int("ackTimeout", range: 1...86_400_000) { socketIO.ackTimeout = .milliseconds(Int64(ms)) }
            socketIO.maxAttachments = try socketReader.int("maxAttachments", range: 0...1000) ?? socketIO.maxAttachments
            if let names = try socketReader.strings("parsers") {
                var parsers: Set<SocketIOParser> = []
                for name in names {
                    guard let parser = SocketIOParser(rawValue: name) else {
                        throw ConfigurationError(source: source, keyPath: "socketio.parsers", problem: "unknown parser '\(name)' (default, msgpack)")
                    }
                    parsers.insert(parser)
                }
                guard !parsers.isEmpty else {
                    throw ConfigurationError(source: source, keyPath: "socketio.parsers", problem: "at least one parser is needed")
                }
                socketIO.parsers = parsers
            }
            if var recoveryReader = try socketReader.object("connectionStateRecovery") {
                // Present (even `{}`) turns recovery on, as in socket.io.
                var recovery = socketIO.connectionStateRecovery ?? SocketIORecoveryConfiguration()
                if let ms = try recoveryReader.int("maxDisconnectionDuration", range: 1...86_400_000) { recovery.maxDisconnectionDuration = Int64(ms) }
                recovery.skipMiddlewares = try recoveryReader.bool("skipMiddlewares") ?? recovery.skipMiddlewares
                recovery.maxPacketsPerSession = try recoveryReader.int("maxPacketsPerSession", range: 1...1_000_000) ?? recovery.maxPacketsPerSession
                try recoveryReader.finish()
                socketIO.connectionStateRecovery = recovery
            }
            try socketReader.finish()
        }
        if var pluginsReader = try root.object("plugins") {
            plugins.directory = try pluginsReader.string("directory") ?? plugins.directory
            plugins.enabled = try pluginsReader.strings("enabled") ?? plugins.enabled
            plugins.preflight = try pluginsReader.bool("preflight") ?? plugins.preflight
            if let ms = try pluginsReader.int("operationTimeout", range: 1...86_400_000) { plugins.operationTimeout = .milliseconds(Int64(ms)) }
            if var settings = try pluginsReader.object("settings") {
                plugins.settings = settings.remainingObjects()
                try settings.finish()
            }
            try pluginsReader.finish()
        }
        if let routeList = try root.objects("routes") {
            routes = []
            for var route in routeList {
                guard let namespace = try route.string("namespace"), let event = try route.string("event") else {
                    throw ConfigurationError(source: source, keyPath: route.path, problem: "a route needs namespace and event")
                }
                let operation = try route.string("operation")
                let events = try route.eventSteps("events")
                guard operation != nil || events != nil else {
                    throw ConfigurationError(source: source, keyPath: route.path, problem: "a route needs an operation, or events to set its chain")
                }
                routes.append(RouteConfiguration(namespace: namespace, event: event, operation: operation, ack: try route.bool("ack") ?? true, events: events))
                try route.finish()
            }
        }
        if var defaults = try root.object("middleware") {
            middleware = try defaults.middleware()
            try defaults.finish()
        }
        if var namespaceReader = try root.object("namespaces") {
            for key in namespaceReader.keys {
                guard var entry = try namespaceReader.object(key) else { continue }
                var namespace = NamespaceConfiguration()
                namespace.identity = try entry.string("identity")
                namespace.middleware = try entry.middleware()
                try entry.finish()
                namespaces[key] = namespace
            }
            try namespaceReader.finish()
        }
        engineioEchoPath = try root.string("engineioEcho") ?? engineioEchoPath
        dataDirectory = try root.string("data") ?? dataDirectory
        if var auditReader = try root.object("audit") {
            if let level = try auditReader.string("level") {
                guard let parsed = AuditLevel(rawValue: level) else {
                    throw ConfigurationError(source: source, keyPath: "audit.level", problem: "expected one of \(AuditLevel.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                audit.level = parsed
            }
            audit.retentionDays = try auditReader.int("retentionDays", range: 1...36_500) ?? audit.retentionDays
            audit.maxRows = try auditReader.int("maxRows", range: 1...1_000_000_000) ?? audit.maxRows
            audit.queueCapacity = try auditReader.int("queueCapacity", range: 16...10_000_000) ?? audit.queueCapacity
            try auditReader.finish()
        }
        if var adminReader = try root.object("admin") {
            admin.enabled = try adminReader.bool("enabled") ?? admin.enabled
            admin.host = try adminReader.string("host") ?? admin.host
            admin.port = try adminReader.int("port", range: 0...65535) ?? admin.port
            admin.token = try adminReader.string("token") ?? admin.token
            if var uiReader = try adminReader.object("ui") {
                admin.ui = try AdminUISettings(reading: &uiReader)
                try uiReader.finish()
            }
            try adminReader.finish()
        }
        if var redisReader = try root.object("redis") {
            guard let url = try redisReader.string("url") else {
                throw ConfigurationError(source: source, keyPath: "redis.url", problem: "the Redis URL is required (redis://[user:password@]host:port[/db])")
            }
            var settings = try RedisSettings(url: url, source: source, keyPath: "redis.url")
            settings.startDegraded = try redisReader.bool("startDegraded") ?? settings.startDegraded
            settings.key = try redisReader.string("key") ?? settings.key
            if let mode = try redisReader.string("mode") {
                guard let parsed = RedisBackplaneConfiguration.Mode(rawValue: mode) else {
                    throw ConfigurationError(source: source, keyPath: "redis.mode", problem: "unknown mode '\(mode)' (classic, sharded)")
                }
                settings.mode = parsed
            }
            if let ms = try redisReader.int("requestTimeout", range: 1...600_000) { settings.requestTimeout = .milliseconds(Int64(ms)) }
            try redisReader.finish()
            redis = settings
        }
        try root.finish()
    }

    private mutating func applyEngine(_ reader: inout ConfigReader) throws(ConfigurationError) {
        if let ms = try reader.int("pingInterval", range: 1...86_400_000) { engine.pingInterval = .milliseconds(Int64(ms)) }
        if let ms = try reader.int("pingTimeout", range: 1...86_400_000) { engine.pingTimeout = .milliseconds(Int64(ms)) }
        if let ms = try reader.int("upgradeTimeout", range: 1...86_400_000) { engine.upgradeTimeout = .milliseconds(Int64(ms)) }
        engine.maxPayload = try reader.int("maxPayload", range: 1...(1 << 30)) ?? engine.maxPayload
        if let names = try reader.strings("transports") {
            var transports: Set<EngineIOTransportKind> = []
            for name in names {
                guard let transport = EngineIOTransportKind(rawValue: name) else {
                    throw ConfigurationError(source: reader.source, keyPath: "engine.transports", problem: "unknown transport '\(name)' (polling, websocket)")
                }
                transports.insert(transport)
            }
            guard !transports.isEmpty else {
                throw ConfigurationError(source: reader.source, keyPath: "engine.transports", problem: "at least one transport is needed")
            }
            engine.transports = transports
        }
        if var cors = try reader.object("cors") {
            let origins = try cors.strings("origins") ?? engine.cors.allowedOrigins
            let credentials = try cors.bool("credentials") ?? engine.cors.allowCredentials
            engine.cors = CORSPolicy(allowedOrigins: origins, allowCredentials: credentials)
            try cors.finish()
        }
    }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Applies `SWITCHYARD_*` environment variables.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(ConfigurationError) {
        if let host = environment["SWITCHYARD_HOST"] { self.host = host }
        if let port = environment["SWITCHYARD_PORT"] {
            guard let value = Int(port), (0...65535).contains(value) else {
                throw ConfigurationError(source: "environment", keyPath: "SWITCHYARD_PORT", problem: "expected a port number")
            }
            self.port = value
        }
        if let token = environment["SWITCHYARD_ADMIN_TOKEN"], !token.isEmpty { admin.token = token }
        if let url = environment["SWITCHYARD_REDIS_URL"], !url.isEmpty {
            var settings = try RedisSettings(url: url, source: "environment", keyPath: "SWITCHYARD_REDIS_URL")
            settings.startDegraded = redis?.startDegraded ?? false
            redis = settings
        }
        if let level = environment["SWITCHYARD_LOG_LEVEL"] {
            guard Self.logLevels.contains(level) else {
                throw ConfigurationError(source: "environment", keyPath: "SWITCHYARD_LOG_LEVEL", problem: "expected one of \(Self.logLevels.joined(separator: ", "))")
            }
            self.logLevel = level
        }
    }
}

/// What the audit log records and keeps.
public struct AuditSettings: Sendable {
    /// `off`, `connections`, `failures` (plus events that did not succeed) or `all`.
    public var level: AuditLevel = .connections
    /// Rows older than this many days are deleted (nil: kept).
    public var retentionDays: Int? = 30
    /// At most this many rows are kept (nil: no limit).
    public var maxRows: Int?
    /// Records waiting for the writer; beyond it they are counted as dropped.
    public var queueCapacity = 65_536

    public init() {}
}

/// The admin endpoint operators' commands talk to.
public struct AdminSettings: Sendable {
    public var enabled = true
    /// Loopback by default: the endpoint is for the machine's operators.
    public var host = "127.0.0.1"
    /// 0 picks a free port; the address is written to `<data>/admin.json` either way.
    public var port = 0
    /// The bearer token; nil: a random one per start, written to `<data>/admin.json` (0600).
    public var token: String?
    /// The socket.io Admin UI namespace on the application listener; nil: not served.
    public var ui: AdminUISettings?

    public init() {}
}

/// How to reach the Redis backplane.
public struct RedisSettings: Sendable {
    /// `redis://[user:password@]host:port[/db]`.
    public var url: String
    /// Start even if Redis is unreachable (local delivery only until it comes back).
    public var startDegraded = false
    /// The channel prefix, as socket.io's Redis adapter's `key` (default `socket.io`).
    public var key = "socket.io"
    /// How long cluster-wide requests wait for other nodes.
    public var requestTimeout: TimeAmount = .seconds(5)
    /// The adapter protocol: `classic` (`createAdapter`) or `sharded` (`createShardedAdapter`).
    public var mode: RedisBackplaneConfiguration.Mode = .classic

    /// Checks the URL now, so a typo fails at start with the key that holds it.
    public init(url: String, source: String = "flags", keyPath: String = "--redis") throws(ConfigurationError) {
        do {
            _ = try RedisConfiguration(url: url)
        } catch {
            throw ConfigurationError(source: source, keyPath: keyPath, problem: "\(error)")
        }
        self.url = url
    }
}

/// Where plugins come from and how they run.
public struct PluginsConfiguration: Sendable {
    /// The directory scanned for `*.so` plugins (relative to the working directory).
    public var directory: String = "plugins"
    /// Only these plugins (file names without `.so`); nil: every plugin in the directory.
    public var enabled: [String]?
    /// Load each plugin in a child process first, so a crashing plugin yields a report.
    public var preflight: Bool = true
    /// How long an operation may take before the client gets a `timeout` error.
    public var operationTimeout: TimeAmount = .milliseconds(10_000)
    /// Configuration handed to each plugin's start function, by plugin name.
    public var settings: [String: JSONValue] = [:]

    public init() {}
}

/// A route from the configuration file: adds or overrides `event → operation`, and/or sets
/// the event chain of that one event.
public struct RouteConfiguration: Sendable, Hashable {
    public var namespace: String
    public var event: String
    /// nil: keep the plugin's operation (only the chain changes).
    public var operation: String?
    public var ack: Bool
    /// This event's chain, replacing the namespace's.
    public var events: [EventStep]?

    public init(namespace: String, event: String, operation: String?, ack: Bool = true, events: [EventStep]? = nil) {
        self.namespace = namespace
        self.event = event
        self.operation = operation
        self.ack = ack
        self.events = events
    }
}

/// Settings of one namespace pattern.
public struct NamespaceConfiguration: Sendable, Hashable {
    /// Shorthand for a connect chain of one identity step (used when `connect` is not given).
    public var identity: String?
    public var middleware = MiddlewareConfiguration()

    public init() {}
}
