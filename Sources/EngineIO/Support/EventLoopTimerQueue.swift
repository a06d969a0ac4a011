import HeapModule
import NIOCore

/// Something that owns deadlines in an ``EventLoopTimerQueue``.
public protocol EventLoopTimerTarget: AnyObject {
    /// A deadline registered with `token` has passed. Targets ignore tokens they no longer
    /// care about (cancellation is lazy: nothing is removed from the queue).
    func timerFired(token: UInt64, now: NIODeadline)
}

/// A target's registration with an ``EventLoopTimerQueue``: the queue's entries hold the
/// slot, and the slot holds its target until ``release()``.
///
/// The target keeps its slot (a cycle, ended by `release()` when the target is done: a
/// session removed, a client or socket closed, an invocation finished), so a closed
/// connection is freed at once instead of living on until its stale deadlines pass. The
/// queue used to hold targets weakly instead; a weak reference gives its object a side
/// table for good, and every retain and release of that object (a connection or a
/// Socket.IO client, retained several times per event) then takes the runtime's slow path.
///
/// Confined to the queue's event loop.
public final class EventLoopTimerSlot: @unchecked Sendable {
    fileprivate private(set) var target: (any EventLoopTimerTarget)?

    public init(target: any EventLoopTimerTarget) {
        self.target = target
    }

    /// Ends the registration: deadlines still queued fire nothing, and the target is no
    /// longer kept alive by them. On the queue's loop.
    public func release() {
        target = nil
    }
}

/// One timer queue per event loop, instead of one NIO scheduled task per connection.
///
/// A scheduled task costs an allocation for the task, its promise and its closure each
/// time it is armed; a connection re-arms its ping timer on every pong. Here a deadline is
/// a 32-byte heap entry, the queue keeps a single scheduled task for its earliest
/// deadline, and cancellation is lazy: a target recognises stale tokens and ignores them.
/// Entries reach their targets through an ``EventLoopTimerSlot``.
///
/// Confined to its event loop: every method must be called on `eventLoop`.
public final class EventLoopTimerQueue: @unchecked Sendable {
    struct Entry: Comparable {
        var deadline: NIODeadline
        var sequence: UInt64
        let slot: EventLoopTimerSlot
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

    /// Calls `timerFired(token:now:)` on the slot's target on the event loop once
    /// `deadline` has passed, unless the slot has been released by then.
    public func schedule(at deadline: NIODeadline, slot: EventLoopTimerSlot, token: UInt64) {
        eventLoop.assertInEventLoop()
        sequence &+= 1
        heap.insert(Entry(deadline: deadline, sequence: sequence, slot: slot, token: token))
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
            entry.slot.target?.timerFired(token: entry.token, now: now)
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
