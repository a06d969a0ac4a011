import EngineIO
import NIOCore
import SwitchyardJSON

/// Socket.IO v5 packet types; the raw value is the leading digit.
public enum SocketIOPacketType: UInt8, Sendable, CaseIterable {
    case connect = 0
    case disconnect = 1
    case event = 2
    case ack = 3
    case connectError = 4
    case binaryEvent = 5
    case binaryAck = 6

    var isBinary: Bool { self == .binaryEvent || self == .binaryAck }
    var digit: UInt8 { UInt8(ascii: "0") + rawValue }
}

/// A decoded Socket.IO packet.
///
/// Payloads stay slices of the Engine.IO message they came in: an event's arguments are
/// validated and counted, and never decoded into a tree unless a handler
/// asks for values.
public struct SocketIOPacket: Sendable, Equatable {
    public var type: SocketIOPacketType
    public var namespace: String
    public var ackID: UInt64?
    /// Number of binary attachments that follow (binary types only).
    public var attachmentCount: Int
    /// The event name (EVENT and BINARY_EVENT).
    public var eventName: String?
    /// The arguments (EVENT, ACK and their binary forms; without the event name).
    public var arguments: SocketIOArguments?
    /// The JSON payload of CONNECT and CONNECT_ERROR, validated.
    public var payload: ByteBuffer?
    /// The raw JSON array of an EVENT or ACK whose arguments are not decoded yet
    /// (see ``decodeHeader(_:maxAttachments:)``).
    public var undecodedArguments: ByteBuffer?
    /// Where the arguments of an undecoded EVENT go on after its name, in
    /// ``undecodedArguments``.
    private var argumentsOffset = 0

    /// Bytes of the JSON payload as received (event name included), before any decoding.
    public var payloadByteCount: Int {
        undecodedArguments?.readableBytes ?? payload?.readableBytes
            ?? arguments.map { $0.json.readableBytes + (eventName?.utf8.count ?? 0) + 4 } ?? 0
    }

    public init(
        type: SocketIOPacketType,
        namespace: String = "/",
        ackID: UInt64? = nil,
        attachmentCount: Int = 0,
        eventName: String? = nil,
        arguments: SocketIOArguments? = nil,
        payload: ByteBuffer? = nil
    ) {
        self.type = type
        self.namespace = namespace
        self.ackID = ackID
        self.attachmentCount = attachmentCount
        self.eventName = eventName
        self.arguments = arguments
        self.payload = payload
    }

    /// Event names a client may not send (socket.io's reserved names).
    public static let reservedEventNames: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]

    /// Whether `name` is one of ``reservedEventNames``; checked on every event, so by length
    /// first instead of hashing the name.
    public static func isReservedEventName(_ name: String) -> Bool {
        switch name.utf8.count {
        case 7: name == "connect"
        case 10: name == "disconnect"
        case 11: name == "newListener"
        case 13: name == "connect_error" || name == "disconnecting"
        case 14: name == "removeListener"
        default: false
        }
    }
}

/// Why a Socket.IO packet was refused; every case closes the connection.
public enum SocketIOProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    case emptyPacket
    case unknownPacketType(UInt8)
    case invalidAttachmentCount
    case tooManyAttachments(limit: Int)
    case invalidAckID
    case invalidNamespace
    case invalidPayload(String)
    case payloadNotAllowed(SocketIOPacketType)
    case illegalAttachments
    case unexpectedBinary
    case unexpectedText
    case invalidState(String)
    /// A binary message of the msgpack parser that is not a valid packet.
    case invalidMessagePack(String)
    /// A message the connection's parser does not accept (text on a msgpack connection, or
    /// a parser that is not enabled).
    case parserNotAccepted(String)

    public var description: String {
        switch self {
        case .emptyPacket: return "empty packet"
        case .unknownPacketType(let byte): return "unknown packet type 0x\(String(byte, radix: 16))"
        case .invalidAttachmentCount: return "invalid attachment count"
        case .tooManyAttachments(let limit): return "more than \(limit) binary attachments"
        case .invalidAckID: return "invalid ack id"
        case .invalidNamespace: return "invalid namespace"
        case .invalidPayload(let reason): return "invalid payload: \(reason)"
        case .payloadNotAllowed(let type): return "payload not allowed for packet type \(type)"
        case .illegalAttachments: return "attachment placeholder out of range"
        case .unexpectedBinary: return "binary data while not reconstructing a packet"
        case .unexpectedText: return "text packet while reconstructing a binary packet"
        case .invalidState(let what): return "invalid state: \(what)"
        case .invalidMessagePack(let reason): return "invalid msgpack packet: \(reason)"
        case .parserNotAccepted(let what): return "parser not accepted: \(what)"
        }
    }
}

extension SocketIOPacket {
    /// Decodes the text of an Engine.IO message.
    ///
    /// Format: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`. The JSON must be one
    /// valid value whose shape suits the type (object for CONNECT, non-empty array starting
    /// with a non-reserved event name for EVENT, array for ACK, none for DISCONNECT).
    public static func decode(_ buffer: ByteBuffer, maxAttachments: Int = 10) throws(SocketIOProtocolError) -> SocketIOPacket {
        var packet = try decodeHeader(buffer, maxAttachments: maxAttachments)
        try packet.decodeArguments()
        return packet
    }

    /// Decodes everything but the arguments of an EVENT or ACK: the header, and the event
    /// name (the array's first element). The rest of the array stays raw in
    /// ``undecodedArguments`` until ``decodeArguments()``, so limits on size and rate can
    /// refuse an event before its JSON is read.
    public static func decodeHeader(_ buffer: ByteBuffer, maxAttachments: Int = 10) throws(SocketIOProtocolError) -> SocketIOPacket {
        let view = buffer.readableBytesView
        var index = view.startIndex
        let end = view.endIndex
        guard index < end else { throw .emptyPacket }
        let first = view[index]
        guard first >= UInt8(ascii: "0"), let type = SocketIOPacketType(rawValue: first &- UInt8(ascii: "0")) else {
            throw .unknownPacketType(first)
        }
        index += 1

        var attachments = 0
        if type.isBinary {
            let start = index
            var count = 0
            while index < end, view[index] >= UInt8(ascii: "0"), view[index] <= UInt8(ascii: "9") {
                count = count &* 10 &+ Int(view[index] &- UInt8(ascii: "0"))
                index += 1
                if count > maxAttachments { throw .tooManyAttachments(limit: maxAttachments) }
            }
            guard index > start, index < end, view[index] == UInt8(ascii: "-") else { throw .invalidAttachmentCount }
            index += 1
            attachments = count
        }

        var namespace = "/"
        if index < end, view[index] == UInt8(ascii: "/") {
            let start = index
            while index < end, view[index] != UInt8(ascii: ",") { index += 1 }
            guard let name = String(validating: view[start..<index], as: UTF8.self) else { throw .invalidNamespace }
            namespace = name
            if index < end { index += 1 }  // the comma
        }

        var ackID: UInt64?
        if index < end, view[index] >= UInt8(ascii: "0"), view[index] <= UInt8(ascii: "9") {
            var id: UInt64 = 0
            while index < end, view[index] >= UInt8(ascii: "0"), view[index] <= UInt8(ascii: "9") {
                let (multiplied, overflow1) = id.multipliedReportingOverflow(by: 10)
                let (added, overflow2) = multiplied.addingReportingOverflow(UInt64(view[index] &- UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { throw .invalidAckID }
                id = added
                index += 1
            }
            ackID = id
        }

        var packet = SocketIOPacket(type: type, namespace: namespace, ackID: ackID, attachmentCount: attachments)
        let payload: ByteBuffer? =
            index < end ? buffer.getSlice(at: buffer.readerIndex + (index - view.startIndex), length: end - index)! : nil
        try packet.setPayload(payload)
        return packet
    }

    /// Validates the payload against the type's rules and stores it in its decoded form.
    mutating func setPayload(_ payload: ByteBuffer?) throws(SocketIOProtocolError) {
        switch type {
        case .disconnect:
            if payload != nil { throw .payloadNotAllowed(type) }
        case .connect, .connectError:
            guard let payload else {
                if type == .connect { return }
                throw .invalidPayload("missing")
            }
            let first = try Self.validateJSON(payload)
            if type == .connect, first != UInt8(ascii: "{") {
                throw .invalidPayload("CONNECT payload must be an object")
            }
            if type == .connectError, first != UInt8(ascii: "{"), first != UInt8(ascii: "\"") {
                throw .invalidPayload("CONNECT_ERROR payload must be an object or a string")
            }
            self.payload = payload
        case .event, .binaryEvent:
            guard let payload else { throw .invalidPayload("missing") }
            (self.eventName, self.argumentsOffset) = try Self.eventName(of: payload)
            self.undecodedArguments = payload
        case .ack, .binaryAck:
            guard let payload else { throw .invalidPayload("missing") }
            guard payload.getInteger(at: payload.readerIndex, as: UInt8.self) == UInt8(ascii: "[") else {
                throw .invalidPayload("payload must be an array")
            }
            self.undecodedArguments = payload
        }
    }

    /// Validates and splits the arguments kept raw by ``decodeHeader(_:maxAttachments:)``.
    /// Does nothing when they are already decoded.
    public mutating func decodeArguments() throws(SocketIOProtocolError) {
        guard undecodedArguments != nil else { return }
        self.arguments = try decodedArguments()
        self.undecodedArguments = nil
    }

    /// The arguments, validated now if ``decodeHeader(_:maxAttachments:)`` left them raw:
    /// ``decodeArguments()`` without copying the packet to change it.
    func decodedArguments() throws(SocketIOProtocolError) -> SocketIOArguments? {
        guard let raw = undecodedArguments else { return arguments }
        // An event's name was read by `decodeHeader`: the scan goes on after it.
        return try SocketIOArguments(array: raw, resumingAt: type == .event || type == .binaryEvent ? argumentsOffset : 0)
    }

    /// Reads only the first element of an EVENT array: the event name, and the offset just
    /// after it, where the arguments go on.
    static func eventName(of payload: ByteBuffer) throws(SocketIOProtocolError) -> (name: String, end: Int) {
        let value: JSONValue
        let end: Int
        do throws(JSONParseError) {
            (value, end) = try payload.withUnsafeReadableBytes { bytes throws(JSONParseError) -> (JSONValue, Int) in
                var reader = JSONReader(bytes: bytes)
                try reader.expect(UInt8(ascii: "["))
                let value = try reader.readValue()
                return (value, reader.offset)
            }
        } catch {
            if case .unexpectedByte(UInt8(ascii: "]")) = error.reason { throw .invalidPayload("an event needs a name") }
            throw .invalidPayload(error.description)
        }
        let name: String
        switch value {
        case .string(let string): name = string
        case .number(let number): name = number.literal
        default: throw .invalidPayload("the event name must be a string")
        }
        guard !isReservedEventName(name) else { throw .invalidPayload("reserved event name '\(name)'") }
        return (name, end)
    }

    /// Validates one JSON value; returns its first byte.
    private static func validateJSON(_ payload: ByteBuffer) throws(SocketIOProtocolError) -> UInt8 {
        do throws(JSONParseError) {
            return try payload.withUnsafeReadableBytes { bytes throws(JSONParseError) -> UInt8 in
                try RawJSON.validate(bytes)
                var reader = JSONReader(bytes: bytes)
                return try reader.peek()
            }
        } catch {
            throw .invalidPayload(error.description)
        }
    }
}

// MARK: - Encoding

/// Writes Socket.IO packets straight into Engine.IO message buffers.
public enum SocketIOPacketEncoder {
    /// Writes the header: type, attachment count, namespace and ack id.
    static func writeHeader(type: SocketIOPacketType, namespace: String, ackID: UInt64?, attachmentCount: Int, into buffer: inout ByteBuffer) {
        // One write for the whole header: each of ByteBuffer's small writes checks capacity
        // and uniqueness again, and a packet's header was up to five of them.
        let namespaceCount = namespace == "/" ? 0 : namespace.utf8.count
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 1 + 21 + namespaceCount + 1 + 20) { out in
            var index = 1
            if attachmentCount > 0 {
                out[0] = (type == .ack || type == .binaryAck ? SocketIOPacketType.binaryAck : .binaryEvent).digit
                index += writeDecimal(UInt64(attachmentCount), into: out, at: index)
                out[index] = UInt8(ascii: "-")
                index += 1
            } else {
                out[0] = type.digit
            }
            if namespaceCount > 0 {
                for byte in namespace.utf8 {
                    out[index] = byte
                    index += 1
                }
                out[index] = UInt8(ascii: ",")
                index += 1
            }
            if let ackID { index += writeDecimal(ackID, into: out, at: index) }
            return index
        }
    }

    /// Writes `value` in decimal at `offset` (room for 20 digits); returns the digits written.
    private static func writeDecimal(_ value: UInt64, into out: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        rest = value
        for position in stride(from: offset + digits - 1, through: offset, by: -1) {
            out[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        return digits
    }

    /// An EVENT (or BINARY_EVENT when there are attachments): `2<nsp,><id>["name",args…]`.
    /// With `offset` (connection state recovery), the offset string is the last argument.
    public static func event(namespace: String, name: String, arguments: SocketIOArguments, ackID: UInt64? = nil, offset: String? = nil) -> [OutboundMessage] {
        let capacity = eventCapacity(namespace: namespace, name: name, arguments: arguments) + (offset?.utf8.count ?? 0)
        let text = OutboundMessage.text(capacity: capacity) { buffer in
            writeEvent(namespace: namespace, name: name, arguments: arguments, ackID: ackID, offset: offset, into: &buffer)
        }
        return [text] + arguments.attachments.map(OutboundMessage.binary)
    }

    /// Room for an EVENT's text part: a hint for the buffer it is written into.
    static func eventCapacity(namespace: String, name: String, arguments: SocketIOArguments) -> Int {
        16 + namespace.utf8.count + name.utf8.count + arguments.json.readableBytes
    }

    /// Appends an EVENT's text part (`2<nsp,><id>["name",…]`, or `5…` with attachments; the
    /// attachments themselves are separate messages).
    static func writeEvent(namespace: String, name: String, arguments: SocketIOArguments, ackID: UInt64?, offset: String? = nil, into buffer: inout ByteBuffer) {
        writeHeader(type: .event, namespace: namespace, ackID: ackID, attachmentCount: arguments.attachments.count, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "["))
        buffer.writeJSONString(name)
        if arguments.count > 0 {
            buffer.writeInteger(UInt8(ascii: ","))
            buffer.writeImmutableBuffer(arguments.json)
        }
        if let offset {
            // socket.io-adapter's SessionAwareAdapter.broadcast pushes the offset as the last
            // element of the data array; the client reads it back as the last argument.
            buffer.writeInteger(UInt8(ascii: ","))
            buffer.writeJSONString(offset)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
    }

    /// An ACK (or BINARY_ACK): `3<nsp,><id>[args…]`.
    public static func ack(namespace: String, ackID: UInt64, arguments: SocketIOArguments) -> [OutboundMessage] {
        let text = OutboundMessage.text(capacity: ackCapacity(namespace: namespace, arguments: arguments)) { buffer in
            writeAck(namespace: namespace, ackID: ackID, arguments: arguments, into: &buffer)
        }
        return [text] + arguments.attachments.map(OutboundMessage.binary)
    }

    /// Room for an ACK's text part: a hint for the buffer it is written into.
    static func ackCapacity(namespace: String, arguments: SocketIOArguments) -> Int {
        24 + namespace.utf8.count + arguments.json.readableBytes
    }

    /// Appends an ACK's text part (`3<nsp,><id>[…]`, or `6…` with attachments; the
    /// attachments themselves are separate messages).
    static func writeAck(namespace: String, ackID: UInt64, arguments: SocketIOArguments, into buffer: inout ByteBuffer) {
        writeHeader(type: .ack, namespace: namespace, ackID: ackID, attachmentCount: arguments.attachments.count, into: &buffer)
        let count = arguments.json.readableBytes
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count + 2) { out in
            out[0] = UInt8(ascii: "[")
            arguments.json.withUnsafeReadableBytes { json in
                UnsafeMutableRawBufferPointer(rebasing: out[1..<(1 + count)]).copyMemory(from: json)
            }
            out[count + 1] = UInt8(ascii: "]")
            return count + 2
        }
    }

    /// CONNECT accepted: `0<nsp,>{"sid":"…"}`, or `0<nsp,>{"sid":"…","pid":"…"}` with
    /// connection state recovery (the private session id the client sends back to recover).
    public static func connect(namespace: String, socketID: String, pid: String? = nil) -> OutboundMessage {
        OutboundMessage.text(capacity: 48 + namespace.utf8.count) { buffer in
            writeHeader(type: .connect, namespace: namespace, ackID: nil, attachmentCount: 0, into: &buffer)
            buffer.writeStaticString(#"{"sid":"#)
            buffer.writeJSONString(socketID)
            if let pid {
                buffer.writeStaticString(#","pid":"#)
                buffer.writeJSONString(pid)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    /// CONNECT refused: `4<nsp,>{"message":"…","data":…}`.
    public static func connectError(namespace: String, message: String, data: JSONValue?) -> OutboundMessage {
        OutboundMessage.text(capacity: 32 + namespace.utf8.count + message.utf8.count) { buffer in
            writeHeader(type: .connectError, namespace: namespace, ackID: nil, attachmentCount: 0, into: &buffer)
            var object = JSONObject()
            object["message"] = .string(message)
            if let data { object["data"] = data }
            JSONValue.object(object).write(to: &buffer)
        }
    }

    /// DISCONNECT: `1<nsp,>`.
    public static func disconnect(namespace: String) -> OutboundMessage {
        OutboundMessage.text(capacity: 2 + namespace.utf8.count) { buffer in
            writeHeader(type: .disconnect, namespace: namespace, ackID: nil, attachmentCount: 0, into: &buffer)
        }
    }
}
