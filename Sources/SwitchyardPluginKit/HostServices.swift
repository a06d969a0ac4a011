import CSwitchyardPlugin
import SwitchyardJSON

/// What the host lets a plugin do: emit, join and leave rooms, disconnect, log.
///
/// Thread-safe; call from any thread or task.
public struct HostServices: @unchecked Sendable {
    let services: UnsafePointer<sy_host_services>?

    init(_ services: UnsafePointer<sy_host_services>?) {
        self.services = services
    }

    /// Whom an emit reaches.
    public enum Target: Sendable, Hashable {
        case socket(String)
        case room(String)
        case namespace
    }

    /// Why the host refused a service call.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var operation: String
        public var status: Int32
        public var description: String { "host refused \(operation) (status \(status)); see the server log" }
    }

    private func check(_ status: Int32, _ operation: String) throws {
        if status != 0 { throw Failure(operation: operation, status: status) }
    }

    private var available: sy_host_services {
        get throws {
            guard let services else { throw Failure(operation: "host services", status: -1) }
            return services.pointee
        }
    }

    /// Emits `event` to the target in the namespace (a concrete path like `/chat/lobby`),
    /// leaving out `except` when given. Declared server events are validated first.
    public func emit(to target: Target, in namespace: String, except: String? = nil, event: String, _ arguments: Arguments) throws {
        let services = try available
        let (kind, name): (sy_target_kind, String) = {
            switch target {
            case .socket(let id): return (SY_TARGET_SOCKET, id)
            case .room(let room): return (SY_TARGET_ROOM, room)
            case .namespace: return (SY_TARGET_NAMESPACE, "")
            }
        }()
        let status = withArguments(arguments) { json, attachments in
            except.withOptionalCString { exceptPointer in
                services.emit(services.host, namespace, kind, name, exceptPointer, event, json, attachments)
            }
        }
        try check(status, "emit \(event)")
    }

    public func emit(to target: Target, in namespace: String, except: String? = nil, event: String, _ values: [JSONValue]) throws {
        try emit(to: target, in: namespace, except: except, event: event, Arguments(values))
    }

    /// Emits to one socket and waits for its acknowledgement (`timeoutMilliseconds` 0: the
    /// server's default). Throws ``OperationError`` with kind `timeout` when none comes.
    public func emitWithAck(to socket: String, in namespace: String, event: String, _ arguments: Arguments, timeoutMilliseconds: UInt32 = 0) async throws -> Arguments {
        let services = try available
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Arguments, Error>) in
            let box = Unmanaged.passRetained(AckBox(continuation)).toOpaque()
            let status = withArguments(arguments) { json, attachments in
                services.emit_with_ack(services.host, namespace, socket, event, json, attachments, timeoutMilliseconds, ackTrampoline, box)
            }
            if status != 0 {
                Unmanaged<AckBox>.fromOpaque(box).release()
                continuation.resume(throwing: Failure(operation: "emit \(event) with ack", status: status))
            }
        }
    }

    public func join(room: String, socket: String, in namespace: String) throws {
        let services = try available
        try check(services.join(services.host, namespace, socket, room), "join \(room)")
    }

    public func leave(room: String, socket: String, in namespace: String) throws {
        let services = try available
        try check(services.leave(services.host, namespace, socket, room), "leave \(room)")
    }

    public func disconnect(socket: String, in namespace: String, close: Bool = false) throws {
        let services = try available
        try check(services.disconnect(services.host, namespace, socket, close ? 1 : 0), "disconnect")
    }

    public enum LogLevel: Sendable { case debug, info, warning, error }

    /// Writes a line to the server log, attributed to this plugin.
    public func log(_ level: LogLevel, _ message: String) {
        guard let services = try? available else { return }
        let cLevel: sy_log_level
        switch level {
        case .debug: cLevel = SY_LOG_DEBUG
        case .info: cLevel = SY_LOG_INFO
        case .warning: cLevel = SY_LOG_WARNING
        case .error: cLevel = SY_LOG_ERROR
        }
        var message = message
        message.withUTF8 { utf8 in
            services.log(services.host, cLevel, sy_bytes(data: utf8.baseAddress, length: utf8.count))
        }
    }
}

final class AckBox {
    let continuation: CheckedContinuation<Arguments, Error>
    init(_ continuation: CheckedContinuation<Arguments, Error>) { self.continuation = continuation }
}

private let ackTrampoline: sy_ack_callback = { userData, status, json, attachments in
    guard let userData else { return }
    let box = Unmanaged<AckBox>.fromOpaque(userData).takeRetainedValue()
    let bytes = Invocation.copy(json)
    if status == SY_OK {
        var copied: [[UInt8]] = []
        for index in 0..<attachments.count { copied.append(Invocation.copy(attachments.items[index])) }
        box.continuation.resume(returning: Arguments(jsonArray: bytes, attachments: copied))
    } else {
        let kind = (try? JSONValue(parsing: bytes))?["kind"]?.stringValue ?? "internal"
        box.continuation.resume(throwing: OperationError(OperationError.Kind(rawValue: kind) ?? .timeout, "no acknowledgement: \(kind)"))
    }
}

/// Calls `body` with C views of the arguments' JSON and attachments.
func withArguments<Result>(_ arguments: Arguments, _ body: (sy_bytes, sy_attachments) -> Result) -> Result {
    if arguments.attachments.isEmpty {
        return arguments.json.withUnsafeBufferPointer { json in
            body(sy_bytes(data: json.baseAddress, length: json.count), sy_attachments(items: nil, count: 0))
        }
    }
    // Attachments are laid out in one buffer so one pointer scope covers them all.
    let joined = arguments.attachments.flatMap { $0 }
    return arguments.json.withUnsafeBufferPointer { json in
        joined.withUnsafeBufferPointer { storage in
            var items: [sy_bytes] = []
            items.reserveCapacity(arguments.attachments.count)
            var offset = 0
            for attachment in arguments.attachments {
                items.append(sy_bytes(data: storage.baseAddress.map { $0 + offset }, length: attachment.count))
                offset += attachment.count
            }
            return items.withUnsafeBufferPointer { itemPointer in
                body(
                    sy_bytes(data: json.baseAddress, length: json.count),
                    sy_attachments(items: itemPointer.baseAddress, count: itemPointer.count)
                )
            }
        }
    }
}

extension Optional where Wrapped == String {
    func withOptionalCString<Result>(_ body: (UnsafePointer<CChar>?) -> Result) -> Result {
        switch self {
        case .some(let string): return string.withCString { body($0) }
        case .none: return body(nil)
        }
    }
}
