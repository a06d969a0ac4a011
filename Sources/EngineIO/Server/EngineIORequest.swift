import NIOHTTP1

/// What an HTTP request to an Engine.IO endpoint asks for, decided from its method, query
/// and headers alone (whether a named session exists is checked afterwards).
enum EngineIORequestKind: Hashable {
    /// A CORS preflight (`OPTIONS`).
    case preflight
    /// Open a new session on this transport.
    case handshake(EngineIOTransportKind)
    /// `GET` with a sid: a long poll.
    case poll(sid: String)
    /// `POST` with a sid: packets from the client.
    case send(sid: String)
    /// A WebSocket with a sid: the upgrade of a polling session.
    case upgrade(sid: String)
}

extension EngineIORequestKind {
    /// A WebSocket handshake or the upgrade of a polling session (asked for with the
    /// WebSocket upgrade headers).
    var isWebSocket: Bool {
        switch self {
        case .handshake(.websocket), .upgrade: true
        default: false
        }
    }

    /// Classifies a request in the order the reference server checks it: transport, origin,
    /// then session or handshake rules.
    static func classify(
        method: HTTPMethod,
        target: RequestTarget,
        origin: String?,
        isWebSocketUpgrade: Bool,
        configuration: EngineIOConfiguration
    ) -> Result<EngineIORequestKind, EngineIOHTTPError> {
        if method == .OPTIONS { return .success(.preflight) }
        guard let transportName = target.query["transport"],
            let transport = EngineIOTransportKind(rawValue: transportName),
            configuration.transports.contains(transport)
        else { return .failure(EngineIOHTTPError(.unknownTransport)) }
        guard configuration.cors.allows(origin: origin) else {
            return .failure(EngineIOHTTPError(.forbidden, message: "Origin not allowed"))
        }
        if let sid = target.query["sid"] {
            if isWebSocketUpgrade {
                return transport == .websocket ? .success(.upgrade(sid: sid)) : .failure(EngineIOHTTPError(.badRequest))
            }
            guard transport == .polling else { return .failure(EngineIOHTTPError(.badRequest)) }
            switch method {
            case .GET: return .success(.poll(sid: sid))
            case .POST: return .success(.send(sid: sid))
            default: return .failure(EngineIOHTTPError(.badRequest))
            }
        }
        guard method == .GET else { return .failure(EngineIOHTTPError(.badHandshakeMethod)) }
        guard target.query["EIO"] == "4" else { return .failure(EngineIOHTTPError(.unsupportedProtocolVersion)) }
        if transport == .websocket, !isWebSocketUpgrade { return .failure(EngineIOHTTPError(.badRequest)) }
        return .success(.handshake(transport))
    }
}

