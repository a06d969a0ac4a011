import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Why a Redis command or connection failed.
public enum RedisClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// TCP connection refused, unreachable or timed out.
    case connectionFailed(String)
    /// Redis refused AUTH or SELECT.
    case handshakeFailed(String)
    /// Redis did not answer in time (connect timeout or command timeout).
    case timeout(String)
    /// The connection dropped with the command unanswered (it may or may not have run).
    case connectionLost
    /// The outbound buffer was full; the command was never sent.
    case dropped
    /// The client was closed.
    case closed
    /// Redis answered with an error reply.
    case server(String)
    /// The reply stream was malformed.
    case protocolError(String)

    public var description: String {
        switch self {
        case .connectionFailed(let reason): return "cannot connect to Redis: \(reason)"
        case .handshakeFailed(let reason): return "Redis refused the connection setup: \(reason)"
        case .timeout(let what): return "Redis timed out: \(what)"
        case .connectionLost: return "the Redis connection was lost"
        case .dropped: return "the Redis outbound buffer is full; command dropped"
        case .closed: return "the Redis client is closed"
        case .server(let message): return "Redis error: \(message)"
        case .protocolError(let message): return "Redis protocol error: \(message)"
        }
    }
}

/// A connection state change, reported to the client's owner.
public enum RedisClientEvent: Sendable, Hashable {
    /// Connected, authenticated and (for a subscriber) subscribed.
    case ready
    /// A connection attempt failed or a live connection dropped; a reconnect is scheduled.
    case lost(RedisClientError)
}

/// A message received on a subscribed channel or pattern.
public struct RedisPubSubMessage: Sendable {
    public var channel: String
    /// The pattern that matched, for a `PSUBSCRIBE`.
    public var pattern: String?
    public var payload: ByteBuffer
    /// Received through a sharded subscription (`SSUBSCRIBE`, Redis 7).
    public var isSharded: Bool = false
}

/// Counters of one client (read at any time).
public struct RedisClientStatistics: Sendable, Hashable {
    public var commandsSent: UInt64 = 0
    public var repliesReceived: UInt64 = 0
    public var messagesReceived: UInt64 = 0
    /// Commands dropped because the outbound buffer was full.
    public var commandsDropped: UInt64 = 0
    /// Successful connections after the first one.
    public var reconnections: UInt64 = 0
    /// Commands waiting to be written right now.
    public var buffered: Int = 0
    public var bufferedBytes: Int = 0
    /// Commands written and unanswered right now.
    public var inFlight: Int = 0
    public var isReady = false
}

/// One Redis connection on SwiftNIO, kept open: pipelined commands, or a subscriber.
///
/// Commands are encoded with `redisFormatCommandArgv` and replies parsed by hiredis's
/// reader (``RedisReplyDecoder``); the connection is never blocked on. A command may be
/// sent from any thread: it joins a bounded queue (``RedisConfiguration/maxBufferedCommands``
/// and ``RedisConfiguration/maxBufferedBytes``; overflow is dropped and counted) that is
/// written while fewer than ``RedisConfiguration/maxInFlight`` replies are outstanding.
///
/// The connection is set up with `AUTH` (password, or user and password), `SELECT` and a
/// `PING`; a subscriber then (re)issues every `SUBSCRIBE` and `PSUBSCRIBE` it was given.
/// When the connection drops, or a reply is older than
/// ``RedisConfiguration/commandTimeout`` (a paused Redis), unanswered commands fail with
/// ``RedisClientError/connectionLost`` and the client reconnects with exponential backoff
/// and jitter; queued commands wait (bounded) and are written once it is back.
///
/// ```swift
/// let client = RedisClient(configuration: config, role: .commands, eventLoop: loop, logger: logger)
/// try await client.connect().get()
/// let reply = try await client.send(["GET", "k"]).get()
/// ```
public final class RedisClient: @unchecked Sendable {
    public enum Role: String, Sendable {
        /// Request/reply commands, pipelined.
        case commands
        /// `SUBSCRIBE`/`PSUBSCRIBE`; messages go to the `onMessage` callback.
        case subscriber
    }

    public let configuration: RedisConfiguration
    public let role: Role
    public let eventLoop: EventLoop
    private let logger: Logger
    private let onEvent: @Sendable (RedisClientEvent) -> Void
    private let onMessage: @Sendable (RedisPubSubMessage) -> Void

    // MARK: Shared (lock)

    private struct Shared {
        var queue: RedisOutboundQueue<EventLoopPromise<RedisValue>?>
        var pumpScheduled = false
        var statistics = RedisClientStatistics()
        var closed = false
    }

    private let shared: NIOLockedValueBox<Shared>

    // MARK: Loop-confined

    private enum Pending {
        case command(EventLoopPromise<RedisValue>?)
        case handshake(HandshakeStep)
        case ping
    }

    private enum HandshakeStep {
        case auth, select, ping
    }

    private struct InFlight {
        var pending: Pending
        var sentAt: NIODeadline
    }

    private enum State {
        case idle
        case connecting(id: UInt64)
        case handshaking(id: UInt64, channel: Channel)
        case subscribing(id: UInt64, channel: Channel, remaining: Int)
        case ready(id: UInt64, channel: Channel)
        case backingOff
        case closed
    }

    private var state = State.idle
    private var inFlight = CircularBuffer<InFlight>()
    private var connectionCounter: UInt64 = 0
    private var attempt = 0
    private var everReady = false
    private var reconnectTask: Scheduled<Void>?
    private var healthTask: RepeatedTask?
    private var channels: [String] = []
    private var patterns: [String] = []
    private var shardChannels: [String] = []
    private var firstResult: EventLoopPromise<Void>?
    private var firstResultPending = false
    private var random = SystemRandomNumberGenerator()

    public init(
        configuration: RedisConfiguration,
        role: Role,
        eventLoop: EventLoop,
        logger: Logger,
        onEvent: @escaping @Sendable (RedisClientEvent) -> Void = { _ in },
        onMessage: @escaping @Sendable (RedisPubSubMessage) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.role = role
        self.eventLoop = eventLoop
        var logger = logger
        logger[metadataKey: "redis.role"] = "\(role.rawValue)"
        logger[metadataKey: "redis.url"] = "\(configuration.redactedURL)"
        self.logger = logger
        self.onEvent = onEvent
        self.onMessage = onMessage
        self.shared = NIOLockedValueBox(
            Shared(queue: RedisOutboundQueue(maxCommands: configuration.maxBufferedCommands, maxBytes: configuration.maxBufferedBytes))
        )
    }

    /// Counters and current queue depths.
    public var statistics: RedisClientStatistics {
        shared.withLockedValue { shared in
            var statistics = shared.statistics
            statistics.commandsDropped = shared.queue.droppedCount
            statistics.buffered = shared.queue.count
            statistics.bufferedBytes = shared.queue.bytes
            return statistics
        }
    }

    // MARK: - Lifecycle

    /// Starts connecting. The future completes when the first connection is ready, or fails
    /// with the first attempt's error; either way the client keeps reconnecting until
    /// ``close()``.
    public func connect() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            if let firstResult = self.firstResult { return firstResult.futureResult }
            let promise = self.eventLoop.makePromise(of: Void.self)
            self.firstResult = promise
            self.firstResultPending = true
            guard case .idle = self.state else {
                promise.fail(RedisClientError.closed)
                return promise.futureResult
            }
            self.healthTask = self.eventLoop.scheduleRepeatedTask(
                initialDelay: self.configuration.healthCheckInterval,
                delay: self.configuration.healthCheckInterval
            ) { _ in self.checkHealth() }
            self.startConnecting()
            return promise.futureResult
        }
    }

    /// Closes the connection for good; queued and unanswered commands fail with
    /// ``RedisClientError/closed``.
    public func close() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let queued = self.shared.withLockedValue { shared -> [RedisOutboundQueue<EventLoopPromise<RedisValue>?>.Entry] in
                shared.closed = true
                shared.statistics.isReady = false
                return shared.queue.removeAll()
            }
            for entry in queued { entry.token?.fail(RedisClientError.closed) }
            self.failInFlight(with: .closed)
            self.reconnectTask?.cancel()
            self.healthTask?.cancel()
            self.completeFirst(.failure(RedisClientError.closed))
            let channel = self.currentChannel
            self.state = .closed
            guard let channel else { return self.eventLoop.makeSucceededVoidFuture() }
            return channel.close().recover { _ in }
        }
    }

    // MARK: - Commands

    /// Sends a command; the future holds its reply (an error reply fails it with
    /// ``RedisClientError/server(_:)``).
    public func send(_ arguments: [RedisArgument]) -> EventLoopFuture<RedisValue> {
        let promise = eventLoop.makePromise(of: RedisValue.self)
        enqueue(RedisCommandEncoder.encode(arguments), promise: promise)
        return promise.futureResult
    }

    /// Sends a command whose reply nobody waits for (`PUBLISH`); false when it was dropped
    /// because the buffer is full.
    @discardableResult
    public func sendAndForget(_ arguments: [RedisArgument]) -> Bool {
        enqueue(RedisCommandEncoder.encode(arguments), promise: nil)
    }

    /// `PUBLISH channel message`, fire and forget; false when dropped.
    @discardableResult
    public func publish(_ message: ByteBuffer, to channel: String) -> Bool {
        sendAndForget(["PUBLISH", .string(channel), .bytes(message)])
    }

    @discardableResult
    private func enqueue(_ bytes: ByteBuffer, promise: EventLoopPromise<RedisValue>?) -> Bool {
        enum Outcome { case accepted(schedule: Bool), dropped, closed }
        let outcome = shared.withLockedValue { shared -> Outcome in
            if shared.closed { return .closed }
            guard shared.queue.enqueue(bytes, token: promise) == .accepted else { return .dropped }
            if shared.pumpScheduled { return .accepted(schedule: false) }
            shared.pumpScheduled = true
            return .accepted(schedule: true)
        }
        switch outcome {
        case .accepted(let schedule):
            if schedule { eventLoop.execute { self.pump() } }
            return true
        case .dropped:
            promise?.fail(RedisClientError.dropped)
            return false
        case .closed:
            promise?.fail(RedisClientError.closed)
            return false
        }
    }

    // MARK: - Subscriptions

    /// Subscribes to channels, patterns and sharded channels (`SSUBSCRIBE`, Redis 7, one
    /// command per channel so a Redis Cluster can route each to its slot), now and after
    /// every reconnection. Call before ``connect()`` for the first connection's readiness to
    /// include them.
    public func subscribe(channels newChannels: [String] = [], patterns newPatterns: [String] = [], shardChannels newShardChannels: [String] = []) {
        precondition(role == .subscriber, "subscribe on a command connection")
        eventLoop.execute {
            let addedChannels = newChannels.filter { !self.channels.contains($0) }
            let addedPatterns = newPatterns.filter { !self.patterns.contains($0) }
            let addedShardChannels = newShardChannels.filter { !self.shardChannels.contains($0) }
            self.channels += addedChannels
            self.patterns += addedPatterns
            self.shardChannels += addedShardChannels
            let added = addedChannels.count + addedPatterns.count + addedShardChannels.count
            switch self.state {
            case .ready(_, let channel):
                self.writeSubscriptions(channels: addedChannels, patterns: addedPatterns, shardChannels: addedShardChannels, on: channel)
            case .subscribing(let id, let channel, let remaining) where added > 0:
                // The connection's subscriptions were written without these: add them, and
                // wait for their confirmations too before calling the connection ready.
                self.state = .subscribing(id: id, channel: channel, remaining: remaining + added)
                self.writeSubscriptions(channels: addedChannels, patterns: addedPatterns, shardChannels: addedShardChannels, on: channel)
            default:
                return  // written with the others when the connection is set up
            }
        }
    }

    /// Stops listening on channels and sharded channels (now and after reconnections).
    public func unsubscribe(channels gone: [String] = [], shardChannels goneShards: [String] = []) {
        precondition(role == .subscriber, "unsubscribe on a command connection")
        eventLoop.execute {
            let removed = gone.filter { self.channels.contains($0) }
            let removedShards = goneShards.filter { self.shardChannels.contains($0) }
            self.channels.removeAll { removed.contains($0) }
            self.shardChannels.removeAll { removedShards.contains($0) }
            guard case .ready(_, let channel) = self.state, !removed.isEmpty || !removedShards.isEmpty else { return }
            if !removed.isEmpty { channel.write(RedisCommandEncoder.encode(["UNSUBSCRIBE"] + removed.map(RedisArgument.string)), promise: nil) }
            for name in removedShards { channel.write(RedisCommandEncoder.encode(["SUNSUBSCRIBE", .string(name)]), promise: nil) }
            channel.flush()
        }
    }

    // MARK: - Connection (on the loop)

    private var currentChannel: Channel? {
        switch state {
        case .handshaking(_, let channel), .subscribing(_, let channel, _), .ready(_, let channel): return channel
        default: return nil
        }
    }

    private var currentID: UInt64? {
        switch state {
        case .connecting(let id), .handshaking(let id, _), .subscribing(let id, _, _), .ready(let id, _): return id
        default: return nil
        }
    }

    private func startConnecting() {
        connectionCounter += 1
        let id = connectionCounter
        state = .connecting(id: id)
        logger.debug("connecting to Redis", metadata: ["redis.attempt": "\(attempt)"])
        ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RedisReplyDecoder()),
                        RedisClientHandler(client: self, id: id),
                    ])
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .hop(to: eventLoop)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard case .connecting(let current) = self.state, current == id else {
                        channel.close(promise: nil)
                        return
                    }
                    self.beginHandshake(id: id, channel: channel)
                case .failure(let error):
                    guard case .connecting(let current) = self.state, current == id else { return }
                    self.connectionFailed(id: id, .connectionFailed(Self.describe(error)))
                }
            }
    }

    private func beginHandshake(id: UInt64, channel: Channel) {
        state = .handshaking(id: id, channel: channel)
        let now = NIODeadline.now()
        if let password = configuration.password {
            var arguments: [RedisArgument] = ["AUTH"]
            if let username = configuration.username { arguments.append(.string(username)) }
            arguments.append(.string(password))
            write(RedisCommandEncoder.encode(arguments), pending: .handshake(.auth), on: channel, now: now)
        }
        if configuration.database != 0, role == .commands {
            write(
                RedisCommandEncoder.encode(["SELECT", .string(String(configuration.database))]), pending: .handshake(.select), on: channel,
                now: now)
        }
        write(RedisCommandEncoder.encode(["PING"]), pending: .handshake(.ping), on: channel, now: now)
        channel.flush()
        eventLoop.scheduleTask(in: configuration.connectTimeout) {
            switch self.state {
            case .handshaking(let current, _), .subscribing(let current, _, _):
                guard current == id else { return }
                self.connectionFailed(
                    id: id, .timeout("no answer to the connection setup within \(Self.describe(self.configuration.connectTimeout))"))
            default:
                return
            }
        }
    }

    private func handshakeCompleted(id: UInt64, channel: Channel) {
        guard role == .subscriber, !channels.isEmpty || !patterns.isEmpty || !shardChannels.isEmpty else {
            return becomeReady(id: id, channel: channel)
        }
        state = .subscribing(id: id, channel: channel, remaining: channels.count + patterns.count + shardChannels.count)
        writeSubscriptions(channels: channels, patterns: patterns, shardChannels: shardChannels, on: channel)
    }

    private func writeSubscriptions(channels: [String], patterns: [String], shardChannels: [String], on channel: Channel) {
        for name in shardChannels { channel.write(RedisCommandEncoder.encode(["SSUBSCRIBE", .string(name)]), promise: nil) }
        if !channels.isEmpty {
            channel.write(RedisCommandEncoder.encode(["SUBSCRIBE"] + channels.map(RedisArgument.string)), promise: nil)
        }
        if !patterns.isEmpty {
            channel.write(RedisCommandEncoder.encode(["PSUBSCRIBE"] + patterns.map(RedisArgument.string)), promise: nil)
        }
        channel.flush()
    }

    private func becomeReady(id: UInt64, channel: Channel) {
        state = .ready(id: id, channel: channel)
        attempt = 0
        let reconnected = everReady
        everReady = true
        shared.withLockedValue { shared in
            shared.statistics.isReady = true
            if reconnected { shared.statistics.reconnections &+= 1 }
        }
        logger.debug("Redis connection ready")
        onEvent(.ready)
        completeFirst(.success(()))
        pump()
    }

    /// Drops the connection (if any) and schedules the next attempt.
    private func connectionFailed(id: UInt64, _ error: RedisClientError) {
        guard currentID == id else { return }
        let channel = currentChannel
        state = .backingOff
        shared.withLockedValue { $0.statistics.isReady = false }
        failInFlight(with: .connectionLost)
        channel?.close(promise: nil)
        logger.debug("Redis connection failed", metadata: ["redis.error": "\(error)"])
        onEvent(.lost(error))
        completeFirst(.failure(error))
        var generator = random
        let delay = configuration.reconnectBackoff.delay(attempt: attempt, random: Double.random(in: 0...1, using: &generator))
        random = generator
        attempt += 1
        reconnectTask = eventLoop.scheduleTask(in: delay) {
            guard case .backingOff = self.state else { return }
            self.startConnecting()
        }
    }

    private func completeFirst(_ result: Result<Void, Error>) {
        guard firstResultPending else { return }
        firstResultPending = false
        firstResult?.completeWith(result)
    }

    private func failInFlight(with error: RedisClientError) {
        let pending = inFlight
        inFlight.removeAll()
        shared.withLockedValue { $0.statistics.inFlight = 0 }
        for entry in pending {
            if case .command(let promise) = entry.pending { promise?.fail(error) }
        }
    }

    private func write(_ bytes: ByteBuffer, pending: Pending, on channel: Channel, now: NIODeadline) {
        inFlight.append(InFlight(pending: pending, sentAt: now))
        channel.write(bytes, promise: nil)
    }

    /// Writes queued commands while the pipeline has room.
    private func pump() {
        guard case .ready(_, let channel) = state else {
            shared.withLockedValue { $0.pumpScheduled = false }
            return
        }
        let room = configuration.maxInFlight - inFlight.count
        let entries = shared.withLockedValue { shared in
            shared.pumpScheduled = false
            let entries = shared.queue.dequeue(upTo: max(0, room))
            shared.statistics.commandsSent &+= UInt64(entries.count)
            shared.statistics.inFlight = inFlight.count + entries.count
            return entries
        }
        guard !entries.isEmpty else { return }
        let now = NIODeadline.now()
        for entry in entries { write(entry.bytes, pending: .command(entry.token), on: channel, now: now) }
        channel.flush()
    }

    private func checkHealth() {
        guard let id = currentID, let channel = currentChannel else { return }
        let now = NIODeadline.now()
        if let oldest = inFlight.first, now - oldest.sentAt > configuration.commandTimeout {
            logger.debug("Redis stopped answering; reconnecting")
            return connectionFailed(id: id, .timeout("no reply within \(Self.describe(configuration.commandTimeout))"))
        }
        if case .ready = state, inFlight.isEmpty {
            write(RedisCommandEncoder.encode(["PING"]), pending: .ping, on: channel, now: now)
            channel.flush()
        }
    }

    // MARK: - From the channel handler

    fileprivate func received(_ value: RedisValue, id: UInt64) {
        guard currentID == id else { return }
        if role == .subscriber, case .array(let items) = value, let kind = items.first?.string {
            switch kind {
            case "message":
                guard items.count == 3, let channel = items[1].string, case .bulkString(let payload) = items[2] else { return }
                shared.withLockedValue { $0.statistics.messagesReceived &+= 1 }
                onMessage(RedisPubSubMessage(channel: channel, pattern: nil, payload: payload))
                return
            case "pmessage":
                guard items.count == 4, let channel = items[2].string, case .bulkString(let payload) = items[3] else { return }
                shared.withLockedValue { $0.statistics.messagesReceived &+= 1 }
                onMessage(RedisPubSubMessage(channel: channel, pattern: items[1].string, payload: payload))
                return
            case "smessage":
                guard items.count == 3, let channel = items[1].string, case .bulkString(let payload) = items[2] else { return }
                shared.withLockedValue { $0.statistics.messagesReceived &+= 1 }
                onMessage(RedisPubSubMessage(channel: channel, pattern: nil, payload: payload, isSharded: true))
                return
            case "subscribe", "psubscribe", "ssubscribe":
                if case .subscribing(let current, let channel, let remaining) = state {
                    if remaining <= 1 {
                        becomeReady(id: current, channel: channel)
                    } else {
                        state = .subscribing(id: current, channel: channel, remaining: remaining - 1)
                    }
                }
                return
            case "unsubscribe", "punsubscribe", "sunsubscribe":
                return
            default:
                break  // "pong" and anything else answers the oldest command
            }
        }
        guard !inFlight.isEmpty else {
            return connectionFailed(id: id, .protocolError("a reply nobody asked for: \(value)"))
        }
        let entry = inFlight.removeFirst()
        shared.withLockedValue {
            $0.statistics.repliesReceived &+= 1
            $0.statistics.inFlight = inFlight.count
        }
        switch entry.pending {
        case .command(let promise):
            if case .error(let message) = value {
                promise?.fail(RedisClientError.server(message))
            } else {
                promise?.succeed(value)
            }
            pump()
        case .ping:
            break
        case .handshake(let step):
            if case .error(let message) = value {
                let what = step == .auth ? "AUTH" : step == .select ? "SELECT \(configuration.database)" : "PING"
                return connectionFailed(id: id, .handshakeFailed("\(what): \(message)"))
            }
            if step == .ping, case .handshaking(_, let channel) = state {
                handshakeCompleted(id: id, channel: channel)
            }
        }
    }

    fileprivate func channelClosed(id: UInt64) {
        guard currentID == id else { return }
        connectionFailed(id: id, .connectionLost)
    }

    fileprivate func channelFailed(id: UInt64, error: Error) {
        guard currentID == id else { return }
        if let error = error as? RedisProtocolError {
            connectionFailed(id: id, .protocolError(error.message))
        } else {
            connectionFailed(id: id, .connectionLost)
        }
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? IOError { return error.description }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return "\(first.target): \(describe(first.error))"
        }
        if let error = error as? ChannelError, case .connectTimeout(let amount) = error {
            return "connect timed out after \(describe(amount))"
        }
        return "\(error)"
    }

    static func describe(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}

/// Hands replies and connection events of one connection to its client.
private final class RedisClientHandler: ChannelInboundHandler {
    typealias InboundIn = RedisValue

    private let client: RedisClient
    private let id: UInt64

    init(client: RedisClient, id: UInt64) {
        self.client = client
        self.id = id
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        client.received(unwrapInboundIn(data), id: id)
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.channelClosed(id: id)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        client.channelFailed(id: id, error: error)
        context.close(promise: nil)
    }
}
