import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SocketIO
import SwitchyardJSON
import Testing

@testable import SwitchyardRedis

/// Two or three Switchyard nodes in-process, each with its own HTTP listener and backplane,
/// one real redis-server, and WebSocket clients on every node.
@Suite("Redis backplane across nodes", .serialized)
struct ClusterTests {
    let group = MultiThreadedEventLoopGroup.singleton

    private func cluster(_ count: Int, redis: RedisServerProcess, configure: (inout RedisBackplaneConfiguration) -> Void = { _ in })
        async throws -> [TestNode]
    {
        var nodes: [TestNode] = []
        for _ in 0..<count { nodes.append(try await TestNode.start(redis: redis, group: group, configure: configure)) }
        try await waitForMesh(nodes)
        return nodes
    }

    private func stopAll(_ nodes: [TestNode], _ clients: [WebSocketSocketIOClient] = []) async {
        for client in clients { await client.close() }
        for node in nodes { await node.stop() }
    }

    /// Expects the client's next event. Tests send a marker to every socket after a
    /// targeted broadcast, from the same node: a client whose next event is the marker
    /// received nothing before it.
    private func expectNext(
        _ client: WebSocketSocketIOClient, _ name: String, _ arguments: [JSONValue]? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let event = try await client.nextEvent()
        #expect(event.name == name, sourceLocation: sourceLocation)
        if let arguments { #expect(event.arguments == arguments, sourceLocation: sourceLocation) }
    }

    @Test("A room broadcast reaches exactly the members on every node, with except honoured")
    func roomBroadcast() async throws {
        let redis = try await RedisServerProcess.start()
        let nodes = try await cluster(3, redis: redis)
        var clients: [WebSocketSocketIOClient] = []
        for node in nodes {
            clients.append(try await node.client())  // member
            clients.append(try await node.client())  // not a member
        }
        let members = [clients[0], clients[2], clients[4]]
        let others = [clients[1], clients[3], clients[5]]
        for member in members { _ = try await member.emitWithAck("join", ["lobby"]) }
        _ = try await clients[4].emitWithAck("join", ["quiet"])

        // The marker comes from the same node, so it travels behind the broadcast.
        nodes[0].namespace().to("lobby").emit("news", ["hello"])
        nodes[0].namespace().broadcast.emit("marker")
        for member in members { try await expectNext(member, "news", ["hello"]) }
        for client in clients { try await expectNext(client, "marker") }

        // except: a room and a socket id, both on other nodes than the sender.
        nodes[2].namespace().to("lobby").except("quiet").except(clients[2].sid).emit("news", ["second"])
        nodes[2].namespace().broadcast.emit("marker")
        try await expectNext(clients[0], "news", ["second"])
        for client in clients { try await expectNext(client, "marker") }
        for client in others { #expect(nodes.contains { $0.namespace().socket(id: client.sid)?.rooms == [client.sid] }) }

        await stopAll(nodes, clients)
    }

    @Test("A broadcast from a socket skips it and reaches the namespace on every node")
    func socketBroadcast() async throws {
        let redis = try await RedisServerProcess.start()
        let nodes = try await cluster(2, redis: redis)
        let a = try await nodes[0].client()
        let b = try await nodes[1].client()
        let sender = try #require(nodes[0].namespace().socket(id: a.sid))
        sender.broadcast.emit("from-a", ["x"])
        try await expectNext(b, "from-a", ["x"])
        nodes[1].namespace().broadcast.emit("marker")
        try await expectNext(a, "marker")
        await stopAll(nodes, [a, b])
    }

    @Test("disconnectSockets on node A disconnects a client on node B")
    func remoteDisconnect() async throws {
        let redis = try await RedisServerProcess.start()
        let nodes = try await cluster(2, redis: redis)
        let onA = try await nodes[0].client()
        let onB = try await nodes[1].client()
        let alsoOnB = try await nodes[1].client()
        nodes[0].namespace().to(onB.sid).disconnectSockets()
        try await onB.waitForDisconnect()
        nodes[0].namespace().broadcast.emit("marker")
        try await expectNext(onA, "marker")
        try await expectNext(alsoOnB, "marker")
        #expect(nodes[1].namespace().socket(id: onB.sid) == nil)
        await stopAll(nodes, [onA, onB, alsoOnB])
    }

    @Test("socketsJoin and socketsLeave apply on every node")
    func remoteJoinAndLeave() async throws {
        let redis = try await RedisServerProcess.start()
        let nodes = try await cluster(2, redis: redis)
        let a = try await nodes[0].client()
        let b = try await nodes[1].client()
        nodes[0].namespace().broadcast.socketsJoin(["all"])
        try await waitUntil("b joined through the cluster") { nodes[1].namespace().socket(id: b.sid)?.rooms.contains("all") == true }
        #expect(nodes[0].namespace().socket(id: a.sid)?.rooms.contains("all") == true)
        #expect(await nodes[0].namespace().to("all").fetchSocketIDs().sorted() == [a.sid, b.sid].sorted())

        nodes[1].namespace().to(a.sid).socketsLeave(["all"])
        try await waitUntil("a left through the cluster") { nodes[0].namespace().socket(id: a.sid)?.rooms.contains("all") == false }
        nodes[0].namespace().to("all").emit("only-b")
        try await expectNext(b, "only-b")
        await stopAll(nodes, [a, b])
    }

    @Test("A cluster count is right and does not wait for a dead node")
    func countSkipsDeadNodes() async throws {
        let redis = try await RedisServerProcess.start()
        let nodes = try await cluster(3, redis: redis) { $0.requestTimeout = .seconds(30) }
        var clients: [WebSocketSocketIOClient] = []
        for node in nodes {
            for _ in 0..<2 {
                let client = try await node.client()
                _ = try await client.emitWithAck("join", ["game"])
                clients.append(client)
            }
        }
        let full = await nodes[0].backplane.countSockets(namespace: "/", rooms: ["game"])
        #expect(full.value == 6)
        #expect(full.isComplete)
        let rooms = await nodes[1].backplane.allRooms(namespace: "/")
        #expect(rooms.value == ["game"])

        // Node C dies without a goodbye, mid-request: the request stops waiting for it when
        // its heartbeats are missed (3 × 200 ms), far before the 30 s request timeout.
        await nodes[2].backplane.stop(announce: false)
        let started = ContinuousClock.now
        let partial = await nodes[0].backplane.countSockets(namespace: "/", rooms: ["game"])
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(partial.value == 4)
        #expect(!nodes[0].backplane.aliveNodes.contains(nodes[2].backplane.uid))

        // Once it has expired, a request does not wait at all.
        let started2 = ContinuousClock.now
        let again = await nodes[1].backplane.fetchSockets(namespace: "/", rooms: ["game"])
        #expect(ContinuousClock.now - started2 < .seconds(1))
        #expect(Set(again.value.map(\.id)) == Set(clients[0..<4].map(\.sid)))
        await stopAll(nodes, clients)
    }

    @Test("Redis killed and restarted: local delivery goes on, the outage is reported once, the cluster recovers")
    func redisRestart() async throws {
        let redis = try await RedisServerProcess.start()
        let outages = NIOLockedValueBox<[RedisOutage]>([])
        let recoveries = NIOLockedValueBox<[RedisOutage]>([])
        let nodes = try await cluster(2, redis: redis)
        nodes[0].backplane.onOutage = { outage in outages.withLockedValue { $0.append(outage) } }
        nodes[0].backplane.onRecovery = { outage in recoveries.withLockedValue { $0.append(outage) } }
        let a = try await nodes[0].client()
        let a2 = try await nodes[0].client()
        let b = try await nodes[1].client()

        redis.kill()
        try await waitUntil("node A notices the outage") { !nodes[0].backplane.status.isConnected }
        #expect(nodes[0].backplane.status.outage != nil)
        for index in 0..<20 { nodes[0].namespace().broadcast.emit("local", [.number(JSONNumber(index))]) }
        for index in 0..<20 {
            try await expectNext(a, "local", [.number(JSONNumber(index))])
            try await expectNext(a2, "local", [.number(JSONNumber(index))])
        }
        #expect(outages.withLockedValue { $0.count } == 1)
        // A request during the outage answers at once with this node's sockets.
        let started = ContinuousClock.now
        let during = await nodes[0].backplane.countSockets(namespace: "/")
        #expect(during.value == 2)
        #expect(ContinuousClock.now - started < .seconds(1))

        try await redis.start()
        try await waitUntil("both nodes recover", timeout: .seconds(15)) {
            nodes.allSatisfy { $0.backplane.status.isConnected }
        }
        // The status flips under the backplane's lock; onRecovery runs just after, outside it.
        try await waitUntil("the recovery is reported") { recoveries.withLockedValue { $0.count } >= 1 }
        #expect(recoveries.withLockedValue { $0.count } == 1)
        #expect(recoveries.withLockedValue { $0.first?.ended } != nil)
        #expect(nodes[0].backplane.status.outageCount == 1)
        try await waitForMesh(nodes)

        // B may get the local messages buffered during the outage; what matters is that a
        // message published after recovery arrives.
        nodes[0].namespace().broadcast.emit("after", ["recovery"])
        while true {
            let event = try await b.nextEvent()
            if event.name == "after" {
                #expect(event.arguments == ["recovery"])
                break
            }
            #expect(event.name == "local")
        }
        nodes[1].namespace().broadcast.emit("back", ["from-b"])
        while try await a.nextEvent().name != "back" {}
        await stopAll(nodes, [a, a2, b])
    }

    @Test("A paused Redis: local delivery goes on, publishing is bounded and counted, then the cluster recovers")
    func pausedRedis() async throws {
        let redis = try await RedisServerProcess.start()
        let nodes = try await cluster(2, redis: redis) { configuration in
            configuration.redis.maxInFlight = 16
            configuration.redis.maxBufferedCommands = 100
        }
        let a = try await nodes[0].client()
        let b = try await nodes[1].client()
        redis.pause()
        let floods = 2000
        for index in 0..<floods { nodes[0].namespace().broadcast.emit("flood", [.number(JSONNumber(index))]) }
        for index in 0..<floods { try await expectNext(a, "flood", [.number(JSONNumber(index))]) }
        let status = nodes[0].backplane.status
        #expect(status.publisher.buffered <= 100)
        #expect(status.publisher.inFlight <= 16)
        #expect(status.dropped >= UInt64(floods - 100 - 16))
        try await waitUntil("the stall is seen as an outage") { !nodes[0].backplane.status.isConnected }

        redis.resume()
        try await waitUntil("both nodes recover", timeout: .seconds(15)) { nodes.allSatisfy { $0.backplane.status.isConnected } }
        try await waitForMesh(nodes)
        nodes[0].namespace().broadcast.emit("after", ["pause"])
        while try await b.nextEvent().name != "after" {}
        await stopAll(nodes, [a, b])
    }

    @Test("Redis unreachable at start: a clear error, or a degraded start that recovers")
    func unreachableAtStart() async throws {
        let redis = try RedisServerProcess()  // not started
        do {
            _ = try await TestNode.start(redis: redis, group: group)
            Issue.record("started without Redis")
        } catch let error as RedisBackplaneError {
            guard case .unreachable(let url, let reason) = error else { throw error }
            #expect(url == "redis://127.0.0.1:\(redis.port)")
            #expect(reason.contains("cannot connect to Redis"))
        }

        let outages = NIOLockedValueBox(0)
        let node = try await TestNode.start(redis: redis, group: group) { $0.startDegraded = true }
        #expect(node.backplane.status.outage != nil)
        #expect(node.backplane.status.outageCount == 1)
        node.backplane.onRecovery = { _ in outages.withLockedValue { $0 += 1 } }
        let client = try await node.client()
        node.namespace().broadcast.emit("still-local")
        try await expectNext(client, "still-local")

        try await redis.start()
        try await waitUntil("the degraded node connects", timeout: .seconds(15)) { node.backplane.status.isConnected }
        #expect(outages.withLockedValue { $0 } == 1)
        let other = try await TestNode.start(redis: redis, group: group)
        try await waitForMesh([node, other])
        other.namespace().broadcast.emit("cluster")
        try await expectNext(client, "cluster")
        await stopAll([node, other], [client])
    }

    @Test("A socket.io emitter's broadcast and room requests reach Switchyard sockets")
    func emitterCompatibility() async throws {
        let redis = try await RedisServerProcess.start()
        let nodes = try await cluster(2, redis: redis)
        let member = try await nodes[1].client()
        let other = try await nodes[0].client()
        _ = try await member.emitWithAck("join", ["room1"])

        let emitter = RedisClient(
            configuration: try RedisConfiguration(url: redis.url), role: .commands, eventLoop: group.next(),
            logger: Logger(label: "emitter"))
        try await emitter.connect().get()
        // `emitter.to("room1").emit("hello", "world")`, byte for byte.
        _ = try await emitter.send(["PUBLISH", "socket.io#/#room1#", .bytes(ByteBuffer(bytes: WireFormatTests.emitterBytes))]).get()
        try await expectNext(member, "hello", ["world"])
        // `emitter.socketsJoin("vip")` and `emitter.in("vip").disconnectSockets()`: JSON requests.
        _ = try await emitter.send(["PUBLISH", "socket.io-request#/#", #"{"type":2,"opts":{"rooms":[],"except":[]},"rooms":["vip"]}"#])
            .get()
        try await waitUntil("everyone joined vip") {
            nodes[0].namespace().socket(id: other.sid)?.rooms.contains("vip") == true
                && nodes[1].namespace().socket(id: member.sid)?.rooms.contains("vip") == true
        }
        _ = try await emitter.send(["PUBLISH", "socket.io-request#/#", #"{"type":4,"opts":{"rooms":["room1"],"except":[]},"close":false}"#])
            .get()
        try await member.waitForDisconnect()
        try await emitter.close().get()
        await stopAll(nodes, [member, other])
    }

    @Test("Operator commands run on every node; a request collects every node's answer")
    func operatorCommands() async throws {
        let redis = try await RedisServerProcess.start()
        let nodes = try await cluster(3, redis: redis)
        let clients = [try await nodes[0].client(), try await nodes[1].client(), try await nodes[2].client()]
        for node in nodes {
            let namespace = node.namespace()
            // "kick": disconnect a socket by id wherever it is; answer how many went.
            node.backplane.registerCommand("kick") { payload in
                let id = payload["socket"]?.stringValue ?? ""
                let found = namespace.socket(id: id) != nil
                namespace.to(id).local.disconnectSockets()
                return .number(JSONNumber(found ? 1 : 0))
            }
            node.backplane.registerCommand("announce") { payload in
                namespace.local.emit("admin", [payload])
                return .null
            }
        }
        nodes[0].backplane.publishCommand("announce", payload: "maintenance at noon")
        for client in clients { try await expectNext(client, "admin", ["maintenance at noon"]) }

        let replies = await nodes[0].backplane.requestCommand("kick", payload: ["socket": .string(clients[2].sid)])
        #expect(replies.isComplete)
        #expect(replies.value.count == 3)
        #expect(replies.value.compactMap { $0.value.intValue }.reduce(0, +) == 1)
        try await clients[2].waitForDisconnect()

        // An operator tool: a client-role backplane that is never counted as a node.
        var configuration = try RedisBackplaneConfiguration(url: redis.url)
        configuration.role = .client
        let tool = RedisBackplane(configuration: configuration, eventLoopGroup: group, logger: Logger(label: "cli"))
        try await tool.start()
        #expect(Set(tool.aliveNodes) == Set(nodes.map(\.backplane.uid)))
        let fromTool = await tool.requestCommand("kick", payload: ["socket": .string(clients[1].sid)])
        #expect(fromTool.value.count == 3)
        try await clients[1].waitForDisconnect()
        tool.broadcast(namespace: "/", event: "admin", arguments: SocketIOArguments(["from the CLI"]))
        try await expectNext(clients[0], "admin", ["from the CLI"])
        #expect(!nodes[0].backplane.aliveNodes.contains(tool.uid))
        await tool.shutdown()
        await stopAll(nodes, clients)
    }
}

extension SocketIONamespace {
    /// This node's sockets only (command handlers act locally).
    var local: SocketIOBroadcast { broadcast.local }
}
