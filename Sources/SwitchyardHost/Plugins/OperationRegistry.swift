import SocketIO

/// A problem found while assembling the registry; names the files and items involved.
public struct RegistryError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A route ready to serve: the event, the operation it runs, whether it acknowledges.
public final class ResolvedRoute: Sendable {
    public let event: String
    public let operation: PluginOperation
    public let ack: Bool
    /// A plugin name, or `configuration`.
    public let origin: String

    init(event: String, operation: PluginOperation, ack: Bool, origin: String) {
        self.event = event
        self.operation = operation
        self.ack = ack
        self.origin = origin
    }
}

/// The routes of one namespace pattern.
public struct NamespaceRoutes: Sendable {
    public let pattern: NamespacePattern
    public let routes: [String: ResolvedRoute]
}

/// Collects what plugins and configuration contribute, then checks it all and freezes it.
///
/// ```swift
/// var builder = OperationRegistry.Builder()
/// try builder.add(chatPlugin)
/// builder.addConfiguredRoute(namespace: "/chat", event: "say", operation: "messages.create", ack: true)
/// let registry = try builder.freeze()   // immutable from here on
/// ```
extension OperationRegistry {
    public struct Builder: Sendable {
        private var plugins: [LoadedPlugin] = []
        private var operations: [String: PluginOperation] = [:]
        private var pluginRoutes: [RouteKey: PluginRoute] = [:]
        private var configuredRoutes: [RouteKey: PluginRoute] = [:]
        private var serverEvents: [String: PluginServerEvent] = [:]
        private var guards: [String: PluginDecider] = [:]
        private var resolvers: [String: PluginDecider] = [:]
        private var hooks: [PluginHook] = []
        /// Namespaces served even without routes (e.g. configured for their middleware).
        private var extraNamespaces: Set<String> = []

        struct RouteKey: Hashable {
            var namespace: String
            var event: String
        }

        public init() {}

        private func file(of plugin: String) -> String {
            plugins.first { $0.name == plugin }?.file ?? "?"
        }

        /// Adds a loaded plugin. Duplicate names, operation keys, server events, guards,
        /// resolvers or routes are errors naming both plugins and their files.
        public mutating func add(_ plugin: LoadedPlugin) throws(RegistryError) {
            if let existing = plugins.first(where: { $0.name == plugin.name }) {
                throw RegistryError("plugin name '\(plugin.name)' is used by both \(existing.file) and \(plugin.file)")
            }
            plugins.append(plugin)
            for operation in plugin.operations {
                if let existing = operations[operation.key] {
                    throw RegistryError("duplicate operation key '\(operation.key)': declared by \(existing.plugin) (\(file(of: existing.plugin))) and \(plugin.name) (\(plugin.file))")
                }
                operations[operation.key] = operation
            }
            for event in plugin.serverEvents {
                if let existing = serverEvents[event.name] {
                    throw RegistryError("server event '\(event.name)' is declared by both \(existing.plugin) (\(file(of: existing.plugin))) and \(plugin.name) (\(plugin.file))")
                }
                serverEvents[event.name] = event
            }
            for entry in plugin.guards {
                if let existing = guards[entry.name] {
                    throw RegistryError("guard '\(entry.name)' is declared by both \(existing.plugin) and \(plugin.name) (\(plugin.file))")
                }
                guards[entry.name] = entry
            }
            for entry in plugin.identityResolvers {
                if let existing = resolvers[entry.name] {
                    throw RegistryError("identity resolver '\(entry.name)' is declared by both \(existing.plugin) and \(plugin.name) (\(plugin.file))")
                }
                resolvers[entry.name] = entry
            }
            for route in plugin.routes {
                let key = RouteKey(namespace: route.namespace, event: route.event)
                if let existing = pluginRoutes[key] {
                    throw RegistryError("event '\(route.event)' in namespace '\(route.namespace)' is routed by both \(existing.origin) and \(plugin.name) (\(plugin.file)); choose one in the configuration's routes")
                }
                pluginRoutes[key] = route
            }
            hooks += plugin.hooks
        }

        /// Adds or overrides a route from the configuration file.
        public mutating func addConfiguredRoute(namespace: String, event: String, operation: String, ack: Bool) {
            configuredRoutes[RouteKey(namespace: namespace, event: event)] = PluginRoute(namespace: namespace, event: event, operation: operation, ack: ack, origin: "configuration")
        }

        /// Serves a namespace even if nothing routes events in it.
        public mutating func addNamespace(_ pattern: String) {
            extraNamespaces.insert(pattern)
        }

        /// Checks every reference and returns the immutable registry.
        public func freeze() throws(RegistryError) -> OperationRegistry {
            var merged = pluginRoutes
            for (key, route) in configuredRoutes { merged[key] = route }

            var byNamespace: [String: [String: ResolvedRoute]] = [:]
            for (key, route) in merged.sorted(by: { ($0.key.namespace, $0.key.event) < ($1.key.namespace, $1.key.event) }) {
                guard let operation = operations[route.operation] else {
                    let from = route.origin == "configuration" ? "the configuration" : "plugin \(route.origin) (\(file(of: route.origin)))"
                    throw RegistryError("route '\(route.event)' in namespace '\(route.namespace)' from \(from) points at unknown operation '\(route.operation)'")
                }
                byNamespace[key.namespace, default: [:]][key.event] = ResolvedRoute(event: route.event, operation: operation, ack: route.ack, origin: route.origin)
            }
            for namespace in extraNamespaces where byNamespace[namespace] == nil { byNamespace[namespace] = [:] }
            for hook in hooks where hook.namespace != "*" && byNamespace[hook.namespace] == nil {
                byNamespace[hook.namespace] = [:]
            }

            var namespaces: [NamespaceRoutes] = []
            for (path, routes) in byNamespace.sorted(by: { $0.key < $1.key }) {
                do {
                    namespaces.append(NamespaceRoutes(pattern: try NamespacePattern(path), routes: routes))
                } catch {
                    throw RegistryError("invalid namespace in routes: \(error)")
                }
            }
            for hook in hooks where hook.namespace != "*" {
                do {
                    _ = try NamespacePattern(hook.namespace)
                } catch {
                    throw RegistryError("plugin \(hook.plugin): hook namespace: \(error)")
                }
            }
            return OperationRegistry(
                plugins: plugins,
                operations: operations,
                namespaces: namespaces,
                serverEvents: serverEvents,
                guards: guards,
                identityResolvers: resolvers,
                hooks: hooks
            )
        }
    }
}

/// Everything the plugins contribute, checked and immutable. Built once by
/// ``Builder``; no event is served before it exists.
public final class OperationRegistry: Sendable {
    public let plugins: [LoadedPlugin]
    public let operations: [String: PluginOperation]
    public let namespaces: [NamespaceRoutes]
    public let serverEvents: [String: PluginServerEvent]
    public let guards: [String: PluginDecider]
    public let identityResolvers: [String: PluginDecider]
    public let hooks: [PluginHook]

    init(
        plugins: [LoadedPlugin],
        operations: [String: PluginOperation],
        namespaces: [NamespaceRoutes],
        serverEvents: [String: PluginServerEvent],
        guards: [String: PluginDecider],
        identityResolvers: [String: PluginDecider],
        hooks: [PluginHook]
    ) {
        self.plugins = plugins
        self.operations = operations
        self.namespaces = namespaces
        self.serverEvents = serverEvents
        self.guards = guards
        self.identityResolvers = identityResolvers
        self.hooks = hooks
    }

    /// The operation with this key.
    public func operation(_ key: String) -> PluginOperation? { operations[key] }

    /// The hooks of a kind that apply to a namespace pattern.
    public func hooks(_ kind: PluginHook.HookKind, for pattern: NamespacePattern) -> [PluginHook] {
        hooks.filter { $0.kind == kind && ($0.namespace == "*" || $0.namespace == pattern.text) }
    }
}
