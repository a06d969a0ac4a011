import EngineIO
import NIOCore
import SocketIO
import SwitchyardJSON

/// The identity an identity resolver returned, handed from CONNECT to the new socket.
struct ResolvedIdentity: Sendable {
    let value: JSONValue
}

/// What the host keeps per socket: the context operations receive.
final class HostSocketContext: @unchecked Sendable {
    let identity: JSONValue
    /// The context JSON up to (not including) the rooms, built once at connect.
    private let prefix: [UInt8]

    init(socketID: String, namespace: SocketIONamespace, auth: JSONValue, handshake: EngineIOHandshake, identity: JSONValue) {
        self.identity = identity
        var object = JSONObject()
        object["socketId"] = .string(socketID)
        object["namespace"] = .string(namespace.path)
        object["params"] = .object(JSONObject(namespace.parameters.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
        var headers = JSONObject()
        for header in handshake.headers {
            let name = header.name.lowercased()
            if let existing = headers[name]?.stringValue {
                headers[name] = .string(existing + ", " + header.value)
            } else {
                headers[name] = .string(header.value)
            }
        }
        var handshakeObject = JSONObject()
        handshakeObject["headers"] = .object(headers)
        handshakeObject["query"] = .object(JSONObject(handshake.query.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
        handshakeObject["auth"] = auth
        handshakeObject["address"] = handshake.remoteAddress?.ipAddress.map { .string($0) } ?? .null
        handshakeObject["transport"] = .string(handshake.transport.rawValue)
        object["handshake"] = .object(handshakeObject)
        object["identity"] = identity
        object["tenant"] = identity["tenant"] ?? .null
        var bytes = JSONValue.object(object).serializedBytes()
        bytes.removeLast()  // the closing brace; rooms follow
        bytes.append(contentsOf: #","rooms":"#.utf8)
        self.prefix = bytes
    }

    /// The full context JSON with the socket's current rooms.
    func json(rooms: Set<String>) -> [UInt8] {
        var bytes = prefix
        JSONValue.array(rooms.sorted().map { .string($0) }).write(to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}

/// Serves one namespace pattern from the registry: identity at CONNECT, hooks, and
/// `event → operation` dispatch through the error boundary.
struct HostNamespaceHandler: SocketIONamespaceHandler {
    let runtime: PluginRuntime
    let routes: NamespaceRoutes
    let identityResolver: String?

    func authorize(_ request: SocketIOConnectRequest, decide: @escaping @Sendable (SocketIOConnectDecision) -> Void) {
        guard let resolver = identityResolver else {
            decide(.accept)
            return
        }
        let context = HostSocketContext(
            socketID: request.socketID,
            namespace: request.namespace,
            auth: request.auth,
            handshake: request.handshake,
            identity: .null
        )
        let runtime = self.runtime
        runtime.resolveIdentity(resolver: resolver, auth: request.auth, context: context.json(rooms: []), eventLoop: request.eventLoop) { result in
            switch result {
            case .success(let identity):
                decide(.accepted(userInfo: ResolvedIdentity(value: identity)))
            case .failure(let failure):
                let correlationID = ErrorBoundary.makeCorrelationID()
                if failure.kind.isServerSide {
                    runtime.logger.error("identity resolution failed: \(failure.detail)", metadata: ["sio.nsp": "\(request.namespace.path)", "error.correlation": "\(correlationID)"])
                }
                let payload = ErrorBoundary.clientPayload(for: failure, correlationID: correlationID)
                let error = payload["error"] ?? .null
                decide(.refuse(message: error["detail"]?.stringValue ?? "Not authorized", data: ["code": error["code"] ?? .null, "kind": error["kind"] ?? .null]))
            }
        }
    }

    func connected(_ socket: SocketIOSocket) {
        let identity = (socket.userInfo as? ResolvedIdentity)?.value ?? .null
        let context = HostSocketContext(socketID: socket.id, namespace: socket.namespace, auth: socket.auth, handshake: socket.handshake, identity: identity)
        socket.userInfo = context
        runtime.runHooks(.connect, pattern: routes.pattern, socket: socket, context: context, arguments: [])
    }

    func received(_ event: SocketIOEvent, from socket: SocketIOSocket) {
        guard let context = socket.userInfo as? HostSocketContext else { return }
        guard let route = routes.routes[event.name] else {
            runtime.deliver(
                .failure(OperationFailure(.notFound, "no route for event '\(event.name)' in namespace '\(routes.pattern.text)'", code: "unknown_event")),
                event: event,
                route: nil,
                socket: socket
            )
            return
        }
        runtime.invoke(route, event: event, socket: socket, context: context)
    }

    func disconnected(_ socket: SocketIOSocket, reason: SocketIODisconnectReason) {
        guard let context = socket.userInfo as? HostSocketContext else { return }
        runtime.runHooks(.disconnect, pattern: routes.pattern, socket: socket, context: context, arguments: [.string(reason.rawValue)])
    }
}
