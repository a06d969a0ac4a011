import NIOCore
import SocketIO
import SwitchyardJSON
import SwitchyardMessagePack

/// A broadcast as the socket.io Redis adapter publishes it:
/// msgpack `[uid, {type: 2, data: [event, …args], nsp}, {rooms: […], except: […], flags: {}}]`.
///
/// Binary attachments travel inline as msgpack `bin` values inside `data` (as socket.io
/// does), not as placeholders.
public struct ClusterBroadcast: Sendable, Equatable {
    /// The publishing node (`"emitter"` for `@socket.io/redis-emitter`).
    public var uid: String
    public var namespace: String
    public var event: String
    public var arguments: SocketIOArguments
    public var rooms: [String]
    public var except: [String]
    /// Connection state recovery: the offset the publishing node stored the event under, in
    /// `flags.offset` (socket.io ignores flags it does not know; nil from other publishers).
    public var offset: String?

    public init(
        uid: String, namespace: String, event: String, arguments: SocketIOArguments, rooms: [String] = [], except: [String] = [],
        offset: String? = nil
    ) {
        self.uid = uid
        self.namespace = namespace
        self.event = event
        self.arguments = arguments
        self.rooms = rooms
        self.except = except
        self.offset = offset
    }

    /// Socket.IO packet type EVENT; socket.io's encoder picks BINARY_EVENT itself.
    static let eventType: Int64 = 2
    static let binaryEventType: Int64 = 5

    public func encoded() -> ByteBuffer {
        let attachments = arguments.attachments
        var data: [MessagePackValue] = [.string(event)]
        data.reserveCapacity(arguments.count + 1)
        for value in arguments.values() { data.append(MessagePackValue(json: value, attachments: attachments)) }
        let packet = MessagePackValue.object([
            ("type", .int(Self.eventType)),
            ("data", .array(data)),
            ("nsp", .string(namespace)),
        ])
        let options = MessagePackValue.object([
            ("rooms", .array(rooms.map(MessagePackValue.string))),
            ("except", .array(except.map(MessagePackValue.string))),
            ("flags", offset.map { .object([("offset", .string($0))]) } ?? .map([])),
        ])
        var buffer = ByteBufferAllocator().buffer(capacity: 64 + arguments.json.readableBytes)
        MessagePackValue.array([.string(uid), packet, options]).write(to: &buffer)
        return buffer
    }

    /// Decodes a broadcast; nil for a packet that is not an event (socket.io may publish
    /// other packet types, which Switchyard does not relay).
    public init?(decoding bytes: ByteBuffer) throws(ClusterMessageError) {
        let value: MessagePackValue
        do throws(MessagePackError) {
            value = try MessagePackValue(decoding: bytes)
        } catch {
            throw .malformed("broadcast is not MessagePack: \(error)")
        }
        guard case .array(let parts) = value, parts.count >= 2 else { throw .malformed("broadcast is not [uid, packet, opts]") }
        let packet = parts[1]
        guard let type = packet["type"]?.intValue else { throw .malformed("packet without a type") }
        guard Int64(type) == Self.eventType || Int64(type) == Self.binaryEventType else { return nil }
        (self.event, self.arguments) = try Self.event(of: packet)
        self.uid = parts[0].stringValue ?? ""
        self.namespace = packet["nsp"]?.stringValue ?? "/"
        let options = parts.count > 2 ? parts[2] : .map([])
        self.rooms = Self.roomList(options["rooms"])
        self.except = Self.roomList(options["except"])
        self.offset = options["flags"]?["offset"]?.stringValue
    }

    /// The event name and arguments of an EVENT packet's `data` (binary inline as `bin`
    /// becomes placeholders and attachments).
    static func event(of packet: MessagePackValue) throws(ClusterMessageError) -> (String, SocketIOArguments) {
        guard case .array(let data)? = packet["data"], let first = data.first else { throw .malformed("event without data") }
        let event: String
        switch first {
        case .string(let name): event = name
        case .int(let number): event = String(number)
        default: throw .malformed("event name is not a string")
        }
        var attachments: [ByteBuffer] = []
        var values: [JSONValue] = []
        values.reserveCapacity(data.count - 1)
        for element in data.dropFirst() { values.append(JSONValue(messagePack: element, attachments: &attachments)) }
        return (event, SocketIOArguments(values, attachments: attachments))
    }

    /// Room names; JavaScript rooms may be numbers.
    static func roomList(_ value: MessagePackValue?) -> [String] {
        guard case .array(let elements)? = value else { return [] }
        return elements.compactMap { element in
            switch element {
            case .string(let string): return string
            case .int, .uint, .double, .float: return JSONValue(messagePack: element).serialized()
            default: return nil
            }
        }
    }
}

/// A socket.io node's broadcast with acknowledgements (request type BROADCAST), as
/// `@socket.io/redis-adapter` 8.x publishes it on the request channel (`lib/index.ts`,
/// `broadcastWithAck`): MessagePack `{uid, requestId, type: 7, packet: {type: 2, data:
/// [event, …args], nsp, id}, opts: {rooms, except, flags: {timeout, …}}}`.
struct ClusterBroadcastRequest {
    var uid: String?
    var requestID: String
    var namespace: String
    var event: String
    var arguments: SocketIOArguments
    var options: BroadcastOptions
    /// `flags.timeout`: how long the sender waits for the acknowledgements.
    var timeout: TimeAmount?

    init(decoding bytes: ByteBuffer) throws(ClusterMessageError) {
        // MessagePack as the adapter writes it, or JSON from a custom adapter parser.
        guard let value = ShardedMessage.decode(bytes) else {
            throw .malformed("broadcast request is neither a MessagePack map nor JSON")
        }
        guard let requestID = value["requestId"]?.stringValue, let packet = value["packet"] else {
            throw .malformed("broadcast request without requestId or packet")
        }
        self.uid = value["uid"]?.stringValue
        self.requestID = requestID
        self.namespace = packet["nsp"]?.stringValue ?? "/"
        (self.event, self.arguments) = try ClusterBroadcast.event(of: packet)
        let options = value["opts"] ?? .map([])
        self.options = BroadcastOptions(
            rooms: Set(ClusterBroadcast.roomList(options["rooms"])), except: Set(ClusterBroadcast.roomList(options["except"])))
        self.timeout = options["flags"]?["timeout"]?.intValue.map { .milliseconds(Int64(max(0, $0))) }
    }

    /// BROADCAST_ACK: MessagePack `{type: 9, requestId, packet: <first argument>}` (the
    /// adapter forwards one value per client; `packet` is left out when the client
    /// acknowledged with none, as notepack.io 3 leaves out an `undefined` member).
    static func ack(requestID: String, arguments: SocketIOArguments) -> ByteBuffer {
        var members: [(String, MessagePackValue)] = [
            ("type", .int(Int64(ClusterRequestType.broadcastAck.rawValue))), ("requestId", .string(requestID)),
        ]
        if let first = arguments.values().first {
            members.append(("packet", MessagePackValue(json: first, attachments: arguments.attachments)))
        }
        return MessagePackValue.object(members).encoded()
    }
}

/// Why a message from Redis was ignored.
public enum ClusterMessageError: Error, Hashable, Sendable {
    case malformed(String)
}

/// The adapter's request types (`RequestType` in `@socket.io/redis-adapter`).
public enum ClusterRequestType: Int, Sendable, CaseIterable {
    case sockets = 0
    case allRooms = 1
    case remoteJoin = 2
    case remoteLeave = 3
    case remoteDisconnect = 4
    case remoteFetch = 5
    case serverSideEmit = 6
    case broadcast = 7
    case broadcastClientCount = 8
    case broadcastAck = 9
}

/// Requests and responses: JSON objects (the adapter writes JSON for these and reads JSON
/// or MessagePack, telling them apart by a leading `{`).
enum ClusterJSON {
    static func decode(_ bytes: ByteBuffer) -> JSONObject? {
        guard let first = bytes.readableBytesView.first else { return nil }
        if first == UInt8(ascii: "{") {
            let value = try? bytes.withUnsafeReadableBytes { raw throws(JSONParseError) in try JSONValue(parsing: raw) }
            return value?.objectValue
        }
        guard let value = try? MessagePackValue(decoding: bytes) else { return nil }
        return JSONValue(messagePack: value).objectValue
    }

    static func encode(_ object: JSONObject) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 128)
        JSONValue.object(object).write(to: &buffer)
        return buffer
    }

    static func options(rooms: some Sequence<String>, except: some Sequence<String>) -> JSONValue {
        .object(["rooms": .array(rooms.map(JSONValue.string)), "except": .array(except.map(JSONValue.string))])
    }

    static func strings(_ value: JSONValue?) -> [String] {
        (value?.arrayValue ?? []).compactMap { element in
            switch element {
            case .string(let string): return string
            case .number(let number): return number.literal
            default: return nil
            }
        }
    }
}

/// The messages of socket.io-adapter's `ClusterAdapter`, as `createShardedAdapter`
/// publishes them with `SPUBLISH` (socketio/socket.io `packages/socket.io-adapter/lib/
/// cluster-adapter.ts`: `MessageType`, `publishAndReturnOffset`, `publishResponse`;
/// socketio/socket.io-redis-adapter `lib/sharded-adapter.ts`: `encode`, channels):
/// `{type, data, uid, nsp}` as JSON, or MessagePack when `data` holds binary, on
/// `<key>#<nsp>#` (to every node) or `<key>#<nsp>#<uid>#` (a response to one node).
enum ShardedMessage {
    enum Kind: Int, Sendable {
        case initialHeartbeat = 1, heartbeat, broadcast, socketsJoin, socketsLeave, disconnectSockets, fetchSockets
        case fetchSocketsResponse, serverSideEmit, serverSideEmitResponse, broadcastClientCount, broadcastAck, adapterClose
    }

    /// A message in the adapter's key order; MessagePack when attachments fill placeholders.
    static func encode(_ kind: Kind, data: JSONObject, attachments: [ByteBuffer] = [], uid: String, namespace: String) -> ByteBuffer {
        let message: JSONObject = [
            "type": .number(JSONNumber(kind.rawValue)), "data": .object(data), "uid": .string(uid), "nsp": .string(namespace),
        ]
        if attachments.isEmpty { return ClusterJSON.encode(message) }
        return MessagePackValue(json: .object(message), attachments: attachments).encoded()
    }

    /// Reads a message written as JSON or MessagePack.
    static func decode(_ bytes: ByteBuffer) -> MessagePackValue? {
        if bytes.readableBytesView.first == UInt8(ascii: "{") {
            guard let json = try? bytes.withUnsafeReadableBytes({ raw throws(JSONParseError) in try JSONValue(parsing: raw) }) else {
                return nil
            }
            return MessagePackValue(json: json)
        }
        guard let value = try? MessagePackValue(decoding: bytes), case .map = value else { return nil }
        return value
    }

    /// `encodeOptions`: `{rooms, except, flags}`.
    static func options(_ options: BroadcastOptions) -> JSONValue {
        .object([
            "rooms": .array(options.rooms.sorted().map(JSONValue.string)), "except": .array(options.except.sorted().map(JSONValue.string)),
            "flags": .object([:]),
        ])
    }
}
