import EngineIO
import Logging
import NIOCore
import NIOPosix
import SocketIO
import SwitchyardJSON

@testable import SwitchyardRedis

/// Joins rooms on request: `join` (room) and `leave` (room), acknowledged.
struct RoomTestHandler: SocketIONamespaceHandler {
    func received(_ event: SocketIOEvent, from socket: SocketIOSocket) {
        let room = event.arguments.value(at: 0)?.stringValue ?? ""
        switch event.name {
        case "join": socket.join(room)
        case "leave": socket.leave(room)
        default: break
        }
        event.ack?.send([.string(event.name)])
    }
}

/// One Switchyard node in-process: a Socket.IO server behind an Engine.IO HTTP server on a
/// loopback port, with its own Redis backplane.
final class TestNode: @unchecked Sendable {
    let io: SocketIOServer
    let http: EngineIOHTTPServer
    let listener: Channel
    let backplane: RedisBackplane
    let group: EventLoopGroup

    var port: Int { listener.localAddress!.port! }

    static func start(
        redis: RedisServerProcess,
        group: EventLoopGroup,
        namespaces: [String] = ["/"],
        configure: (inout RedisBackplaneConfiguration) -> Void = { _ in }
    ) async throws -> TestNode {
        let logger = Logger(label: "test.node")
        let io = SocketIOServer(logger: logger)
        for namespace in namespaces { try io.register(namespace, handler: RoomTestHandler()) }
        let http = EngineIOHTTPServer(
            endpoints: [EngineIOServer(configuration: EngineIOConfiguration(), application: io, logger: logger)], logger: logger)
        let listener = try await http.bind(host: "127.0.0.1", port: 0, group: group).get()
        var configuration = try RedisBackplaneConfiguration(url: redis.url)
        configuration.heartbeatInterval = .milliseconds(200)
        configuration.requestTimeout = .seconds(5)
        configuration.redis.reconnectBackoff = RedisReconnectBackoff(initial: .milliseconds(20), maximum: .milliseconds(200))
        configuration.redis.connectTimeout = .seconds(1)
        configuration.redis.commandTimeout = .seconds(1)
        configuration.redis.healthCheckInterval = .milliseconds(100)
        configure(&configuration)
        let backplane = RedisBackplane(configuration: configuration, eventLoopGroup: group, logger: logger)
        backplane.attach(to: io)
        try await backplane.start()
        return TestNode(io: io, http: http, listener: listener, backplane: backplane, group: group)
    }

    private init(io: SocketIOServer, http: EngineIOHTTPServer, listener: Channel, backplane: RedisBackplane, group: EventLoopGroup) {
        self.io = io
        self.http = http
        self.listener = listener
        self.backplane = backplane
        self.group = group
    }

    func client(_ namespace: String = "/") async throws -> WebSocketSocketIOClient {
        try await WebSocketSocketIOClient.connect(port: port, namespace: namespace, group: group)
    }

    func namespace(_ path: String = "/") -> SocketIONamespace { io.namespace(path)! }

    func stop() async {
        await backplane.shutdown()
        http.closeAllSessions()
        try? await listener.close().get()
    }
}

/// Waits until every node counts every other one as alive.
func waitForMesh(_ nodes: [TestNode]) async throws {
    try await waitUntil("nodes see each other") {
        nodes.allSatisfy { node in
            let others = Set(nodes.map(\.backplane.uid)).subtracting([node.backplane.uid])
            return others.isSubset(of: node.backplane.aliveNodes)
        }
    }
}
