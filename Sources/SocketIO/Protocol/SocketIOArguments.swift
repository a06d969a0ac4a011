import NIOCore
import SwitchyardJSON

/// The arguments of an event or an acknowledgement: raw JSON elements plus binary
/// attachments.
///
/// Arguments received from a client are slices of the message they arrived in, validated
/// but not decoded; re-sending them (an echo, a broadcast) copies bytes, never re-encodes.
/// Decode on demand with ``value(at:)`` or ``values()``.
///
/// ```swift
/// let args = SocketIOArguments([1, "two", ["three": true]])
/// args.count          // 3
/// args.value(at: 1)   // .string("two")
/// args.value(at: 9)   // nil
/// ```
///
/// Binary attachments travel after the text packet; the JSON refers to them with
/// placeholders `{"_placeholder":true,"num":N}`, as the Socket.IO protocol defines.
public struct SocketIOArguments: Sendable, Equatable {
    /// The elements as JSON, comma-separated, without the surrounding brackets.
    public private(set) var json: ByteBuffer
    /// How many elements `json` holds.
    public private(set) var count: Int
    /// Binary attachments, in placeholder order.
    public var attachments: [ByteBuffer]

    // Only the count is kept, not where each element is: most arguments are passed on
    // whole (to an operation, back in an ack), and the few reads of one element scan for it
    // in bytes already validated.

    /// No arguments.
    public init() {
        self.json = ByteBuffer()
        self.count = 0
        self.attachments = []
    }

    /// Arguments from values.
    public init(_ values: [JSONValue], attachments: [ByteBuffer] = []) {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            value.write(to: &buffer)
        }
        self.json = buffer
        self.count = values.count
        self.attachments = attachments
    }

    /// Validates a JSON array; the arguments reference its bytes.
    public init(splittingArray array: ByteBuffer) throws(SocketIOProtocolError) {
        try self.init(array: array, resumingAt: 0)
    }

    /// Validates the rest of a JSON array whose start, up to `offset` (just after an
    /// element), the caller has read: how an EVENT's arguments follow its name.
    init(array: ByteBuffer, resumingAt offset: Int) throws(SocketIOProtocolError) {
        let scanned: (count: Int, span: Range<Int>)
        do throws(JSONParseError) {
            scanned = try array.withUnsafeReadableBytes { bytes throws(JSONParseError) in try RawJSON.scanArray(bytes, resumingAt: offset) }
        } catch {
            throw .invalidPayload(error.description)
        }
        self.json = array.getSlice(at: array.readerIndex + scanned.span.lowerBound, length: scanned.span.count)!
        self.count = scanned.count
        self.attachments = []
    }

    /// Arguments from JSON text of comma-separated values (`1,"two"`); validated.
    public init(jsonElements text: String) throws(SocketIOProtocolError) {
        try self.init(splittingArray: ByteBuffer(string: "[" + text + "]"))
    }

    public var isEmpty: Bool { count == 0 }

    /// Where element `index` is in `json` (offsets from its reader index), and where the
    /// next one starts (past the comma). The bytes were validated when the arguments were
    /// built or received, so this cannot fail for an index below `count`.
    private func locate(_ index: Int) -> (element: Range<Int>, next: Int) {
        json.withUnsafeReadableBytes { bytes in
            var reader = JSONReader(bytes: bytes)
            var element = 0..<0
            for _ in 0...index {
                element = (try? reader.skipValue()) ?? element
                _ = reader.consume(UInt8(ascii: ","))
            }
            reader.skipWhitespace()
            return (element, reader.offset)
        }
    }

    /// Removes the first element and returns its raw JSON.
    mutating func removeFirst() -> ByteBuffer? {
        guard count > 0 else { return nil }
        let (element, next) = locate(0)
        let first = json.getSlice(at: json.readerIndex + element.lowerBound, length: element.count)!
        json = json.getSlice(at: json.readerIndex + next, length: json.readableBytes - next)!
        count -= 1
        return first
    }

    /// The arguments after the first `k` (attachments are kept whole: placeholders in the
    /// remaining elements still number them).
    public func dropFirst(_ k: Int = 1) -> SocketIOArguments {
        guard k < count else { return SocketIOArguments(json: ByteBuffer(), count: 0, attachments: attachments) }
        guard k > 0 else { return self }
        let start = locate(k - 1).next
        return SocketIOArguments(json: json.getSlice(at: json.readerIndex + start, length: json.readableBytes - start)!, count: count - k, attachments: attachments)
    }

    private init(json: ByteBuffer, count: Int, attachments: [ByteBuffer]) {
        self.json = json
        self.count = count
        self.attachments = attachments
    }

    /// The raw JSON of one element.
    public func rawElement(at index: Int) -> ByteBuffer {
        precondition(index >= 0 && index < count, "argument index \(index) out of range 0..<\(count)")
        let range = locate(index).element
        return json.getSlice(at: json.readerIndex + range.lowerBound, length: range.count)!
    }

    /// One element, decoded; nil past the end.
    ///
    /// Never fails otherwise: arguments are validated when they are built or received.
    public func value(at index: Int) -> JSONValue? {
        guard index >= 0, index < count else { return nil }
        let range = locate(index).element
        return try? json.withUnsafeReadableBytes { bytes throws(JSONParseError) in
            try JSONValue(parsing: UnsafeRawBufferPointer(rebasing: bytes[range]))
        }
    }

    /// All elements, decoded.
    public func values() -> [JSONValue] {
        guard count > 0 else { return [] }
        return (try? json.withUnsafeReadableBytes { bytes throws(JSONParseError) -> [JSONValue] in
            var reader = JSONReader(bytes: bytes)
            var values: [JSONValue] = []
            values.reserveCapacity(count)
            repeat { values.append(try reader.readValue()) } while reader.consume(UInt8(ascii: ","))
            return values
        }) ?? []
    }

    /// The arguments as a JSON array text (for logs and tests).
    public var jsonArrayText: String {
        "[" + String(buffer: json) + "]"
    }

    public static func == (lhs: SocketIOArguments, rhs: SocketIOArguments) -> Bool {
        lhs.count == rhs.count && lhs.json.readableBytesView.elementsEqual(rhs.json.readableBytesView) && lhs.attachments == rhs.attachments
    }
}
