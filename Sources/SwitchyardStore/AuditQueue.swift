import Foundation

/// The bounded queue between the event loops and the audit writer.
///
/// A ring buffer of fixed capacity allocated once, guarded by one lock: ``append(_:)`` is
/// a lock, a copy into a slot and an unlock, and never allocates or waits for the writer.
/// Slots are initialized on first use, so the memory of the ring becomes resident only as
/// deep as the queue has ever been (the default 65,536 slots are about 23 MB).
/// A record that does not fit is counted (``droppedTotal``, and the unreported count
/// the writer turns into an `audit_overflow` row), never silently lost.
///
/// The single consumer reads the oldest records with ``peek(upTo:into:)`` without removing
/// them, writes them, and only then ``remove(_:)``s them: rows whose write failed stay
/// queued for the retry, and the capacity bounds queued and in-flight rows together.
/// Slots between `head` and `head + count` belong to the consumer while it holds them
/// (producers only write past the end), so copying out happens outside the lock.
final class AuditQueue: @unchecked Sendable {
    let capacity: Int
    private let slots: UnsafeMutablePointer<AuditRecord?>
    private let condition = NSCondition()
    private var head = 0
    private var count = 0
    /// Slots `0..<initialized` hold a value (a record or nil); the ring fills them in order.
    private var initialized = 0
    private var dropped = 0
    private var unreported = 0
    private var closed = false
    private var stopRequested = false
    /// The count at which a producer wakes the consumer (a full batch is ready).
    private let wakeCount: Int

    init(capacity: Int, wakeCount: Int) {
        precondition(capacity > 0, "the audit queue needs room for at least one record")
        self.capacity = capacity
        self.wakeCount = max(1, min(wakeCount, capacity))
        slots = .allocate(capacity: capacity)
    }

    deinit {
        slots.deinitialize(count: initialized)
        slots.deallocate()
    }

    /// Queues a record; false (and counted as dropped) when the queue is full or closed.
    @discardableResult
    func append(_ record: AuditRecord) -> Bool {
        condition.lock()
        guard count < capacity, !closed else {
            dropped &+= 1
            unreported &+= 1
            condition.unlock()
            return false
        }
        let index = (head + count) % capacity
        if index < initialized {
            slots[index] = record
        } else {
            // The ring writes slots in order, so the first write to a slot is the next one.
            assert(index == initialized)
            (slots + index).initialize(to: record)
            initialized += 1
        }
        count += 1
        let wake = count == wakeCount
        condition.unlock()
        if wake { condition.signal() }
        return true
    }

    /// Records queued now (including those the consumer holds).
    var queuedCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return count
    }

    /// Records refused since the queue was made.
    var droppedTotal: Int {
        condition.lock()
        defer { condition.unlock() }
        return dropped
    }

    /// Takes the count of drops not yet reported in an overflow row, resetting it.
    func takeUnreportedDrops() -> Int {
        condition.lock()
        defer { condition.unlock() }
        let taken = unreported
        unreported = 0
        return taken
    }

    /// Puts back drops whose overflow row could not be written.
    func restoreUnreportedDrops(_ number: Int) {
        condition.lock()
        unreported &+= number
        condition.unlock()
    }

    /// Copies up to `limit` of the oldest records into `batch` (replacing its contents),
    /// leaving them queued. Consumer only.
    func peek(upTo limit: Int, into batch: inout [AuditRecord]) {
        condition.lock()
        let start = head
        let number = min(limit, count)
        condition.unlock()
        batch.removeAll(keepingCapacity: true)
        for offset in 0..<number {
            batch.append(slots[(start + offset) % capacity]!)
        }
    }

    /// Removes the `number` oldest records (after they were written or given up). Consumer only.
    func remove(_ number: Int) {
        guard number > 0 else { return }
        condition.lock()
        let start = head
        let number = min(number, count)
        condition.unlock()
        // Release the records outside the lock: these slots are the consumer's until head moves.
        for offset in 0..<number {
            slots[(start + offset) % capacity] = nil
        }
        condition.lock()
        head = (head + number) % capacity
        count -= number
        condition.unlock()
    }

    /// Refuses further records (each counted as dropped). Used once the writer has stopped.
    func close() {
        condition.lock()
        closed = true
        condition.unlock()
    }

    /// Asks the consumer to stop waiting (graceful shutdown).
    func requestStop() {
        condition.lock()
        stopRequested = true
        condition.unlock()
        condition.broadcast()
    }

    var isStopRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopRequested
    }

    /// Blocks the consumer until the deadline, a stop request, or (when `wakeOnBatch`)
    /// a full batch. Returns whether a stop was requested.
    func wait(until deadline: Date, wakeOnBatch: Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !stopRequested && !(wakeOnBatch && count >= wakeCount) {
            if !condition.wait(until: deadline) { break }
        }
        return stopRequested
    }
}
