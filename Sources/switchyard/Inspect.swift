import ArgumentParser
import SwitchyardHost
import SwitchyardJSON

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the plugins, operations with schemas, namespaces, routes and events the server would serve."
    )

    @OptionGroup var options: ConfigurationOptions

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Flag(name: .long, help: "Skip loading each plugin in a child process first.")
    var noPreflight = false

    @Flag(name: .long, help: "Ask the running server (its admin endpoint, or every node through --redis) for connections, namespaces and rooms.")
    var live = false

    @OptionGroup var target: OperatorOptions

    func run() async throws {
        if live {
            let report = try await target.perform("/admin/live", command: "switchyard.live", payload: .null)
            if json {
                print(report.serialized())
            } else {
                print(Self.liveText(report))
            }
            return
        }
        let settings = try loadSettings(options)
        if settings.plugins.preflight && !noPreflight { try runPreflight(settings) }
        let registry: OperationRegistry
        let plan: MiddlewarePlan
        do {
            registry = try PluginHost.loadRegistry(
                files: try PluginHost.files(for: settings.plugins),
                routes: settings.routes,
                namespaces: Array(settings.namespaces.keys)
            )
            plan = try MiddlewarePlan.build(registry: registry, configuration: settings)
        } catch {
            throw StartupFailure(message: "switchyard: \(error)")
        }
        if json {
            print(RegistryReport.json(registry, configuration: settings, plan: plan).serialized())
        } else {
            print(RegistryReport.text(registry, configuration: settings, plan: plan))
        }
    }

    static func liveText(_ report: JSONValue) -> String {
        var lines: [String] = []
        let nodes = report["nodes"]?.arrayValue ?? (report["node"] != nil ? [report] : [])
        for node in nodes {
            lines.append("node \(node["node"]?.stringValue ?? "?"): \(node["connections"]?.intValue ?? 0) connection(s)")
            for namespace in node["namespaces"]?.arrayValue ?? [] {
                lines.append("  \(namespace["namespace"]?.stringValue ?? "?"): \(namespace["sockets"]?.intValue ?? 0) socket(s)")
                for room in namespace["rooms"]?.arrayValue ?? [] {
                    lines.append("    room \(room["room"]?.stringValue ?? "?"): \(room["sockets"]?.intValue ?? 0)")
                }
            }
        }
        if let missing = report["missingNodes"]?.arrayValue, !missing.isEmpty {
            lines.append("no answer from \(missing.count) node(s)")
        }
        return lines.joined(separator: "\n")
    }
}
