import NIOCore

extension JSONValue {
    /// Appends the compact JSON form of the value to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .null: buffer.writeStaticString("null")
        case .bool(let value): buffer.writeStaticString(value ? "true" : "false")
        case .number(let number): buffer.writeString(number.literal)
        case .string(let string): buffer.writeJSONString(string)
        case .array(let array):
            buffer.writeInteger(UInt8(ascii: "["))
            for (offset, element) in array.enumerated() {
                if offset > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                element.write(to: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let object):
            buffer.writeInteger(UInt8(ascii: "{"))
            for (offset, (key, value)) in zip(object.keys, object.values).enumerated() {
                if offset > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                buffer.writeJSONString(key)
                buffer.writeInteger(UInt8(ascii: ":"))
                value.write(to: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    /// The compact JSON form of the value.
    public func serialized() -> String {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        write(to: &buffer)
        return String(buffer: buffer)
    }

    /// The compact JSON form of the value as bytes.
    public func serializedBytes() -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        write(to: &buffer)
        return Array(buffer.readableBytesView)
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { serialized() }
}

extension ByteBuffer {
    /// Appends `string` as a JSON string literal, escaping what JSON requires.
    ///
    /// Escapes `"`, `\` and control characters; everything else, including non-ASCII,
    /// is written as UTF-8 (as JSON.stringify does).
    public mutating func writeJSONString(_ string: String) {
        writeInteger(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index { writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))) }
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): writeStaticString("\\\"")
                case UInt8(ascii: "\\"): writeStaticString("\\\\")
                case 0x0A: writeStaticString("\\n")
                case 0x0D: writeStaticString("\\r")
                case 0x09: writeStaticString("\\t")
                case 0x08: writeStaticString("\\b")
                case 0x0C: writeStaticString("\\f")
                default:
                    writeStaticString("\\u00")
                    writeInteger(hexDigit(byte >> 4))
                    writeInteger(hexDigit(byte & 0xF))
                }
            }
            if runStart < utf8.count { writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))) }
        }
        writeInteger(UInt8(ascii: "\""))
    }
}

@inline(__always) private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
}
