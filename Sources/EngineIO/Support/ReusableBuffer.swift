import NIOCore

/// A small buffer kept between uses so that a steady stream of small messages allocates
/// nothing: once whoever took the previous contents has let go of them, the storage is
/// uniquely ours again and ``take(minimumCapacity:)`` clears it in place (`clear` only
/// allocates when someone still holds it). Buffers that grew past ``limit`` are not kept,
/// so an idle connection holds little.
struct ReusableBuffer {
    /// Largest capacity kept between uses.
    static let limit = 1024

    private var buffer: ByteBuffer?

    /// An empty buffer with room for `minimumCapacity` bytes: the kept one if there is one.
    mutating func take(minimumCapacity: Int) -> ByteBuffer {
        guard var buffer = buffer.take() else {
            return ByteBufferAllocator().buffer(capacity: Swift.max(minimumCapacity, 64))
        }
        buffer.clear(minimumCapacity: minimumCapacity)
        return buffer
    }

    /// Keeps `buffer` (sharing its storage) for the next ``take(minimumCapacity:)`` unless it is large.
    mutating func keep(_ buffer: ByteBuffer) {
        self.buffer = buffer.capacity <= Self.limit ? buffer : nil
    }

    /// Lets go of the kept buffer.
    mutating func release() {
        buffer = nil
    }
}
