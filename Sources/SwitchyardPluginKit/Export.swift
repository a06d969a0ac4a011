import CSwitchyardPlugin
import Foundation
import SwitchyardJSON

// The bridge from the C descriptor to Swift closures. Everything allocated here lives for
// the life of the process: the host never unloads a plugin.

final class OperationBox: @unchecked Sendable {
    enum Body {
        case sync(@Sendable (Invocation) throws -> Arguments)
        case async(@Sendable (Invocation) async throws -> Arguments)
    }

    let body: Body
    init(_ body: Body) { self.body = body }
}

final class HookBox: @unchecked Sendable {
    let body: @Sendable (Invocation) -> Void
    init(_ body: @escaping @Sendable (Invocation) -> Void) { self.body = body }
}

final class DecisionBox: @unchecked Sendable {
    let body: @Sendable (Invocation) async throws -> JSONValue
    init(_ body: @escaping @Sendable (Invocation) async throws -> JSONValue) { self.body = body }
}

final class StartBox: @unchecked Sendable {
    let body: @Sendable (JSONValue, HostServices) throws -> Void
    init(_ body: @escaping @Sendable (JSONValue, HostServices) throws -> Void) { self.body = body }
}

/// The C function pointer and its opaque completion handle, carried across a `Task`.
struct Completion: @unchecked Sendable {
    let complete: sy_complete_fn
    let token: UnsafeMutableRawPointer?

    func callAsFunction(_ result: Result<Arguments, Error>) {
        switch result {
        case .success(let arguments):
            withArguments(arguments) { json, attachments in complete(token, SY_OK, json, attachments) }
        case .failure(let error):
            let bytes = OperationError.from(error).json.serializedBytes()
            bytes.withUnsafeBufferPointer { buffer in
                complete(token, SY_ERROR, sy_bytes(data: buffer.baseAddress, length: buffer.count), sy_attachments(items: nil, count: 0))
            }
        }
    }
}

struct Decision: @unchecked Sendable {
    let decide: sy_decide_fn
    let token: UnsafeMutableRawPointer?

    func callAsFunction(_ result: Result<JSONValue, Error>) {
        let (status, value): (sy_status, JSONValue) = {
            switch result {
            case .success(let value): return (SY_OK, value)
            case .failure(let error): return (SY_ERROR, OperationError.from(error).json)
            }
        }()
        value.serializedBytes().withUnsafeBufferPointer { buffer in
            decide(token, status, sy_bytes(data: buffer.baseAddress, length: buffer.count))
        }
    }
}

private let invokeTrampoline: sy_invoke_fn = { userData, invocation, complete, token in
    guard let userData, let invocation, let complete else { return }
    let box = Unmanaged<OperationBox>.fromOpaque(userData).takeUnretainedValue()
    let completion = Completion(complete: complete, token: token)
    switch box.body {
    case .sync(let body):
        // The context is read in place during the call and copied only if the operation
        // keeps it beyond the call.
        var call = Invocation(invocation, borrowingContext: true)
        let result = Result { try body(call) }
        call.context.keepIfShared()
        completion(result)
    case .async(let body):
        let call = Invocation(invocation)
        Task {
            do { completion(.success(try await body(call))) } catch { completion(.failure(error)) }
        }
    }
}

private let hookTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sy_invocation>?) -> Void = { userData, invocation in
    guard let userData, let invocation else { return }
    Unmanaged<HookBox>.fromOpaque(userData).takeUnretainedValue().body(Invocation(invocation))
}

private let decisionTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sy_invocation>?, sy_decide_fn?, UnsafeMutableRawPointer?) -> Void = {
    userData, invocation, decide, token in
    guard let userData, let invocation, let decide else { return }
    let box = Unmanaged<DecisionBox>.fromOpaque(userData).takeUnretainedValue()
    let call = Invocation(invocation)
    let decision = Decision(decide: decide, token: token)
    Task {
        do { decision(.success(try await box.body(call))) } catch { decision(.failure(error)) }
    }
}

private let startTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sy_host_services>?, sy_bytes) -> Int32 = { userData, host, config in
    guard let userData else { return 0 }
    let box = Unmanaged<StartBox>.fromOpaque(userData).takeUnretainedValue()
    let configuration = (try? JSONValue(parsing: Invocation.copy(config))) ?? .object(JSONObject())
    do {
        try box.body(configuration, HostServices(host))
        return 0
    } catch {
        HostServices(host).log(.error, "refused to start: \(error)")
        return 1
    }
}

/// A C string that lives for the process.
private func permanent(_ string: String?) -> UnsafePointer<CChar>? {
    guard let string else { return nil }
    return UnsafePointer(strdup(string))
}

private func permanentArray<Element>(_ elements: [Element]) -> UnsafePointer<Element>? {
    guard !elements.isEmpty else { return nil }
    let pointer = UnsafeMutablePointer<Element>.allocate(capacity: elements.count)
    pointer.initialize(from: elements, count: elements.count)
    return UnsafePointer(pointer)
}

private func retained(_ object: AnyObject) -> UnsafeMutableRawPointer {
    Unmanaged.passRetained(object).toOpaque()
}

extension PluginBuilder {
    func makeDescriptor(name: String, version: String) -> UnsafeMutablePointer<sy_plugin_descriptor> {
        let operations = self.operations.map { entry in
            sy_operation(
                key: permanent(entry.key),
                summary: permanent(entry.summary),
                payload_schema_json: permanent(entry.payloadSchema),
                ack_schema_json: permanent(entry.ackSchema),
                invoke: invokeTrampoline,
                user_data: retained(entry.box)
            )
        }
        let routes = self.routes.map { route in
            sy_route(namespace_pattern: permanent(route.namespace), event: permanent(route.event), operation_key: permanent(route.operation), ack: route.ack ? 1 : 0)
        }
        let events = serverEvents.map { event in
            sy_server_event(name: permanent(event.name), summary: permanent(event.summary), payload_schema_json: permanent(event.schema))
        }
        let hooks = self.hooks.map { hook in
            sy_hook(kind: hook.kind, namespace_pattern: permanent(hook.namespace), run: hookTrampoline, user_data: retained(hook.box))
        }
        let guards = self.guards.map { entry in
            sy_guard(name: permanent(entry.name), check: decisionTrampoline, user_data: retained(entry.box))
        }
        let resolvers = self.resolvers.map { entry in
            sy_identity_resolver(name: permanent(entry.name), resolve: decisionTrampoline, user_data: retained(entry.box))
        }
        let descriptor = UnsafeMutablePointer<sy_plugin_descriptor>.allocate(capacity: 1)
        descriptor.initialize(
            to: sy_plugin_descriptor(
                abi_version: SY_ABI_VERSION,
                struct_size: UInt32(MemoryLayout<sy_plugin_descriptor>.size),
                name: permanent(name),
                version: permanent(version),
                start: startBox == nil ? nil : startTrampoline,
                user_data: startBox.map(retained),
                operations: permanentArray(operations),
                operation_count: operations.count,
                routes: permanentArray(routes),
                route_count: routes.count,
                server_events: permanentArray(events),
                server_event_count: events.count,
                hooks: permanentArray(hooks),
                hook_count: hooks.count,
                guards: permanentArray(guards),
                guard_count: guards.count,
                identity_resolvers: permanentArray(resolvers),
                identity_resolver_count: resolvers.count
            )
        )
        return descriptor
    }
}
