@_exported import CSwitchyardPlugin
import Foundation
@_exported import SwitchyardJSON

/// A Switchyard plugin, written in Swift.
///
/// Declare what the plugin contributes in the builder closure, then export it from the one
/// symbol the host looks for:
///
/// ```swift
/// import SwitchyardPluginKit
///
/// struct CreateMessage: Codable, Sendable { var room: String; var text: String }
/// struct MessageCreated: Codable, Sendable { var id: String }
///
/// let plugin = Plugin(name: "chat", version: "1.0.0") { chat in
///     chat.operation(
///         "messages.create",
///         summary: "Posts a message to a room",
///         payload: CreateMessage.self,
///         ack: MessageCreated.self,
///         payloadSchema: #"{"type":"object","required":["room","text"],"properties":{"room":{"type":"string"},"text":{"type":"string","maxLength":2000}}}"#
///     ) { message, context in
///         let id = UUID().uuidString
///         try context.host.emit(to: .room(message.room), in: context.namespace, event: "message.new", [["id": .string(id), "text": .string(message.text)]])
///         return MessageCreated(id: id)
///     }
///     chat.route(namespace: "/chat", event: "message.send", operation: "messages.create")
///     chat.serverEvent("message.new", payloadSchema: #"{"type":"object","required":["id","text"]}"#)
/// }
///
/// @_cdecl("switchyard_plugin_entry")
/// public func switchyardPluginEntry() -> UnsafeRawPointer { plugin.export() }
/// ```
///
/// Build it as a dynamic library product (`.library(name: "Chat", type: .dynamic, …)`) and
/// copy `libChat.so` into the server's `plugins/` directory.
///
/// Threads: operations, hooks, guards and resolvers are called on the host's event loops.
/// Synchronous ones (``PluginBuilder/rawOperation(_:summary:payloadSchema:ackSchema:_:)``)
/// must not block; asynchronous ones run in a Swift `Task`.
public final class Plugin: Sendable {
    public let name: String
    public let version: String
    /// Written once at init, never mutated or freed.
    private nonisolated(unsafe) let descriptor: UnsafePointer<sy_plugin_descriptor>

    public init(name: String, version: String, _ build: (PluginBuilder) -> Void) {
        self.name = name
        self.version = version
        let builder = PluginBuilder()
        build(builder)
        self.descriptor = UnsafePointer(builder.makeDescriptor(name: name, version: version))
    }

    /// The descriptor the entry symbol returns. Valid for the life of the process.
    public func export() -> UnsafeRawPointer {
        UnsafeRawPointer(descriptor)
    }
}

/// Collects what a plugin contributes. Used inside ``Plugin/init(name:version:_:)``.
public final class PluginBuilder {
    struct OperationEntry {
        var key: String
        var summary: String?
        var payloadSchema: String?
        var ackSchema: String?
        var box: OperationBox
    }

    var operations: [OperationEntry] = []
    var routes: [(namespace: String, event: String, operation: String, ack: Bool)] = []
    var serverEvents: [(name: String, summary: String?, schema: String?)] = []
    var hooks: [(kind: sy_hook_kind, namespace: String, box: HookBox)] = []
    var guards: [(name: String, box: DecisionBox)] = []
    var resolvers: [(name: String, box: DecisionBox)] = []
    var startBox: StartBox?

    init() {}

    // MARK: Operations

    /// A synchronous operation over raw arguments; it runs on the host's event loop and must
    /// not block. Return the acknowledgement's arguments (or throw ``OperationError``).
    ///
    /// ```swift
    /// plugin.rawOperation("echo") { invocation in invocation.arguments }
    /// ```
    public func rawOperation(
        _ key: String,
        summary: String? = nil,
        payloadSchema: String? = nil,
        ackSchema: String? = nil,
        _ body: @escaping @Sendable (Invocation) throws -> Arguments
    ) {
        operations.append(OperationEntry(key: key, summary: summary, payloadSchema: payloadSchema, ackSchema: ackSchema, box: OperationBox(.sync(body))))
    }

    /// An asynchronous operation over raw arguments.
    public func asyncRawOperation(
        _ key: String,
        summary: String? = nil,
        payloadSchema: String? = nil,
        ackSchema: String? = nil,
        _ body: @escaping @Sendable (Invocation) async throws -> Arguments
    ) {
        operations.append(OperationEntry(key: key, summary: summary, payloadSchema: payloadSchema, ackSchema: ackSchema, box: OperationBox(.async(body))))
    }

    /// A typed operation: the first event argument decodes as `Payload`, the returned `Ack`
    /// becomes the acknowledgement. The host validates the payload against
    /// `payloadSchema` before calling (a client gets a validation error with field paths
    /// instead), so `body` can trust it.
    public func operation<Payload: Decodable & Sendable, Ack: Encodable & Sendable>(
        _ key: String,
        summary: String? = nil,
        payload: Payload.Type,
        ack: Ack.Type,
        payloadSchema: String? = nil,
        ackSchema: String? = nil,
        _ body: @escaping @Sendable (Payload, OperationContext) async throws -> Ack
    ) {
        asyncRawOperation(key, summary: summary, payloadSchema: payloadSchema, ackSchema: ackSchema) { invocation in
            let payload = try invocation.decodePayload(Payload.self)
            let ack = try await body(payload, invocation.context)
            return try Arguments(encoding: ack)
        }
    }

    // MARK: Routes and events

    /// A default route: `event` in namespaces matching `namespace` runs `operation`; with
    /// `ack`, its result acknowledges the event. Configuration may override it.
    public func route(namespace: String, event: String, operation: String, ack: Bool = true) {
        routes.append((namespace, event, operation, ack))
    }

    /// An event this plugin emits to clients; emits of it are validated against the schema.
    public func serverEvent(_ name: String, summary: String? = nil, payloadSchema: String? = nil) {
        serverEvents.append((name, summary, payloadSchema))
    }

    // MARK: Hooks, guards, identity

    /// Runs after a socket joined a namespace matching `namespace` (`"*"`: all).
    public func onConnect(namespace: String = "*", _ body: @escaping @Sendable (OperationContext) -> Void) {
        hooks.append((SY_HOOK_CONNECT, namespace, HookBox { invocation in body(invocation.context) }))
    }

    /// Runs after a socket left a namespace matching `namespace`, with the reason.
    public func onDisconnect(namespace: String = "*", _ body: @escaping @Sendable (OperationContext, String) -> Void) {
        hooks.append((SY_HOOK_DISCONNECT, namespace, HookBox { invocation in
            body(invocation.context, invocation.arguments.value(at: 0)?.stringValue ?? "")
        }))
    }

    /// A guard: return normally to allow, throw ``OperationError`` (authorization or
    /// authentication) to deny.
    public func `guard`(_ name: String, _ body: @escaping @Sendable (Invocation) async throws -> Void) {
        guards.append((name, DecisionBox { invocation in
            try await body(invocation)
            return .null
        }))
    }

    /// An identity resolver: receives the CONNECT auth payload; return the identity, `nil`
    /// for anonymous, or throw ``OperationError/authentication(_:code:)`` to refuse.
    public func identityResolver(_ name: String, _ body: @escaping @Sendable (_ auth: JSONValue, _ context: OperationContext) async throws -> Identity?) {
        resolvers.append((name, DecisionBox { invocation in
            guard let identity = try await body(invocation.arguments.value(at: 0) ?? .object(JSONObject()), invocation.context) else { return .null }
            return identity.json
        }))
    }

    /// Called once at load with the plugin's configuration; throw to refuse to start.
    public func onStart(_ body: @escaping @Sendable (JSONValue, HostServices) throws -> Void) {
        startBox = StartBox(body)
    }
}

/// Who a connection is, as an identity resolver decides.
public struct Identity: Sendable, Hashable {
    public var id: String
    public var roles: [String]
    public var tenant: String?
    /// Extra claims, kept as given.
    public var claims: JSONObject

    public init(id: String, roles: [String] = [], tenant: String? = nil, claims: JSONObject = JSONObject()) {
        self.id = id
        self.roles = roles
        self.tenant = tenant
        self.claims = claims
    }

    init?(_ value: JSONValue) {
        guard let id = value["id"]?.stringValue else { return nil }
        self.id = id
        self.roles = value["roles"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.tenant = value["tenant"]?.stringValue
        self.claims = value["claims"]?.objectValue ?? JSONObject()
    }

    var json: JSONValue {
        var object = JSONObject()
        object["id"] = .string(id)
        object["roles"] = .array(roles.map { .string($0) })
        if let tenant { object["tenant"] = .string(tenant) }
        if !claims.isEmpty { object["claims"] = .object(claims) }
        return .object(object)
    }
}
