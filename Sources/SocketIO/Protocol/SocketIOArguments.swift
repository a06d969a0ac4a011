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
    /// Each element's byte range within `json` (offsets from its reader index).
    private var ranges: [Range<Int>]
    /// Binary attachments, in placeholder order.
    public var attachments: [ByteBuffer]

    /// No arguments.
    public init() {
        self.json = ByteBuffer()
        self.ranges = []
        self.attachments = []
    }

    /// Arguments from values.
    public init(_ values: [JSONValue], attachments: [ByteBuffer] = []) {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            let start = buffer.readableBytes
            value.write(to: &buffer)
            ranges.append(start..<buffer.readableBytes)
        }
        self.json = buffer
        self.ranges = ranges
        self.attachments = attachments
    }

    /// Splits a JSON array (validating it) into arguments that reference its bytes.
    public init(splittingArray array: ByteBuffer) throws(SocketIOProtocolError) {
        var elements: [Range<Int>]
        do throws(JSONParseError) {
            elements = try array.withUnsafeReadableBytes { bytes throws(JSONParseError) in try RawJSON.splitArray(bytes) }
        } catch {
            throw .invalidPayload(error.description)
        }
        self.attachments = []
        guard let first = elements.first, let last = elements.last else {
            self.json = ByteBuffer()
            self.ranges = []
            return
        }
        self.json = array.getSlice(at: array.readerIndex + first.lowerBound, length: last.upperBound - first.lowerBound)!
        // Rebased in place: the array is ours alone, so no copy.
        let base = first.lowerBound
        for index in elements.indices { elements[index] = (elements[index].lowerBound - base)..<(elements[index].upperBound - base) }
        self.ranges = elements
    }

    /// Arguments from JSON text of comma-separated values (`1,"two"`); validated.
    public init(jsonElements text: String) throws(SocketIOProtocolError) {
        try self.init(splittingArray: ByteBuffer(string: "[" + text + "]"))
    }

    public var count: Int { ranges.count }
    public var isEmpty: Bool { ranges.isEmpty }

    /// Removes the first element and returns its raw JSON (how an EVENT payload gives up
    /// its event name).
    mutating func removeFirst() -> ByteBuffer? {
        guard !ranges.isEmpty else { return nil }
        let first = rawElement(at: 0)
        if ranges.count == 1 {
            json = json.getSlice(at: json.readerIndex, length: 0)!
            ranges = []
        } else {
            let nextStart = ranges[1].lowerBound
            json = json.getSlice(at: json.readerIndex + nextStart, length: json.readableBytes - nextStart)!
            ranges.removeFirst()
            for index in ranges.indices { ranges[index] = (ranges[index].lowerBound - nextStart)..<(ranges[index].upperBound - nextStart) }
        }
        return first
    }

    /// The arguments after the first `k` (attachments are kept whole: placeholders in the
    /// remaining elements still number them).
    public func dropFirst(_ k: Int = 1) -> SocketIOArguments {
        guard k < count else { return SocketIOArguments(json: ByteBuffer(), ranges: [], attachments: attachments) }
        guard k > 0 else { return self }
        let start = ranges[k].lowerBound
        return SocketIOArguments(
            json: json.getSlice(at: json.readerIndex + start, length: json.readableBytes - start)!,
            ranges: ranges[k...].map { ($0.lowerBound - start)..<($0.upperBound - start) },
            attachments: attachments
        )
    }

    private init(json: ByteBuffer, ranges: [Range<Int>], attachments: [ByteBuffer]) {
        self.json = json
        self.ranges = ranges
        self.attachments = attachments
    }

    /// The raw JSON of one element.
    public func rawElement(at index: Int) -> ByteBuffer {
        let range = ranges[index]
        return json.getSlice(at: json.readerIndex + range.lowerBound, length: range.count)!
    }

    /// One element, decoded; nil past the end.
    ///
    /// Never fails otherwise: arguments are validated when they are built or received.
    public func value(at index: Int) -> JSONValue? {
        guard ranges.indices.contains(index) else { return nil }
        let range = ranges[index]
        return try? json.withUnsafeReadableBytes { bytes throws(JSONParseError) in
            try JSONValue(parsing: UnsafeRawBufferPointer(rebasing: bytes[range]))
        }
    }

    /// All elements, decoded.
    public func values() -> [JSONValue] {
        (0..<count).compactMap { value(at: $0) }
    }

    /// The arguments as a JSON array text (for logs and tests).
    public var jsonArrayText: String {
        "[" + String(buffer: json) + "]"
    }

    public static func == (lhs: SocketIOArguments, rhs: SocketIOArguments) -> Bool {
        lhs.json.readableBytesView.elementsEqual(rhs.json.readableBytesView) && lhs.ranges == rhs.ranges
            && lhs.attachments == rhs.attachments
    }
}
