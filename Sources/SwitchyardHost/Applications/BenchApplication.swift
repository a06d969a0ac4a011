import SocketIO

/// The benchmark contract on `/`: `echo` acknowledges with its arguments (or emits `echo`
/// back when no ack was asked); `broadcast` re-emits its arguments as `broadcast` to every
/// socket of the namespace.
public struct BenchNamespaceHandler: SocketIONamespaceHandler {
    public init() {}

    public func received(_ event: SocketIOEvent, from socket: SocketIOSocket) {
        switch event.name {
        case "echo":
            if let ack = event.ack { ack.send(event.arguments) } else { socket.emit("echo", event.arguments) }
        case "broadcast":
            socket.namespace.emit("broadcast", event.arguments)
        default:
            break
        }
    }
}
