import NIOCore
import SwitchyardJSON

/// Lets the JSON writer append straight into outgoing message buffers.
extension ByteBuffer: JSONOutputStream {
    @inlinable public mutating func writeJSONByte(_ byte: UInt8) { writeInteger(byte) }
    @inlinable public mutating func writeJSONBytes(_ bytes: UnsafeRawBufferPointer) { writeBytes(bytes) }
}

