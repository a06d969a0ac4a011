import CSwitchyardPlugin
import EngineIO
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import SocketIO
import SwitchyardJSON

/// What a CONNECT's chain produced, handed to the new socket.
struct ConnectOutcome: Sendable {
    let identity: JSONValue
    let slot: ConnectionSlot?
    /// Persisted rooms of the identity, re-entered before the socket serves events.
    var rooms: [String] = []
}

/// What the host keeps per socket: the context operations receive, and the per-connection
/// state of its chains (confined to the socket's event loop).
final class HostSocketContext: @unchecked Sendable {
    let identity: JSONValue
    let address: String
    /// Held for connection limits; released when the socket leaves.
    let slot: ConnectionSlot?
    /// Connection-scope rate-limit buckets, by chain step id.
    var buckets: [Int: TokenBucket] = [:]
    /// Violations in the current strike window.
    var strikes = 0
    var strikeWindowStart: NIODeadline?
    /// The inline-completion slot of the socket's loop thread, found on the first event.
    var inlineSlot: InlineCompletionSlot?
    /// The last event name this socket sent and what it resolved to: a client mostly sends
    /// the same few events, and a string comparison is cheaper than a hash lookup.
    private var lastEvent: (name: String, target: EventTarget)?

    /// What `name` resolves to in `handler`'s namespace, from the one-entry cache when it
    /// is the name of the last event.
    func target(for name: String, in handler: HostNamespaceHandler) -> EventTarget {
        if let lastEvent, lastEvent.name == name { return lastEvent.target }
        let target = handler.target(for: name)
        lastEvent = (name, target)
        return target
    }

    // What the context JSON is made of. It is built on first use, not at connect: an idle
    // socket never needs it, and it repeats the handshake headers, which a browser's
    // cookies can make kilobytes long.
    private let socketID: String
    private let namespace: SocketIONamespace
    private let auth: JSONValue
    private let handshake: EngineIOHandshake
    /// Connection state recovery: the socket is (or, in a connect chain, becomes) a previous
    /// socket brought back.
    let recovered: Bool

    init(
        socketID: String, namespace: SocketIONamespace, auth: JSONValue, handshake: EngineIOHandshake, identity: JSONValue, slot: ConnectionSlot? = nil,
        recovered: Bool = false
    ) {
        self.recovered = recovered
        self.identity = identity
        self.slot = slot
        self.address = handshake.remoteAddress?.ipAddressText ?? "unknown"
        self.socketID = socketID
        self.namespace = namespace
        self.auth = auth
        self.handshake = handshake
    }

    /// The context JSON up to (not including) the rooms: `{…,"rooms":`.
    private func prefix() -> [UInt8] {
        var object = JSONObject()
        object["socketId"] = .string(socketID)
        object["namespace"] = .string(namespace.path)
        object["params"] = .object(JSONObject(namespace.parameters.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
        let headers = Self.headersObject(handshake)
        var handshakeObject = JSONObject()
        handshakeObject["headers"] = .object(headers)
        handshakeObject["query"] = .object(JSONObject(handshake.query.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
        handshakeObject["auth"] = auth
        handshakeObject["address"] = handshake.remoteAddress?.ipAddressText.map { .string($0) } ?? .null
        handshakeObject["transport"] = .string(handshake.transport.rawValue)
        object["handshake"] = .object(handshakeObject)
        object["identity"] = identity
        object["tenant"] = identity["tenant"] ?? .null
        object["recovered"] = .bool(recovered)
        var bytes = JSONValue.object(object).serializedBytes()
        bytes.removeLast()  // the closing brace; rooms follow
        bytes.append(contentsOf: #","rooms":"#.utf8)
        return bytes
    }

    /// The request headers as Node presents them: lower-case names, repeated headers joined
    /// with ", ".
    static func headersObject(_ handshake: EngineIOHandshake) -> JSONObject {
        var headers = JSONObject()
        for header in handshake.headers {
            let name = header.name.lowercased()
            if let existing = headers[name]?.stringValue {
                headers[name] = .string(existing + ", " + header.value)
            } else {
                headers[name] = .string(header.value)
            }
        }
        return headers
    }

    /// The last context JSON built for the socket and the rooms revision it was built at.
    /// Like the buckets, read and written on the socket's loop only (events, guards'
    /// answers and hooks all run there), so no lock.
    private var cache: (revision: UInt64, json: [UInt8])?

    /// The full context JSON with the socket's current rooms, rebuilt only when they changed.
    /// On the socket's loop.
    func json(for socket: SocketIOSocket) -> [UInt8] {
        // The revision is read before the rooms: a change in between makes the next call rebuild.
        let revision = socket.roomsRevision
        if let cache, cache.revision == revision { return cache.json }
        let json = self.json(rooms: socket.rooms)
        cache = (revision, json)
        return json
    }

    /// The full context JSON with these rooms.
    func json(rooms: Set<String>) -> [UInt8] {
        var bytes = prefix()
        JSONValue.array(rooms.sorted().map { .string($0) }).write(to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    var identityID: String? { identity["id"]?.stringValue }
    var roles: [String] { identity["roles"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
}

/// Everything an event name resolves to in one namespace, worked out once per name when
/// the handler is made: its chain, and its route with the host services of the route's
/// plugin.
final class EventTarget: Sendable {
    let chain: EventChain
    nonisolated(unsafe) let routed: (route: ResolvedRoute, services: UnsafePointer<sy_host_services>)?

    init(chain: EventChain, routed: (route: ResolvedRoute, services: UnsafePointer<sy_host_services>)?) {
        self.chain = chain
        self.routed = routed
    }
}

/// Serves one namespace pattern: the connect chain at CONNECT, the event chain on every
/// event (its head before the JSON is decoded, the rest after), then `event → operation`
/// through the error boundary; hooks on connect and disconnect.
final class HostNamespaceHandler: SocketIONamespaceHandler {
    let runtime: PluginRuntime
    let routes: NamespaceRoutes
    let plan: NamespacePlan
    /// By event name: every routed event and every event with a chain of its own.
    private let targets: [String: EventTarget]
    /// Any other event: the namespace's chain, no route.
    private let unrouted: EventTarget

    init(runtime: PluginRuntime, routes: NamespaceRoutes, plan: NamespacePlan) {
        self.runtime = runtime
        self.routes = routes
        self.plan = plan
        var targets: [String: EventTarget] = [:]
        for name in Set(routes.routes.keys).union(plan.routeChains.keys) {
            let routed = routes.routes[name].map { ($0, runtime.bridge(for: $0.operation.plugin).services!) }
            targets[name] = EventTarget(chain: plan.chain(for: name), routed: routed)
        }
        self.targets = targets
        self.unrouted = EventTarget(chain: plan.events, routed: nil)
    }

    func target(for name: String) -> EventTarget {
        targets[name] ?? unrouted
    }

    // MARK: - Connect chain

    func authorize(_ request: SocketIOConnectRequest, decide: @escaping @Sendable (SocketIOConnectDecision) -> Void) {
        ConnectChainRun(handler: self, request: request, decide: decide).run(from: 0, identity: .null, slot: nil)
    }

    func connected(_ socket: SocketIOSocket) {
        let outcome = socket.userInfo as? ConnectOutcome
        // A socket recovered with skipMiddlewares skipped the chain: it comes back with the
        // context it left with (its identity; the connection-limit slot was released then).
        let previous = socket.userInfo(as: HostSocketContext.self)
        let context = HostSocketContext(
            socketID: socket.id,
            namespace: socket.namespace,
            auth: socket.auth,
            handshake: socket.handshake,
            identity: outcome?.identity ?? previous?.identity ?? .null,
            slot: outcome?.slot,
            recovered: socket.recovered
        )
        socket.userInfo = context
        if let identity = context.identityID {
            runtime.identities.add(identity: identity, namespace: socket.namespace.path, socket: socket.id)
        }
        if let rooms = outcome?.rooms, !rooms.isEmpty { socket.join(rooms) }
        runtime.audit.connected(socket, context: context)
        runtime.runHooks(.connect, pattern: routes.pattern, socket: socket, context: context, arguments: [])
    }

    func disconnected(_ socket: SocketIOSocket, reason: SocketIODisconnectReason) {
        guard let context = socket.userInfo(as: HostSocketContext.self) else { return }
        context.slot?.release()
        if let identity = context.identityID {
            runtime.identities.remove(identity: identity, namespace: socket.namespace.path, socket: socket.id)
        }
        runtime.audit.disconnected(socket, context: context, reason: reason)
        runtime.runHooks(.disconnect, pattern: routes.pattern, socket: socket, context: context, arguments: [.string(reason.rawValue)])
    }

    // MARK: - Event chain

    func admit(_ event: SocketIOEventHeader, from socket: SocketIOSocket) -> Bool {
        guard let context = socket.userInfo(as: HostSocketContext.self) else { return false }
        let chain = context.target(for: event.name, in: self).chain
        for step in chain.steps.prefix(chain.stepsBeforeDecoding) {
            if let failure = check(step, name: event.name, byteCount: event.byteCount, socket: socket, context: context) {
                violation(failure, event: SocketIOEvent(name: event.name, arguments: SocketIOArguments(), ack: event.ack, byteCount: event.byteCount), socket: socket, context: context)
                return false
            }
        }
        return true
    }

    func received(_ event: SocketIOEvent, from socket: SocketIOSocket) {
        guard let context = socket.userInfo(as: HostSocketContext.self) else { return }
        let target = context.target(for: event.name, in: self)
        runEventSteps(target, from: target.chain.stepsBeforeDecoding, event: event, socket: socket, context: context)
    }

    /// Runs the chain from `index`; guards from plugins may answer later, on any thread.
    private func runEventSteps(_ target: EventTarget, from index: Int, event: SocketIOEvent, socket: SocketIOSocket, context: HostSocketContext) {
        var index = index
        let chain = target.chain
        let route = target.routed?.route
        while index < chain.steps.count {
            let step = chain.steps[index]
            index += 1
            switch step.step {
            case .validate:
                guard let operation = route?.operation, let schema = operation.payloadSchema, !schema.isTrivial else { continue }
                let violations = schema.validate(event.arguments.value(at: 0) ?? .null)
                if !violations.isEmpty {
                    let list = violations.map { JSONValue.object(["path": .string($0.path), "message": .string($0.message)]) }
                    let detail = "invalid payload for \(event.name): " + violations.map(\.description).joined(separator: "; ")
                    violation(OperationFailure(.validation, detail, code: "invalid_payload", context: ["violations": .array(list)]), event: event, socket: socket, context: context)
                    return
                }
            case .guard(.plugin(let name)):
                let resume = index
                let decided: @Sendable (Result<JSONValue, OperationFailure>) -> Void = { result in
                    switch result {
                    case .success:
                        self.runEventSteps(target, from: resume, event: event, socket: socket, context: context)
                    case .failure(let failure):
                        self.violation(failure, event: event, socket: socket, context: context)
                    }
                }
                PluginRuntime.withJSONArray(event.arguments.json) { arguments in
                    runtime.decide(with: name, kind: .guard, event: event.name, arguments: arguments, attachments: event.arguments.attachments, context: context.json(for: socket), eventLoop: socket.eventLoop, done: decided)
                }
                return
            default:
                if let failure = check(step, name: event.name, byteCount: event.byteCount, socket: socket, context: context) {
                    violation(failure, event: event, socket: socket, context: context)
                    return
                }
            }
        }
        guard let routed = target.routed else {
            runtime.audit.event(event.name, socket: socket, context: context, operation: nil, outcome: .refused, errorKind: ErrorKind.notFound.rawValue, latency: nil, bytes: event.byteCount)
            guard plan.unknownEvents == .error else { return }
            runtime.deliver(
                .failure(OperationFailure(.notFound, "no route for event '\(event.name)' in namespace '\(routes.pattern.text)'", code: "unknown_event")),
                event: event,
                route: nil,
                socket: socket
            )
            return
        }
        runtime.invoke(routed.route, services: routed.services, event: event, socket: socket, context: context)
    }

    /// A step that answers at once: nil to pass, or the failure.
    private func check(_ step: EventChain.Step, name: String, byteCount: Int, socket: SocketIOSocket, context: HostSocketContext) -> OperationFailure? {
        switch step.step {
        case .sizeLimit(let maxBytes):
            guard byteCount > maxBytes else { return nil }
            return OperationFailure(
                .payloadTooLarge,
                "the payload of '\(name)' is \(byteCount) bytes; the limit is \(maxBytes)",
                code: "payload_too_large",
                context: ["limit": .number(JSONNumber(maxBytes)), "size": .number(JSONNumber(byteCount))]
            )
        case .rateLimit(let limit):
            guard !limit.exempt.contains(name) else { return nil }
            let now = socket.eventLoop.now
            let decision: TokenBucket.Decision
            switch limit.scope {
            case .connection:
                var bucket = context.buckets[step.id] ?? TokenBucket(rate: limit.rate, burst: limit.burst, now: now)
                decision = bucket.take(now: now)
                context.buckets[step.id] = bucket
            case .identity:
                let key = context.identityID.map { "i:\($0)" } ?? "a:\(context.address)"
                decision = runtime.policy.take(key: "\(step.id)|\(key)", limit: limit, now: now)
            case .address:
                decision = runtime.policy.take(key: "\(step.id)|a:\(context.address)", limit: limit, now: now)
            }
            guard case .denied(let retryAfter) = decision else { return nil }
            let milliseconds = Int((Double(retryAfter.nanoseconds) / 1e6).rounded(.up))
            return OperationFailure(
                .rateLimited,
                "too many '\(name)' events; retry in \(milliseconds) ms",
                code: "rate_limited",
                context: ["retryAfterMs": .number(JSONNumber(milliseconds)), "rate": .number(JSONNumber(limit.rate)), "burst": .number(JSONNumber(limit.burst))]
            )
        case .guard(let reference):
            return Self.builtinGuard(reference, identity: context.identity)
        case .validate:
            return nil
        }
    }

    /// The built-in guards; plugin guards are not decided here.
    static func builtinGuard(_ reference: GuardReference, identity: JSONValue) -> OperationFailure? {
        switch reference {
        case .requireIdentity:
            return identity.isNull ? OperationFailure(.authentication, "an identity is required", code: "identity_required") : nil
        case .requireRole(let role):
            if identity.isNull { return OperationFailure(.authentication, "an identity is required", code: "identity_required") }
            let roles = identity["roles"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return roles.contains(role) ? nil : OperationFailure(.authorization, "the role '\(role)' is required", code: "role_required", context: ["role": .string(role)])
        case .plugin:
            return nil
        }
    }

    /// Answers a refused event, counts it, and disconnects a socket past its strike limit.
    private func violation(_ failure: OperationFailure, event: SocketIOEvent, socket: SocketIOSocket, context: HostSocketContext) {
        Counter(label: "switchyard_event_rejections_total", dimensions: [("namespace", routes.pattern.text), ("kind", failure.kind.rawValue)]).increment()
        runtime.audit.violation(failure, event: event.name, socket: socket, context: context, bytes: event.byteCount)
        runtime.deliver(.failure(failure), event: event, route: routes.routes[event.name], socket: socket)
        guard let strikes = plan.strikes else { return }
        let now = socket.eventLoop.now
        if let start = context.strikeWindowStart, now - start <= strikes.window {
            context.strikes += 1
        } else {
            context.strikeWindowStart = now
            context.strikes = 1
        }
        guard context.strikes > strikes.limit else { return }
        let seconds = strikes.window.nanoseconds / 1_000_000_000
        runtime.logger.notice(
            "disconnecting after too many violations",
            metadata: ["sio.nsp": "\(socket.namespace.path)", "sio.sid": "\(socket.id)", "violations": "\(context.strikes)"]
        )
        let detail = "disconnected after \(context.strikes) refused events within \(seconds) s"
        socket.emit("error", [["event": .string(event.name), "error": ["detail": .string(detail), "code": "too_many_violations", "kind": .string(failure.kind.rawValue)]]])
        socket.disconnect()
    }
}

/// One CONNECT going through its namespace's connect chain (steps may answer later).
private struct ConnectChainRun: Sendable {
    let handler: HostNamespaceHandler
    let request: SocketIOConnectRequest
    let decide: @Sendable (SocketIOConnectDecision) -> Void

    func run(from index: Int, identity: JSONValue, slot: ConnectionSlot?) {
        let steps = handler.plan.connect
        guard index < steps.count else {
            accept(identity: identity, slot: slot)
            return
        }
        let address = request.handshake.remoteAddress?.ipAddressText ?? "unknown"
        switch steps[index] {
        case .origins(let patterns):
            let origin = request.handshake.header("origin")
            guard CORSPolicy(allowedOrigins: patterns).allows(origin: origin) else {
                return refuse(OperationFailure(.authorization, "origin \(origin ?? "") is not allowed", code: "origin_not_allowed"), slot: slot)
            }
            run(from: index + 1, identity: identity, slot: slot)
        case .connectionLimit(let total, let perAddress):
            guard let reserved = handler.runtime.policy.reserveConnection(namespace: handler.plan.pattern, address: address, total: total, perAddress: perAddress) else {
                return refuse(OperationFailure(.rateLimited, "too many connections", code: "connection_limit"), slot: slot)
            }
            run(from: index + 1, identity: identity, slot: reserved)
        case .identity(let resolver):
            let context = HostSocketContext(
                socketID: request.socketID, namespace: request.namespace, auth: request.auth, handshake: request.handshake, identity: .null,
                recovered: request.isRecovering)
            let decided: @Sendable (Result<JSONValue, OperationFailure>) -> Void = { result in
                switch result {
                case .success(let resolved): run(from: index + 1, identity: resolved, slot: slot)
                case .failure(let failure): refuse(failure, slot: slot)
                }
            }
            JSONValue.array([request.auth]).serializedBytes().withUnsafeBytes { arguments in
                handler.runtime.decide(with: resolver, kind: .identity, event: "", arguments: arguments, attachments: [], context: context.json(rooms: []), eventLoop: request.eventLoop, done: decided)
            }
        case .guard(let reference):
            if case .plugin(let name) = reference {
                let context = HostSocketContext(
                    socketID: request.socketID, namespace: request.namespace, auth: request.auth, handshake: request.handshake, identity: identity,
                    recovered: request.isRecovering)
                let decided: @Sendable (Result<JSONValue, OperationFailure>) -> Void = { result in
                    switch result {
                    case .success: run(from: index + 1, identity: identity, slot: slot)
                    case .failure(let failure): refuse(failure, slot: slot)
                    }
                }
                JSONValue.array([request.auth]).serializedBytes().withUnsafeBytes { arguments in
                    handler.runtime.decide(with: name, kind: .guard, event: "", arguments: arguments, attachments: [], context: context.json(rooms: []), eventLoop: request.eventLoop, done: decided)
                }
                return
            }
            if let failure = HostNamespaceHandler.builtinGuard(reference, identity: identity) {
                return refuse(failure, slot: slot)
            }
            run(from: index + 1, identity: identity, slot: slot)
        }
    }

    /// Accepts; an identified socket first gets its persisted rooms back (read off the loop).
    private func accept(identity: JSONValue, slot: ConnectionSlot?) {
        guard let store = handler.runtime.rooms, let id = identity["id"]?.stringValue else {
            decide(.accepted(userInfo: ConnectOutcome(identity: identity, slot: slot)))
            return
        }
        let namespace = request.namespace.path
        let decide = self.decide
        let logger = handler.runtime.logger
        Task {
            var rooms: [String] = []
            do {
                rooms = try await store.rooms(for: id, namespace: namespace)
            } catch {
                logger.error("cannot read persisted rooms; the socket joins none: \(error)", metadata: ["sio.nsp": "\(namespace)"])
            }
            decide(.accepted(userInfo: ConnectOutcome(identity: identity, slot: slot, rooms: rooms)))
        }
    }

    /// CONNECT_ERROR `{"message", "data": {"code", "kind"}}`, through the egress policy.
    private func refuse(_ failure: OperationFailure, slot: ConnectionSlot?) {
        slot?.release()
        let correlationID = ErrorBoundary.makeCorrelationID()
        if failure.kind.isServerSide {
            handler.runtime.logger.error("connect refused: \(failure.detail)", metadata: ["sio.nsp": "\(request.namespace.path)", "error.correlation": "\(correlationID)"])
        } else {
            handler.runtime.logger.debug("connect refused: \(failure.detail)", metadata: ["sio.nsp": "\(request.namespace.path)", "error.kind": "\(failure.kind.rawValue)"])
        }
        Counter(label: "switchyard_connect_refusals_total", dimensions: [("namespace", handler.plan.pattern), ("kind", failure.kind.rawValue)]).increment()
        let error = ErrorBoundary.clientPayload(for: failure, correlationID: correlationID)["error"] ?? .null
        handler.runtime.audit.connectRefused(request, failure: failure, code: error["code"]?.stringValue ?? failure.kind.rawValue)
        decide(.refuse(message: error["detail"]?.stringValue ?? "Not authorized", data: ["code": error["code"] ?? .null, "kind": error["kind"] ?? .null]))
    }
}
