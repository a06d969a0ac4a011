import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SocketIO
import SwitchyardJSON
import SwitchyardMessagePack
import Testing

@testable import SwitchyardRedis

/// A socket.io server with `@socket.io/redis-adapter` 8.3, as far as Redis can tell: its
/// subscriptions and its messages, written here from the adapter's source
/// (socketio/socket.io-redis-adapter `lib/index.ts`), not from Switchyard's code.
///
/// - subscribes exactly to `socket.io-request#/#`, `socket.io-response#/#` and its specific
///   `socket.io-response#/#<uid>#`, and by pattern to `socket.io#/#*` (the constructor);
/// - counts nodes with `PUBSUB NUMSUB socket.io-request#/#` (`serverCount`);
/// - publishes requests as `JSON.stringify` writes them (key order as in the source), a
///   broadcast with acks as notepack.io MessagePack, and answers on the shared response
///   channel (`publishOnSpecificResponseChannel` defaults to false).
final class FakeSocketIONode: @unchecked Sendable {
    let uid = "n0de01"  // uid2(6)
    /// `createShardedAdapter` (static subscription mode) instead of `createAdapter`.
    let sharded: Bool
    let publisher: RedisClient
    let subscriber: RedisClient
    private let inbox = NIOLockedValueBox<(messages: [RedisPubSubMessage], waiter: CheckedContinuation<RedisPubSubMessage, Error>?)>(
        ([], nil))

    init(redis: RedisServerProcess, group: EventLoopGroup, sharded: Bool = false) async throws {
        self.sharded = sharded
        let configuration = try RedisConfiguration(url: redis.url)
        let logger = Logger(label: "test.fake-node")
        publisher = RedisClient(configuration: configuration, role: .commands, eventLoop: group.next(), logger: logger, onEvent: { _ in })
        let inbox = self.inbox
        subscriber = RedisClient(
            configuration: configuration, role: .subscriber, eventLoop: group.next(), logger: logger, onEvent: { _ in },
            onMessage: { message in
                let waiter = inbox.withLockedValue { state -> CheckedContinuation<RedisPubSubMessage, Error>? in
                    if let waiter = state.waiter {
                        state.waiter = nil
                        return waiter
                    }
                    state.messages.append(message)
                    return nil
                }
                waiter?.resume(returning: message)
            })
        if sharded {
            // sharded-adapter.ts constructor: SSUBSCRIBE the namespace channel and its own
            // response channel.
            subscriber.subscribe(shardChannels: ["socket.io#/#", "socket.io#/#\(uid)#"])
        } else {
            subscriber.subscribe(
                channels: ["socket.io-request#/#", "socket.io-response#/#", "socket.io-response#/#\(uid)#"], patterns: ["socket.io#/#*"])
        }
        try await publisher.connect().get()
        try await subscriber.connect().get()
    }

    /// The next message on any of its subscriptions.
    func next(timeout: Duration = .seconds(5)) async throws -> RedisPubSubMessage {
        try await withThrowingTaskGroup(of: RedisPubSubMessage.self) { group in
            group.addTask {
                try await withCheckedThrowingContinuation { continuation in
                    let ready = self.inbox.withLockedValue { state -> RedisPubSubMessage? in
                        if !state.messages.isEmpty { return state.messages.removeFirst() }
                        state.waiter = continuation
                        return nil
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                let waiter = self.inbox.withLockedValue { state in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume(throwing: RedisTestError.unexpected("no message within \(timeout)"))
                throw RedisTestError.unexpected("no message within \(timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// The next message on a channel, skipping others (its own requests echo back to it).
    func next(on channel: String) async throws -> RedisPubSubMessage {
        while true {
            let message = try await next()
            if message.channel == channel { return message }
        }
    }

    /// The next message on a channel that another node published (the adapter ignores its
    /// own uid too).
    func nextFromOthers(on channel: String) async throws -> RedisPubSubMessage {
        while true {
            let message = try await next(on: channel)
            if !String(buffer: message.payload).contains(#""uid":"\#(uid)""#) { return message }
        }
    }

    func publish(_ payload: ByteBuffer, to channel: String) async throws {
        _ = try await publisher.send([sharded ? "SPUBLISH" : "PUBLISH", .string(channel), .bytes(payload)]).get()
    }

    func publish(json text: String, to channel: String) async throws {
        try await publish(ByteBuffer(string: text), to: channel)
    }

    /// `serverCount()`: subscribers of the namespace's request channel (sharded: of the
    /// namespace channel, `SHARDNUMSUB`), itself included.
    func serverCount(_ namespace: String = "/") async throws -> Int64 {
        let reply =
            try await (sharded
                ? publisher.send(["PUBSUB", "SHARDNUMSUB", .string("socket.io#\(namespace)#")])
                : publisher.send(["PUBSUB", "NUMSUB", .string("socket.io-request#\(namespace)#")])).get()
        return reply.array?[1].integer ?? -1
    }

    /// `PUBSUB SHARDNUMSUB` of one sharded channel.
    func shardSubscribers(_ channel: String) async throws -> Int64 {
        try await publisher.send(["PUBSUB", "SHARDNUMSUB", .string(channel)]).get().array?[1].integer ?? -1
    }

    func close() async {
        _ = try? await subscriber.close().get()
        _ = try? await publisher.close().get()
    }
}

/// A mixed cluster: Switchyard nodes and a socket.io node sharing one real redis-server.
/// Every request is the byte string the adapter publishes; every answer is read back from
/// Redis and checked field by field (or byte for byte where Switchyard fixes the layout).
@Suite("Mixed cluster with a socket.io Redis adapter node", .serialized)
struct NodeAdapterTests {
    let group = MultiThreadedEventLoopGroup.singleton
    static let specific = "socket.io-response#/#n0de01#"

    /// A real redis-server (killed when the returned value is released: keep it), a
    /// socket.io node and a Switchyard node it counts.
    private func mixedCluster(sharded: Bool = false, configure: (inout RedisBackplaneConfiguration) -> Void = { _ in }) async throws -> (
        RedisServerProcess, FakeSocketIONode, TestNode
    ) {
        let redis = try await RedisServerProcess.start()
        let node = try await FakeSocketIONode(redis: redis, group: group, sharded: sharded)
        let switchyard = try await TestNode.start(redis: redis, group: group) { configuration in
            if sharded { configuration.mode = .sharded }
            configure(&configuration)
        }
        try await waitUntil("Switchyard is counted") { (try? await node.serverCount()) == 2 }
        return (redis, node, switchyard)
    }

    private func decodeJSON(_ message: RedisPubSubMessage) throws -> JSONValue {
        try message.payload.withUnsafeReadableBytes { raw throws(JSONParseError) in try JSONValue(parsing: raw) }
    }

    @Test("NUMSUB counts a Switchyard node on the request channel of every namespace it has, and only those")
    func numsub() async throws {
        let redis = try await RedisServerProcess.start()
        let node = try await FakeSocketIONode(redis: redis, group: group)
        let switchyard = try await TestNode.start(redis: redis, group: group, namespaces: ["/", "/chat/:room"])
        try await waitUntil("Switchyard subscribes to the request channel of /") { (try? await node.serverCount()) == 2 }
        #expect(try await node.serverCount("/chat/lobby") == 0)
        let client = try await switchyard.client("/chat/lobby")
        try await waitUntil("a namespace created on demand is listened on") { (try? await node.serverCount("/chat/lobby")) == 1 }
        await client.close()
        try await waitUntil("a dropped namespace is no longer listened on") { (try? await node.serverCount("/chat/lobby")) == 0 }
        #expect(try await node.serverCount() == 2)
        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    @Test("FETCH_SOCKETS, SOCKETS and ALL_ROOMS from a socket.io node are answered exactly once, with data and handshake")
    func fetchFromNode() async throws {
        let (redis, node, switchyard) = try await mixedCluster()
        let client = try await switchyard.client()
        _ = try await client.emitWithAck("join", ["lobby"])
        let socket = try #require(switchyard.namespace().socket(id: client.sid))
        socket.data = ["user": "ada", "since": 3]

        // lib/index.ts fetchSockets(): JSON.stringify({uid, requestId, type, opts: {rooms, except}}).
        try await node.publish(
            json: #"{"uid":"n0de01","requestId":"req001","type":5,"opts":{"rooms":["lobby"],"except":[]}}"#, to: "socket.io-request#/#")
        let answer = try decodeJSON(try await node.next(on: Self.specific))
        #expect(answer["requestId"] == "req001")
        let sockets = try #require(answer["sockets"]?.arrayValue)
        #expect(sockets.count == 1)
        #expect(sockets.first?["id"] == .string(client.sid))
        #expect(Set(sockets.first?["rooms"]?.arrayValue ?? []) == [.string(client.sid), "lobby"])
        #expect(sockets.first?["data"] == ["user": "ada", "since": 3])
        let handshake = try #require(sockets.first?["handshake"])
        #expect(handshake["url"]?.stringValue?.hasPrefix("/socket.io/?EIO=4") == true)
        #expect(handshake["address"] == "127.0.0.1")
        #expect(handshake["secure"] == false)
        #expect(handshake["xdomain"] == false)
        #expect(handshake["auth"] == .object([:]))
        #expect(handshake["query"]?["EIO"] == "4")
        #expect(handshake["headers"]?["host"] != nil)
        #expect(handshake["issued"]?.intValue.map { $0 > 1_700_000_000_000 } == true)
        #expect(handshake["time"]?.stringValue?.hasSuffix("GMT+0000 (Coordinated Universal Time)") == true)

        // The next message on the channel is the next answer: the first came once.
        try await node.publish(json: #"{"uid":"n0de01","requestId":"req002","type":1}"#, to: "socket.io-request#/#")
        let rooms = try decodeJSON(try await node.next(on: Self.specific))
        #expect(rooms["requestId"] == "req002")
        #expect(rooms["rooms"]?.arrayValue?.contains("lobby") == true)
        try await node.publish(json: #"{"uid":"n0de01","requestId":"req003","type":0,"rooms":["lobby"]}"#, to: "socket.io-request#/#")
        let ids = try decodeJSON(try await node.next(on: Self.specific))
        #expect(ids["requestId"] == "req003")
        #expect(ids["sockets"] == [.string(client.sid)])

        await client.close()
        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    @Test("A server-side emit from a socket.io node reaches the handler with every argument; with an ack, one answer")
    func serverSideEmitFromNode() async throws {
        let (redis, node, switchyard) = try await mixedCluster()
        let seen = NIOLockedValueBox<[[JSONValue]]>([])
        switchyard.backplane.onServerSideEmit("compute") { arguments in
            seen.withLockedValue { $0.append(arguments) }
            return .array([.string("done")] + arguments)
        }

        // serverSideEmit(packet) without an ack: {uid, type: 6, data}.
        try await node.publish(json: #"{"uid":"n0de01","type":6,"data":["compute",1,"two",{"three":3}]}"#, to: "socket.io-request#/#")
        // with an ack: {uid, requestId, type: 6, data}; the answer is {type: 6, requestId, data}.
        try await node.publish(json: #"{"uid":"n0de01","requestId":"req010","type":6,"data":["compute",[4]]}"#, to: "socket.io-request#/#")
        let answer = try decodeJSON(try await node.next(on: Self.specific))
        #expect(answer["type"] == 6)
        #expect(answer["requestId"] == "req010")
        #expect(answer["data"] == ["done", [4]])
        #expect(seen.withLockedValue { $0 } == [[1, "two", ["three": 3]], [[4]]])

        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    @Test("A broadcast with acks from a socket.io node reaches the clients; the count and each ack go back")
    func broadcastWithAckFromNode() async throws {
        let (redis, node, switchyard) = try await mixedCluster()
        let member = try await switchyard.client()
        let other = try await switchyard.client()
        _ = try await member.emitWithAck("join", ["lobby"])
        member.acknowledge("question", with: ["yes", ["n": 1]])

        // broadcastWithAck(): notepack.encode({uid, requestId, type: 7, packet, opts}); the
        // packet as socket.io builds it ({type, data, nsp, id}) with a Date argument
        // (notepack.io 3: timestamp extension d6 ff) and opts.flags.timeout.
        let request = MessagePackValue.object([
            ("uid", .string("n0de01")), ("requestId", .string("req020")), ("type", .int(7)),
            (
                "packet",
                .object([
                    ("type", .int(2)),
                    ("data", .array([.string("question"), .string("x"), .extended(type: -1, data: ByteBuffer(bytes: [0x39, 0x45, 0x79, 0x80]))])),
                    ("nsp", .string("/")), ("id", .int(5)),
                ])
            ),
            ("opts", .object([("rooms", .array([.string("lobby")])), ("except", .array([])), ("flags", .object([("timeout", .int(2000))]))])),
        ])
        try await node.publish(request.encoded(), to: "socket.io-request#/#")

        let event = try await member.nextEvent()
        #expect(event.name == "question")
        #expect(event.arguments == ["x", "2000-06-13T00:00:00.000Z"])
        let count = try await node.next(on: Self.specific)
        #expect(try decodeJSON(count)["type"] == 8)
        #expect(try decodeJSON(count)["requestId"] == "req020")
        #expect(try decodeJSON(count)["clientCount"] == 1)
        let ack = try await node.next(on: Self.specific)
        // {type: 9, requestId, packet: first argument}, MessagePack.
        #expect(
            Array(ack.payload.readableBytesView)
                == Array(
                    MessagePackValue.object([("type", .int(9)), ("requestId", .string("req020")), ("packet", .string("yes"))]).encoded().readableBytesView))

        // The non-member got nothing: its next event is a later broadcast.
        switchyard.namespace().broadcast.emit("marker")
        #expect(try await other.nextEvent().name == "marker")
        await member.close()
        await other.close()
        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    @Test("A broadcast-with-acks request that cannot be read is counted as malformed and reaches nobody")
    func malformedBroadcastWithAck() async throws {
        let (redis, node, switchyard) = try await mixedCluster()
        let member = try await switchyard.client()
        let before = switchyard.backplane.status.malformed
        // Not MessagePack (0xc1 is never used), a MessagePack map without a requestId, JSON without a packet.
        let noRequestID = MessagePackValue.object([("uid", .string("n0de01")), ("type", .int(7))]).encoded()
        for payload in [ByteBuffer(bytes: [0xc1, 0x00]), noRequestID, ByteBuffer(string: #"{"type":7,"requestId":"r1"}"#)] {
            try await node.publish(payload, to: "socket.io-request#/#")
        }
        // A well-formed request on the same channel after them (handled in order) is the
        // first thing the client sees; by then all three were counted.
        let valid = MessagePackValue.object([
            ("uid", .string("n0de01")), ("requestId", .string("req021")), ("type", .int(7)),
            ("packet", .object([("type", .int(2)), ("data", .array([.string("after")])), ("nsp", .string("/")), ("id", .int(6))])),
            ("opts", .object([("rooms", .array([])), ("except", .array([])), ("flags", .object([("timeout", .int(100))]))])),
        ])
        try await node.publish(valid.encoded(), to: "socket.io-request#/#")
        #expect(try await member.nextEvent().name == "after")
        #expect(switchyard.backplane.status.malformed == before + 3)
        await member.close()
        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    @Test("Switchyard's fetchSockets and allRooms wait for the socket.io node's answers on the shared channel and merge them")
    func nodeAnswersSwitchyard() async throws {
        let (redis, node, switchyard) = try await mixedCluster()
        let local = try await switchyard.client()

        let fetch = Task { await switchyard.backplane.fetchSockets(namespace: "/") }
        let request = try decodeJSON(try await node.next(on: "socket.io-request#/#"))
        #expect(request["type"] == 5)
        #expect(request["uid"] == .string(switchyard.backplane.uid))
        #expect(request["opts"] == ["rooms": [], "except": []])
        let requestID = try #require(request["requestId"]?.stringValue)
        // The adapter's answer: JSON.stringify({requestId, sockets: [{id, handshake, rooms, data}]})
        // on the shared response channel, and no uid.
        try await node.publish(
            json: #"{"requestId":"\#(requestID)","sockets":[{"id":"js-socket","handshake":{"auth":{}},"rooms":["js-socket","red"],"data":{"from":"node"}}]}"#,
            to: "socket.io-response#/#")
        let result = await fetch.value
        #expect(result.isComplete)
        #expect(Set(result.value.map(\.id)) == [local.sid, "js-socket"])
        let remote = try #require(result.value.first { $0.id == "js-socket" })
        #expect(remote.data == ["from": "node"])
        #expect(remote.rooms == ["js-socket", "red"])
        #expect(remote.node == nil)

        let rooms = Task { await switchyard.backplane.allRooms(namespace: "/") }
        let roomsRequest = try decodeJSON(try await node.next(on: "socket.io-request#/#"))
        #expect(roomsRequest["type"] == 1)
        try await node.publish(
            json: #"{"requestId":"\#(roomsRequest["requestId"]?.stringValue ?? "")","rooms":["red","blue"]}"#, to: "socket.io-response#/#")
        let allRooms = await rooms.value
        #expect(allRooms.isComplete)
        #expect(allRooms.value.isSuperset(of: ["red", "blue"]))

        await local.close()
        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    @Test("A socket.io node that does not answer is reported missing when the request times out")
    func silentNode() async throws {
        let (redis, node, switchyard) = try await mixedCluster { $0.requestTimeout = .milliseconds(300) }
        let result = await switchyard.backplane.allRooms(namespace: "/")
        #expect(result.missingNodes == ["socket.io node"])
        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    // MARK: - Sharded mode (createShardedAdapter, Redis 7 SSUBSCRIBE/SPUBLISH)

    @Test("Sharded: SHARDNUMSUB counts Switchyard; broadcasts cross both ways in ClusterAdapter messages")
    func shardedBroadcasts() async throws {
        let (redis, node, switchyard) = try await mixedCluster(sharded: true)
        let member = try await switchyard.client()
        let other = try await switchyard.client()
        _ = try await member.emitWithAck("join", ["lobby"])

        // ClusterAdapter.broadcast → publishAndReturnOffset: {type: 3, data: {packet, opts}, uid, nsp}.
        try await node.publish(
            json: #"{"type":3,"data":{"packet":{"type":2,"data":["hello","world"],"nsp":"/"},"opts":{"rooms":["lobby"],"except":[]}},"uid":"n0de01","nsp":"/"}"#,
            to: "socket.io#/#")
        try await expectEvent(member, "hello", ["world"])
        switchyard.namespace().broadcast.emit("marker")
        try await expectEvent(other, "marker")

        let marker = try await node.nextFromOthers(on: "socket.io#/#")
        #expect(String(buffer: marker.payload).hasPrefix(#"{"type":3,"data":{"packet":{"type":2,"data":["marker"],"nsp":"/"}"#))
        switchyard.namespace().to("lobby").emit("news", ["x"])
        let published = try await node.nextFromOthers(on: "socket.io#/#")
        #expect(
            String(buffer: published.payload)
                == #"{"type":3,"data":{"packet":{"type":2,"data":["news","x"],"nsp":"/"},"opts":{"rooms":["lobby"],"except":[],"flags":{}}},"uid":"\#(switchyard.backplane.uid)","nsp":"/"}"#
        )
        await member.close()
        await other.close()
        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    @Test("Sharded: FETCH_SOCKETS and SERVER_SIDE_EMIT from a socket.io node are answered once on its response channel")
    func shardedRequestsFromNode() async throws {
        let (redis, node, switchyard) = try await mixedCluster(sharded: true)
        let client = try await switchyard.client()
        switchyard.namespace().socket(id: client.sid)?.data = ["user": "ada"]
        switchyard.backplane.onServerSideEmit("compute") { arguments in .array(arguments) }

        try await node.publish(
            json: #"{"type":7,"data":{"opts":{"rooms":[],"except":[]},"requestId":"f1"},"uid":"n0de01","nsp":"/"}"#, to: "socket.io#/#")
        let answer = try decodeJSON(try await node.next(on: "socket.io#/#n0de01#"))
        #expect(answer["type"] == 8)
        #expect(answer["uid"] == .string(switchyard.backplane.uid))
        #expect(answer["nsp"] == "/")
        #expect(answer["data"]?["requestId"] == "f1")
        #expect(answer["data"]?["sockets"]?[0]?["id"] == .string(client.sid))
        #expect(answer["data"]?["sockets"]?[0]?["data"] == ["user": "ada"])

        try await node.publish(
            json: #"{"type":9,"data":{"requestId":"s1","packet":["compute",1,{"two":2}]},"uid":"n0de01","nsp":"/"}"#, to: "socket.io#/#")
        let emitted = try decodeJSON(try await node.next(on: "socket.io#/#n0de01#"))
        #expect(emitted["type"] == 10)
        #expect(emitted["data"] == ["requestId": "s1", "packet": [1, ["two": 2]]])
        await client.close()
        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    @Test("Sharded: a room with a member here is listened on, where the dynamic subscription mode publishes its broadcasts")
    func shardedRoomChannels() async throws {
        let (redis, node, switchyard) = try await mixedCluster(sharded: true)
        let member = try await switchyard.client()
        _ = try await member.emitWithAck("join", ["lobby"])
        try await waitUntil("the room channel is listened on") { (try? await node.shardSubscribers("socket.io#/#lobby#")) == 1 }
        #expect(try await node.shardSubscribers("socket.io#/#\(member.sid)#") == 0)  // a socket's own room is not a channel
        // sharded-adapter.ts computeChannel: one public room, no ack → the room's channel.
        try await node.publish(
            json: #"{"type":3,"data":{"packet":{"type":2,"data":["hello","room"],"nsp":"/"},"opts":{"rooms":["lobby"],"except":[]}},"uid":"n0de01","nsp":"/"}"#,
            to: "socket.io#/#lobby#")
        try await expectEvent(member, "hello", ["room"])
        _ = try await member.emitWithAck("leave", ["lobby"])
        try await waitUntil("an empty room is no longer listened on") { (try? await node.shardSubscribers("socket.io#/#lobby#")) == 0 }
        await member.close()
        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    @Test("Sharded: a broadcast with acks from a socket.io node gets the client count and each ack on its response channel")
    func shardedBroadcastWithAck() async throws {
        let (redis, node, switchyard) = try await mixedCluster(sharded: true)
        let client = try await switchyard.client()
        client.acknowledge("question", with: ["yes"])
        // ClusterAdapter.broadcastWithAck: {type: 3, data: {packet, requestId, opts}, uid, nsp}.
        try await node.publish(
            json: #"{"type":3,"data":{"packet":{"type":2,"data":["question","x"],"nsp":"/","id":3},"requestId":"b1","opts":{"rooms":[],"except":[],"flags":{"timeout":2000}}},"uid":"n0de01","nsp":"/"}"#,
            to: "socket.io#/#")
        try await expectEvent(client, "question", ["x"])
        let count = try decodeJSON(try await node.next(on: "socket.io#/#n0de01#"))
        #expect(count["type"] == 11)
        #expect(count["data"] == ["requestId": "b1", "clientCount": 1])
        let ack = try decodeJSON(try await node.next(on: "socket.io#/#n0de01#"))
        #expect(ack["type"] == 12)
        #expect(ack["data"] == ["requestId": "b1", "packet": "yes"])
        await client.close()
        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    @Test("Sharded: Switchyard's fetchSockets waits for the socket.io node's FETCH_SOCKETS_RESPONSE and merges it")
    func shardedFetchFromSwitchyard() async throws {
        let (redis, node, switchyard) = try await mixedCluster(sharded: true)
        let fetch = Task { await switchyard.backplane.fetchSockets(namespace: "/") }
        let request = try decodeJSON(try await node.next(on: "socket.io#/#"))
        #expect(request["type"] == 7)
        let requestID = try #require(request["data"]?["requestId"]?.stringValue)
        try await node.publish(
            json: #"{"type":8,"data":{"requestId":"\#(requestID)","sockets":[{"id":"js","handshake":{},"rooms":["js"],"data":{"n":1}}]},"uid":"n0de01","nsp":"/"}"#,
            to: "socket.io#/#\(switchyard.backplane.uid)#")
        let result = await fetch.value
        #expect(result.isComplete)
        #expect(result.value.map(\.id) == ["js"])
        #expect(result.value.first?.data == ["n": 1])
        await switchyard.stop()
        await node.close()
        redis.kill()
    }

    private func expectEvent(_ client: WebSocketSocketIOClient, _ name: String, _ arguments: [JSONValue]? = nil) async throws {
        let event = try await client.nextEvent()
        #expect(event.name == name)
        if let arguments { #expect(event.arguments == arguments) }
    }
}
