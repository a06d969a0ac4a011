import Foundation
import SwitchyardJSON

@testable import SwitchyardStore

/// A small, varied audit log: one session's life, an operator action, an overflow, a refusal.
enum AuditFixtures {
    static let records: [AuditRecord] = [
        record(.connect) {
            $0.sessionID = "s1"
            $0.socketID = "k1"
            $0.namespace = "/chat"
            $0.identity = "alice"
            $0.tenant = "acme"
            $0.remoteAddress = "127.0.0.1:5000"
            $0.userAgent = "Mozilla/5.0 (X11)"
            $0.transport = "polling"
        },
        record(.event, at: 1.25) {
            $0.sessionID = "s1"
            $0.namespace = "/chat"
            $0.identity = "alice"
            $0.event = "message.send"
            $0.operation = "messages.create"
            $0.outcome = .ok
            $0.latencyMicroseconds = 1234
            $0.bytesIn = 52
        },
        record(.event, at: 2.5) {
            $0.sessionID = "s1"
            $0.namespace = "/chat"
            $0.identity = "alice"
            $0.event = "message.send"
            $0.operation = "messages.create"
            $0.outcome = .error
            $0.errorKind = "validation"
            $0.latencyMicroseconds = 850
        },
        record(.kick, at: 300) {
            $0.sessionID = "s1"
            $0.namespace = "/chat"
            $0.identity = "alice"
            $0.reason = "spam, again"
            $0.actor = "admin@127.0.0.1"
        },
        record(.disconnect, at: 300.001) {
            $0.sessionID = "s1"
            $0.namespace = "/chat"
            $0.identity = "alice"
            $0.reason = "server namespace disconnect"
            $0.durationMilliseconds = 300_001
            $0.bytesIn = 1024
            $0.bytesOut = 2048
            $0.eventsIn = 2
            $0.eventsOut = 3
        },
        record(.auditOverflow, at: 360) {
            $0.reason = "queue full"
            $0.detail = ["dropped": 12, "capacity": 8]
        },
        record(.connectRefused, at: 420) {
            $0.sessionID = "s2"
            $0.namespace = "/admin"
            $0.remoteAddress = "10.0.0.7:4000"
            $0.transport = "websocket"
            $0.outcome = .refused
            $0.reason = "auth \"bad\" token"
        },
    ]

    /// A migrated database holding the fixture rows (ids 1…7).
    static func database(in temporary: TemporaryDirectory) throws -> SwitchyardDatabase {
        let database = try temporary.database()
        let writer = AuditWriter(database: database, configuration: .init(level: .all), logger: LogCapture().logger)
        for record in records { writer.record(record) }
        precondition(writer.flush())
        return database
    }
}
