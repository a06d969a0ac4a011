import EngineIO
import Foundation
import NIOCore
import SocketIO
import SwitchyardJSON
import SwitchyardStore

/// Turns what happens in the host into audit records for the store's writer.
///
/// Called on event loops: building a record and handing it to the sink never blocks (the
/// writer copies it into its bounded queue, or counts it as dropped).
public struct AuditTrail: Sendable {
    public let sink: any AuditSink
    /// Whether the sink keeps event rows, by outcome, asked once here: an event asks on
    /// every call, and a call through the existential (and the writer's configuration) was
    /// 0.4% of the echo's samples. ``AuditSink`` promises the answers do not change.
    private let keepsEvents: (ok: Bool, error: Bool, refused: Bool)

    public init(sink: any AuditSink) {
        self.sink = sink
        keepsEvents = (sink.admits(.event, outcome: .ok), sink.admits(.event, outcome: .error), sink.admits(.event, outcome: .refused))
    }

    /// A trail that keeps nothing.
    public static let discarding = AuditTrail(sink: DiscardingAuditSink())

    private func base(_ kind: AuditKind, handshake: EngineIOHandshake?, namespace: String?, socketID: String?, identity: JSONValue?) -> AuditRecord {
        var record = AuditRecord(kind: kind)
        record.namespace = namespace
        record.socketID = socketID
        if let handshake {
            record.remoteAddress = handshake.remoteAddress?.ipAddressText
            record.userAgent = handshake.header("user-agent")
            record.transport = handshake.transport.rawValue
        }
        if let identity, !identity.isNull {
            record.identity = identity["id"]?.stringValue
            record.tenant = identity["tenant"]?.stringValue
        }
        return record
    }

    func connected(_ socket: SocketIOSocket, context: HostSocketContext) {
        var record = base(.connect, handshake: socket.handshake, namespace: socket.namespace.path, socketID: socket.id, identity: context.identity)
        record.sessionID = socket.connection.id
        record.transport = socket.connection.transport.rawValue
        if let recovery = socket.recovery {
            // Connection state recovery: the old socket id is back.
            record.reason = "recovered"
            record.detail = ["recovered": true, "gapMs": .number(JSONNumber(Int(recovery.disconnectedFor))), "replayed": .number(JSONNumber(recovery.replayed))]
        } else if let failure = socket.recoveryFailure {
            record.detail = ["recovered": false, "recoveryFailure": .string(failure.rawValue)]
        }
        sink.record(record)
    }

    func connectRefused(_ request: SocketIOConnectRequest, failure: OperationFailure, code: String) {
        var record = base(.connectRefused, handshake: request.handshake, namespace: request.namespace.path, socketID: nil, identity: nil)
        record.outcome = .refused
        record.errorKind = failure.kind.rawValue
        record.reason = code
        sink.record(record)
    }

    func disconnected(_ socket: SocketIOSocket, context: HostSocketContext, reason: SocketIODisconnectReason) {
        var record = base(.disconnect, handshake: socket.handshake, namespace: socket.namespace.path, socketID: socket.id, identity: context.identity)
        record.sessionID = socket.connection.id
        record.transport = socket.connection.transport.rawValue
        record.reason = reason.rawValue
        record.durationMilliseconds = Int((NIODeadline.now() - socket.connectedAt).nanoseconds / 1_000_000)
        record.eventsIn = socket.traffic.eventsIn
        record.bytesIn = socket.traffic.bytesIn
        record.eventsOut = socket.traffic.eventsOut
        record.bytesOut = socket.traffic.bytesOut
        sink.record(record)
    }

    func upgraded(_ connection: EngineIOConnection, to transport: EngineIOTransportKind) {
        var record = base(.upgrade, handshake: connection.handshake, namespace: nil, socketID: nil, identity: nil)
        record.sessionID = connection.id
        record.transport = transport.rawValue
        sink.record(record)
    }

    /// An event's outcome: `ok`, `error` (the operation failed) or `refused` (a middleware
    /// step or the router said no).
    /// Whether an event row with this outcome would be kept (ask before measuring for one).
    func admitsEvent(outcome: AuditOutcome) -> Bool {
        switch outcome {
        case .ok: keepsEvents.ok
        case .error: keepsEvents.error
        case .refused: keepsEvents.refused
        }
    }

    /// Whether any operation's event is recorded (with its latency): at the default level,
    /// `connections`, none is, and an operation's start time need not be read.
    var recordsOperationEvents: Bool {
        keepsEvents.ok || keepsEvents.error
    }

    func event(_ name: String, socket: SocketIOSocket, context: HostSocketContext?, operation: String?, outcome: AuditOutcome, errorKind: String?, latency: TimeAmount?, bytes: Int?) {
        guard admitsEvent(outcome: outcome) else { return }
        var record = base(.event, handshake: nil, namespace: socket.namespace.path, socketID: socket.id, identity: context?.identity)
        record.sessionID = socket.connection.id
        record.event = name
        record.operation = operation
        record.outcome = outcome
        record.errorKind = errorKind
        record.latencyMicroseconds = latency.map { Int($0.nanoseconds / 1000) }
        record.bytesIn = bytes
        sink.record(record)
    }

    /// A middleware refusal: size, rate and guard violations get their own kinds.
    func violation(_ failure: OperationFailure, event: String, socket: SocketIOSocket, context: HostSocketContext, bytes: Int) {
        let kind: AuditKind
        switch failure.kind {
        case .payloadTooLarge: kind = .sizeViolation
        case .rateLimited: kind = .rateLimited
        case .authorization, .authentication: kind = .guardDenied
        default:
            return self.event(event, socket: socket, context: context, operation: nil, outcome: .refused, errorKind: failure.kind.rawValue, latency: nil, bytes: bytes)
        }
        var record = base(kind, handshake: nil, namespace: socket.namespace.path, socketID: socket.id, identity: context.identity)
        record.sessionID = socket.connection.id
        record.event = event
        record.outcome = .refused
        record.errorKind = failure.kind.rawValue
        record.reason = failure.code
        record.bytesIn = bytes
        if let detail = failure.context { record.detail = .object(detail) }
        sink.record(record)
    }

    func operatorAction(_ action: OperatorActionRecord) {
        let kind: AuditKind
        switch action.action {
        case .kick: kind = .kick
        case .purge: kind = .purge
        case .broadcast: kind = .adminBroadcast
        case .join: kind = .adminJoin
        case .leave: kind = .adminLeave
        }
        var record = AuditRecord(kind: kind)
        record.actor = action.actor
        record.namespace = action.namespace
        switch action.action {
        case .kick:
            record.socketID = action.target
            record.reason = action.reason
        case .purge:
            record.room = action.target
        case .broadcast:
            record.room = action.target
            record.event = action.reason
        case .join, .leave:
            // The room joined or left; `reason` holds the room the sockets were selected by.
            record.room = action.target
            record.reason = action.reason
        }
        record.outcome = .ok
        record.detail = action.result
        sink.record(record)
    }

    public func pluginLoaded(name: String, version: String, file: String) {
        var record = AuditRecord(kind: .pluginLoaded)
        record.reason = "\(name) \(version)"
        record.detail = ["file": .string(file), "plugin": .string(name), "version": .string(version)]
        record.outcome = .ok
        sink.record(record)
    }

    public func pluginFailed(_ problem: String) {
        var record = AuditRecord(kind: .pluginFailed)
        record.outcome = .error
        record.reason = problem
        sink.record(record)
    }

    public func backplaneOutage(started: Date, reason: String) {
        var record = AuditRecord(kind: .backplaneOutage, time: started)
        record.outcome = .error
        record.reason = reason
        sink.record(record)
    }

    public func backplaneRecovered(after duration: TimeInterval, reason: String) {
        var record = AuditRecord(kind: .backplaneOutage)
        record.outcome = .ok
        record.reason = "recovered: \(reason)"
        record.durationMilliseconds = Int(duration * 1000)
        sink.record(record)
    }
}
