import SwitchyardPluginKit

/// The reference server of the official Socket.IO protocol test suite, as a plugin, on `/`
/// and `/custom`:
///
/// - on connect, emits `auth` with the CONNECT payload (`{}` when none);
/// - `message` → emits `message-back` with the same arguments (and attachments);
/// - `message-with-ack` → acknowledges with the same arguments;
/// - `emit-with-ack` → emits `emit-with-ack` back expecting an ack, then emits
///   `emit-with-ack` with the client's ack arguments;
/// - `join` / `leave` (room) → joins or leaves, acknowledges with the room;
/// - `to-room` (room, …args) → emits `room-message` with args to the room;
/// - `server-disconnect` → disconnects the socket.
let plugin = Plugin(name: "conformance", version: "1.0.0") { conformance in
    conformance.rawOperation("conformance.message-back", summary: "Emits message-back to the caller with the same arguments") { call in
        try call.context.emit("message-back", call.arguments)
        return .none
    }
    conformance.rawOperation("conformance.echo", summary: "Acknowledges with the same arguments") { call in
        call.arguments
    }
    conformance.asyncRawOperation("conformance.emit-with-ack", summary: "Asks the client for an ack, then emits its answer") { call in
        let context = call.context
        let reply = try await context.host.emitWithAck(to: context.socketID, in: context.namespace, event: "emit-with-ack", call.arguments)
        try context.emit("emit-with-ack", reply)
        return .none
    }
    conformance.rawOperation(
        "conformance.join",
        summary: "Joins the room named by the first argument",
        payloadSchema: #"{"type":"string","minLength":1}"#
    ) { call in
        let room = call.arguments.value(at: 0)?.stringValue ?? ""
        try call.context.join(room)
        return Arguments([.string(room)])
    }
    conformance.rawOperation(
        "conformance.leave",
        summary: "Leaves the room named by the first argument",
        payloadSchema: #"{"type":"string","minLength":1}"#
    ) { call in
        let room = call.arguments.value(at: 0)?.stringValue ?? ""
        try call.context.leave(room)
        return Arguments([.string(room)])
    }
    conformance.rawOperation(
        "conformance.to-room",
        summary: "Emits room-message with the remaining arguments to the room",
        payloadSchema: #"{"type":"string","minLength":1}"#
    ) { call in
        let context = call.context
        let room = call.arguments.value(at: 0)?.stringValue ?? ""
        try context.host.emit(to: .room(room), in: context.namespace, event: "room-message", call.arguments.dropFirst())
        return .none
    }
    conformance.rawOperation("conformance.server-disconnect", summary: "Disconnects the caller from the namespace") { call in
        try call.context.disconnect()
        return .none
    }

    for namespace in ["/", "/custom"] {
        conformance.route(namespace: namespace, event: "message", operation: "conformance.message-back", ack: false)
        conformance.route(namespace: namespace, event: "message-with-ack", operation: "conformance.echo")
        conformance.route(namespace: namespace, event: "emit-with-ack", operation: "conformance.emit-with-ack", ack: false)
        conformance.route(namespace: namespace, event: "join", operation: "conformance.join")
        conformance.route(namespace: namespace, event: "leave", operation: "conformance.leave")
        conformance.route(namespace: namespace, event: "to-room", operation: "conformance.to-room", ack: false)
        conformance.route(namespace: namespace, event: "server-disconnect", operation: "conformance.server-disconnect", ack: false)
        conformance.onConnect(namespace: namespace) { context in
            try? context.emit("auth", [context.auth])
        }
    }
}

@_cdecl("switchyard_plugin_entry")
public func switchyardPluginEntry() -> UnsafeRawPointer { plugin.export() }
