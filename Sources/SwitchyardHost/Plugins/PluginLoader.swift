import CSwitchyardPlugin
import Foundation
import SwitchyardJSON
import SwitchyardSchema

#if canImport(Glibc)
import Glibc
#endif

/// Why a plugin could not be loaded; always names the file.
public struct PluginLoadError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        case notALibrary(String)
        case cannotLoad(String)
        case missingEntrySymbol
        case noDescriptor
        case abiMismatch(plugin: UInt32, host: UInt32)
        case invalidDescriptor(String)
        case invalidSchema(item: String, problem: String)
        case refusedToStart
        case crashed(signal: Int32)
        case preflightFailed(String)
    }

    public var file: String
    public var reason: Reason

    public init(file: String, reason: Reason) {
        self.file = file
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .notALibrary(let detail): return "\(file): not a shared library (\(detail))"
        case .cannotLoad(let detail): return "\(file): cannot be loaded: \(detail)"
        case .missingEntrySymbol: return "\(file): missing entry symbol \(SY_PLUGIN_ENTRY_SYMBOL)"
        case .noDescriptor: return "\(file): \(SY_PLUGIN_ENTRY_SYMBOL) returned no descriptor"
        case .abiMismatch(let plugin, let host): return "\(file): plugin ABI version \(plugin), this host supports \(host)"
        case .invalidDescriptor(let detail): return "\(file): invalid descriptor: \(detail)"
        case .invalidSchema(let item, let problem): return "\(file): \(item): invalid schema: \(problem)"
        case .refusedToStart: return "\(file): the plugin refused to start (see its log lines)"
        case .crashed(let signal): return "\(file): crashed while loading (signal \(signal)\(Self.signalName(signal)))"
        case .preflightFailed(let detail): return "\(file): preflight failed: \(detail)"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGILL: return ", SIGILL: a trap such as a Swift fatalError or failed precondition"
        case SIGTRAP: return ", SIGTRAP: a trap such as a Swift fatalError or failed precondition"
        case SIGSEGV: return ", SIGSEGV: invalid memory access"
        case SIGABRT: return ", SIGABRT: abort"
        case SIGBUS: return ", SIGBUS: bus error"
        case SIGFPE: return ", SIGFPE: arithmetic error"
        default: return ""
        }
    }
}

/// An operation a plugin contributes.
/// Immutable and shared: a class, so the hot path passes one reference instead of
/// copying (and retaining) every field.
public final class PluginOperation: @unchecked Sendable {
    public let key: String
    public let summary: String?
    public let payloadSchemaText: String?
    public let ackSchemaText: String?
    public let payloadSchema: JSONSchema?
    public let ackSchema: JSONSchema?
    public let plugin: String
    let invoke: sy_invoke_fn
    let userData: UnsafeMutableRawPointer?

    init(
        key: String,
        summary: String?,
        payloadSchemaText: String?,
        ackSchemaText: String?,
        payloadSchema: JSONSchema?,
        ackSchema: JSONSchema?,
        plugin: String,
        invoke: @escaping sy_invoke_fn,
        userData: UnsafeMutableRawPointer?
    ) {
        self.key = key
        self.summary = summary
        self.payloadSchemaText = payloadSchemaText
        self.ackSchemaText = ackSchemaText
        self.payloadSchema = payloadSchema
        self.ackSchema = ackSchema
        self.plugin = plugin
        self.invoke = invoke
        self.userData = userData
    }
}

/// A default route a plugin declares.
public struct PluginRoute: Sendable, Hashable {
    public let namespace: String
    public let event: String
    public let operation: String
    public let ack: Bool
    /// Who declared it: a plugin name, or `configuration`.
    public let origin: String
}

/// An event a plugin emits to clients.
public struct PluginServerEvent: Sendable {
    public let name: String
    public let summary: String?
    public let schemaText: String?
    public let schema: JSONSchema?
    public let plugin: String
}

public struct PluginHook: @unchecked Sendable {
    public let kind: HookKind
    public let namespace: String
    public let plugin: String
    let run: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sy_invocation>?) -> Void
    let userData: UnsafeMutableRawPointer?

    public enum HookKind: String, Sendable { case connect, disconnect }
}

/// A guard or an identity resolver.
public struct PluginDecider: @unchecked Sendable {
    public let name: String
    public let plugin: String
    let call: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sy_invocation>?, sy_decide_fn?, UnsafeMutableRawPointer?) -> Void
    let userData: UnsafeMutableRawPointer?
}

/// A plugin loaded into this process, its contributions read out of the descriptor.
public struct LoadedPlugin: @unchecked Sendable {
    public let file: String
    public let name: String
    public let version: String
    public let operations: [PluginOperation]
    public let routes: [PluginRoute]
    public let serverEvents: [PluginServerEvent]
    public let hooks: [PluginHook]
    public let guards: [PluginDecider]
    public let identityResolvers: [PluginDecider]
    let start: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sy_host_services>?, sy_bytes) -> Int32)?
    let startUserData: UnsafeMutableRawPointer?
}

/// Loads plugin libraries: `dlopen` with `RTLD_NOW` (missing symbols fail at load, not at
/// first call), never `dlclose` (unloading Swift code breaks later casts), checks the ABI
/// version and every schema, and reports each failure with the file and the reason.
public enum PluginLoader {
    /// The `.so` files of a directory, sorted by name.
    public static func libraries(in directory: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        return names.filter { $0.hasSuffix(".so") }.sorted().map { (directory as NSString).appendingPathComponent($0) }
    }

    /// Loads one plugin into this process.
    public static func load(file: String) throws(PluginLoadError) -> LoadedPlugin {
        try checkELF(file)
        guard let handle = dlopen(file, RTLD_NOW | RTLD_LOCAL) else {
            throw PluginLoadError(file: file, reason: .cannotLoad(String(cString: dlerror())))
        }
        // Deliberately never dlclose'd.
        guard let symbol = dlsym(handle, SY_PLUGIN_ENTRY_SYMBOL) else {
            throw PluginLoadError(file: file, reason: .missingEntrySymbol)
        }
        let entry = unsafeBitCast(symbol, to: sy_plugin_entry_fn.self)
        guard let descriptor = entry() else { throw PluginLoadError(file: file, reason: .noDescriptor) }
        return try read(descriptor, file: file)
    }

    private static func checkELF(_ file: String) throws(PluginLoadError) {
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw PluginLoadError(file: file, reason: .cannotLoad("cannot open the file"))
        }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 4)).map { Array($0) } ?? []
        guard magic == [0x7F, 0x45, 0x4C, 0x46] else {
            throw PluginLoadError(file: file, reason: .notALibrary("no ELF header"))
        }
    }

    static func read(_ pointer: UnsafePointer<sy_plugin_descriptor>, file: String) throws(PluginLoadError) -> LoadedPlugin {
        let descriptor = pointer.pointee
        guard descriptor.abi_version == SY_ABI_VERSION else {
            throw PluginLoadError(file: file, reason: .abiMismatch(plugin: descriptor.abi_version, host: SY_ABI_VERSION))
        }
        guard descriptor.struct_size >= UInt32(MemoryLayout<sy_plugin_descriptor>.size) else {
            throw PluginLoadError(file: file, reason: .invalidDescriptor("struct_size \(descriptor.struct_size) is smaller than version 1's \(MemoryLayout<sy_plugin_descriptor>.size)"))
        }
        func string(_ pointer: UnsafePointer<CChar>?, _ what: String) throws(PluginLoadError) -> String {
            guard let pointer, pointer.pointee != 0 else { throw PluginLoadError(file: file, reason: .invalidDescriptor("\(what) is missing")) }
            return String(cString: pointer)
        }
        func optional(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
        func items<T>(_ base: UnsafePointer<T>?, _ count: Int, _ what: String) throws(PluginLoadError) -> UnsafeBufferPointer<T> {
            if count == 0 { return UnsafeBufferPointer(start: nil, count: 0) }
            guard let base else { throw PluginLoadError(file: file, reason: .invalidDescriptor("\(what) has \(count) entries but no array")) }
            return UnsafeBufferPointer(start: base, count: count)
        }
        func schema(_ text: String?, _ item: String) throws(PluginLoadError) -> JSONSchema? {
            guard let text else { return nil }
            do throws(SchemaError) {
                return try JSONSchema(parsing: text)
            } catch {
                throw PluginLoadError(file: file, reason: .invalidSchema(item: item, problem: error.description))
            }
        }

        let name = try string(descriptor.name, "name")
        let version = try string(descriptor.version, "version")

        var operations: [PluginOperation] = []
        for operation in try items(descriptor.operations, descriptor.operation_count, "operations") {
            let key = try string(operation.key, "an operation key")
            guard let invoke = operation.invoke else {
                throw PluginLoadError(file: file, reason: .invalidDescriptor("operation \(key) has no invoke function"))
            }
            let payloadText = optional(operation.payload_schema_json)
            let ackText = optional(operation.ack_schema_json)
            operations.append(
                PluginOperation(
                    key: key,
                    summary: optional(operation.summary),
                    payloadSchemaText: payloadText,
                    ackSchemaText: ackText,
                    payloadSchema: try schema(payloadText, "operation \(key) payload"),
                    ackSchema: try schema(ackText, "operation \(key) ack"),
                    plugin: name,
                    invoke: invoke,
                    userData: operation.user_data
                )
            )
        }
        var routes: [PluginRoute] = []
        for route in try items(descriptor.routes, descriptor.route_count, "routes") {
            routes.append(
                PluginRoute(
                    namespace: try string(route.namespace_pattern, "a route's namespace"),
                    event: try string(route.event, "a route's event"),
                    operation: try string(route.operation_key, "a route's operation"),
                    ack: route.ack != 0,
                    origin: name
                )
            )
        }
        var events: [PluginServerEvent] = []
        for event in try items(descriptor.server_events, descriptor.server_event_count, "server events") {
            let eventName = try string(event.name, "a server event name")
            let text = optional(event.payload_schema_json)
            events.append(PluginServerEvent(name: eventName, summary: optional(event.summary), schemaText: text, schema: try schema(text, "server event \(eventName)"), plugin: name))
        }
        var hooks: [PluginHook] = []
        for hook in try items(descriptor.hooks, descriptor.hook_count, "hooks") {
            guard let run = hook.run else { throw PluginLoadError(file: file, reason: .invalidDescriptor("a hook has no run function")) }
            let kind: PluginHook.HookKind
            switch hook.kind {
            case SY_HOOK_CONNECT: kind = .connect
            case SY_HOOK_DISCONNECT: kind = .disconnect
            default: throw PluginLoadError(file: file, reason: .invalidDescriptor("unknown hook kind \(hook.kind.rawValue)"))
            }
            hooks.append(PluginHook(kind: kind, namespace: optional(hook.namespace_pattern) ?? "*", plugin: name, run: run, userData: hook.user_data))
        }
        var guards: [PluginDecider] = []
        for entry in try items(descriptor.guards, descriptor.guard_count, "guards") {
            let guardName = try string(entry.name, "a guard name")
            guard let check = entry.check else { throw PluginLoadError(file: file, reason: .invalidDescriptor("guard \(guardName) has no check function")) }
            guards.append(PluginDecider(name: guardName, plugin: name, call: check, userData: entry.user_data))
        }
        var resolvers: [PluginDecider] = []
        for entry in try items(descriptor.identity_resolvers, descriptor.identity_resolver_count, "identity resolvers") {
            let resolverName = try string(entry.name, "an identity resolver name")
            guard let resolve = entry.resolve else { throw PluginLoadError(file: file, reason: .invalidDescriptor("identity resolver \(resolverName) has no resolve function")) }
            resolvers.append(PluginDecider(name: resolverName, plugin: name, call: resolve, userData: entry.user_data))
        }
        return LoadedPlugin(
            file: file,
            name: name,
            version: version,
            operations: operations,
            routes: routes,
            serverEvents: events,
            hooks: hooks,
            guards: guards,
            identityResolvers: resolvers,
            start: descriptor.start,
            startUserData: descriptor.user_data
        )
    }
}
