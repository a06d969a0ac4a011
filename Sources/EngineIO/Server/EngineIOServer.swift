import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// One Engine.IO endpoint (such as `/socket.io/`): its sessions and the application on top.
///
/// Thread-safe. Sessions live on the event loop of the connection that opened them; the
/// session table is the only state shared across loops.
public final class EngineIOServer: Sendable {
    public let configuration: EngineIOConfiguration
    let application: any EngineIOApplication
    let logger: Logger
    let path: String

    private let sessions = NIOLockedValueBox<[String: EngineIOConnection]>([:])
    private let timerQueues = NIOLockedValueBox<[ObjectIdentifier: EventLoopTimerQueue]>([:])

    public init(configuration: EngineIOConfiguration, application: any EngineIOApplication, logger: Logger) {
        self.configuration = configuration
        self.application = application
        self.logger = logger
        self.path = configuration.normalizedPath
    }

    /// Number of open sessions.
    public var sessionCount: Int { sessions.withLockedValue { $0.count } }

    /// The session with this id, if it is open.
    public func session(id: String) -> EngineIOConnection? {
        sessions.withLockedValue { $0[id] }
    }

    /// Closes every session with `reason`, for shutdown.
    public func closeAllSessions(reason: EngineIOCloseReason = .serverShuttingDown) {
        let all = sessions.withLockedValue { Array($0.values) }
        for session in all { session.close(reason: reason) }
    }

    /// Whether a request path belongs to this endpoint.
    func matches(path requestPath: String) -> Bool {
        requestPath == path || requestPath + "/" == path
    }

    var timing: EngineIOSessionStateMachine.Timing {
        .init(
            pingInterval: configuration.pingInterval,
            pingTimeout: configuration.pingTimeout,
            upgradeTimeout: configuration.upgradeTimeout
        )
    }

    func timerQueue(for eventLoop: EventLoop) -> EventLoopTimerQueue {
        timerQueues.withLockedValue { queues in
            let key = ObjectIdentifier(eventLoop)
            if let queue = queues[key] { return queue }
            let queue = EventLoopTimerQueue(eventLoop: eventLoop)
            queues[key] = queue
            return queue
        }
    }

    // MARK: - Session lifecycle

    private func makeSession(handshake: EngineIOHandshake, eventLoop: EventLoop) -> EngineIOConnection {
        let session = EngineIOConnection(
            id: RandomID.make(),
            eventLoop: eventLoop,
            handshake: handshake,
            timing: timing,
            endpoint: self,
            timers: timerQueue(for: eventLoop)
        )
        sessions.withLockedValue { $0[session.id] = session }
        logger.debug(
            "session opened",
            metadata: ["eio.sid": "\(session.id)", "eio.transport": "\(handshake.transport.rawValue)"]
        )
        return session
    }

    /// Opens a polling session; returns the packets of the handshake response.
    func openPollingSession(handshake: EngineIOHandshake, eventLoop: EventLoop) -> [EngineIOOutboundPacket] {
        let session = makeSession(handshake: handshake, eventLoop: eventLoop)
        let upgrades = configuration.transports.contains(.websocket) ? ["websocket"] : []
        return session.start(application: application, openPacket: openPacket(sid: session.id, upgrades: upgrades))
    }

    /// Opens a session whose transport is the given WebSocket.
    func openWebSocketSession(
        on socket: EngineIOWebSocketHandler,
        handshake: EngineIOHandshake,
        eventLoop: EventLoop
    ) -> EngineIOConnection {
        let session = makeSession(handshake: handshake, eventLoop: eventLoop)
        let open = openPacket(sid: session.id, upgrades: [])
        session.attachInitialWebSocket(socket, openPacket: open)
        _ = session.start(application: application, openPacket: open)
        return session
    }

    func remove(_ session: EngineIOConnection) {
        sessions.withLockedValue { table in
            if table[session.id] === session { table[session.id] = nil }
        }
    }

    private func openPacket(sid: String, upgrades: [String]) -> EngineIOOutboundPacket {
        let upgradeList = upgrades.map { "\"\($0)\"" }.joined(separator: ",")
        let json =
            #"{"sid":"\#(sid)","upgrades":[\#(upgradeList)],"pingInterval":\#(configuration.pingInterval.milliseconds),"#
            + #""pingTimeout":\#(configuration.pingTimeout.milliseconds),"maxPayload":\#(configuration.maxPayload)}"#
        var buffer = ByteBufferAllocator().buffer(capacity: json.utf8.count + 1)
        buffer.writeInteger(EngineIOPacketType.open.digit)
        buffer.writeString(json)
        return EngineIOOutboundPacket(storage: .text(buffer))
    }
}

extension TimeAmount {
    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
