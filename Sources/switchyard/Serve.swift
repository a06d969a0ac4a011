import ArgumentParser
import Foundation
import Logging
import Metrics
import NIOPosix
import Prometheus
import ServiceLifecycle
import SwitchyardHost
import SwitchyardStore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server with the plugins of the plugin directory.",
        discussion: """
            Settings come from defaults, then the config file (--config, JSON), then the
            environment (SWITCHYARD_HOST, SWITCHYARD_PORT, SWITCHYARD_LOG_LEVEL), then these
            flags. README.md documents every setting of the file.

            Before loading plugins into the server, each is loaded in a child process
            (preflight) so a plugin that crashes while loading is reported instead of taking
            the server down; --no-preflight skips it. The server starts only with a complete,
            valid set of plugins.

            On start the server prints one line 'switchyard listening on http://HOST:PORT'
            to standard output (useful with --port 0). SIGTERM and SIGINT shut it down
            gracefully: it stops accepting and closes sessions with 'server shutting down'.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(name: .long, help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Port to listen on; 0 picks a free one (default 3000).")
    var port: Int?

    @Option(name: .long, help: "Event-loop threads (default: one per core).")
    var threads: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Flag(name: .long, help: "Skip loading each plugin in a child process first.")
    var noPreflight = false

    @Option(name: .long, help: "Data directory: the database, and admin.json for the operator commands (default: data).")
    var data: String?

    @Option(name: .long, help: "Audit level: off, connections, failures, all.")
    var auditLevel: String?

    @Option(name: .long, help: "Redis backplane URL, redis://[user:password@]host:port[/db] (also SWITCHYARD_REDIS_URL).")
    var redis: String?

    @Flag(name: .long, help: "Start even when Redis is unreachable (local delivery until it returns).")
    var redisStartDegraded = false

    func run() async throws {
        var settings = try loadSettings(options)
        if let host { settings.host = host }
        if let port {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
            settings.port = port
        }
        if let threads {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
            settings.threads = threads
        }
        if let logLevel {
            guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown --log-level '\(logLevel)'") }
            settings.logLevel = level.rawValue
        }
        if noPreflight { settings.plugins.preflight = false }
        if let data { settings.dataDirectory = data }
        if let auditLevel {
            guard let level = AuditLevel(rawValue: auditLevel) else { throw ValidationError("unknown --audit-level '\(auditLevel)' (off, connections, failures, all)") }
            settings.audit.level = level
        }
        if let redis {
            do {
                settings.redis = try RedisSettings(url: redis)
            } catch {
                throw ValidationError(error.description)
            }
        }
        if redisStartDegraded { settings.redis?.startDegraded = true }

        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "switchyard")
        // Only the executable chooses the metrics backend; libraries just create metrics.
        let prometheus = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: prometheus))

        // The database first: plugin failures are audited too.
        let database: SwitchyardDatabase
        do {
            database = try SwitchyardDatabase.open(directory: settings.dataDirectory)
            let applied = try database.migrate()
            if !applied.isEmpty { logger.info("database migrated", metadata: ["migrations": "\(applied.joined(separator: ", "))", "db.path": "\(database.path)"]) }
        } catch {
            throw StartupFailure(message: "switchyard: cannot start: the database in \(settings.dataDirectory): \(error)")
        }
        var retention = AuditRetention.keepEverything
        retention.maxAge = settings.audit.retentionDays.map { AuditRetention.days($0) }
        retention.maxRows = settings.audit.maxRows
        let writer = AuditWriter(
            database: database,
            configuration: .init(level: settings.audit.level, queueCapacity: settings.audit.queueCapacity, retention: retention),
            logger: logger
        )
        let audit = AuditTrail(sink: writer)
        func failStartup(_ message: String) throws -> Never {
            _ = writer.flush()
            try? database.close()
            throw StartupFailure(message: message)
        }

        if settings.plugins.preflight {
            do {
                try runPreflight(settings)
            } catch let failure as StartupFailure {
                for line in failure.message.split(separator: "\n").dropFirst() { audit.pluginFailed(line.trimmingCharacters(in: .whitespaces)) }
                try failStartup(failure.message)
            }
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.threads)
        let configuredHost = settings.host
        let server: SwitchyardServer
        do {
            server = try SwitchyardServer(
                configuration: settings,
                group: group,
                logger: logger,
                audit: audit,
                database: database,
                auditWriter: writer,
                metrics: { prometheus.emitToString() }
            ) { address in
                // One machine-readable line, flushed at once (tests and scripts wait for it).
                let line = "switchyard listening on http://\(address.ipAddress ?? configuredHost):\(address.port ?? 0)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        } catch {
            try? await group.shutdownGracefully()
            try failStartup("switchyard: cannot start:\n\(error)")
        }
        // The writer starts first and stops last: the server's shutdown disconnects are
        // written before the database closes.
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: writer), .init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await services.run()
        try await group.shutdownGracefully()
        try? database.close()
    }
}

/// A startup refusal: printed as is, exit status 1.
struct StartupFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

func loadSettings(_ options: ConfigurationOptions) throws -> ServerConfiguration {
    try loadSettings(config: options.config, plugins: options.plugins)
}

func loadSettings(config: String?, plugins: String?) throws -> ServerConfiguration {
    var settings: ServerConfiguration
    do {
        settings = try config.map { try ServerConfiguration.load(file: $0) } ?? ServerConfiguration()
        try settings.applyEnvironment(ProcessInfo.processInfo.environment)
    } catch let error as ConfigurationError {
        throw ValidationError(error.description)
    }
    if let plugins { settings.plugins.directory = plugins }
    return settings
}

/// Loads each plugin in a child process; throws a report when any fails.
func runPreflight(_ settings: ServerConfiguration) throws {
    let files: [String]
    do {
        files = try PluginHost.files(for: settings.plugins)
    } catch {
        throw StartupFailure(message: "switchyard: cannot start:\n\(error)")
    }
    let (reports, combined) = PluginPreflight.run(files: files, routes: settings.routes)
    let failures = reports.compactMap(\.failure) + (combined.map { [$0] } ?? [])
    if !failures.isEmpty {
        throw StartupFailure(message: "switchyard: cannot start, plugin preflight failed:\n" + failures.map { "  - \($0)" }.joined(separator: "\n"))
    }
}
