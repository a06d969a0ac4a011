import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import SwitchyardRedis

@Suite("Redis client against a real redis-server", .serialized)
struct RedisClientTests {
    let group = MultiThreadedEventLoopGroup.singleton
    let logger = Logger(label: "test.redis")

    private func fastConfiguration(_ url: String) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: url)
        configuration.reconnectBackoff = RedisReconnectBackoff(initial: .milliseconds(20), maximum: .milliseconds(200))
        configuration.connectTimeout = .seconds(1)
        configuration.commandTimeout = .seconds(1)
        configuration.healthCheckInterval = .milliseconds(100)
        return configuration
    }

    @Test("Pipelined commands get their replies in order")
    func pipelining() async throws {
        let redis = try await RedisServerProcess.start()
        let client = RedisClient(configuration: try fastConfiguration(redis.url), role: .commands, eventLoop: group.next(), logger: logger)
        try await client.connect().get()
        let futures = (0..<500).map { index in client.send(["SET", .string("k\(index)"), .string("v\(index)")]) }
        for future in futures { #expect(try await future.get() == .simpleString("OK")) }
        let gets = (0..<500).map { index in client.send(["GET", .string("k\(index)")]) }
        for (index, future) in gets.enumerated() { #expect(try await future.get().string == "v\(index)") }
        await #expect(throws: RedisClientError.server("ERR unknown command 'NOPE', with args beginning with: ")) {
            try await client.send(["NOPE"]).get()
        }
        try await client.close().get()
    }

    @Test("AUTH with a password, with a user and password, and SELECT of a database")
    func authenticationAndDatabase() async throws {
        let redis = try await RedisServerProcess.start(extraArguments: [
            "--requirepass", "pw", "--user", "alice", "on", ">alicepw", "~*", "&*", "+@all",
        ])
        let withPassword = RedisClient(
            configuration: try fastConfiguration("redis://:pw@127.0.0.1:\(redis.port)/2"), role: .commands, eventLoop: group.next(),
            logger: logger)
        try await withPassword.connect().get()
        _ = try await withPassword.send(["SET", "where", "db2"]).get()
        let user = RedisClient(
            configuration: try fastConfiguration("redis://alice:alicepw@127.0.0.1:\(redis.port)/2"), role: .commands,
            eventLoop: group.next(), logger: logger)
        try await user.connect().get()
        #expect(try await user.send(["GET", "where"]).get().string == "db2")
        #expect(try await user.send(["ACL", "WHOAMI"]).get().string == "alice")
        let db0 = RedisClient(
            configuration: try fastConfiguration("redis://:pw@127.0.0.1:\(redis.port)"), role: .commands, eventLoop: group.next(),
            logger: logger)
        try await db0.connect().get()
        #expect(try await db0.send(["GET", "where"]).get() == .null)

        let wrong = RedisClient(
            configuration: try fastConfiguration("redis://:nope@127.0.0.1:\(redis.port)"), role: .commands, eventLoop: group.next(),
            logger: logger)
        do {
            try await wrong.connect().get()
            Issue.record("a wrong password connected")
        } catch let error as RedisClientError {
            guard case .handshakeFailed(let message) = error else { throw error }
            #expect(message.hasPrefix("AUTH: WRONGPASS"))
        }
        for client in [withPassword, user, db0, wrong] { try await client.close().get() }
    }

    @Test("An unreachable server fails the first connect with a clear error")
    func unreachable() async throws {
        let port = try RedisServerProcess.freePort()
        let client = RedisClient(
            configuration: try fastConfiguration("redis://127.0.0.1:\(port)"), role: .commands, eventLoop: group.next(), logger: logger)
        do {
            try await client.connect().get()
            Issue.record("connected to nothing")
        } catch let error as RedisClientError {
            guard case .connectionFailed(let reason) = error else { throw error }
            #expect(reason.lowercased().contains("refused"))
        }
        try await client.close().get()
    }

    @Test("A subscriber gets messages, and resubscribes after Redis restarts")
    func subscribeAndResubscribe() async throws {
        let redis = try await RedisServerProcess.start()
        let received = NIOLockedValueBox<[String]>([])
        let events = NIOLockedValueBox<[RedisClientEvent]>([])
        let subscriber = RedisClient(
            configuration: try fastConfiguration(redis.url), role: .subscriber, eventLoop: group.next(), logger: logger,
            onEvent: { event in events.withLockedValue { $0.append(event) } },
            onMessage: { message in
                received.withLockedValue { $0.append("\(message.pattern ?? "-") \(message.channel) \(String(buffer: message.payload))") }
            }
        )
        subscriber.subscribe(channels: ["plain"], patterns: ["pat*"])
        try await subscriber.connect().get()
        let publisher = RedisClient(
            configuration: try fastConfiguration(redis.url), role: .commands, eventLoop: group.next(), logger: logger)
        try await publisher.connect().get()
        #expect(try await publisher.send(["PUBLISH", "plain", "one"]).get() == .integer(1))
        #expect(try await publisher.send(["PUBLISH", "pattern", "two"]).get() == .integer(1))
        try await waitUntil("two messages") { received.withLockedValue { $0.count == 2 } }
        #expect(received.withLockedValue { $0 } == ["- plain one", "pat* pattern two"])

        redis.kill()
        try await waitUntil("the subscriber notices") {
            events.withLockedValue { $0.contains { if case .lost = $0 { return true } else { return false } } }
        }
        try await redis.start()
        try await waitUntil("both reconnected", timeout: .seconds(10)) {
            subscriber.statistics.isReady && publisher.statistics.isReady
        }
        #expect(try await publisher.send(["PUBLISH", "plain", "three"]).get() == .integer(1))
        try await waitUntil("the message after the restart") { received.withLockedValue { $0.last == "- plain three" } }
        #expect(subscriber.statistics.reconnections >= 1)
        try await subscriber.close().get()
        try await publisher.close().get()
    }

    @Test("A paused Redis costs bounded memory: the overflow is dropped and counted, then it recovers")
    func pausedRedisIsBounded() async throws {
        let redis = try await RedisServerProcess.start()
        var configuration = try fastConfiguration(redis.url)
        configuration.maxInFlight = 64
        configuration.maxBufferedCommands = 1000
        configuration.maxBufferedBytes = 1 << 20
        let client = RedisClient(configuration: configuration, role: .commands, eventLoop: group.next(), logger: logger)
        try await client.connect().get()
        redis.pause()
        let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: 512)
        var accepted = 0
        for _ in 0..<20_000 where client.publish(payload, to: "void") { accepted += 1 }
        try await waitUntil("the pipeline fills") { client.statistics.inFlight > 0 || client.statistics.buffered > 0 }
        let statistics = client.statistics
        #expect(statistics.buffered <= 1000)
        #expect(statistics.bufferedBytes <= 1 << 20)
        #expect(statistics.inFlight <= 64)
        #expect(statistics.commandsDropped >= UInt64(20_000 - 1000 - 64))
        #expect(accepted <= 1000 + 64)
        // Redis never answers: the client gives up on the connection and keeps retrying.
        try await waitUntil("the stall is detected") { !client.statistics.isReady }
        redis.resume()
        try await waitUntil("reconnected after the pause", timeout: .seconds(15)) { client.statistics.isReady }
        #expect(try await client.send(["PING"]).get() == .simpleString("PONG"))
        try await client.close().get()
    }
}
