import ArgumentParser
import Foundation
import Logging
import SocketIO
import SwitchyardHost
import SwitchyardJSON

struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check plugins without starting the server.",
        subcommands: [Verify.self, Measure.self, Probe.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load each plugin in a child process and report on it.",
            discussion: """
                Each plugin is loaded alone in a child process (a plugin that traps while
                loading is reported, not fatal), then all of them together, which finds
                duplicate operation keys and routes to unknown operations. Exit status 0 when
                every plugin is fine, 1 otherwise.
                """
        )

        @Argument(help: "Plugin directory (default: plugins, or the configuration's).")
        var directory: String?

        @Option(name: .long, help: "Configuration file whose plugin settings and routes apply.")
        var config: String?

        func run() throws {
            var settings = try loadSettings(config: config, plugins: directory)
            settings.plugins.enabled = directory == nil ? settings.plugins.enabled : nil
            let files: [String]
            do {
                files = try PluginHost.files(for: settings.plugins)
            } catch {
                print("error: \(error)")
                throw ExitCode(1)
            }
            if files.isEmpty {
                print("no plugins in \(settings.plugins.directory)")
                return
            }
            let (reports, combined) = PluginPreflight.run(files: files, routes: settings.routes)
            for report in reports {
                if let failure = report.failure {
                    print("FAIL  \(failure)")
                } else {
                    print("ok    \(report.file): \(report.plugin ?? "?") \(report.version ?? "?"), \(report.operations) operation(s)")
                }
            }
            if let combined {
                print("FAIL  together: \(combined)")
            }
            if reports.contains(where: { !$0.succeeded }) || combined != nil { throw ExitCode(1) }
            print("all \(reports.count) plugin(s) load together")
        }
    }

    struct Measure: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time a synchronous operation through the plugin ABI against a no-plugin baseline.",
            discussion: """
                Loads the plugins (after the preflight) and calls the operation the way the server
                does, without a network: building the invocation, the C call, the plugin's answer
                through the completion, the result check. The baseline does the host's own copies
                and checks with no plugin; the difference is the cost of the boundary per call.
                """
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(name: .long, help: "The operation key (default: echo, from the echo plugin).")
        var operation = "echo"

        @Option(name: .long, help: "The event arguments, a JSON array.")
        var arguments = #"[{"n":1,"data":"0123456789012345678901234567890123456789012345678901234567890123"}]"#

        @Option(name: .long, help: "Calls to time.")
        var iterations = 200_000

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            let settings = try loadSettings(options)
            if settings.plugins.preflight { try runPreflight(settings) }
            let registry = try PluginHost.loadRegistry(files: try PluginHost.files(for: settings.plugins), routes: settings.routes)
            let runtime = PluginRuntime(registry: registry, socketIO: SocketIOServer(logger: Logger(label: "measure")), operationTimeout: .seconds(10), logger: Logger(label: "measure"))
            try runtime.startPlugins(configuration: settings.plugins.settings)
            let result = try PluginCallMeasurement.run(runtime: runtime, operation: operation, arguments: arguments, iterations: iterations)
            if json {
                print(#"{"operation":"\#(result.operation)","iterations":\#(result.iterations),"nsPerCall":\#(Int(result.nanosecondsPerCall)),"baselineNsPerCall":\#(Int(result.baselineNanosecondsPerCall)),"overheadNsPerCall":\#(Int(result.overheadNanosecondsPerCall))}"#)
            } else {
                print("operation \(result.operation), \(result.iterations) calls")
                print("  through the plugin ABI: \(Int(result.nanosecondsPerCall)) ns/call")
                print("  baseline, no plugin:    \(Int(result.baselineNanosecondsPerCall)) ns/call")
                print("  boundary overhead:      \(Int(result.overheadNanosecondsPerCall)) ns/call")
            }
        }
    }

    /// Used by the preflight: loads plugins in this (child) process and prints a JSON report.
    struct Probe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load plugins in this process and print a JSON report (used by the preflight).",
            shouldDisplay: false
        )

        @Argument var files: [String]

        @Option(name: .long, help: "A configured route: namespace|event|operation|ack.")
        var route: [String] = []

        func run() throws {
            let routes = route.compactMap { text -> RouteConfiguration? in
                let parts = text.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 4 else { return nil }
                return RouteConfiguration(namespace: parts[0], event: parts[1], operation: parts[2], ack: parts[3] == "true")
            }
            let (report, status) = PluginHost.probe(files: files, routes: routes)
            print(report.serialized())
            if status != 0 { throw ExitCode(status) }
        }
    }
}
