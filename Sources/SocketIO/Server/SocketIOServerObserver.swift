import EngineIO

/// Watches a server from outside the namespaces: sessions, sockets, rooms, events and
/// traffic, for instrumentation such as the socket.io Admin UI.
///
/// Given once, to ``SocketIOServer/init(configuration:backplane:recovery:observer:logger:)``; a server
/// without one does no work for it. Every method is called synchronously where the thing
/// happens (the connection's event loop, or the thread that joined a room), so an
/// implementation must be cheap and thread-safe and must not call back into the socket
/// synchronously.
///
/// Class-bound: the server reads its observer on every message, and a class existential
/// is one reference to retain where a value existential is a box to copy.
public protocol SocketIOServerObserver: AnyObject, Sendable {
    /// An Engine.IO session opened.
    func sessionOpened(_ connection: EngineIOConnection)
    /// An Engine.IO session closed; `transport` is the one it was on when it closed.
    func sessionClosed(_ connection: EngineIOConnection, transport: EngineIOTransportKind, reason: SocketIODisconnectReason)
    /// A session moved to another transport; `sockets` are the sockets it carries.
    func transportChanged(_ connection: EngineIOConnection, to transport: EngineIOTransportKind, sockets: [SocketIOSocket])
    /// A socket joined its namespace (its CONNECT reply is sent and its handler has run).
    func socketConnected(_ socket: SocketIOSocket)
    /// A socket left its namespace; `rooms` are the rooms it was in, its own id room included.
    func socketDisconnected(_ socket: SocketIOSocket, reason: SocketIODisconnectReason, rooms: [String])
    /// The socket entered these rooms (only rooms it was not in already).
    func roomsJoined(_ rooms: [String], socket: SocketIOSocket)
    /// The socket left these rooms (only rooms it was in).
    func roomsLeft(_ rooms: [String], socket: SocketIOSocket)
    /// An event from a client, decoded and about to reach the namespace's handler.
    func eventReceived(_ event: SocketIOEvent, socket: SocketIOSocket)
    /// An event emitted to one socket (``SocketIOSocket/emit(_:_:)``; not broadcasts, not acks,
    /// as socket.io's `onAnyOutgoing`).
    func eventSent(_ name: String, _ arguments: SocketIOArguments, socket: SocketIOSocket)
    /// A Socket.IO message (text or binary part) arrived, `bytes` long.
    func messageReceived(bytes: Int)
    /// A Socket.IO message was sent to one socket's client, `bytes` long.
    func messageSent(bytes: Int)
}
