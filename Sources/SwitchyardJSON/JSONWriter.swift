/// Where serialized JSON goes: a byte array here, a NIO `ByteBuffer` in the server layers.
public protocol JSONOutputStream {
    mutating func writeJSONByte(_ byte: UInt8)
    mutating func writeJSONBytes(_ bytes: UnsafeRawBufferPointer)
}

extension Array: JSONOutputStream where Element == UInt8 {
    @inlinable public mutating func writeJSONByte(_ byte: UInt8) { append(byte) }
    @inlinable public mutating func writeJSONBytes(_ bytes: UnsafeRawBufferPointer) { append(contentsOf: bytes) }
}

extension JSONOutputStream {
    @inlinable
    mutating func writeASCII(_ text: StaticString) {
        writeJSONBytes(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inlinable
    mutating func writeUTF8(_ string: String) {
        var string = string
        string.withUTF8 { writeJSONBytes(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `string` as a JSON string literal, escaping what JSON requires.
    ///
    /// Escapes `"`, `\` and control characters; everything else, including non-ASCII,
    /// is written as UTF-8 (as `JSON.stringify` does).
    @inlinable
    public mutating func writeJSONString(_ string: String) {
        writeJSONByte(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index {
                    writeJSONBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[runStart..<index])))
                }
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): writeASCII("\\\"")
                case UInt8(ascii: "\\"): writeASCII("\\\\")
                case 0x0A: writeASCII("\\n")
                case 0x0D: writeASCII("\\r")
                case 0x09: writeASCII("\\t")
                case 0x08: writeASCII("\\b")
                case 0x0C: writeASCII("\\f")
                default:
                    writeASCII("\\u00")
                    writeJSONByte(jsonHexDigit(byte >> 4))
                    writeJSONByte(jsonHexDigit(byte & 0xF))
                }
            }
            if runStart < utf8.count {
                writeJSONBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count])))
            }
        }
        writeJSONByte(UInt8(ascii: "\""))
    }
}

@inlinable @inline(__always)
func jsonHexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
}

extension JSONValue {
    /// Appends the compact JSON form of the value to `output`.
    @inlinable
    public func write<Output: JSONOutputStream>(to output: inout Output) {
        switch self {
        case .null: output.writeASCII("null")
        case .bool(let value): value ? output.writeASCII("true") : output.writeASCII("false")
        case .number(let number): output.writeUTF8(number.literal)
        case .string(let string): output.writeJSONString(string)
        case .array(let array):
            output.writeJSONByte(UInt8(ascii: "["))
            var first = true
            for element in array {
                if !first { output.writeJSONByte(UInt8(ascii: ",")) }
                first = false
                element.write(to: &output)
            }
            output.writeJSONByte(UInt8(ascii: "]"))
        case .object(let object):
            output.writeJSONByte(UInt8(ascii: "{"))
            for index in object.keys.indices {
                if index > 0 { output.writeJSONByte(UInt8(ascii: ",")) }
                output.writeJSONString(object.keys[index])
                output.writeJSONByte(UInt8(ascii: ":"))
                object.values[index].write(to: &output)
            }
            output.writeJSONByte(UInt8(ascii: "}"))
        }
    }

    /// The compact JSON form of the value as bytes.
    public func serializedBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        write(to: &bytes)
        return bytes
    }

    /// The compact JSON form of the value.
    public func serialized() -> String {
        String(decoding: serializedBytes(), as: UTF8.self)
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { serialized() }
}
