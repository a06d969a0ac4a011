import EngineIO
import Logging
import NIOConcurrencyHelpers
import SocketIO
@testable import SwitchyardHost
import SwitchyardJSON
import SwitchyardStore
import SwitchyardTestSupport
import Testing

/// A sink that keeps what its level admits, in memory.
final class RecordingAuditSink: AuditSink {
    let level: AuditLevel
    private let kept = NIOLockedValueBox<[AuditRecord]>([])

    init(level: AuditLevel) { self.level = level }

    func record(_ record: AuditRecord) {
        // A record the level drops must not even be built: the trail asks first.
        guard level.admits(record) else {
            Issue.record("the trail built a \(record.kind) record that level \(level) drops")
            return
        }
        kept.withLockedValue { $0.append(record) }
    }

    func admits(_ kind: AuditKind, outcome: AuditOutcome?) -> Bool {
        if kind == .event { eventQuestions.withLockedValue { $0 += 1 } }
        return level.admits(kind, outcome: outcome)
    }

    /// How often the trail asked about event rows.
    let eventQuestions = NIOLockedValueBox(0)

    var records: [AuditRecord] { kept.withLockedValue { $0 } }
}

/// What the host writes to the audit trail at each level, through the real plugin path.
@Suite("Audit trail from the host")
struct AuditTrailTests {
    func serve(level: AuditLevel) throws -> (EmbeddedServer, RecordingAuditSink) {
        let sink = RecordingAuditSink(level: level)
        let configuration = ServerConfiguration()
        let registry = try PluginHost.loadRegistry(files: [try BuiltProducts.library("FixtureBehaviours")], routes: configuration.routes, namespaces: [])
        let socketIO = SocketIOServer(logger: Logger(label: "test"))
        let runtime = PluginRuntime(registry: registry, socketIO: socketIO, operationTimeout: .seconds(2), logger: Logger(label: "test"), audit: AuditTrail(sink: sink))
        try runtime.registerNamespaces(plan: try MiddlewarePlan.build(registry: registry, configuration: configuration))
        try runtime.startPlugins(configuration: [:])
        let server = EmbeddedServer(endpoints: [EngineIOServer(configuration: EngineIOConfiguration(), application: socketIO, logger: Logger(label: "test"))])
        return (server, sink)
    }

    /// One successful and one failed event on /b.
    func traffic(_ server: EmbeddedServer) throws -> String {
        let client = try RawSocketIOClient.open(server)
        let socketID = try client.join("/b")
        _ = try client.received()
        try client.send(#"2/b,1["context"]"#)
        try client.send(#"2/b,2["fail","conflict"]"#)
        _ = try client.received()
        return socketID
    }

    @Test("Level all keeps every event with its outcome and latency")
    func all() throws {
        let (server, sink) = try serve(level: .all)
        let socketID = try traffic(server)
        let events = sink.records.filter { $0.kind == .event }
        #expect(events.map(\.event) == ["context", "fail"])
        #expect(events.map(\.outcome) == [.ok, .error])
        #expect(events.map(\.errorKind) == [nil, "conflict"])
        #expect(events.allSatisfy { $0.socketID == socketID && $0.latencyMicroseconds != nil && $0.operation != nil })
        #expect(sink.records.contains { $0.kind == .connect })
        // Asked once per outcome when the trail was made, not per event (AuditSink's contract).
        #expect(sink.eventQuestions.withLockedValue { $0 } == AuditOutcome.allCases.count)
    }

    @Test("Level failures keeps the failed event only")
    func failures() throws {
        let (server, sink) = try serve(level: .failures)
        _ = try traffic(server)
        let events = sink.records.filter { $0.kind == .event }
        #expect(events.map(\.event) == ["fail"])
        #expect(events.first?.latencyMicroseconds != nil)
    }

    @Test("Level connections keeps connections and no events")
    func connections() throws {
        let (server, sink) = try serve(level: .connections)
        _ = try traffic(server)
        #expect(sink.records.contains { $0.kind == .connect })
        #expect(!sink.records.contains { $0.kind == .event })
    }
}
