import NIOCore

// MARK: - Encoding

extension MessagePackValue {
    /// Appends the value in its shortest MessagePack form (as `notepack.io` chooses them).
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .null:
            buffer.writeInteger(UInt8(0xc0))
        case .bool(let value):
            buffer.writeInteger(UInt8(value ? 0xc3 : 0xc2))
        case .int(let value):
            if value >= 0 {
                Self.writeUnsigned(UInt64(value), to: &buffer)
            } else if value >= -32 {
                buffer.writeInteger(Int8(value))
            } else if value >= Int64(Int8.min) {
                buffer.writeInteger(UInt8(0xd0))
                buffer.writeInteger(Int8(value))
            } else if value >= Int64(Int16.min) {
                buffer.writeInteger(UInt8(0xd1))
                buffer.writeInteger(Int16(value))
            } else if value >= Int64(Int32.min) {
                buffer.writeInteger(UInt8(0xd2))
                buffer.writeInteger(Int32(value))
            } else {
                buffer.writeInteger(UInt8(0xd3))
                buffer.writeInteger(value)
            }
        case .uint(let value):
            Self.writeUnsigned(value, to: &buffer)
        case .float(let value):
            buffer.writeInteger(UInt8(0xca))
            buffer.writeInteger(value.bitPattern)
        case .double(let value):
            buffer.writeInteger(UInt8(0xcb))
            buffer.writeInteger(value.bitPattern)
        case .string(let string):
            let count = string.utf8.count
            if count < 32 {
                buffer.writeInteger(UInt8(0xa0 | count))
            } else {
                Self.writeLength(count, markers: (0xd9, 0xda, 0xdb), to: &buffer)
            }
            buffer.writeString(string)
        case .binary(let bytes):
            Self.writeLength(bytes.readableBytes, markers: (0xc4, 0xc5, 0xc6), to: &buffer)
            buffer.writeImmutableBuffer(bytes)
        case .array(let elements):
            Self.writeArrayHeader(count: elements.count, to: &buffer)
            for element in elements { element.write(to: &buffer) }
        case .map(let pairs):
            Self.writeMapHeader(count: pairs.count, to: &buffer)
            for pair in pairs {
                pair.key.write(to: &buffer)
                pair.value.write(to: &buffer)
            }
        case .extended(let type, let data):
            let count = data.readableBytes
            switch count {
            case 1: buffer.writeInteger(UInt8(0xd4))
            case 2: buffer.writeInteger(UInt8(0xd5))
            case 4: buffer.writeInteger(UInt8(0xd6))
            case 8: buffer.writeInteger(UInt8(0xd7))
            case 16: buffer.writeInteger(UInt8(0xd8))
            default: Self.writeLength(count, markers: (0xc7, 0xc8, 0xc9), to: &buffer)
            }
            buffer.writeInteger(type)
            buffer.writeImmutableBuffer(data)
        }
    }

    /// The encoded bytes of the value.
    public func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        write(to: &buffer)
        return buffer
    }

    static func writeUnsigned(_ value: UInt64, to buffer: inout ByteBuffer) {
        if value < 128 {
            buffer.writeInteger(UInt8(value))
        } else if value <= UInt64(UInt8.max) {
            buffer.writeInteger(UInt8(0xcc))
            buffer.writeInteger(UInt8(value))
        } else if value <= UInt64(UInt16.max) {
            buffer.writeInteger(UInt8(0xcd))
            buffer.writeInteger(UInt16(value))
        } else if value <= UInt64(UInt32.max) {
            buffer.writeInteger(UInt8(0xce))
            buffer.writeInteger(UInt32(value))
        } else {
            buffer.writeInteger(UInt8(0xcf))
            buffer.writeInteger(value)
        }
    }

    /// A length with an 8-, 16- or 32-bit prefix.
    static func writeLength(_ count: Int, markers: (UInt8, UInt8, UInt8), to buffer: inout ByteBuffer) {
        if count <= Int(UInt8.max) {
            buffer.writeInteger(markers.0)
            buffer.writeInteger(UInt8(count))
        } else if count <= Int(UInt16.max) {
            buffer.writeInteger(markers.1)
            buffer.writeInteger(UInt16(count))
        } else {
            buffer.writeInteger(markers.2)
            buffer.writeInteger(UInt32(truncatingIfNeeded: count))
        }
    }

    static func writeArrayHeader(count: Int, to buffer: inout ByteBuffer) {
        if count < 16 {
            buffer.writeInteger(UInt8(0x90 | count))
        } else if count <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(0xdc))
            buffer.writeInteger(UInt16(count))
        } else {
            buffer.writeInteger(UInt8(0xdd))
            buffer.writeInteger(UInt32(truncatingIfNeeded: count))
        }
    }

    static func writeMapHeader(count: Int, to buffer: inout ByteBuffer) {
        if count < 16 {
            buffer.writeInteger(UInt8(0x80 | count))
        } else if count <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(0xde))
            buffer.writeInteger(UInt16(count))
        } else {
            buffer.writeInteger(UInt8(0xdf))
            buffer.writeInteger(UInt32(truncatingIfNeeded: count))
        }
    }
}

// MARK: - Decoding

extension MessagePackValue {
    /// Most nested arrays and maps a decoded value may have (protects the stack).
    public static let defaultDepthLimit = 64

    /// Decodes exactly one value from the readable bytes.
    public init(decoding buffer: ByteBuffer, depthLimit: Int = MessagePackValue.defaultDepthLimit) throws(MessagePackError) {
        var reader = buffer
        self = try MessagePackValue.read(from: &reader, depth: depthLimit)
        if reader.readableBytes > 0 { throw .trailingBytes(reader.readableBytes) }
    }

    /// Decodes exactly one value from bytes.
    public init(decoding bytes: [UInt8]) throws(MessagePackError) {
        try self.init(decoding: ByteBuffer(bytes: bytes))
    }

    /// Reads one value, advancing the buffer's reader index.
    public static func read(from buffer: inout ByteBuffer, depth: Int = MessagePackValue.defaultDepthLimit) throws(MessagePackError)
        -> MessagePackValue
    {
        guard let byte = buffer.readInteger(as: UInt8.self) else { throw .truncated }
        switch byte {
        case 0x00...0x7f: return .int(Int64(byte))
        case 0x80...0x8f: return try readMap(count: Int(byte & 0x0f), from: &buffer, depth: depth)
        case 0x90...0x9f: return try readArray(count: Int(byte & 0x0f), from: &buffer, depth: depth)
        case 0xa0...0xbf: return try readString(count: Int(byte & 0x1f), from: &buffer)
        case 0xc0: return .null
        case 0xc2: return .bool(false)
        case 0xc3: return .bool(true)
        case 0xc4: return .binary(try readBytes(count: Int(try integer(UInt8.self, &buffer)), from: &buffer))
        case 0xc5: return .binary(try readBytes(count: Int(try integer(UInt16.self, &buffer)), from: &buffer))
        case 0xc6: return .binary(try readBytes(count: Int(try integer(UInt32.self, &buffer)), from: &buffer))
        case 0xc7: return try readVariableExtension(count: Int(try integer(UInt8.self, &buffer)), from: &buffer)
        case 0xc8: return try readVariableExtension(count: Int(try integer(UInt16.self, &buffer)), from: &buffer)
        case 0xc9: return try readVariableExtension(count: Int(try integer(UInt32.self, &buffer)), from: &buffer)
        case 0xca: return .float(Float(bitPattern: try integer(UInt32.self, &buffer)))
        case 0xcb: return .double(Double(bitPattern: try integer(UInt64.self, &buffer)))
        case 0xcc: return .int(Int64(try integer(UInt8.self, &buffer)))
        case 0xcd: return .int(Int64(try integer(UInt16.self, &buffer)))
        case 0xce: return .int(Int64(try integer(UInt32.self, &buffer)))
        case 0xcf:
            let value = try integer(UInt64.self, &buffer)
            return value <= UInt64(Int64.max) ? .int(Int64(value)) : .uint(value)
        case 0xd0: return .int(Int64(try integer(Int8.self, &buffer)))
        case 0xd1: return .int(Int64(try integer(Int16.self, &buffer)))
        case 0xd2: return .int(Int64(try integer(Int32.self, &buffer)))
        case 0xd3: return .int(try integer(Int64.self, &buffer))
        case 0xd4: return try readExtension(count: 1, from: &buffer)
        case 0xd5: return try readExtension(count: 2, from: &buffer)
        case 0xd6: return try readExtension(count: 4, from: &buffer)
        case 0xd7: return try readExtension(count: 8, from: &buffer)
        case 0xd8: return try readExtension(count: 16, from: &buffer)
        case 0xd9: return try readString(count: Int(try integer(UInt8.self, &buffer)), from: &buffer)
        case 0xda: return try readString(count: Int(try integer(UInt16.self, &buffer)), from: &buffer)
        case 0xdb: return try readString(count: Int(try integer(UInt32.self, &buffer)), from: &buffer)
        case 0xdc: return try readArray(count: Int(try integer(UInt16.self, &buffer)), from: &buffer, depth: depth)
        case 0xdd: return try readArray(count: Int(try integer(UInt32.self, &buffer)), from: &buffer, depth: depth)
        case 0xde: return try readMap(count: Int(try integer(UInt16.self, &buffer)), from: &buffer, depth: depth)
        case 0xdf: return try readMap(count: Int(try integer(UInt32.self, &buffer)), from: &buffer, depth: depth)
        case 0xe0...0xff: return .int(Int64(Int8(bitPattern: byte)))
        default: throw .invalidTypeByte(byte)
        }
    }

    private static func integer<T: FixedWidthInteger>(_ type: T.Type, _ buffer: inout ByteBuffer) throws(MessagePackError) -> T {
        guard let value = buffer.readInteger(as: T.self) else { throw .truncated }
        return value
    }

    private static func readBytes(count: Int, from buffer: inout ByteBuffer) throws(MessagePackError) -> ByteBuffer {
        guard let slice = buffer.readSlice(length: count) else { throw .truncated }
        return slice
    }

    private static func readString(count: Int, from buffer: inout ByteBuffer) throws(MessagePackError) -> MessagePackValue {
        guard buffer.readableBytes >= count else { throw .truncated }
        let string =
            buffer.readableBytesView.prefix(count).withContiguousStorageIfAvailable {
                String(validating: $0, as: UTF8.self)
            } ?? String(validating: Array(buffer.readableBytesView.prefix(count)), as: UTF8.self)
        guard let string else { throw .invalidUTF8 }
        buffer.moveReaderIndex(forwardBy: count)
        return .string(string)
    }

    private static func readExtension(count: Int, from buffer: inout ByteBuffer) throws(MessagePackError) -> MessagePackValue {
        let type = try integer(Int8.self, &buffer)
        return .extended(type: type, data: try readBytes(count: count, from: &buffer))
    }

    /// `ext 8/16/32`: notepack.io 2.x writes an `ArrayBuffer` as one of these with type 0
    /// (its `lib/decode.js` reads them back as bytes), so type 0 here is binary. The fixed
    /// sizes (`fixext 1`, `fixext 8`) with type 0 stay extensions: notepack 2.x's `undefined`
    /// and `Date` (see ``isUndefined`` and ``timestamp``).
    private static func readVariableExtension(count: Int, from buffer: inout ByteBuffer) throws(MessagePackError) -> MessagePackValue {
        let value = try readExtension(count: count, from: &buffer)
        if case .extended(0, let data) = value { return .binary(data) }
        return value
    }

    private static func readArray(count: Int, from buffer: inout ByteBuffer, depth: Int) throws(MessagePackError) -> MessagePackValue {
        guard depth > 0 else { throw .tooDeep }
        // Every element takes at least one byte: a lying count cannot reserve unbounded memory.
        guard count <= buffer.readableBytes else { throw .truncated }
        var elements: [MessagePackValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try read(from: &buffer, depth: depth - 1)) }
        return .array(elements)
    }

    private static func readMap(count: Int, from buffer: inout ByteBuffer, depth: Int) throws(MessagePackError) -> MessagePackValue {
        guard depth > 0 else { throw .tooDeep }
        guard count <= buffer.readableBytes / 2 else { throw .truncated }
        var pairs: [MessagePackPair] = []
        pairs.reserveCapacity(count)
        for _ in 0..<count {
            let key = try read(from: &buffer, depth: depth - 1)
            let value = try read(from: &buffer, depth: depth - 1)
            pairs.append(MessagePackPair(key: key, value: value))
        }
        return .map(pairs)
    }
}
