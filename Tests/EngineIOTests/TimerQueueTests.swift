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
        let start = loop.now
        queue.schedule(at: start + .milliseconds(30), target: recorder, token: 3)
        queue.schedule(at: start + .milliseconds(10), target: recorder, token: 1)
        queue.schedule(at: start + .milliseconds(20), target: recorder, token: 2)
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
        let deadline = loop.now + .milliseconds(5)
        for token in 0..<10 { queue.schedule(at: deadline, target: recorder, token: UInt64(token)) }
        loop.advanceTime(by: .milliseconds(5))
        #expect(recorder.fired.map(\.0) == Array(0..<10))
    }

    @Test("An earlier deadline scheduled later re-arms the queue")
    func rearmsForEarlierDeadline() {
        let loop = EmbeddedEventLoop()
        let queue = EventLoopTimerQueue(eventLoop: loop)
        let recorder = Recorder()
        queue.schedule(at: loop.now + .seconds(10), target: recorder, token: 1)
        queue.schedule(at: loop.now + .milliseconds(1), target: recorder, token: 2)
        loop.advanceTime(by: .milliseconds(1))
        #expect(recorder.fired.map(\.0) == [2])
    }

    @Test("A target scheduling from inside its callback is served in the same pass when due")
    func scheduleFromCallback() {
        let loop = EmbeddedEventLoop()
        let queue = EventLoopTimerQueue(eventLoop: loop)
        final class Chain: EventLoopTimerTarget {
            let queue: EventLoopTimerQueue
            var count = 0
            init(queue: EventLoopTimerQueue) { self.queue = queue }
            func timerFired(token: UInt64, now: NIODeadline) {
                count += 1
                if count < 3 { queue.schedule(at: now + .milliseconds(10), target: self, token: token) }
            }
        }
        let chain = Chain(queue: queue)
        queue.schedule(at: loop.now + .milliseconds(10), target: chain, token: 0)
        loop.advanceTime(by: .milliseconds(100))
        #expect(chain.count == 3)
    }
}

@Suite("Per-loop timer queue memory")
struct TimerQueueMemoryTests {
    final class Target: EventLoopTimerTarget {
        func timerFired(token: UInt64, now: NIODeadline) {}
    }

    @Test("A pending deadline does not keep its target alive")
    func weakTargets() {
        let loop = EmbeddedEventLoop()
        let queue = EventLoopTimerQueue(eventLoop: loop)
        weak var released: Target?
        do {
            let target = Target()
            released = target
            queue.schedule(at: loop.now + .seconds(45), target: target, token: 0)
        }
        #expect(released == nil)
        loop.advanceTime(by: .seconds(45))
        #expect(queue.count == 0)
    }
}
