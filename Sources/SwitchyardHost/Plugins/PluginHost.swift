import Foundation
import SwitchyardJSON

/// Why the server refused to start with its plugins. Every line names a file or an item.
public struct PluginHostError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

/// Finds, checks and loads the plugins of a configuration into a frozen registry.
public enum PluginHost {
    /// The plugin files the configuration selects, with a clear error for a missing
    /// directory or an enabled plugin that is not there.
    public static func files(for configuration: PluginsConfiguration) throws(PluginHostError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: configuration.directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PluginHostError(problems: ["plugin directory '\(configuration.directory)' does not exist (run `make plugins`, or set plugins.directory)"])
        }
        let all: [String]
        do {
            all = try PluginLoader.libraries(in: configuration.directory)
        } catch {
            throw PluginHostError(problems: ["cannot list plugin directory '\(configuration.directory)': \(error)"])
        }
        guard let enabled = configuration.enabled else { return all }
        var selected: [String] = []
        var missing: [String] = []
        for name in enabled {
            if let file = all.first(where: { ($0 as NSString).lastPathComponent == name + ".so" }) {
                selected.append(file)
            } else {
                missing.append(name)
            }
        }
        if !missing.isEmpty {
            throw PluginHostError(problems: missing.map { "enabled plugin '\($0)' has no file \($0).so in '\(configuration.directory)'" })
        }
        return selected
    }

    /// Loads the files in this process and freezes the registry with the configured routes.
    public static func loadRegistry(files: [String], routes: [RouteConfiguration], namespaces: [String] = []) throws(PluginHostError) -> OperationRegistry {
        var builder = OperationRegistry.Builder()
        var problems: [String] = []
        for file in files {
            do throws(PluginLoadError) {
                let plugin = try PluginLoader.load(file: file)
                do throws(RegistryError) {
                    try builder.add(plugin)
                } catch {
                    problems.append(error.description)
                }
            } catch {
                problems.append(error.description)
            }
        }
        guard problems.isEmpty else { throw PluginHostError(problems: problems) }
        for route in routes {
            // Routes without an operation only set a chain; the middleware plan checks them.
            guard let operation = route.operation else { continue }
            builder.addConfiguredRoute(namespace: route.namespace, event: route.event, operation: operation, ack: route.ack)
        }
        for namespace in namespaces { builder.addNamespace(namespace) }
        do throws(RegistryError) {
            return try builder.freeze()
        } catch {
            throw PluginHostError(problems: [error.description])
        }
    }

    /// The `plugins probe` subcommand's work: load the files here and print one JSON report.
    /// Returns the process exit status.
    public static func probe(files: [String], routes: [RouteConfiguration]) -> (report: JSONValue, status: Int32) {
        do throws(PluginHostError) {
            let registry = try loadRegistry(files: files, routes: routes)
            var report = JSONObject()
            report["ok"] = true
            if let plugin = registry.plugins.first, registry.plugins.count == 1 {
                report["plugin"] = .string(plugin.name)
                report["version"] = .string(plugin.version)
            }
            report["operations"] = .number(JSONNumber(registry.operations.count))
            return (.object(report), 0)
        } catch {
            return (.object(["ok": false, "error": .string(error.description)]), 1)
        }
    }
}
