import NIOCore
import NIOHTTP1

/// What sits on top of an Engine.IO endpoint (the Socket.IO server, or a plain echo).
public protocol EngineIOApplication: Sendable {
    /// A session opened. Return the handler that receives its messages.
    ///
    /// Called on `connection.eventLoop`; the handler's methods are called there too.
    func sessionOpened(_ connection: EngineIOConnection) -> any EngineIOConnectionHandler
}

/// Receives one session's messages and its end. Called on the session's event loop only.
public protocol EngineIOConnectionHandler: AnyObject {
    /// A text message (the bytes after the `4` type digit).
    func didReceive(text: ByteBuffer)
    /// A binary message.
    func didReceive(binary: ByteBuffer)
    /// The session moved to a new transport (after an upgrade to WebSocket).
    func transportChanged(to transport: EngineIOTransportKind)
    /// The session ended. Called exactly once; nothing is delivered afterwards.
    func didClose(reason: EngineIOCloseReason)
}

extension EngineIOConnectionHandler {
    public func transportChanged(to transport: EngineIOTransportKind) {}
}

/// The request that opened a session, as the application sees it.
public struct EngineIOHandshake: Sendable {
    /// The request target, e.g. `/socket.io/?EIO=4&transport=polling`.
    public var uri: String
    public var headers: HTTPHeaders
    /// Query parameters (first value of each name).
    public var query: [String: String]
    public var remoteAddress: SocketAddress?
    /// The transport the session started on.
    public var transport: EngineIOTransportKind

    public init(uri: String, headers: HTTPHeaders, query: [String: String], remoteAddress: SocketAddress?, transport: EngineIOTransportKind) {
        self.uri = uri
        self.headers = headers
        self.query = query
        self.remoteAddress = remoteAddress
        self.transport = transport
    }
}
