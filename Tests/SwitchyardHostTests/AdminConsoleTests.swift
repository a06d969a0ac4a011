import Foundation
import SwitchyardJSON
import SwitchyardStore
import Testing

@testable import SwitchyardHost

/// The console's once-a-second sample: what changed since the previous one.
@Suite("Operator console samples")
struct AdminConsoleSampleTests {
    typealias Key = AdminConsole.SocketKey
    typealias Reading = AdminConsole.SocketReading

    func sample() -> AdminConsole.Sample {
        AdminConsole.Sample(time: 0, sessions: 0, sockets: 0, connects: 0, disconnects: 0, eventsIn: 0, eventsOut: 0)
    }

    @Test("New sockets are connects, missing ones disconnects, events are differences of totals")
    func connectsDisconnectsAndEvents() {
        var first = sample()
        let a = Key(serial: 1), b = Key(serial: 2)
        let counts = AdminConsole.count([Reading(key: a, eventsIn: 3, eventsOut: 1), Reading(key: b, eventsIn: 0, eventsOut: 0)], after: [:], into: &first)
        #expect((first.connects, first.disconnects, first.eventsIn, first.eventsOut) == (2, 0, 3, 1))

        var second = sample()
        let c = Key(serial: 3)
        let next = AdminConsole.count([Reading(key: a, eventsIn: 10, eventsOut: 4), Reading(key: c, eventsIn: 2, eventsOut: 2)], after: counts, into: &second)
        #expect((second.connects, second.disconnects, second.eventsIn, second.eventsOut) == (1, 1, 7 + 2, 3 + 2))
        #expect(next.count == 2)
    }

    @Test("A socket recovered under its old id is a new object: a disconnect, a connect, its events from zero")
    func recoveredSocketIsANewSocket() {
        var first = sample()
        let counts = AdminConsole.count([Reading(key: Key(serial: 7), eventsIn: 100, eventsOut: 50)], after: [:], into: &first)
        var second = sample()
        _ = AdminConsole.count([Reading(key: Key(serial: 8), eventsIn: 4, eventsOut: 60)], after: counts, into: &second)
        #expect((second.connects, second.disconnects, second.eventsIn, second.eventsOut) == (1, 1, 4, 60))
    }

    @Test("The refusal chart: one point per minute in order, events labelled outcome:errorKind")
    func rejectionChart() {
        let minute = Date(timeIntervalSince1970: 1_795_341_600)
        let later = minute.addingTimeInterval(60)
        let chart = AdminConsole.rejectionChart([
            AuditMinuteCount(minute: later, kind: .rateLimited, outcome: nil, errorKind: nil, count: 3),
            AuditMinuteCount(minute: minute, kind: .event, outcome: .error, errorKind: "validation", count: 2),
            AuditMinuteCount(minute: minute, kind: .event, outcome: .refused, errorKind: nil, count: 1),
            AuditMinuteCount(minute: minute, kind: .rateLimited, outcome: nil, errorKind: nil, count: 4),
        ])
        #expect(
            chart == [
                ["t": 1_795_341_600_000, "counts": ["error:validation": 2, "rate_limited": 4, "refused:unknown": 1]],
                ["t": 1_795_341_660_000, "counts": ["rate_limited": 3]],
            ])
    }
}
