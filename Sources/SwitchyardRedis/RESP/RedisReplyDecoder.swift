import CHiredis
import NIOCore

/// Why the reply stream could not be parsed; the connection is closed.
public struct RedisProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { "Redis protocol error: \(message)" }
}

/// hiredis's RESP reader (`redisReaderCreate` / `redisReaderFeed` / `redisReaderGetReply`)
/// behind a Swift interface: feed bytes in any chunking, take whole replies out.
///
/// Not thread-safe; owned by one channel handler.
public final class RedisReplyParser {
    private let reader: UnsafeMutablePointer<redisReader>

    public init() {
        guard let reader = redisReaderCreate() else { fatalError("redisReaderCreate failed to allocate") }
        self.reader = reader
    }

    deinit { redisReaderFree(reader) }

    /// Hands bytes to the reader (it copies them).
    public func feed(_ bytes: UnsafeRawBufferPointer) throws(RedisProtocolError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count) != REDIS_OK {
            throw RedisProtocolError(message: errorText)
        }
    }

    public func feed(_ buffer: ByteBuffer) throws(RedisProtocolError) {
        try buffer.withUnsafeReadableBytes { bytes throws(RedisProtocolError) in try feed(bytes) }
    }

    /// The next complete reply, or nil when more bytes are needed.
    public func next() throws(RedisProtocolError) -> RedisValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
            throw RedisProtocolError(message: errorText)
        }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    private var errorText: String {
        withUnsafeBytes(of: reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func convert(_ reply: UnsafePointer<redisReply>) -> RedisValue {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            var buffer = ByteBufferAllocator().buffer(capacity: value.len)
            if let str = value.str { buffer.writeBytes(UnsafeRawBufferPointer(start: str, count: value.len)) }
            return .bulkString(buffer)
        case REDIS_REPLY_STATUS:
            return .simpleString(text(value))
        case REDIS_REPLY_ERROR:
            return .error(text(value))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] { elements.append(convert(element)) } else { elements.append(.null) }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func text(_ value: redisReply) -> String {
        guard let str = value.str else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: str, count: value.len), as: UTF8.self)
    }
}

/// Turns the bytes of a Redis connection into ``RedisValue`` replies with hiredis's reader.
///
/// Every byte read is handed to the reader at once (it keeps partial replies itself), and
/// every complete reply is passed on, so a read carrying a thousand pipelined replies costs
/// one feed.
public final class RedisReplyDecoder: ByteToMessageDecoder {
    public typealias InboundOut = RedisValue

    private let parser = RedisReplyParser()

    public init() {}

    public func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if buffer.readableBytes > 0 {
            try parser.feed(buffer)
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        }
        while let reply = try parser.next() {
            context.fireChannelRead(wrapInboundOut(reply))
        }
        return .needMoreData
    }

    public func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        _ = try decode(context: context, buffer: &buffer)
        return .needMoreData
    }
}
