import ArgumentParser
import SwitchyardHost

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the plugins, operations with schemas, namespaces, routes and events the server would serve."
    )

    @OptionGroup var options: ConfigurationOptions

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Flag(name: .long, help: "Skip loading each plugin in a child process first.")
    var noPreflight = false

    func run() throws {
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
}
