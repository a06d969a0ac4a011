import EngineIO
import NIOCore
import SwitchyardJSON

/// The behaviour of a namespace: who may join, what happens on events, and on leaving.
///
/// Every method is called on the socket's event loop. ``authorize(_:decide:)`` may call
/// `decide` later and from any thread (an identity lookup, say); nothing of that socket is
/// served until it does.
///
/// ```swift
/// struct Echo: SocketIONamespaceHandler {
///     func received(_ event: SocketIOEvent, from socket: SocketIOSocket) {
///         if let ack = event.ack { ack.send(event.arguments) }
///         else { socket.emit("echo", event.arguments) }
///     }
/// }
/// try server.register("/", handler: Echo())
/// ```
public protocol SocketIONamespaceHandler: Sendable {
    /// Decides on a CONNECT. The default accepts.
    func authorize(_ request: SocketIOConnectRequest, decide: @escaping @Sendable (SocketIOConnectDecision) -> Void)
    /// The socket joined (the client has its CONNECT reply).
    func connected(_ socket: SocketIOSocket)
    /// An event arrived; its arguments are not decoded yet. Return false to drop it (the
    /// handler answers the client itself, e.g. with an error ack). This is where size and
    /// rate limits act, before any JSON is read. The default admits everything.
    func admit(_ event: SocketIOEventHeader, from socket: SocketIOSocket) -> Bool
    /// An event arrived from the socket's client.
    func received(_ event: SocketIOEvent, from socket: SocketIOSocket)
    /// The socket left the namespace. Called once per connected socket.
    func disconnected(_ socket: SocketIOSocket, reason: SocketIODisconnectReason)
}

extension SocketIONamespaceHandler {
    public func authorize(_ request: SocketIOConnectRequest, decide: @escaping @Sendable (SocketIOConnectDecision) -> Void) {
        decide(.accept)
    }
    public func connected(_ socket: SocketIOSocket) {}
    public func admit(_ event: SocketIOEventHeader, from socket: SocketIOSocket) -> Bool { true }
    public func received(_ event: SocketIOEvent, from socket: SocketIOSocket) {}
    public func disconnected(_ socket: SocketIOSocket, reason: SocketIODisconnectReason) {}
}

/// A client asking to join a namespace.
public struct SocketIOConnectRequest: Sendable {
    /// The id the socket will have if accepted.
    public var socketID: String
    public var namespace: SocketIONamespace
    /// The CONNECT payload (`{}` when the client sent none).
    public var auth: JSONValue
    /// The HTTP request that opened the connection.
    public var handshake: EngineIOHandshake
    /// The connection's event loop (where the decision is applied).
    public var eventLoop: EventLoop
    /// Set when the client asked for connection state recovery and its session is there:
    /// accepting brings back the old socket (``socketID`` is its id).
    public var recovery: SocketIORecovery?
    /// Set when the client asked for recovery (it sent a `pid`) and cannot have it; accepting
    /// makes a new socket.
    public var recoveryFailure: SocketIORecoveryFailure?

    /// Whether accepting restores a previous socket.
    public var isRecovering: Bool { recovery != nil }
}

/// The answer to a CONNECT.
public enum SocketIOConnectDecision: Sendable {
    /// Accept; `userInfo` becomes the new socket's ``SocketIOSocket/userInfo`` before
    /// ``SocketIONamespaceHandler/connected(_:)`` runs (e.g. the resolved identity).
    case accepted(userInfo: (any Sendable)?)
    /// Refuse with a CONNECT_ERROR `{"message": message, "data": data}`.
    case refuse(message: String, data: JSONValue?)

    /// Accept with no attached state.
    public static var accept: SocketIOConnectDecision { .accepted(userInfo: nil) }
}

/// What is known of an event before its arguments are decoded.
public struct SocketIOEventHeader: Sendable {
    public var name: String
    /// Bytes of the JSON payload as received (event name included) plus binary attachments.
    public var byteCount: Int
    public var attachmentCount: Int
    /// How to answer, when the client asked for an acknowledgement.
    public var ack: SocketIOAcknowledger?
}

/// An event from a client.
public struct SocketIOEvent: Sendable {
    public var name: String
    public var arguments: SocketIOArguments
    /// How to answer, when the client asked for an acknowledgement.
    public var ack: SocketIOAcknowledger?
    /// Bytes of the payload as received (see ``SocketIOEventHeader/byteCount``).
    public var byteCount: Int

    public init(name: String, arguments: SocketIOArguments, ack: SocketIOAcknowledger?, byteCount: Int = 0) {
        self.name = name
        self.arguments = arguments
        self.ack = ack
        self.byteCount = byteCount
    }
}

/// Answers one event's acknowledgement request. Send once; later sends are ignored by
/// clients (the ack id is spent).
public struct SocketIOAcknowledger: Sendable {
    let socket: SocketIOSocket
    /// The client's ack id.
    public let id: UInt64

    /// Sends the acknowledgement with these arguments.
    public func send(_ arguments: SocketIOArguments) {
        socket.sendAck(id: id, arguments: arguments)
    }

    /// Sends the acknowledgement with these values.
    public func send(_ values: [JSONValue]) {
        send(SocketIOArguments(values))
    }
}

/// Why a server-to-client acknowledgement did not arrive.
public enum SocketIOAckError: Error, Sendable, Hashable {
    case timeout
    case disconnected
}
