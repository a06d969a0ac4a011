import CSwitchyardPlugin
import Foundation
import Synchronization
import SwitchyardJSON

/// Event arguments (or acknowledgement arguments): a JSON array plus binary attachments.
///
/// The JSON refers to attachments with Socket.IO placeholders
/// `{"_placeholder":true,"num":N}`; keep them in order when passing arguments on.
public struct Arguments: Sendable, Hashable {
    /// The arguments as a JSON array text, e.g. `[1,"two"]`.
    public var json: [UInt8]
    public var attachments: [[UInt8]]

    /// Arguments from JSON array bytes (trusted to be a valid JSON array).
    public init(jsonArray: [UInt8], attachments: [[UInt8]] = []) {
        self.json = jsonArray
        self.attachments = attachments
    }

    /// Arguments from values.
    public init(_ values: [JSONValue], attachments: [[UInt8]] = []) {
        self.json = JSONValue.array(values).serializedBytes()
        self.attachments = attachments
    }

    /// No arguments.
    public static let none = Arguments([])

    /// One argument: `value` encoded as JSON.
    public init<Value: Encodable>(encoding value: Value) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        self.json = [UInt8(ascii: "[")] + Array(data) + [UInt8(ascii: "]")]
        self.attachments = []
    }

    /// The decoded elements (empty if the JSON is not an array).
    public var values: [JSONValue] {
        (try? JSONValue(parsing: json))?.arrayValue ?? []
    }

    public var count: Int { values.count }

    /// One element, decoded; nil past the end.
    public func value(at index: Int) -> JSONValue? {
        let values = self.values
        return values.indices.contains(index) ? values[index] : nil
    }

    /// The arguments after the first `k`, with every attachment kept (placeholders in the
    /// remaining elements still number them).
    public func dropFirst(_ k: Int = 1) -> Arguments {
        Arguments(Array(values.dropFirst(k)), attachments: attachments)
    }
}

/// Why an operation failed, as the client will see it (client-side kinds) or as the host
/// logs it behind a correlation id (server-side kinds).
///
/// ```swift
/// throw OperationError.notFound("no room named \(name)", code: "room_not_found")
/// ```
public struct OperationError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case validation
        case notFound = "not_found"
        case conflict
        case concurrency
        case precondition
        case authentication
        case authorization
        case rateLimited = "rate_limited"
        case payloadTooLarge = "payload_too_large"
        case `internal`
        case infrastructure
        case configuration
        case timeout
    }

    public var kind: Kind
    public var detail: String
    public var code: String?
    public var context: JSONObject?

    public init(_ kind: Kind, _ detail: String, code: String? = nil, context: JSONObject? = nil) {
        self.kind = kind
        self.detail = detail
        self.code = code
        self.context = context
    }

    public static func validation(_ detail: String, code: String? = nil, context: JSONObject? = nil) -> OperationError { .init(.validation, detail, code: code, context: context) }
    public static func notFound(_ detail: String, code: String? = nil) -> OperationError { .init(.notFound, detail, code: code) }
    public static func conflict(_ detail: String, code: String? = nil) -> OperationError { .init(.conflict, detail, code: code) }
    public static func precondition(_ detail: String, code: String? = nil) -> OperationError { .init(.precondition, detail, code: code) }
    public static func authentication(_ detail: String, code: String? = nil) -> OperationError { .init(.authentication, detail, code: code) }
    public static func authorization(_ detail: String, code: String? = nil) -> OperationError { .init(.authorization, detail, code: code) }
    public static func `internal`(_ detail: String, code: String? = nil) -> OperationError { .init(.internal, detail, code: code) }
    public static func infrastructure(_ detail: String, code: String? = nil) -> OperationError { .init(.infrastructure, detail, code: code) }

    public var description: String { "\(kind.rawValue): \(detail)" }

    var json: JSONValue {
        var object = JSONObject()
        object["kind"] = .string(kind.rawValue)
        object["detail"] = .string(detail)
        if let code { object["code"] = .string(code) }
        if let context { object["context"] = .object(context) }
        return .object(object)
    }

    /// Any error as an operation error: unknown errors are internal (the host hides their
    /// detail from clients and logs it).
    static func from(_ error: Error) -> OperationError {
        if let error = error as? OperationError { return error }
        if let error = error as? DecodingError { return .validation(Self.describe(error), code: "invalid_payload") }
        return .internal(String(describing: error))
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [CodingKey]) -> String {
            codingPath.dropFirst().reduce("$") { partial, key in
                if let index = key.intValue { return partial + "[\(index)]" }
                return partial + "." + key.stringValue
            }
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])) is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "invalid payload"
        }
    }
}

/// One call into the plugin: the event's arguments and the caller's context.
public struct Invocation: Sendable {
    /// The event name (empty for hooks and resolvers).
    public var event: String
    public var arguments: Arguments
    public var context: OperationContext

    /// With `borrowingContext`, the context's bytes are read in place until
    /// ``OperationContext/keepIfShared()``, which the caller promises to call before the
    /// host's call returns.
    init(_ invocation: UnsafePointer<sy_invocation>, borrowingContext: Bool = false) {
        let raw = invocation.pointee
        self.event = raw.event.map { String(cString: $0) } ?? ""
        var attachments: [[UInt8]] = []
        attachments.reserveCapacity(raw.attachments.count)
        for index in 0..<raw.attachments.count {
            attachments.append(Self.copy(raw.attachments.items[index]))
        }
        self.arguments = Arguments(jsonArray: Self.copy(raw.arguments_json), attachments: attachments)
        if borrowingContext, let data = raw.context_json.data {
            self.context = OperationContext(borrowing: UnsafeRawBufferPointer(start: data, count: raw.context_json.length), host: HostServices(raw.host))
        } else {
            self.context = OperationContext(json: Self.copy(raw.context_json), host: HostServices(raw.host))
        }
    }

    static func copy(_ bytes: sy_bytes) -> [UInt8] {
        guard let data = bytes.data, bytes.length > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: bytes.length))
    }

    /// The first argument decoded as `Payload` (`null` when there is none).
    public func decodePayload<Payload: Decodable>(_ type: Payload.Type) throws -> Payload {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let first = arguments.value(at: 0) ?? .null
        return try decoder.decode(FirstValue<Payload>.self, from: Data(JSONValue.array([first]).serializedBytes())).value
    }
}

private struct FirstValue<Value: Decodable>: Decodable {
    var value: Value
    init(from decoder: Decoder) throws {
        var container = try decoder.unkeyedContainer()
        value = try container.decode(Value.self)
    }
}

/// Who is calling, and the host services to act with.
public struct OperationContext: Sendable {
    /// Parsed on first use: most fast operations never look at their context.
    ///
    /// During a synchronous operation the bytes may still be the host's (valid until the
    /// call returns): most operations never keep their invocation, and then the context is
    /// never copied. One that does (stores it, hands it to a task) makes the storage shared,
    /// and ``OperationContext/keepIfShared()`` copies the bytes in before the call returns.
    /// Every read and the copy happen under the lock, so a task reading on another thread
    /// meanwhile sees either the host's bytes while they are valid or the copy.
    private final class Storage: Sendable {
        /// Unchecked: `borrowed` points at the host's memory, read only under the lock and
        /// only while the host's call is running (see above).
        private struct State: @unchecked Sendable {
            var borrowed: UnsafeRawBufferPointer?
            var bytes: [UInt8]
            var parsed: JSONValue?
        }
        private let state: Mutex<State>

        init(bytes: [UInt8]) { state = Mutex(State(borrowed: nil, bytes: bytes, parsed: nil)) }
        init(borrowing bytes: UnsafeRawBufferPointer) { state = Mutex(State(borrowed: bytes, bytes: [], parsed: nil)) }

        var value: JSONValue {
            state.withLock { state in
                if let parsed = state.parsed { return parsed }
                let parsed: JSONValue?
                if let borrowed = state.borrowed {
                    parsed = try? JSONValue(parsing: borrowed)
                } else {
                    parsed = try? JSONValue(parsing: state.bytes)
                }
                let value = parsed ?? .object(JSONObject())
                state.parsed = value
                return value
            }
        }

        /// Whether the bytes are still the host's (for tests).
        var isBorrowing: Bool { state.withLock { $0.borrowed != nil } }

        func keep() {
            state.withLock { state in
                guard let borrowed = state.borrowed else { return }
                state.bytes = Array(borrowed)
                state.borrowed = nil
            }
        }
    }

    private var storage: Storage
    public let host: HostServices

    init(json bytes: [UInt8], host: HostServices) {
        self.storage = Storage(bytes: bytes)
        self.host = host
    }

    init(borrowing bytes: UnsafeRawBufferPointer, host: HostServices) {
        self.storage = Storage(borrowing: bytes)
        self.host = host
    }

    /// After a synchronous call that borrowed the host's bytes: copies them in if the
    /// context outlives the call (anything else still holds its storage).
    mutating func keepIfShared() {
        if !isKnownUniquelyReferenced(&storage) { storage.keep() }
    }

    /// Whether the context still reads the host's bytes (for tests).
    var isBorrowingHostBytes: Bool { storage.isBorrowing }

    /// The context as the host sent it (see `switchyard_plugin.h`, `sy_invocation`).
    public var json: JSONValue { storage.value }

    public var socketID: String { json["socketId"]?.stringValue ?? "" }
    /// The concrete namespace path, e.g. `/chat/lobby`.
    public var namespace: String { json["namespace"]?.stringValue ?? "/" }
    /// The namespace pattern's parameters (`["room": "lobby"]` for `/chat/:room`).
    public var parameters: [String: String] {
        var result: [String: String] = [:]
        for (key, value) in json["params"]?.objectValue ?? JSONObject() { result[key] = value.stringValue }
        return result
    }
    /// The CONNECT auth payload.
    public var auth: JSONValue { json["handshake"]?["auth"] ?? .object(JSONObject()) }
    /// The handshake: headers, query, auth, address, transport.
    public var handshake: JSONValue { json["handshake"] ?? .object(JSONObject()) }
    /// The resolved identity, if any.
    public var identity: Identity? { json["identity"].flatMap(Identity.init) }
    public var rooms: [String] { json["rooms"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    /// Connection state recovery: the socket is a previous one brought back (same id, rooms,
    /// missed events replayed); in a connect guard or identity resolver, accepting brings it
    /// back. False from hosts that predate the key.
    public var recovered: Bool { json["recovered"] == .bool(true) }

    /// Emits to the calling socket.
    public func emit(_ event: String, _ arguments: Arguments) throws {
        try host.emit(to: .socket(socketID), in: namespace, event: event, arguments)
    }

    public func emit(_ event: String, _ values: [JSONValue]) throws {
        try emit(event, Arguments(values))
    }

    /// Makes the calling socket join a room.
    public func join(_ room: String) throws { try host.join(room: room, socket: socketID, in: namespace) }

    /// Makes the calling socket leave a room.
    public func leave(_ room: String) throws { try host.leave(room: room, socket: socketID, in: namespace) }

    /// Disconnects the calling socket (closing its connection with `close`).
    public func disconnect(close: Bool = false) throws { try host.disconnect(socket: socketID, in: namespace, close: close) }
}
