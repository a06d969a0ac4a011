import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwitchyardJSON

/// What a test client saw, in order.
enum ClientEvent: Sendable, Equatable {
    case event(String, [JSONValue])
    case ack(UInt64, [JSONValue])
    /// The server sent DISCONNECT for the namespace.
    case disconnected
    /// The connection closed.
    case closed
}

/// A Socket.IO v5 client over a real WebSocket (Engine.IO v4), written on NIO for tests:
/// an HTTP upgrade, masked client frames, Engine.IO `open`/`ping`/`message` packets and
/// Socket.IO CONNECT / EVENT / ACK / DISCONNECT text packets. Binary packets are not spoken.
final class WebSocketSocketIOClient: @unchecked Sendable {
    let channel: Channel
    let namespace: String
    private(set) var sid = ""
    private let inbox: Inbox
    private let nextAckID = NIOLockedValueBox<UInt64>(1)

    private init(channel: Channel, namespace: String, inbox: Inbox) {
        self.channel = channel
        self.namespace = namespace
        self.inbox = inbox
    }

    /// Connects, opens the Engine.IO session and joins the namespace.
    static func connect(port: Int, namespace: String = "/", group: EventLoopGroup) async throws -> WebSocketSocketIOClient {
        let inbox = Inbox()
        let handshake = group.next().makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(WebSocketClientHandler(port: port, inbox: inbox, upgraded: handshake))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await handshake.futureResult.get()
        let client = WebSocketSocketIOClient(channel: channel, namespace: namespace, inbox: inbox)
        try await client.join()
        return client
    }

    private var prefix: String { namespace == "/" ? "" : namespace + "," }

    private func join() async throws {
        send("0" + prefix)
        let packet = try await inbox.nextConnect(timeout: .seconds(5))
        guard let sid = packet["sid"]?.stringValue else { throw RedisTestError.unexpected("CONNECT without sid: \(packet)") }
        self.sid = sid
    }

    /// Sends a Socket.IO packet (text) as an Engine.IO message.
    func send(_ socketIOPacket: String) {
        let frame = WebSocketClientHandler.frame(text: "4" + socketIOPacket)
        channel.writeAndFlush(frame, promise: nil)
    }

    func emit(_ event: String, _ arguments: [JSONValue] = []) {
        send("2" + prefix + JSONValue.array([.string(event)] + arguments).serialized())
    }

    /// Emits with an ack id and waits for the server's ACK.
    func emitWithAck(_ event: String, _ arguments: [JSONValue] = [], timeout: Duration = .seconds(5)) async throws -> [JSONValue] {
        let id = nextAckID.withLockedValue { id -> UInt64 in
            defer { id += 1 }
            return id
        }
        send("2" + prefix + String(id) + JSONValue.array([.string(event)] + arguments).serialized())
        while true {
            let item = try await next(timeout: timeout)
            if case .ack(id, let values) = item { return values }
        }
    }

    /// The next thing the client saw, waiting up to `timeout`.
    func next(timeout: Duration = .seconds(5)) async throws -> ClientEvent {
        try await inbox.next(timeout: timeout)
    }

    /// The next event (acks skipped).
    func nextEvent(timeout: Duration = .seconds(5)) async throws -> (name: String, arguments: [JSONValue]) {
        while true {
            switch try await next(timeout: timeout) {
            case .event(let name, let arguments): return (name, arguments)
            case .ack: continue
            case let other: throw RedisTestError.unexpected("expected an event, got \(other)")
            }
        }
    }

    /// Waits for the server to disconnect the socket (DISCONNECT or connection close).
    func waitForDisconnect(timeout: Duration = .seconds(5)) async throws {
        while true {
            switch try await next(timeout: timeout) {
            case .disconnected, .closed: return
            default: continue
            }
        }
    }

    func close() async {
        try? await channel.close().get()
    }

    /// Acknowledges every later server event of this name that asks for an ack.
    func acknowledge(_ event: String, with arguments: [JSONValue]) {
        inbox.setAnswer(arguments, to: event)
    }
}

/// Received items and the tasks waiting for them.
private final class Inbox: @unchecked Sendable {
    private struct State {
        var items: [ClientEvent] = []
        var connects: [JSONValue] = []
        var waiter: CheckedContinuation<ClientEvent, Error>?
        var connectWaiter: CheckedContinuation<JSONValue, Error>?
        var generation = 0
    }

    private let state = NIOLockedValueBox(State())
    private let answers = NIOLockedValueBox<[String: [JSONValue]]>([:])

    /// What the client acknowledges a server event of this name with (nil: no ack).
    func answer(to event: String) -> [JSONValue]? { answers.withLockedValue { $0[event] } }
    func setAnswer(_ arguments: [JSONValue], to event: String) { answers.withLockedValue { $0[event] = arguments } }

    func push(_ item: ClientEvent) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<ClientEvent, Error>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.items.append(item)
            return nil
        }
        waiter?.resume(returning: item)
    }

    func pushConnect(_ payload: JSONValue) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<JSONValue, Error>? in
            if let waiter = state.connectWaiter {
                state.connectWaiter = nil
                return waiter
            }
            state.connects.append(payload)
            return nil
        }
        waiter?.resume(returning: payload)
    }

    func next(timeout: Duration) async throws -> ClientEvent {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ClientEvent, Error>) in
            let (ready, generation) = state.withLockedValue { state -> (ClientEvent?, Int) in
                if !state.items.isEmpty { return (state.items.removeFirst(), 0) }
                state.generation += 1
                state.waiter = continuation
                return (nil, state.generation)
            }
            if let ready { return continuation.resume(returning: ready) }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = self.state.withLockedValue { state -> CheckedContinuation<ClientEvent, Error>? in
                    guard state.generation == generation, let waiter = state.waiter else { return nil }
                    state.waiter = nil
                    return waiter
                }
                expired?.resume(throwing: RedisTestError.timeout("no client event within \(timeout)"))
            }
        }
    }

    func nextConnect(timeout: Duration) async throws -> JSONValue {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<JSONValue, Error>) in
            let ready = state.withLockedValue { state -> JSONValue? in
                if !state.connects.isEmpty { return state.connects.removeFirst() }
                state.connectWaiter = continuation
                return nil
            }
            if let ready { return continuation.resume(returning: ready) }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = self.state.withLockedValue { state -> CheckedContinuation<JSONValue, Error>? in
                    defer { state.connectWaiter = nil }
                    return state.connectWaiter
                }
                expired?.resume(throwing: RedisTestError.timeout("no CONNECT reply within \(timeout)"))
            }
        }
    }
}

/// The upgrade request, then WebSocket frames carrying Engine.IO packets.
private final class WebSocketClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let port: Int
    private let inbox: Inbox
    private let upgraded: EventLoopPromise<Void>
    private var buffer = ByteBuffer()
    private var isUpgraded = false

    init(port: Int, inbox: Inbox, upgraded: EventLoopPromise<Void>) {
        self.port = port
        self.inbox = inbox
        self.upgraded = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        let request =
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        context.writeAndFlush(NIOAny(ByteBuffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        if !isUpgraded {
            let view = buffer.readableBytesView
            guard let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            let head = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self)
            buffer.moveReaderIndex(forwardBy: end.upperBound - view.startIndex)
            guard head.hasPrefix("HTTP/1.1 101") else {
                upgraded.fail(RedisTestError.unexpected("upgrade refused: \(head)"))
                context.close(promise: nil)
                return
            }
            isUpgraded = true
            upgraded.succeed(())
        }
        while let (opcode, payload) = readFrame() {
            switch opcode {
            case 0x1: engineIOPacket(String(buffer: payload), context: context)
            case 0x8: context.close(promise: nil)
            case 0x9: context.writeAndFlush(NIOAny(Self.frame(opcode: 0xA, payload: payload)), promise: nil)
            default: break
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upgraded.fail(RedisTestError.unexpected("connection closed"))
        inbox.push(.closed)
        context.fireChannelInactive()
    }

    private func readFrame() -> (UInt8, ByteBuffer)? {
        guard buffer.readableBytes >= 2 else { return nil }
        let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self)!
        let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)!
        var headerLength = 2
        var length = Int(second & 0x7f)
        if length == 126 {
            guard buffer.readableBytes >= 4 else { return nil }
            length = Int(buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self)!)
            headerLength = 4
        } else if length == 127 {
            guard buffer.readableBytes >= 10 else { return nil }
            length = Int(buffer.getInteger(at: buffer.readerIndex + 2, as: UInt64.self)!)
            headerLength = 10
        }
        guard buffer.readableBytes >= headerLength + length else { return nil }
        buffer.moveReaderIndex(forwardBy: headerLength)
        let payload = buffer.readSlice(length: length)!
        return (first & 0x0f, payload)
    }

    private func engineIOPacket(_ text: String, context: ChannelHandlerContext) {
        guard let type = text.first else { return }
        switch type {
        case "2": context.writeAndFlush(NIOAny(Self.frame(text: "3")), promise: nil)
        case "4": socketIOPacket(String(text.dropFirst()), context: context)
        case "1": context.close(promise: nil)
        default: break
        }
    }

    private func socketIOPacket(_ text: String, context: ChannelHandlerContext) {
        guard let type = text.first else { return }
        var rest = Substring(text.dropFirst())
        if rest.hasPrefix("/"), let comma = rest.firstIndex(of: ",") { rest = rest[rest.index(after: comma)...] }
        var ackID: UInt64?
        let digits = rest.prefix { $0.isNumber }
        if !digits.isEmpty {
            ackID = UInt64(digits)
            rest = rest.dropFirst(digits.count)
        }
        let json = try? JSONValue(parsing: String(rest))
        switch type {
        case "0": inbox.pushConnect(json ?? .null)
        case "1": inbox.push(.disconnected)
        case "2":
            guard let values = json?.arrayValue, let name = values.first?.stringValue else { return }
            inbox.push(.event(name, Array(values.dropFirst())))
            if let ackID, let answer = inbox.answer(to: name) {
                let nsp = text.dropFirst().hasPrefix("/") ? String(text.dropFirst().prefix { $0 != "," }) + "," : ""
                context.writeAndFlush(NIOAny(Self.frame(text: "43" + nsp + String(ackID) + JSONValue.array(answer).serialized())), promise: nil)
            }
        case "3": inbox.push(.ack(ackID ?? 0, json?.arrayValue ?? []))
        default: break
        }
    }

    static func frame(text: String) -> ByteBuffer {
        frame(opcode: 0x1, payload: ByteBuffer(string: text))
    }

    /// A masked client frame.
    static func frame(opcode: UInt8, payload: ByteBuffer) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.writeInteger(UInt8(0x80 | opcode))
        let count = payload.readableBytes
        if count < 126 {
            frame.writeInteger(UInt8(0x80 | count))
        } else if count <= Int(UInt16.max) {
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(count))
        } else {
            frame.writeInteger(UInt8(0x80 | 127))
            frame.writeInteger(UInt64(count))
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame.writeBytes(mask)
        for (index, byte) in payload.readableBytesView.enumerated() { frame.writeInteger(byte ^ mask[index % 4]) }
        return frame
    }
}
