import CSwitchyardPlugin
import Logging
import NIOCore
import SocketIO
import SwitchyardJSON

/// The `sy_host_services` table of one plugin: C entry points that act on the Socket.IO
/// server, attributed to the plugin in logs. Allocated once and never freed (plugins keep
/// the pointer for the life of the process).
final class HostServicesBridge: @unchecked Sendable {
    let plugin: String
    unowned let runtime: PluginRuntime
    let logger: Logger
    /// Points at this bridge's table.
    private(set) var services: UnsafePointer<sy_host_services>!

    init(plugin: String, runtime: PluginRuntime) {
        self.plugin = plugin
        self.runtime = runtime
        var logger = runtime.logger
        logger[metadataKey: "plugin.name"] = "\(plugin)"
        self.logger = logger
        let table = UnsafeMutablePointer<sy_host_services>.allocate(capacity: 1)
        table.initialize(
            to: sy_host_services(
                struct_size: UInt32(MemoryLayout<sy_host_services>.size),
                host: Unmanaged.passRetained(self).toOpaque(),
                emit: hostEmit,
                emit_with_ack: hostEmitWithAck,
                join: hostJoin,
                leave: hostLeave,
                disconnect: hostDisconnect,
                log: hostLog
            )
        )
        self.services = UnsafePointer(table)
    }

    static func from(_ host: UnsafeMutableRawPointer?) -> HostServicesBridge? {
        host.map { Unmanaged<HostServicesBridge>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Status codes returned to plugins.
    enum Status: Int32 {
        case ok = 0
        case unknownNamespace = -1
        case unknownSocket = -2
        case invalidArguments = -3
        case schemaViolation = -4
        case invalidTarget = -5
    }

    func namespace(_ pointer: UnsafePointer<CChar>?) -> SocketIONamespace? {
        guard let pointer else { return nil }
        return runtime.socketIO.namespace(String(cString: pointer))
    }

    /// Copies the plugin's JSON array and attachments into Socket.IO arguments.
    func arguments(_ json: sy_bytes, _ attachments: sy_attachments) -> SocketIOArguments? {
        var buffer = ByteBufferAllocator().buffer(capacity: json.length)
        if let data = json.data, json.length > 0 { buffer.writeBytes(UnsafeRawBufferPointer(start: data, count: json.length)) }
        guard var arguments = try? SocketIOArguments(splittingArray: buffer) else { return nil }
        if let items = attachments.items {
            arguments.attachments = (0..<attachments.count).map { index in
                let item = items[index]
                var attachment = ByteBufferAllocator().buffer(capacity: item.length)
                if let data = item.data, item.length > 0 { attachment.writeBytes(UnsafeRawBufferPointer(start: data, count: item.length)) }
                return attachment
            }
        }
        return arguments
    }

    /// Refuses an emit of a declared server event whose payload breaks its schema.
    func checkServerEvent(_ event: String, _ arguments: SocketIOArguments) -> Bool {
        guard let declared = runtime.registry.serverEvents[event], let schema = declared.schema, !schema.isTrivial else { return true }
        let violations = schema.validate(arguments.value(at: 0) ?? .null)
        guard violations.isEmpty else {
            logger.error(
                "emit refused: payload does not match the schema of server event '\(event)': \(violations.map(\.description).joined(separator: "; "))",
                metadata: ["sio.event": "\(event)"]
            )
            return false
        }
        return true
    }

    func fail(_ status: Status, _ message: String) -> Int32 {
        logger.warning("\(message)")
        return status.rawValue
    }
}

private func string(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}

private let hostEmit: @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<CChar>?, sy_target_kind, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
    UnsafePointer<CChar>?, sy_bytes, sy_attachments
) -> Int32 = { host, namespacePath, kind, target, except, event, json, attachments in
    guard let bridge = HostServicesBridge.from(host) else { return -1 }
    guard let namespace = bridge.namespace(namespacePath) else {
        return bridge.fail(.unknownNamespace, "emit: unknown namespace '\(string(namespacePath) ?? "")'")
    }
    guard let event = string(event), !event.isEmpty else { return bridge.fail(.invalidArguments, "emit: no event name") }
    guard let arguments = bridge.arguments(json, attachments) else {
        return bridge.fail(.invalidArguments, "emit \(event): arguments are not a JSON array")
    }
    guard bridge.checkServerEvent(event, arguments) else { return HostServicesBridge.Status.schemaViolation.rawValue }
    switch kind {
    case SY_TARGET_SOCKET:
        guard let id = string(target), let socket = namespace.socket(id: id) else {
            return bridge.fail(.unknownSocket, "emit \(event): no socket '\(string(target) ?? "")' in \(namespace.path)")
        }
        socket.emit(event, arguments)
    case SY_TARGET_ROOM:
        guard let room = string(target) else { return bridge.fail(.invalidTarget, "emit \(event): no room named") }
        var broadcast = namespace.to(room)
        if let except = string(except) { broadcast = broadcast.except(except) }
        broadcast.emit(event, arguments)
    case SY_TARGET_NAMESPACE:
        var broadcast = namespace.broadcast
        if let except = string(except) { broadcast = broadcast.except(except) }
        broadcast.emit(event, arguments)
    default:
        return bridge.fail(.invalidTarget, "emit \(event): unknown target kind \(kind.rawValue)")
    }
    return 0
}

private let hostEmitWithAck: @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, sy_bytes, sy_attachments,
    UInt32, sy_ack_callback?, UnsafeMutableRawPointer?
) -> Int32 = { host, namespacePath, socketID, event, json, attachments, timeoutMilliseconds, callback, userData in
    guard let bridge = HostServicesBridge.from(host) else { return -1 }
    guard let callback else { return bridge.fail(.invalidArguments, "emit_with_ack: no callback") }
    guard let namespace = bridge.namespace(namespacePath) else {
        return bridge.fail(.unknownNamespace, "emit_with_ack: unknown namespace '\(string(namespacePath) ?? "")'")
    }
    guard let id = string(socketID), let socket = namespace.socket(id: id) else {
        return bridge.fail(.unknownSocket, "emit_with_ack: no socket '\(string(socketID) ?? "")' in \(namespace.path)")
    }
    guard let event = string(event), !event.isEmpty else { return bridge.fail(.invalidArguments, "emit_with_ack: no event name") }
    guard let arguments = bridge.arguments(json, attachments) else {
        return bridge.fail(.invalidArguments, "emit_with_ack \(event): arguments are not a JSON array")
    }
    guard bridge.checkServerEvent(event, arguments) else { return HostServicesBridge.Status.schemaViolation.rawValue }
    let timeout: TimeAmount? = timeoutMilliseconds == 0 ? nil : .milliseconds(Int64(timeoutMilliseconds))
    let box = UnsafeSendableCallback(callback: callback, userData: userData)
    socket.emit(event, arguments, timeout: timeout) { result in
        switch result {
        case .success(let reply):
            var array: [UInt8] = [UInt8(ascii: "[")]
            array.append(contentsOf: reply.json.readableBytesView)
            array.append(UInt8(ascii: "]"))
            var joined: [UInt8] = []
            for attachment in reply.attachments { joined.append(contentsOf: attachment.readableBytesView) }
            array.withUnsafeBufferPointer { bytes in
                joined.withUnsafeBufferPointer { storage in
                    var items: [sy_bytes] = []
                    var offset = 0
                    for attachment in reply.attachments {
                        items.append(sy_bytes(data: storage.baseAddress.map { $0 + offset }, length: attachment.readableBytes))
                        offset += attachment.readableBytes
                    }
                    items.withUnsafeBufferPointer { itemPointer in
                        box.callback(box.userData, SY_OK, sy_bytes(data: bytes.baseAddress, length: bytes.count), sy_attachments(items: itemPointer.baseAddress, count: itemPointer.count))
                    }
                }
            }
        case .failure(let error):
            let kind = error == .timeout ? "timeout" : "disconnected"
            Array(#"{"kind":"\#(kind)"}"#.utf8).withUnsafeBufferPointer { bytes in
                box.callback(box.userData, SY_ERROR, sy_bytes(data: bytes.baseAddress, length: bytes.count), sy_attachments(items: nil, count: 0))
            }
        }
    }
    return 0
}

/// A plugin's callback and its user data, carried to the socket's loop.
private struct UnsafeSendableCallback: @unchecked Sendable {
    let callback: sy_ack_callback
    let userData: UnsafeMutableRawPointer?
}

private func roomOperation(
    _ host: UnsafeMutableRawPointer?,
    _ namespacePath: UnsafePointer<CChar>?,
    _ socketID: UnsafePointer<CChar>?,
    _ room: UnsafePointer<CChar>?,
    _ name: String,
    _ body: (SocketIOSocket, String) -> Void
) -> Int32 {
    guard let bridge = HostServicesBridge.from(host) else { return -1 }
    guard let namespace = bridge.namespace(namespacePath) else {
        return bridge.fail(.unknownNamespace, "\(name): unknown namespace '\(string(namespacePath) ?? "")'")
    }
    guard let id = string(socketID), let socket = namespace.socket(id: id) else {
        return bridge.fail(.unknownSocket, "\(name): no socket '\(string(socketID) ?? "")' in \(namespace.path)")
    }
    guard let room = string(room), !room.isEmpty else { return bridge.fail(.invalidTarget, "\(name): no room named") }
    body(socket, room)
    return 0
}

private let hostJoin: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32 = {
    host, namespacePath, socketID, room in
    roomOperation(host, namespacePath, socketID, room, "join") { socket, room in
        socket.join(room)
        HostServicesBridge.from(host)?.persist(join: true, socket: socket, room: room)
    }
}

private let hostLeave: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32 = {
    host, namespacePath, socketID, room in
    roomOperation(host, namespacePath, socketID, room, "leave") { socket, room in
        socket.leave(room)
        HostServicesBridge.from(host)?.persist(join: false, socket: socket, room: room)
    }
}

extension HostServicesBridge {
    /// Keeps an identified user's room membership across reconnects and restarts; written
    /// off the event loop.
    func persist(join: Bool, socket: SocketIOSocket, room: String) {
        guard let store = runtime.rooms else { return }
        let namespace = socket.namespace.path
        let logger = self.logger
        // The identity lives on the socket's loop; the write happens off it.
        let write: @Sendable () -> Void = {
            guard let identity = (socket.userInfo(as: HostSocketContext.self))?.identityID else { return }
            Task {
                do {
                    if join {
                        _ = try await store.persistJoin(namespace: namespace, room: room, identity: identity)
                    } else {
                        _ = try await store.removeJoin(namespace: namespace, room: room, identity: identity)
                    }
                } catch {
                    logger.error("cannot persist room membership: \(error)", metadata: ["sio.nsp": "\(namespace)", "room": "\(room)"])
                }
            }
        }
        if socket.eventLoop.inEventLoop { write() } else { socket.eventLoop.execute(write) }
    }
}

private let hostDisconnect: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int32) -> Int32 = {
    host, namespacePath, socketID, close in
    guard let bridge = HostServicesBridge.from(host) else { return -1 }
    guard let namespace = bridge.namespace(namespacePath) else {
        return bridge.fail(.unknownNamespace, "disconnect: unknown namespace '\(string(namespacePath) ?? "")'")
    }
    guard let id = string(socketID), let socket = namespace.socket(id: id) else {
        return bridge.fail(.unknownSocket, "disconnect: no socket '\(string(socketID) ?? "")' in \(namespace.path)")
    }
    socket.disconnect(close: close != 0)
    return 0
}

private let hostLog: @convention(c) (UnsafeMutableRawPointer?, sy_log_level, sy_bytes) -> Void = { host, level, message in
    guard let bridge = HostServicesBridge.from(host) else { return }
    let text: String
    if let data = message.data, message.length > 0 {
        text = String(decoding: UnsafeBufferPointer(start: data, count: message.length), as: UTF8.self)
    } else {
        text = ""
    }
    switch level {
    case SY_LOG_DEBUG: bridge.logger.debug("\(text)")
    case SY_LOG_INFO: bridge.logger.info("\(text)")
    case SY_LOG_WARNING: bridge.logger.warning("\(text)")
    default: bridge.logger.error("\(text)")
    }
}
