import HeapModule
import NIOCore

/// Something that owns deadlines in an ``EventLoopTimerQueue``.
public protocol EventLoopTimerTarget: AnyObject {
    /// A deadline registered with `token` has passed. Targets ignore tokens they no longer
    /// care about (cancellation is lazy: nothing is removed from the queue).
    func timerFired(token: UInt64, now: NIODeadline)
}

/// One timer queue per event loop, instead of one NIO scheduled task per connection.
///
/// A scheduled task costs an allocation for the task, its promise and its closure each
/// time it is armed; a connection re-arms its ping timer on every pong. Here a deadline is
/// a 32-byte heap entry, the queue keeps a single scheduled task for its earliest
/// deadline, and cancellation is lazy: a target recognises stale tokens and ignores them.
/// Entries hold their targets weakly, so a closed connection is freed at once.
///
/// Confined to its event loop: every method must be called on `eventLoop`.
public final class EventLoopTimerQueue: @unchecked Sendable {
    struct Entry: Comparable {
        var deadline: NIODeadline
        var sequence: UInt64
        /// Weak: a closed connection must not live on until its stale deadlines pass.
        weak var target: EventLoopTimerTarget?
        var token: UInt64

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            (lhs.deadline, lhs.sequence) < (rhs.deadline, rhs.sequence)
        }

        static func == (lhs: Entry, rhs: Entry) -> Bool {
            lhs.deadline == rhs.deadline && lhs.sequence == rhs.sequence
        }
    }

    public let eventLoop: EventLoop
    private var heap = Heap<Entry>()
    private var sequence: UInt64 = 0
    private var armed: (deadline: NIODeadline, task: Scheduled<Void>)?

    public init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Number of entries (including stale ones not yet due).
    public var count: Int { heap.count }

    /// Calls `target.timerFired(token:now:)` on the event loop once `deadline` has passed.
    public func schedule(at deadline: NIODeadline, target: EventLoopTimerTarget, token: UInt64) {
        eventLoop.assertInEventLoop()
        sequence &+= 1
        heap.insert(Entry(deadline: deadline, sequence: sequence, target: target, token: token))
        if let armed, armed.deadline <= deadline { return }
        arm(for: deadline)
    }

    private func arm(for deadline: NIODeadline) {
        armed?.task.cancel()
        let task = eventLoop.scheduleTask(deadline: deadline) { [self] in
            self.armed = nil
            self.fireDue()
        }
        armed = (deadline, task)
    }

    /// Runs every entry that is due, then re-arms for the next one.
    func fireDue() {
        let now = eventLoop.now
        while let first = heap.min, first.deadline <= now {
            let entry = heap.removeMin()
            entry.target?.timerFired(token: entry.token, now: now)
        }
        if let next = heap.min {
            if armed == nil || armed!.deadline > next.deadline { arm(for: next.deadline) }
        }
    }

    /// Drops every entry (used when the server stops).
    public func removeAll() {
        armed?.task.cancel()
        armed = nil
        heap = Heap()
    }
}
