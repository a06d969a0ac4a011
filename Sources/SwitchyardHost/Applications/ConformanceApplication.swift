import EngineIO
import NIOCore
import SocketIO
import SwitchyardJSON

/// The reference server of the official Socket.IO protocol test suite, on `/` and `/custom`:
///
/// - on connect, emits `auth` with the CONNECT payload (`{}` when none);
/// - `message` → emits `message-back` with the same arguments (and attachments);
/// - `message-with-ack` → acknowledges with the same arguments;
/// - `emit-with-ack` → emits `emit-with-ack` back expecting an ack, then emits
///   `emit-with-ack` with the client's ack arguments;
/// - `join` / `leave` (room) → joins or leaves, acknowledges with the room;
/// - `to-room` (room, …args) → emits `room-message` with args to the room;
/// - `server-disconnect` → disconnects the socket.
///
/// Other namespaces are refused with `Invalid namespace`.
public struct ConformanceNamespaceHandler: SocketIONamespaceHandler {
    public init() {}

    public func connected(_ socket: SocketIOSocket) {
        socket.emit("auth", [socket.auth])
    }

    public func received(_ event: SocketIOEvent, from socket: SocketIOSocket) {
        switch event.name {
        case "message":
            socket.emit("message-back", event.arguments)
        case "message-with-ack":
            event.ack?.send(event.arguments)
        case "emit-with-ack":
            socket.emit("emit-with-ack", event.arguments) { result in
                if case .success(let reply) = result { socket.emit("emit-with-ack", reply) }
            }
        case "join":
            guard let room = Self.room(event) else { return }
            socket.join(room)
            event.ack?.send([.string(room)])
        case "leave":
            guard let room = Self.room(event) else { return }
            socket.leave(room)
            event.ack?.send([.string(room)])
        case "to-room":
            guard let room = Self.room(event) else { return }
            socket.namespace.to(room).emit("room-message", event.arguments.dropFirst())
        case "server-disconnect":
            socket.disconnect()
        default:
            break
        }
    }

    private static func room(_ event: SocketIOEvent) -> String? {
        guard case .string(let room)? = event.arguments.value(at: 0) else { return nil }
        return room
    }
}

/// The reference server of the official Engine.IO protocol test suite: echoes every
/// message, text or binary.
public struct EngineIOEchoApplication: EngineIOApplication {
    public init() {}

    public func sessionOpened(_ connection: EngineIOConnection) -> any EngineIOConnectionHandler {
        Echo(connection: connection)
    }

    final class Echo: EngineIOConnectionHandler {
        let connection: EngineIOConnection
        init(connection: EngineIOConnection) { self.connection = connection }

        func didReceive(text: ByteBuffer) {
            connection.send(.text(capacity: text.readableBytes) { $0.writeImmutableBuffer(text) })
        }

        func didReceive(binary: ByteBuffer) {
            connection.send(.binary(binary))
        }

        func didClose(reason: EngineIOCloseReason) {}
    }
}
