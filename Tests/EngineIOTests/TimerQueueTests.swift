import NIOCore
import NIOEmbedded
import Testing

@testable import EngineIO

@Suite("Per-loop timer queue")
struct TimerQueueTests {
    final class Recorder: EventLoopTimerTarget {
        var fired: [(UInt64, NIODeadline)] = []
        func timerFired(token: UInt64, now: NIODeadline) { fired.append((token, now)) }
    }

    @Test("Entries fire in deadline order once virtual time reaches them")
    func firesInOrder() {
        let loop = EmbeddedEventLoop()
        let queue = EventLoopTimerQueue(eventLoop: loop)
        let recorder = Recorder()
        let slot = EventLoopTimerSlot(target: recorder)
        let start = loop.now
        queue.schedule(at: start + .milliseconds(30), slot: slot, token: 3)
        queue.schedule(at: start + .milliseconds(10), slot: slot, token: 1)
        queue.schedule(at: start + .milliseconds(20), slot: slot, token: 2)
        loop.advanceTime(by: .milliseconds(9))
        #expect(recorder.fired.isEmpty)
        loop.advanceTime(by: .milliseconds(11))
        #expect(recorder.fired.map(\.0) == [1, 2])
        loop.advanceTime(by: .milliseconds(10))
        #expect(recorder.fired.map(\.0) == [1, 2, 3])
        #expect(queue.count == 0)
    }

    @Test("Equal deadlines fire in the order they were scheduled")
    func stableOrder() {
        let loop = EmbeddedEventLoop()
        let queue = EventLoopTimerQueue(eventLoop: loop)
        let recorder = Recorder()
        let slot = EventLoopTimerSlot(target: recorder)
        let deadline = loop.now + .milliseconds(5)
        for token in 0..<10 { queue.schedule(at: deadline, slot: slot, token: UInt64(token)) }
        loop.advanceTime(by: .milliseconds(5))
        #expect(recorder.fired.map(\.0) == Array(0..<10))
    }

    @Test("An earlier deadline scheduled later re-arms the queue")
    func rearmsForEarlierDeadline() {
        let loop = EmbeddedEventLoop()
        let queue = EventLoopTimerQueue(eventLoop: loop)
        let recorder = Recorder()
        let slot = EventLoopTimerSlot(target: recorder)
        queue.schedule(at: loop.now + .seconds(10), slot: slot, token: 1)
        queue.schedule(at: loop.now + .milliseconds(1), slot: slot, token: 2)
        loop.advanceTime(by: .milliseconds(1))
        #expect(recorder.fired.map(\.0) == [2])
    }

    @Test("A target scheduling from inside its callback is served in the same pass when due")
    func scheduleFromCallback() {
        let loop = EmbeddedEventLoop()
        let queue = EventLoopTimerQueue(eventLoop: loop)
        final class Chain: EventLoopTimerTarget {
            let queue: EventLoopTimerQueue
            var slot: EventLoopTimerSlot?
            var count = 0
            init(queue: EventLoopTimerQueue) { self.queue = queue }
            func timerFired(token: UInt64, now: NIODeadline) {
                count += 1
                if count < 3 { queue.schedule(at: now + .milliseconds(10), slot: slot!, token: token) }
            }
        }
        let chain = Chain(queue: queue)
        chain.slot = EventLoopTimerSlot(target: chain)
        queue.schedule(at: loop.now + .milliseconds(10), slot: chain.slot!, token: 0)
        loop.advanceTime(by: .milliseconds(100))
        #expect(chain.count == 3)
    }
}

@Suite("Per-loop timer queue memory")
struct TimerQueueMemoryTests {
    final class Target: EventLoopTimerTarget {
        var slot: EventLoopTimerSlot?
        var fired: [UInt64] = []
        func timerFired(token: UInt64, now: NIODeadline) { fired.append(token) }
    }

    @Test("A released slot neither fires nor keeps its target alive; its entries drain when due")
    func releasedSlot() {
        let loop = EmbeddedEventLoop()
        let queue = EventLoopTimerQueue(eventLoop: loop)
        weak var released: Target?
        do {
            let target = Target()
            released = target
            // The target owns its slot, as connections do: a cycle until release().
            target.slot = EventLoopTimerSlot(target: target)
            queue.schedule(at: loop.now + .seconds(45), slot: target.slot!, token: 0)
            #expect(released != nil)
            target.slot!.release()
        }
        #expect(released == nil)
        loop.advanceTime(by: .seconds(45))
        #expect(queue.count == 0)
    }

    @Test("An unreleased slot keeps its target until the deadline fires it")
    func heldUntilFired() {
        let loop = EmbeddedEventLoop()
        let queue = EventLoopTimerQueue(eventLoop: loop)
        weak var held: Target?
        do {
            let target = Target()
            held = target
            queue.schedule(at: loop.now + .seconds(1), slot: EventLoopTimerSlot(target: target), token: 7)
        }
        #expect(held != nil)
        loop.advanceTime(by: .seconds(1))
        #expect(held == nil)
    }
}
