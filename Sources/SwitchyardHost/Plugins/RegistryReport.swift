import SwitchyardJSON

/// What `switchyard inspect` prints: plugins, operations with schemas, namespaces and
/// their routes, server events, hooks, guards and identity resolvers.
public enum RegistryReport {
    public static func json(_ registry: OperationRegistry, configuration: ServerConfiguration, plan: MiddlewarePlan? = nil) -> JSONValue {
        func schema(_ text: String?) -> JSONValue {
            guard let text else { return .null }
            return (try? JSONValue(parsing: text)) ?? .string(text)
        }
        let plugins = registry.plugins.map { plugin -> JSONValue in
            ["name": .string(plugin.name), "version": .string(plugin.version), "file": .string(plugin.file)]
        }
        let operations = registry.operations.values.sorted { $0.key < $1.key }.map { operation -> JSONValue in
            [
                "key": .string(operation.key), "plugin": .string(operation.plugin),
                "summary": operation.summary.map { .string($0) } ?? .null,
                "payloadSchema": schema(operation.payloadSchemaText), "ackSchema": schema(operation.ackSchemaText),
            ]
        }
        let namespaces = registry.namespaces.map { namespace -> JSONValue in
            let namespacePlan = plan?.namespaces[namespace.pattern.text]
            let routes = namespace.routes.values.sorted { $0.event < $1.event }.map { route -> JSONValue in
                var object: JSONObject = ["event": .string(route.event), "operation": .string(route.operation.key), "ack": .bool(route.ack), "origin": .string(route.origin)]
                if let chain = namespacePlan?.routeChains[route.event] { object["events"] = .array(chain.steps.map { .string($0.step.description) }) }
                return .object(object)
            }
            var object: JSONObject = ["namespace": .string(namespace.pattern.text), "routes": .array(routes)]
            object["identity"] = configuration.namespaces[namespace.pattern.text]?.identity.map { .string($0) } ?? .null
            if let namespacePlan {
                object["connect"] = .array(namespacePlan.connect.map { .string($0.description) })
                object["events"] = .array(namespacePlan.events.steps.map { .string($0.step.description) })
                if let strikes = namespacePlan.strikes {
                    object["strikes"] = ["limit": .number(JSONNumber(strikes.limit)), "windowMs": .number(JSONNumber(Int(strikes.window.nanoseconds / 1_000_000)))]
                }
            }
            object["hooks"] = .array(registry.hooks.filter { $0.namespace == "*" || $0.namespace == namespace.pattern.text }.map {
                ["kind": .string($0.kind.rawValue), "plugin": .string($0.plugin)]
            })
            return .object(object)
        }
        let events = registry.serverEvents.values.sorted { $0.name < $1.name }.map { event -> JSONValue in
            ["name": .string(event.name), "plugin": .string(event.plugin), "summary": event.summary.map { .string($0) } ?? .null, "payloadSchema": schema(event.schemaText)]
        }
        return [
            "plugins": .array(plugins),
            "operations": .array(operations),
            "namespaces": .array(namespaces),
            "serverEvents": .array(events),
            "guards": .array(registry.guards.values.sorted { $0.name < $1.name }.map { ["name": .string($0.name), "plugin": .string($0.plugin)] }),
            "identityResolvers": .array(registry.identityResolvers.values.sorted { $0.name < $1.name }.map { ["name": .string($0.name), "plugin": .string($0.plugin)] }),
        ]
    }

    public static func text(_ registry: OperationRegistry, configuration: ServerConfiguration, plan: MiddlewarePlan? = nil) -> String {
        var lines: [String] = []
        lines.append("Plugins")
        for plugin in registry.plugins { lines.append("  \(plugin.name) \(plugin.version)  \(plugin.file)") }
        lines.append("")
        lines.append("Operations")
        for operation in registry.operations.values.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(operation.key)  [\(operation.plugin)]" + (operation.summary.map { "  \($0)" } ?? ""))
            lines.append("    payload: \(operation.payloadSchemaText.map(compact) ?? "any")")
            lines.append("    ack:     \(operation.ackSchemaText.map(compact) ?? "any")")
        }
        lines.append("")
        lines.append("Namespaces and routes")
        for namespace in registry.namespaces {
            var header = "  \(namespace.pattern.text)"
            if let identity = configuration.namespaces[namespace.pattern.text]?.identity { header += "  identity: \(identity)" }
            lines.append(header)
            let namespacePlan = plan?.namespaces[namespace.pattern.text]
            if let namespacePlan {
                let connect = namespacePlan.connect.isEmpty ? "(none)" : namespacePlan.connect.map(\.description).joined(separator: " → ")
                lines.append("    connect chain: \(connect)")
                lines.append("    event chain:   \(namespacePlan.events.description)")
                if let strikes = namespacePlan.strikes {
                    lines.append("    strikes:       disconnect after \(strikes.limit) violations in \(strikes.window.nanoseconds / 1_000_000) ms")
                }
            }
            for route in namespace.routes.values.sorted(by: { $0.event < $1.event }) {
                lines.append("    \(route.event) -> \(route.operation.key)\(route.ack ? " (ack)" : "")  [\(route.origin)]")
                if let chain = namespacePlan?.routeChains[route.event] {
                    lines.append("      chain: \(chain.description)")
                }
            }
            for hook in registry.hooks where hook.namespace == "*" || hook.namespace == namespace.pattern.text {
                lines.append("    on \(hook.kind.rawValue): \(hook.plugin)")
            }
        }
        if !registry.serverEvents.isEmpty {
            lines.append("")
            lines.append("Server events")
            for event in registry.serverEvents.values.sorted(by: { $0.name < $1.name }) {
                lines.append("  \(event.name)  [\(event.plugin)]  payload: \(event.schemaText.map(compact) ?? "any")")
            }
        }
        if !registry.guards.isEmpty || !registry.identityResolvers.isEmpty {
            lines.append("")
            lines.append("Guards and identity resolvers")
            for entry in registry.guards.values.sorted(by: { $0.name < $1.name }) { lines.append("  guard \(entry.name)  [\(entry.plugin)]") }
            for entry in registry.identityResolvers.values.sorted(by: { $0.name < $1.name }) { lines.append("  identity \(entry.name)  [\(entry.plugin)]") }
        }
        return lines.joined(separator: "\n")
    }

    private static func compact(_ schema: String) -> String {
        (try? JSONValue(parsing: schema))?.serialized() ?? schema
    }
}
