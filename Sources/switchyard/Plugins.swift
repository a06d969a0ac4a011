import ArgumentParser
import Foundation
import SwitchyardHost
import SwitchyardJSON

struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check plugins without starting the server.",
        subcommands: [Verify.self, Probe.self]
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
