import Foundation
import Testing

@testable import SwitchyardStore

@Suite("Audit queue")
struct AuditQueueTests {
    func record(_ reason: String) -> AuditRecord {
        var record = AuditRecord(kind: .event, time: referenceTime)
        record.reason = reason
        return record
    }

    func peek(_ queue: AuditQueue, _ limit: Int) -> [String] {
        var batch: [AuditRecord] = []
        queue.peek(upTo: limit, into: &batch)
        return batch.map { $0.reason ?? "?" }
    }

    @Test("Order survives many turns of the ring; a full ring refuses and counts")
    func ringOrder() {
        let queue = AuditQueue(capacity: 3, wakeCount: 2)
        #expect(queue.append(record("a")) && queue.append(record("b")) && queue.append(record("c")))
        #expect(!queue.append(record("refused")))
        #expect(queue.droppedTotal == 1 && queue.takeUnreportedDrops() == 1)
        #expect(peek(queue, 2) == ["a", "b"])
        queue.remove(2)
        // The next two go to slots 0 and 1 again (already used), behind "c" in slot 2.
        #expect(queue.append(record("d")) && queue.append(record("e")))
        #expect(peek(queue, 10) == ["c", "d", "e"])
        queue.remove(3)
        #expect(queue.queuedCount == 0)
        var expected: [String] = []
        for turn in 0..<10 {
            let names = (0..<(turn % 3 + 1)).map { "t\(turn)-\($0)" }
            for name in names { #expect(queue.append(record(name))) }
            expected = names
            #expect(peek(queue, 3) == expected)
            queue.remove(names.count)
        }
        #expect(queue.queuedCount == 0 && queue.droppedTotal == 1)
    }

    @Test("A partly used ring is torn down cleanly (only used slots hold records)")
    func partlyUsed() {
        var queue: AuditQueue? = AuditQueue(capacity: 1_000, wakeCount: 10)
        for index in 0..<5 { queue!.append(record("r\(index)")) }
        queue!.remove(2)
        #expect(peek(queue!, 10) == ["r2", "r3", "r4"])
        queue = nil
    }
}
