import NIOCore
import SocketIO
import SwitchyardJSON
import SwitchyardMessagePack
import Testing

@testable import SwitchyardRedis

@Suite("Redis configuration")
struct RedisConfigurationTests {
    @Test("A URL gives host, port, credentials and database")
    func parsesURLs() throws {
        let full = try RedisConfiguration(url: "redis://alice:s%40cret@redis.local:6380/3")
        #expect(full.host == "redis.local")
        #expect(full.port == 6380)
        #expect(full.username == "alice")
        #expect(full.password == "s@cret")
        #expect(full.database == 3)
        #expect(full.redactedURL == "redis://alice:***@redis.local:6380/3")

        let passwordOnly = try RedisConfiguration(url: "redis://:pw@10.0.0.1")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "pw")
        #expect(passwordOnly.port == 6379)
        #expect(passwordOnly.database == 0)

        let ipv6 = try RedisConfiguration(url: "redis://[::1]:7000/1")
        #expect(ipv6.host == "::1")
        #expect(ipv6.port == 7000)
    }

    @Test("Bad URLs are refused with a reason")
    func refusesBadURLs() {
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: "http://x") }
        #expect(throws: RedisConfigurationError.unsupported("TLS (rediss://) is not supported")) {
            try RedisConfiguration(url: "rediss://x")
        }
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: "redis://x:99999") }
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: "redis://x/db") }
    }

    @Test("Backoff doubles up to the maximum and jitter only shortens it")
    func backoff() {
        let backoff = RedisReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0.5)
        #expect(backoff.delay(attempt: 0, random: 0) == .milliseconds(100))
        #expect(backoff.delay(attempt: 1, random: 0) == .milliseconds(200))
        #expect(backoff.delay(attempt: 3, random: 0) == .milliseconds(800))
        #expect(backoff.delay(attempt: 4, random: 0) == .seconds(1))
        #expect(backoff.delay(attempt: 60, random: 0) == .seconds(1))
        #expect(backoff.delay(attempt: 1, random: 1) == .milliseconds(100))
    }
}

@Suite("Bounded queues and cluster membership")
struct ClusterStateTests {
    @Test("The outbound queue drops past its count and byte limits and counts the drops")
    func outboundQueueLimits() {
        var queue = RedisOutboundQueue<Int>(maxCommands: 3, maxBytes: 10)
        let results = [
            queue.enqueue(ByteBuffer(string: "1234"), token: 1),
            queue.enqueue(ByteBuffer(string: "1234"), token: 2),
            queue.enqueue(ByteBuffer(string: "123"), token: 3),  // 11 bytes
            queue.enqueue(ByteBuffer(string: "12"), token: 4),
            queue.enqueue(ByteBuffer(string: ""), token: 5),  // a 4th command
        ]
        #expect(results == [.accepted, .accepted, .dropped, .accepted, .dropped])
        #expect(queue.droppedCount == 2)
        let firstTwo = queue.dequeue(upTo: 2).map(\.token)
        #expect(firstTwo == [1, 2])
        #expect(queue.bytes == 2)
        let rest = queue.removeAll().map(\.token)
        #expect(rest == [4])
    }

    @Test("A node expires after silence longer than the expiry and a goodbye removes it")
    func nodeTable() {
        var table = ClusterNodeTable(expiry: .seconds(15))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let first = table.heartbeat(from: "a", at: start)
        let again = table.heartbeat(from: "a", at: start + .seconds(5))
        #expect(first && !again)
        table.heartbeat(from: "b", at: start)
        let expired = table.expire(now: start + .seconds(16))
        #expect(expired == ["b"])
        #expect(table.alive == ["a"])
        let left = table.left("a")
        #expect(left)
        #expect(table.alive.isEmpty)
    }

    @Test("A request finishes when every awaited node answered or died")
    func requestTable() {
        var table = ClusterRequestTable<String>()
        table.add(id: "r1", waitingFor: ["a", "b", "c"], completion: "done")
        let afterA = table.received(ClusterResponse(node: "a", body: [:]), for: "r1")
        let afterAnonymous = table.received(ClusterResponse(node: nil, body: [:]), for: "r1")
        let afterCDied = table.nodeGone("c")
        #expect(afterA == nil && afterAnonymous == nil && afterCDied.isEmpty)
        let finished = table.received(ClusterResponse(node: "b", body: [:]), for: "r1")
        #expect(finished?.responses.count == 3)
        #expect(table.pending.isEmpty)

        table.add(id: "r2", waitingFor: ["x"], completion: "done")
        let gone = table.nodeGone("x")
        #expect(gone.count == 1)
        #expect(table.pending.isEmpty)
    }
}

@Suite("Wire format of the socket.io Redis adapter")
struct WireFormatTests {
    /// `new Emitter(redis).to("room1").emit("hello", "world")`, as notepack.io encodes it.
    static let emitterBytes: [UInt8] =
        [0x93, 0xa7] + Array("emitter".utf8)
        + [0x83, 0xa4] + Array("type".utf8) + [0x02]
        + [0xa4] + Array("data".utf8) + [0x92, 0xa5] + Array("hello".utf8) + [0xa5] + Array("world".utf8)
        + [0xa3] + Array("nsp".utf8) + [0xa1, 0x2f]
        + [0x83, 0xa5] + Array("rooms".utf8) + [0x91, 0xa5] + Array("room1".utf8)
        + [0xa5] + Array("flags".utf8) + [0x80]
        + [0xa6] + Array("except".utf8) + [0x90]

    @Test("An emitter's broadcast decodes to its event, rooms and namespace")
    func decodesEmitterBroadcast() throws {
        let broadcast = try #require(try ClusterBroadcast(decoding: ByteBuffer(bytes: Self.emitterBytes)))
        #expect(broadcast.uid == "emitter")
        #expect(broadcast.namespace == "/")
        #expect(broadcast.event == "hello")
        #expect(broadcast.arguments.values() == ["world"])
        #expect(broadcast.rooms == ["room1"])
        #expect(broadcast.except.isEmpty)
    }

    @Test("A broadcast is encoded as [uid, {type, data, nsp}, {rooms, except, flags}]")
    func encodesBroadcast() throws {
        let broadcast = ClusterBroadcast(
            uid: "abc", namespace: "/chat", event: "msg", arguments: SocketIOArguments([1]), rooms: ["r"], except: ["s"])
        let expected: [UInt8] =
            [0x93, 0xa3] + Array("abc".utf8)
            + [0x83, 0xa4] + Array("type".utf8) + [0x02]
            + [0xa4] + Array("data".utf8) + [0x92, 0xa3] + Array("msg".utf8) + [0x01]
            + [0xa3] + Array("nsp".utf8) + [0xa5] + Array("/chat".utf8)
            + [0x83, 0xa5] + Array("rooms".utf8) + [0x91, 0xa1] + Array("r".utf8)
            + [0xa6] + Array("except".utf8) + [0x91, 0xa1] + Array("s".utf8)
            + [0xa5] + Array("flags".utf8) + [0x80]
        #expect(Array(broadcast.encoded().readableBytesView) == expected)
    }

    @Test("Connection state recovery: the publisher's offset travels in flags.offset; other publishers send none")
    func offsetInFlags() throws {
        let broadcast = ClusterBroadcast(uid: "abc", namespace: "/", event: "m", arguments: SocketIOArguments(), offset: "ep-1f")
        let packed = try MessagePackValue(decoding: broadcast.encoded())
        #expect(packed.arrayValue?[2]["flags"] == .object([("offset", .string("ep-1f"))]))
        #expect(packed.arrayValue?[1]["data"] == .array([.string("m")]), "the offset is not an argument on the wire between nodes")
        #expect(try ClusterBroadcast(decoding: broadcast.encoded())?.offset == "ep-1f")
        #expect(try ClusterBroadcast(decoding: ByteBuffer(bytes: Self.emitterBytes))?.offset == nil)
    }

    @Test("Recoverable sessions in Redis: encoded as JSON and read back as another node's")
    func sessionJSON() throws {
        var session = SocketIOPersistedSession(
            sid: "s", pid: "p", namespace: "/chat", rooms: ["s", "r"], disconnectedAt: 1_700_000_000_123, lastOffset: "e-2", firstSequence: 9,
            userInfo: "not sent")
        session.epoch = "e"
        session.lastBroadcastOffset = "x-1"
        session.emitBoundaries = ["e-2": "x-1", "e-1": ""]
        let text = RedisBackplane.encode(session)
        #expect(
            text
                == #"{"sid":"s","pid":"p","namespace":"/chat","rooms":["s","r"],"disconnectedAt":1700000000123,"lastOffset":"e-2","epoch":"e","lastBroadcastOffset":"x-1","emitBoundaries":{"e-1":"","e-2":"x-1"}}"#
        )
        let back = try #require(RedisBackplane.decode(ByteBuffer(string: text)))
        #expect(back.sid == "s" && back.pid == "p" && back.namespace == "/chat" && back.rooms == ["s", "r"])
        #expect(back.disconnectedAt == 1_700_000_000_123 && back.lastOffset == "e-2" && back.epoch == "e" && back.lastBroadcastOffset == "x-1")
        #expect(back.emitBoundaries == ["e-2": "x-1", "e-1": ""])
        #expect(back.fromSnapshot && back.userInfo == nil)
        #expect(RedisBackplane.decode(ByteBuffer(string: #"{"sid":"s"}"#)) == nil)
        #expect(RedisBackplane.decode(ByteBuffer(string: "not json")) == nil)
    }

    @Test("Binary attachments travel inline as bin and come back as placeholders")
    func binaryRoundTrip() throws {
        let file = ByteBuffer(bytes: [1, 2, 3])
        let arguments = try SocketIOArguments(jsonElements: #"{"_placeholder":true,"num":0},"x""#)
        var withAttachment = arguments
        withAttachment.attachments = [file]
        let encoded = ClusterBroadcast(uid: "u", namespace: "/", event: "upload", arguments: withAttachment).encoded()
        let packed = try MessagePackValue(decoding: encoded)
        #expect(packed.arrayValue?[1]["data"]?.arrayValue?[1] == .binary(file))
        let decoded = try #require(try ClusterBroadcast(decoding: encoded))
        #expect(decoded.arguments.attachments == [file])
        #expect(decoded.arguments.value(at: 0) == ["_placeholder": true, "num": 0])
    }

    @Test("Packets that are not events are ignored, garbage is an error")
    func nonEvents() throws {
        let ack = MessagePackValue.array([
            .string("u"), .object([("type", .int(3)), ("data", .array([])), ("nsp", .string("/"))]), .map([]),
        ])
        #expect(try ClusterBroadcast(decoding: ack.encoded()) == nil)
        #expect(throws: ClusterMessageError.self) { try ClusterBroadcast(decoding: ByteBuffer(bytes: [0xc1])) }
    }

    @Test("Channel names follow the adapter, with a configurable prefix")
    func channels() {
        let channels = RedisChannels(key: "app")
        #expect(channels.broadcast(namespace: "/") == "app#/#")
        #expect(channels.broadcast(namespace: "/chat", room: "lobby") == "app#/chat#lobby#")
        #expect(channels.request(namespace: "/") == "app-request#/#")
        #expect(channels.response(namespace: "/", uid: "u1") == "app-response#/#u1#")
        #expect(channels.namespace(ofRequestChannel: "app-request#/chat#") == "/chat")
        #expect(RedisChannels(key: "a*b").broadcastPattern == "a\\*b#*")
    }
}
