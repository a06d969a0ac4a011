import NIOCore
import SwitchyardJSON

/// Lets the JSON writer append straight into outgoing message buffers.
extension ByteBuffer: JSONOutputStream {
    @inlinable public mutating func writeJSONByte(_ byte: UInt8) { writeInteger(byte) }
    @inlinable public mutating func writeJSONBytes(_ bytes: UnsafeRawBufferPointer) { writeBytes(bytes) }
}

extension ByteBuffer {
    /// Appends `value` in decimal ASCII digits (an ack id, an attachment count) without
    /// building a `String` first.
    @inlinable mutating func writeDecimal(_ value: UInt64) {
        if value < 10 {
            writeInteger(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for UInt64.max's 20 digits
        withUnsafeMutableBytes(of: &digits) { scratch in
            var rest = value
            var index = scratch.count
            while rest > 0 {
                index -= 1
                scratch[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
            writeBytes(UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
    }
}
