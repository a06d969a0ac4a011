import NIOCore

/// Client-to-server WebSocket framing (RFC 6455 §5) in one pass: frames are parsed straight
/// out of the bytes read from the socket, unmasked into a reused buffer and reassembled
/// into messages.
///
/// This replaces NIO's `WebSocketFrameDecoder` and `NIOWebSocketFrameAggregator` on the
/// Engine.IO path. Those build a `WebSocketFrame` per frame, unmask every payload into a
/// freshly allocated buffer and cost two more pipeline hops per message — about a tenth of
/// the server's CPU per acknowledged echo (see BENCHMARKS.md). A pure value: feed it bytes with ``append(_:)``,
/// take messages with ``next()``; it never touches a channel, so it is tested byte by byte.
///
/// ```swift
/// var parser = WebSocketMessageParser(maxMessageSize: 1_000_000)
/// parser.append(bytesFromSocket)
/// while let message = try parser.next() { … }
/// ```
///
/// Limits are enforced from the frame header, before the payload is buffered: a frame or a
/// reassembled message longer than `maxMessageSize` fails with ``Failure/messageTooLarge``
/// (close code 1009) as soon as its length is known. After a failure the stream is beyond
/// repair; the parser fails again on every call.
struct WebSocketMessageParser {
    /// One complete message or control frame from the client.
    enum Message: Equatable {
        case text(ByteBuffer)
        case binary(ByteBuffer)
        case ping(ByteBuffer)
        case pong
        /// A close frame; the payload is the status code and reason, if any.
        case close(ByteBuffer)
    }

    enum Failure: Error, Equatable {
        /// A frame or message longer than the limit.
        case messageTooLarge
        /// Anything RFC 6455 forbids a client to send; the text says what.
        case protocolError(String)
        /// A text message that is not UTF-8 (RFC 6455 §8.1).
        case invalidUTF8

        /// The status code of the close frame that answers this failure.
        var closeCode: UInt16 {
            switch self {
            case .messageTooLarge: return 1009
            case .protocolError: return 1002
            case .invalidUTF8: return 1007
            }
        }
    }

    /// Most bytes in one message (all fragments together).
    let maxMessageSize: Int
    /// Most frames one fragmented message may consist of.
    let maxFragments: Int

    /// Bytes read and not yet parsed.
    private var pending: ByteBuffer?
    /// The opcode (1 text, 2 binary) and data so far of a fragmented message.
    private var fragmented: (opcode: UInt8, data: ByteBuffer, count: Int)?
    private var failure: Failure?
    /// Where payloads are unmasked; see ``unmask(_:length:key:into:)``.
    private var scratch = ReusableBuffer()

    init(maxMessageSize: Int, maxFragments: Int = 1024) {
        precondition(maxMessageSize > 0 && maxFragments > 0)
        self.maxMessageSize = maxMessageSize
        self.maxFragments = maxFragments
    }

    /// Bytes held for an incomplete frame or message (for tests and limits).
    var bufferedBytes: Int { (pending?.readableBytes ?? 0) + (fragmented?.data.readableBytes ?? 0) }

    mutating func append(_ bytes: ByteBuffer) {
        guard failure == nil, bytes.readableBytes > 0 else { return }
        if pending == nil || pending!.readableBytes == 0 {
            pending = bytes
        } else {
            pending!.writeImmutableBuffer(bytes)
        }
    }

    /// The next complete message, or nil when more bytes are needed.
    mutating func next() throws(Failure) -> Message? {
        if let failure { throw failure }
        guard var buffer = pending.take() else { return nil }
        defer { if buffer.readableBytes > 0 { pending = buffer } }
        do throws(Failure) {
            while true {
                guard let frame = try Self.parseFrame(&buffer, limit: maxMessageSize - (fragmented?.data.readableBytes ?? 0), scratch: &scratch)
                else { return nil }
                if let message = try assemble(frame) { return message }
            }
        } catch {
            failure = error
            buffer.clear()
            fragmented = nil
            throw error
        }
    }

    private struct Frame {
        var fin: Bool
        var opcode: UInt8
        var payload: ByteBuffer
    }

    /// Reads one whole frame off the front of `buffer`, unmasked; nil (and nothing consumed)
    /// when the frame is not complete yet.
    private static func parseFrame(_ buffer: inout ByteBuffer, limit: Int, scratch: inout ReusableBuffer) throws(Failure) -> Frame? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return nil }
        let fin = first & 0x80 != 0
        let opcode = first & 0x0F
        guard first & 0x70 == 0 else { throw .protocolError("reserved bits set, but no extension was negotiated") }
        guard second & 0x80 != 0 else { throw .protocolError("a client frame must be masked") }
        let isControl = opcode & 0x08 != 0
        switch opcode {
        case 0x0, 0x1, 0x2, 0x8, 0x9, 0xA: break
        default: throw .protocolError("unknown opcode \(opcode)")
        }

        var headerLength = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            length = Int(extended)
            headerLength = 4
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            guard extended >> 63 == 0 else { throw .protocolError("frame length has its most significant bit set") }
            guard extended <= UInt64(Int32.max) else { throw .messageTooLarge }
            length = Int(extended)
            headerLength = 10
        }
        if isControl {
            guard fin else { throw .protocolError("a control frame must not be fragmented") }
            guard length <= 125 else { throw .protocolError("a control frame must carry at most 125 bytes") }
        } else if length > limit {
            // Refused on the header alone: the payload is never buffered.
            throw .messageTooLarge
        }

        guard buffer.readableBytes >= headerLength + 4 + length,
            let key = buffer.getInteger(at: start + headerLength, as: UInt32.self)
        else { return nil }
        buffer.moveReaderIndex(forwardBy: headerLength + 4)
        guard length > 0 else { return Frame(fin: fin, opcode: opcode, payload: buffer.readSlice(length: 0)!) }
        let payload = unmask(&buffer, length: length, key: key, into: &scratch)
        return Frame(fin: fin, opcode: opcode, payload: payload)
    }

    /// Reads the next `length` bytes, unmasked, into a buffer from `scratch`. The bytes
    /// read are not modified: swift-nio may share their storage.
    private static func unmask(_ buffer: inout ByteBuffer, length: Int, key: UInt32, into scratch: inout ReusableBuffer) -> ByteBuffer {
        var out = scratch.take(minimumCapacity: length)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { target in
            buffer.withUnsafeReadableBytes { source in
                // The key in wire order, repeated to eight bytes.
                let keyBytes = key.bigEndian
                let word = UInt64(keyBytes) | UInt64(keyBytes) << 32
                var index = 0
                while index + 8 <= length {
                    target.storeBytes(of: source.loadUnaligned(fromByteOffset: index, as: UInt64.self) ^ word, toByteOffset: index, as: UInt64.self)
                    index += 8
                }
                withUnsafeBytes(of: keyBytes) { keyBytes in
                    while index < length {
                        target[index] = source[index] ^ keyBytes[index & 3]
                        index += 1
                    }
                }
            }
            return length
        }
        buffer.moveReaderIndex(forwardBy: length)
        scratch.keep(out)
        return out
    }

    /// Turns a frame into a message, or keeps it as a fragment (nil).
    private mutating func assemble(_ frame: Frame) throws(Failure) -> Message? {
        switch frame.opcode {
        case 0x8:
            guard frame.payload.readableBytes != 1 else { throw .protocolError("a close frame body must be empty or at least 2 bytes") }
            return .close(frame.payload)
        case 0x9:
            return .ping(frame.payload)
        case 0xA:
            return .pong
        case 0x0:
            guard var message = fragmented.take() else { throw .protocolError("a continuation frame without a message to continue") }
            message.count += 1
            guard message.count <= maxFragments else { throw .protocolError("a message of more than \(maxFragments) fragments") }
            message.data.writeImmutableBuffer(frame.payload)
            guard frame.fin else {
                fragmented = message
                return nil
            }
            return try Self.message(opcode: message.opcode, message.data)
        default:
            guard fragmented == nil else { throw .protocolError("a new message inside a fragmented one") }
            guard frame.fin else {
                fragmented = (frame.opcode, frame.payload, 1)
                return nil
            }
            return try Self.message(opcode: frame.opcode, frame.payload)
        }
    }

    private static func message(opcode: UInt8, _ payload: ByteBuffer) throws(Failure) -> Message {
        guard opcode == 0x1 else { return .binary(payload) }
        // Checked on the whole message, so a character split across fragments is fine.
        guard payload.withUnsafeReadableBytes(isValidUTF8) else { throw .invalidUTF8 }
        return .text(payload)
    }

    /// UTF-8 well-formedness (Unicode Table 3-7: no overlongs, surrogates or code points
    /// above U+10FFFF), eight ASCII bytes at a time.
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = bytes.count
        var index = 0
        while index < count {
            if index + 8 <= count, bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                index += 8
                continue
            }
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            // The allowed range of the second byte; later ones are always 80...BF.
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            let trailing: Int
            switch lead {
            case 0xC2...0xDF: trailing = 1
            case 0xE0: trailing = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: trailing = 2
            case 0xED: trailing = 2; high = 0x9F
            case 0xF0: trailing = 3; low = 0x90
            case 0xF1...0xF3: trailing = 3
            case 0xF4: trailing = 3; high = 0x8F
            default: return false
            }
            guard index + trailing < count else { return false }
            let second = bytes[index + 1]
            guard second >= low, second <= high else { return false }
            var next = index + 2
            while next <= index + trailing {
                guard bytes[next] & 0xC0 == 0x80 else { return false }
                next += 1
            }
            index += trailing + 1
        }
        return true
    }
}

/// Server-to-client WebSocket frames (unmasked, never fragmented).
enum WebSocketFrameWriter {
    /// Bytes of the header for a payload of this length.
    static func headerLength(payload length: Int) -> Int {
        length <= 125 ? 2 : length <= 0xFFFF ? 4 : 10
    }

    /// The longest header a server frame has (8-byte length, no mask).
    static let maxHeaderLength = 10

    /// Writes a final frame's header.
    static func writeHeader(opcode: UInt8, payloadLength length: Int, into buffer: inout ByteBuffer) {
        let written = setHeader(opcode: opcode, payloadLength: length, in: &buffer, at: buffer.writerIndex)
        buffer.moveWriterIndex(forwardBy: written)
    }

    /// Sets a final frame's header at `index` (which must be writable); returns its length.
    @discardableResult
    static func setHeader(opcode: UInt8, payloadLength length: Int, in buffer: inout ByteBuffer, at index: Int) -> Int {
        buffer.setInteger(0x80 | opcode, at: index)
        if length <= 125 {
            buffer.setInteger(UInt8(length), at: index + 1)
            return 2
        } else if length <= 0xFFFF {
            buffer.setInteger(UInt8(126), at: index + 1)
            buffer.setInteger(UInt16(length), at: index + 2)
            return 4
        } else {
            buffer.setInteger(UInt8(127), at: index + 1)
            buffer.setInteger(UInt64(length), at: index + 2)
            return 10
        }
    }
}
