import NIOCore

/// Commands waiting to be written: bounded in count and bytes, so a paused or unreachable
/// Redis costs a fixed amount of memory and the overflow is counted, never held.
///
/// A pure value; ``RedisClient`` keeps it behind a lock so any thread can enqueue.
struct RedisOutboundQueue<Token> {
    struct Entry {
        var bytes: ByteBuffer
        var token: Token
    }

    enum EnqueueResult: Equatable {
        case accepted
        /// Over a limit; the command was not kept.
        case dropped
    }

    let maxCommands: Int
    let maxBytes: Int
    private(set) var entries = CircularBuffer<Entry>()
    private(set) var bytes = 0
    private(set) var droppedCount: UInt64 = 0

    init(maxCommands: Int, maxBytes: Int) {
        self.maxCommands = max(1, maxCommands)
        self.maxBytes = max(1, maxBytes)
    }

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    mutating func enqueue(_ bytes: ByteBuffer, token: Token) -> EnqueueResult {
        guard entries.count < maxCommands, self.bytes + bytes.readableBytes <= maxBytes else {
            droppedCount &+= 1
            return .dropped
        }
        entries.append(Entry(bytes: bytes, token: token))
        self.bytes += bytes.readableBytes
        return .accepted
    }

    /// Takes up to `limit` entries in order.
    mutating func dequeue(upTo limit: Int) -> [Entry] {
        let taken = min(limit, entries.count)
        guard taken > 0 else { return [] }
        var result: [Entry] = []
        result.reserveCapacity(taken)
        for _ in 0..<taken {
            let entry = entries.removeFirst()
            bytes -= entry.bytes.readableBytes
            result.append(entry)
        }
        return result
    }

    /// Empties the queue, returning what it held.
    mutating func removeAll() -> [Entry] {
        dequeue(upTo: entries.count)
    }
}
