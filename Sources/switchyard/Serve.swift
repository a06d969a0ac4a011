import ArgumentParser
import Foundation
import Logging
import NIOPosix
import ServiceLifecycle
import SwitchyardHost

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server.",
        discussion: """
            Settings come from defaults, then the config file (--config, JSON), then the
            environment (SWITCHYARD_HOST, SWITCHYARD_PORT, SWITCHYARD_LOG_LEVEL), then these
            flags. The config file documents every setting; see README.md.

            On start the server prints one line 'switchyard listening on http://HOST:PORT'
            to standard output (useful with --port 0). SIGTERM and SIGINT shut it down
            gracefully: it stops accepting, closes sessions with 'server shutting down'.
            """
    )

    @Option(name: .long, help: "Configuration file (JSON).")
    var config: String?

    @Option(name: .long, help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Port to listen on; 0 picks a free one (default 3000).")
    var port: Int?

    @Option(name: .long, help: "Event-loop threads (default: one per core).")
    var threads: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func run() async throws {
        var settings: ServerConfiguration
        do {
            settings = try config.map { try ServerConfiguration.load(file: $0) } ?? ServerConfiguration()
            try settings.applyEnvironment(ProcessInfo.processInfo.environment)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
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

        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "switchyard")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.threads)
        let configuredHost = settings.host
        let server = try SwitchyardServer(configuration: settings, group: group, logger: logger) { address in
            // One machine-readable line, flushed at once (tests and scripts wait for it).
            let line = "switchyard listening on http://\(address.ipAddress ?? configuredHost):\(address.port ?? 0)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await services.run()
        try await group.shutdownGracefully()
    }
}
