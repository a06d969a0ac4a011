import EngineIO
import NIOCore

/// Settings of the Socket.IO layer. Defaults are socket.io's.
public struct SocketIOConfiguration: Sendable {
    /// How long a new connection may take to join its first namespace before it is closed.
    public var connectTimeout: TimeAmount = .milliseconds(45_000)
    /// How long a server-to-client acknowledgement is awaited when the caller gives no timeout.
    public var ackTimeout: TimeAmount = .milliseconds(30_000)
    /// Most binary attachments one packet may announce (protects memory).
    public var maxAttachments: Int = 10
    /// The parsers clients may use, chosen per connection from its first message (text:
    /// `default`, binary: `msgpack`).
    public var parsers: Set<SocketIOParser> = [.default, .msgpack]
    /// Connection state recovery; nil (the default) turns it off.
    public var connectionStateRecovery: SocketIORecoveryConfiguration?

    public init() {}
}

/// Why a socket left its namespace; the raw values are socket.io's reason strings, so logs
/// and clients agree.
public enum SocketIODisconnectReason: String, Sendable, Hashable, CaseIterable {
    case transportClose = "transport close"
    case transportError = "transport error"
    case pingTimeout = "ping timeout"
    case parseError = "parse error"
    case forcedClose = "forced close"
    case serverShuttingDown = "server shutting down"
    /// The server disconnected the socket (`socket.disconnect()`).
    case serverNamespaceDisconnect = "server namespace disconnect"
    /// The client disconnected the socket.
    case clientNamespaceDisconnect = "client namespace disconnect"
    /// The server closed the whole connection (`socket.disconnect(close: true)`).
    case forcedServerClose = "forced server close"

    init(_ reason: EngineIOCloseReason) {
        switch reason {
        case .transportClose: self = .transportClose
        case .transportError: self = .transportError
        case .pingTimeout: self = .pingTimeout
        case .parseError: self = .parseError
        case .forcedClose: self = .forcedServerClose
        case .serverShuttingDown: self = .serverShuttingDown
        }
    }
}
