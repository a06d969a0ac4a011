import NIOCore

/// Settings of one Engine.IO endpoint. Defaults are socket.io's.
public struct EngineIOConfiguration: Sendable {
    /// The request path the endpoint serves, with a trailing slash (socket.io: `/socket.io/`).
    public var path: String = "/socket.io/"
    /// How often the server pings each session.
    public var pingInterval: TimeAmount = .milliseconds(25_000)
    /// How long the server waits for the pong before closing the session (`ping timeout`).
    public var pingTimeout: TimeAmount = .milliseconds(20_000)
    /// Largest message or HTTP body accepted from a client, in bytes; larger ones are refused
    /// before they are buffered.
    public var maxPayload: Int = 1_000_000
    /// How long a WebSocket may take to complete the upgrade of a polling session.
    public var upgradeTimeout: TimeAmount = .milliseconds(10_000)
    /// Which transports clients may use.
    public var transports: Set<EngineIOTransportKind> = [.polling, .websocket]
    /// Who may call the endpoint from a browser (`Access-Control-Allow-Origin`) and whose
    /// `Origin` headers are accepted at all.
    public var cors: CORSPolicy = .allowAll

    public init() {}

    /// The path normalised with leading and trailing slashes.
    var normalizedPath: String {
        var path = self.path
        if !path.hasPrefix("/") { path = "/" + path }
        if !path.hasSuffix("/") { path += "/" }
        return path
    }
}

/// The two Engine.IO transports.
public enum EngineIOTransportKind: String, Sendable, Hashable, CaseIterable {
    case polling
    case websocket
}

/// Why an Engine.IO session ended; the raw values are socket.io's reason strings.
public enum EngineIOCloseReason: String, Sendable, Hashable, CaseIterable {
    /// The client closed the connection or sent a close packet.
    case transportClose = "transport close"
    /// The connection failed (reset, premature end of a poll, duplicate poll, oversized data).
    case transportError = "transport error"
    /// The client did not answer a ping within `pingTimeout`.
    case pingTimeout = "ping timeout"
    /// The client sent something that is not Engine.IO.
    case parseError = "parse error"
    /// The server closed the session.
    case forcedClose = "forced close"
    /// The server is shutting down.
    case serverShuttingDown = "server shutting down"
}
