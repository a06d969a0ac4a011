import CSwitchyardPlugin
import EngineIO
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SocketIO
import Synchronization
import SwitchyardJSON
import SwitchyardSchema
import SwitchyardStore

/// Runs plugin code for the server: operations with completions and timeouts, hooks,
/// identity resolvers, and the host services plugins call back into.
///
/// Completions arrive from any thread through C function pointers, which cannot capture
/// anything; they carry an integer token into ``PendingTable``, a process-wide table. A
/// token is spent by whichever comes first, the completion or the timeout, so a late or
/// repeated completion is ignored and a plugin that never completes leaks nothing.
public final class PluginRuntime: Sendable {
    public let registry: OperationRegistry
    let socketIO: SocketIOServer
    let logger: Logger
    let operationTimeout: TimeAmount
    /// Shared state of the middleware chains (rate buckets, connection counts).
    let policy = PolicyState()
    /// Which sockets each identity has on this node.
    public let identities = IdentityIndex()
    /// Filled once in `init`, before the runtime is shared; read without a lock after.
    private let bridges = BridgeTable()

    /// Where audit records go.
    public let audit: AuditTrail
    /// Persisted room memberships of identified users (nil: not persisted).
    public let rooms: RoomMembershipStore?

    public init(
        registry: OperationRegistry,
        socketIO: SocketIOServer,
        operationTimeout: TimeAmount,
        logger: Logger,
        audit: AuditTrail = .discarding,
        rooms: RoomMembershipStore? = nil
    ) {
        self.registry = registry
        self.socketIO = socketIO
        self.operationTimeout = operationTimeout
        self.logger = logger
        self.audit = audit
        self.rooms = rooms
        for plugin in registry.plugins {
            bridges.byPlugin[plugin.name] = HostServicesBridge(plugin: plugin.name, runtime: self)
        }
    }

    func bridge(for plugin: String) -> HostServicesBridge {
        bridges.byPlugin[plugin]!
    }

    /// Calls every plugin's start function with its configuration; the first refusal is an error.
    public func startPlugins(configuration: [String: JSONValue]) throws(PluginLoadError) {
        for plugin in registry.plugins {
            guard let start = plugin.start else { continue }
            let config = (configuration[plugin.name] ?? .object(JSONObject())).serializedBytes()
            let status = config.withUnsafeBufferPointer { buffer in
                start(plugin.startUserData, bridge(for: plugin.name).services, sy_bytes(data: buffer.baseAddress, length: buffer.count))
            }
            guard status == 0 else { throw PluginLoadError(file: plugin.file, reason: .refusedToStart) }
            logger.info("plugin started", metadata: ["plugin.name": "\(plugin.name)", "plugin.version": "\(plugin.version)"])
        }
    }

    /// Registers a Socket.IO namespace for every namespace the registry routes, each with
    /// the chains of the plan.
    public func registerNamespaces(plan: MiddlewarePlan) throws {
        for namespace in registry.namespaces {
            guard let namespacePlan = plan.namespaces[namespace.pattern.text] else { continue }
            try socketIO.register(
                namespace.pattern.text,
                handler: HostNamespaceHandler(runtime: self, routes: namespace, plan: namespacePlan)
            )
        }
    }

    // MARK: - Invoking operations

    /// Runs the operation a route names for one event (its chain has already run,
    /// validation included).
    ///
    /// Most operations answer during the call, on this thread: those are finished inside
    /// their completion with nothing allocated for them (``InlineCompletionSlot``). Only an
    /// operation still unanswered when the call returns gets a ``PendingInvocation``, a
    /// table entry and a timeout.
    func invoke(_ route: ResolvedRoute, services: UnsafePointer<sy_host_services>, event: SocketIOEvent, socket: SocketIOSocket, context: HostSocketContext) {
        // The socket's loop thread's slot, kept with the socket (an embedded loop in tests
        // may be driven from several threads, hence the check).
        if context.inlineSlot?.isOwnedByCurrentThread != true { context.inlineSlot = InlineCompletionSlot.forCurrentThread() }
        guard let slot = context.inlineSlot, slot.callToken == 0 else {
            // A call made from inside another call on this thread (or a thread past the
            // slot limit): through the table from the start.
            return invokeThroughTable(route, services: services, event: event, socket: socket, context: context)
        }
        let started = operationStart(on: socket)
        let token = slot.open()
        callOperation(route.operation, services: services, event: event, context: context.json(for: socket), token: token)
        slot.callToken = 0
        if let outcome = slot.outcome {
            slot.outcome = nil
            finish(route: route, event: event, socket: socket, context: context, started: started, outcome: outcome)
            // A large answer does not stay allocated with the thread.
            if slot.buffer.capacity > 64 * 1024 { slot.buffer = ByteBufferAllocator().buffer(capacity: 256) }
            return
        }
        // Not answered during the call: from now on its completion goes through the table.
        let pending = PendingInvocation(runtime: self, route: route, event: event, socket: socket, context: context, started: started)
        pending.token = token
        switch PendingTable.shared.publish(pending, token: token, closing: slot) {
        case .published:
            scheduleTimeout(pending, token: token)
        case .completedMeanwhile(let outcome):
            finish(pending, outcome: outcome)
        }
    }

    /// `invoke` without the inline window: the pending invocation is in the table before
    /// the call.
    private func invokeThroughTable(_ route: ResolvedRoute, services: UnsafePointer<sy_host_services>, event: SocketIOEvent, socket: SocketIOSocket, context: HostSocketContext) {
        let pending = PendingInvocation(runtime: self, route: route, event: event, socket: socket, context: context, started: operationStart(on: socket))
        let token = PendingTable.shared.insert(.operation(pending))
        pending.token = token
        callOperation(route.operation, services: services, event: event, context: context.json(for: socket), token: token)
        // If it completes on another thread meanwhile, its timer finds the token spent.
        if !pending.finished { scheduleTimeout(pending, token: token) }
    }

    /// When an operation starts, for the audit's latency; nil (and no clock read) when no
    /// operation event is recorded.
    private func operationStart(on socket: SocketIOSocket) -> NIODeadline? {
        audit.recordsOperationEvents ? socket.eventLoop.now : nil
    }

    private func callOperation(_ operation: PluginOperation, services: UnsafePointer<sy_host_services>, event: borrowing SocketIOEvent, context: [UInt8], token: UInt64) {
        // The closures capture these two, not a copy of the whole event.
        let name = event.name
        let attachments = event.arguments.attachments
        Self.withJSONArray(event.arguments.json) { arguments in
            withInvocation(event: name, arguments: arguments, attachments: attachments, context: context, services: services) { invocation in
                operation.invoke(operation.userData, invocation, operationCompletionTrampoline, UnsafeMutableRawPointer(bitPattern: UInt(token)))
            }
        }
    }

    private func scheduleTimeout(_ pending: PendingInvocation, token: UInt64) {
        let slot = EventLoopTimerSlot(target: pending)
        pending.timerSlot = slot
        pending.socket.connection.timers.schedule(at: pending.socket.eventLoop.now + operationTimeout, slot: slot, token: token)
    }

    /// `[` + `elements` + `]` in temporary memory (on the stack when small) during `body`:
    /// the arguments array an invocation hands over, without a heap copy per event.
    static func withJSONArray<Result>(_ elements: ByteBuffer, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let count = elements.readableBytes + 2
        return withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { storage in
            storage[0] = UInt8(ascii: "[")
            elements.withUnsafeReadableBytes { bytes in
                UnsafeMutableRawBufferPointer(rebasing: storage[1..<(count - 1)]).copyMemory(from: bytes)
            }
            storage[count - 1] = UInt8(ascii: "]")
            return body(UnsafeRawBufferPointer(storage))
        }
    }

    /// Builds an `sy_invocation` whose pointers are valid during `body`.
    func withInvocation<Result>(
        event: String,
        arguments: UnsafeRawBufferPointer,
        attachments: [ByteBuffer],
        context: [UInt8],
        plugin: String,
        _ body: (UnsafePointer<sy_invocation>) -> Result
    ) -> Result {
        withInvocation(event: event, arguments: arguments, attachments: attachments, context: context, services: bridge(for: plugin).services, body)
    }

    /// Builds an `sy_invocation` whose pointers are valid during `body`.
    func withInvocation<Result>(
        event: String,
        arguments: UnsafeRawBufferPointer,
        attachments: [ByteBuffer],
        context: [UInt8],
        services: UnsafePointer<sy_host_services>,
        _ body: (UnsafePointer<sy_invocation>) -> Result
    ) -> Result {
        var joined: [UInt8] = []
        for attachment in attachments { joined.append(contentsOf: attachment.readableBytesView) }
        let argumentBytes = arguments.bindMemory(to: UInt8.self)
        return context.withUnsafeBufferPointer { contextBytes in
            joined.withUnsafeBufferPointer { storage in
                var items: [sy_bytes] = []
                var offset = 0
                for attachment in attachments {
                    items.append(sy_bytes(data: storage.baseAddress.map { $0 + offset }, length: attachment.readableBytes))
                    offset += attachment.readableBytes
                }
                return items.withUnsafeBufferPointer { itemPointer in
                    event.withCString { eventName in
                        var invocation = sy_invocation(
                            struct_size: UInt32(MemoryLayout<sy_invocation>.size),
                            arguments_json: sy_bytes(data: argumentBytes.baseAddress, length: argumentBytes.count),
                            attachments: sy_attachments(items: itemPointer.baseAddress, count: itemPointer.count),
                            context_json: sy_bytes(data: contextBytes.baseAddress, length: contextBytes.count),
                            event: eventName,
                            host: services
                        )
                        return withUnsafePointer(to: &invocation) { body($0) }
                    }
                }
            }
        }
    }

    /// Finishes an operation that went through the table, on the socket's loop.
    func finish(_ pending: PendingInvocation, outcome: PluginOutcome) {
        pending.finished = true
        pending.timerSlot?.release()
        finish(route: pending.route, event: pending.event, socket: pending.socket, context: pending.context, started: pending.started, outcome: outcome)
    }

    /// Checks what the plugin returned, answers the client (ack or `error` event) and
    /// audits the event; on the socket's loop.
    func finish(route: ResolvedRoute, event: SocketIOEvent, socket: SocketIOSocket, context: HostSocketContext, started: NIODeadline?, outcome: PluginOutcome) {
        let result: Result<SocketIOArguments, OperationFailure>
        switch outcome {
        case .timedOut:
            result = .failure(OperationFailure(.timeout, "operation \(route.operation.key) did not complete within \(operationTimeout.nanoseconds / 1_000_000) ms"))
        case .error(let bytes):
            result = .failure(OperationFailure.fromPlugin(bytes))
        case .ok(let bytes, let attachments):
            result = checkResult(bytes, attachments: attachments, operation: route.operation)
        }
        deliver(result, event: event, route: route, socket: socket)
        var failedKind: String?
        if case .failure(let failure) = result { failedKind = failure.kind.rawValue }
        let auditOutcome: AuditOutcome = failedKind == nil ? .ok : .error
        if audit.admitsEvent(outcome: auditOutcome) {
            let latency = started.map { socket.eventLoop.now - $0 }
            audit.event(event.name, socket: socket, context: context, operation: route.operation.key, outcome: auditOutcome, errorKind: failedKind, latency: latency, bytes: event.byteCount)
        }
    }

    private func checkResult(_ buffer: ByteBuffer, attachments: [[UInt8]], operation: PluginOperation) -> Result<SocketIOArguments, OperationFailure> {
        var arguments: SocketIOArguments
        do {
            arguments = try SocketIOArguments(splittingArray: buffer)
        } catch {
            return .failure(OperationFailure(.internal, "operation \(operation.key) returned a result that is not a JSON array: \(String(decoding: buffer.readableBytesView.prefix(200), as: UTF8.self))"))
        }
        if let schema = operation.ackSchema, !schema.isTrivial {
            let violations = schema.validate(arguments.value(at: 0) ?? .null)
            if !violations.isEmpty {
                return .failure(OperationFailure(.internal, "operation \(operation.key) returned an ack that does not match its schema: " + violations.map(\.description).joined(separator: "; ")))
            }
        }
        arguments.attachments = attachments.map { ByteBuffer(bytes: $0) }
        return .success(arguments)
    }

    /// Sends a result or a failure to the client, through the egress policy.
    func deliver(_ result: Result<SocketIOArguments, OperationFailure>, event: SocketIOEvent, route: ResolvedRoute?, socket: SocketIOSocket) {
        switch result {
        case .success(let arguments):
            guard let ack = event.ack else { return }
            ack.send(route?.ack == false ? SocketIOArguments() : arguments)
        case .failure(let failure):
            let correlationID = ErrorBoundary.makeCorrelationID()
            var metadata: Logger.Metadata = [
                "sio.nsp": "\(socket.namespace.path)", "sio.sid": "\(socket.id)", "sio.event": "\(event.name)",
                "error.kind": "\(failure.kind.rawValue)", "error.correlation": "\(correlationID)",
            ]
            if let route { metadata["plugin.name"] = "\(route.operation.plugin)"; metadata["operation"] = "\(route.operation.key)" }
            if failure.kind.isServerSide {
                logger.error("operation failed: \(failure.detail)", metadata: metadata)
            } else {
                logger.debug("operation refused: \(failure.detail)", metadata: metadata)
            }
            let payload = ErrorBoundary.clientPayload(for: failure, correlationID: correlationID)
            if let ack = event.ack {
                ack.send([payload])
            } else {
                var body = payload.objectValue ?? JSONObject()
                body["event"] = .string(event.name)
                socket.emit("error", [.object(body)])
            }
        }
    }

    // MARK: - Hooks

    func runHooks(_ kind: PluginHook.HookKind, pattern: NamespacePattern, socket: SocketIOSocket, context: HostSocketContext, arguments: [JSONValue]) {
        let hooks = registry.hooks(kind, for: pattern)
        guard !hooks.isEmpty else { return }
        let argumentBytes = JSONValue.array(arguments).serializedBytes()
        let contextJSON = kind == .connect ? context.json(for: socket) : context.json(rooms: [])
        argumentBytes.withUnsafeBytes { arguments in
            for hook in hooks {
                withInvocation(event: "", arguments: arguments, attachments: [], context: contextJSON, plugin: hook.plugin) { invocation in
                    hook.run(hook.userData, invocation)
                }
            }
        }
    }

    // MARK: - Guards and identity

    enum DeciderKind { case `guard`, identity }

    /// Asks a plugin's guard or identity resolver; `done` runs on `eventLoop` with the
    /// decision (an identity, or null) or the refusal.
    func decide(
        with name: String,
        kind: DeciderKind,
        event: String,
        arguments: UnsafeRawBufferPointer,
        attachments: [ByteBuffer],
        context: [UInt8],
        eventLoop: EventLoop,
        done: @escaping @Sendable (Result<JSONValue, OperationFailure>) -> Void
    ) {
        let decider = kind == .guard ? registry.guards[name] : registry.identityResolvers[name]
        let what = kind == .guard ? "guard" : "identity resolver"
        guard let decider else {
            done(.failure(OperationFailure(.configuration, "\(what) '\(name)' is not provided by any plugin")))
            return
        }
        let pending = PendingDecision(eventLoop: eventLoop, done: done)
        let token = PendingTable.shared.insert(.decision(pending))
        withInvocation(event: event, arguments: arguments, attachments: attachments, context: context, plugin: decider.plugin) { invocation in
            decider.call(decider.userData, invocation, decisionTrampoline, UnsafeMutableRawPointer(bitPattern: UInt(token)))
        }
        let timeout = operationTimeout
        eventLoop.scheduleTask(in: timeout) {
            if PendingTable.shared.remove(token) != nil {
                done(.failure(OperationFailure(.timeout, "\(what) '\(name)' did not answer within \(timeout.nanoseconds / 1_000_000) ms")))
            }
        }
    }
}

/// What a plugin answered.
enum PluginOutcome {
    case ok(ByteBuffer, [[UInt8]])
    case error([UInt8])
    case timedOut
}

/// The host-services bridge of each plugin. The bridges refer back to the runtime, so
/// they are made at the end of its `init`; nothing reads the table before `init` returns
/// and nothing writes it after, hence no lock.
private final class BridgeTable: @unchecked Sendable {
    var byPlugin: [String: HostServicesBridge] = [:]
}

/// An operation in flight that did not answer during its call.
final class PendingInvocation: EventLoopTimerTarget, @unchecked Sendable {
    unowned let runtime: PluginRuntime
    let route: ResolvedRoute
    let event: SocketIOEvent
    let socket: SocketIOSocket
    let context: HostSocketContext
    let started: NIODeadline?
    var token: UInt64 = 0
    /// Set by ``PluginRuntime/finish(_:outcome:)``; read and written on the socket's loop only.
    var finished = false
    /// The operation timeout's registration; released when the invocation finishes.
    var timerSlot: EventLoopTimerSlot?

    init(runtime: PluginRuntime, route: ResolvedRoute, event: SocketIOEvent, socket: SocketIOSocket, context: HostSocketContext, started: NIODeadline?) {
        self.runtime = runtime
        self.route = route
        self.event = event
        self.socket = socket
        self.context = context
        self.started = started
    }

    func timerFired(token: UInt64, now: NIODeadline) {
        guard PendingTable.shared.remove(token) != nil else { return }
        runtime.finish(self, outcome: .timedOut)
    }

    /// Called from any thread with copied data.
    func complete(_ outcome: PluginOutcome) {
        let loop = socket.eventLoop
        if loop.inEventLoop {
            runtime.finish(self, outcome: outcome)
        } else {
            loop.execute { self.runtime.finish(self, outcome: outcome) }
        }
    }
}

/// A thread's window for the operation call it is making: the token of that call is
/// *open* while no completion has claimed it.
///
/// A completion claims the token by closing the window (compare-and-exchange), so exactly
/// one completion wins whichever thread it comes from. On the calling thread, during the
/// call, the winner leaves its outcome in ``outcome`` for `invoke` to finish with when the
/// call returns: no pending object, no table entry, no timer. A completion from
/// another thread, or a repeated one, goes through ``PendingTable`` under its lock: it
/// either claims the still-open window and leaves its outcome for the caller
/// (``PendingTable/publish(_:token:closing:)`` takes it), or finds the published pending
/// invocation, or is ignored.
///
/// One slot per thread, made on first use and never freed (a late completion may look a
/// slot up at any time); at most ``capacity`` threads get one, others go through the table.
final class InlineCompletionSlot: @unchecked Sendable {
    static let capacity = 256
    /// Inline tokens have the top bit set (table tokens count up from 1); the slot index is
    /// in bits 48–62, a per-slot counter in bits 0–47.
    static let inlineBit: UInt64 = 1 << 63

    let index: Int
    let owner: pthread_t
    /// The open token, 0 when none.
    let window = Atomic<UInt64>(0)
    // The owner thread's alone:
    /// The token of the call in progress, 0 when none.
    var callToken: UInt64 = 0
    /// What the call in progress answered during the call.
    var outcome: PluginOutcome?
    /// Where an inline answer's JSON is copied: one buffer reused call after call (the ack
    /// is written out of it before the next call), instead of an allocation per answer.
    var buffer = ByteBufferAllocator().buffer(capacity: 256)
    private var counter: UInt64 = 0

    private init(index: Int) {
        self.index = index
        self.owner = pthread_self()
    }

    /// The slots by index, for completions arriving on other threads: fixed storage, each
    /// index written once (retained for good) before ``made`` counts it, and so before it
    /// appears in a token.
    nonisolated(unsafe) private static let byIndex = UnsafeMutablePointer<Unmanaged<InlineCompletionSlot>>.allocate(capacity: capacity)
    private static let made = Atomic<Int>(0)
    /// Serialises making slots (``made`` is read without it).
    private static let making = NIOLock()
    private static let current = ThreadSpecificVariable<InlineCompletionSlot>()

    static func forCurrentThread() -> InlineCompletionSlot? {
        if let slot = current.currentValue { return slot }
        return making.withLock { () -> InlineCompletionSlot? in
            let index = made.load(ordering: .relaxed)
            guard index < capacity else { return nil }
            let slot = InlineCompletionSlot(index: index)
            (byIndex + index).initialize(to: Unmanaged.passRetained(slot))
            made.store(index + 1, ordering: .releasing)
            current.currentValue = slot
            return slot
        }
    }

    /// The slot a token names, if it is an inline token of a slot that exists.
    static func slot(for token: UInt64) -> InlineCompletionSlot? {
        let index = Int((token >> 48) & 0x7FFF)
        guard index < made.load(ordering: .acquiring) else { return nil }
        return byIndex[index].takeUnretainedValue()
    }

    /// Opens the window with a new token for a call about to be made (owner thread).
    func open() -> UInt64 {
        counter = (counter + 1) & 0xFFFF_FFFF_FFFF
        let token = Self.inlineBit | UInt64(index) << 48 | counter
        callToken = token
        window.store(token, ordering: .releasing)
        return token
    }

    /// Closes the window if `token` is still open in it; true for the one caller that does.
    func claim(_ token: UInt64) -> Bool {
        window.compareExchange(expected: token, desired: 0, ordering: .acquiringAndReleasing).exchanged
    }

    var isOwnedByCurrentThread: Bool { pthread_equal(owner, pthread_self()) != 0 }
}

/// A guard or identity decision in flight.
final class PendingDecision: @unchecked Sendable {
    let eventLoop: EventLoop
    let done: @Sendable (Result<JSONValue, OperationFailure>) -> Void

    init(eventLoop: EventLoop, done: @escaping @Sendable (Result<JSONValue, OperationFailure>) -> Void) {
        self.eventLoop = eventLoop
        self.done = done
    }

    func decide(_ result: Result<JSONValue, OperationFailure>) {
        if eventLoop.inEventLoop { done(result) } else { eventLoop.execute { self.done(result) } }
    }
}

/// Tokens for completions that arrive through C function pointers.
final class PendingTable: Sendable {
    enum Entry: @unchecked Sendable {
        case operation(PendingInvocation)
        case decision(PendingDecision)
        /// A call made by ``PluginCallMeasurement``.
        case measurement(MeasurementCollector)
        /// The outcome of an inline call that completed on another thread before the
        /// caller published it (see ``InlineCompletionSlot``).
        case early(PluginOutcome)
    }

    static let shared = PendingTable()

    private struct State {
        var next: UInt64 = 1
        var entries: [UInt64: Entry] = [:]
    }

    private let state = NIOLockedValueBox(State())

    func insert(_ entry: Entry) -> UInt64 {
        state.withLockedValue { state in
            let token = state.next
            state.next += 1
            state.entries[token] = entry
            return token
        }
    }

    /// Spends a token; nil if it was already spent.
    func remove(_ token: UInt64) -> Entry? {
        state.withLockedValue { state in
            // An early outcome is only ever taken by `publish`: a plugin that passes an
            // operation's token to another callback must not make it vanish.
            if case .early = state.entries[token] { return nil }
            return state.entries.removeValue(forKey: token)
        }
    }

    enum Publication {
        case published
        /// A completion from another thread claimed the window first; here is what it said.
        case completedMeanwhile(PluginOutcome)
    }

    /// After a call that did not answer inline: closes its window and puts the pending
    /// invocation in the table, or takes the outcome another thread left when it claimed
    /// the window first. One critical section with ``completeInline(_:outcome:)``.
    func publish(_ pending: PendingInvocation, token: UInt64, closing slot: InlineCompletionSlot) -> Publication {
        state.withLockedValue { state in
            if slot.claim(token) {
                state.entries[token] = .operation(pending)
                return .published
            }
            guard case .early(let outcome)? = state.entries.removeValue(forKey: token) else {
                preconditionFailure("inline window \(token) closed without an outcome")
            }
            return .completedMeanwhile(outcome)
        }
    }

    /// A completion of an inline token that is not finished on its calling thread: claims
    /// the open window (leaving the outcome for ``publish(_:token:closing:)``), or spends the
    /// published pending invocation, or finds the token spent (nil).
    func completeInline(_ token: UInt64, slot: InlineCompletionSlot, outcome: () -> PluginOutcome) -> PendingInvocation? {
        state.withLockedValue { state in
            if slot.claim(token) {
                state.entries[token] = .early(outcome())
                return nil
            }
            guard case .operation(let pending)? = state.entries[token] else { return nil }
            state.entries[token] = nil
            return pending
        }
    }

    var count: Int { state.withLockedValue { $0.entries.count } }

    func contains(_ token: UInt64) -> Bool {
        state.withLockedValue { $0.entries[token] != nil }
    }
}

private func copy(_ bytes: sy_bytes) -> [UInt8] {
    guard let data = bytes.data, bytes.length > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: bytes.length))
}

private func copy(_ attachments: sy_attachments) -> [[UInt8]] {
    guard let items = attachments.items else { return [] }
    return (0..<attachments.count).map { copy(items[$0]) }
}

/// What a completion says, copied out of the plugin's memory; an answer's JSON goes
/// straight into `buffer` (emptied first), the one the ack will be sent from.
private func outcome(status: sy_status, json: sy_bytes, attachments: sy_attachments, into buffer: inout ByteBuffer) -> PluginOutcome {
    guard status == SY_OK else { return .error(copy(json)) }
    buffer.clear(minimumCapacity: json.length)
    if let data = json.data, json.length > 0 { buffer.writeBytes(UnsafeRawBufferPointer(start: data, count: json.length)) }
    return .ok(buffer, copy(attachments))
}

/// ``outcome(status:json:attachments:into:)`` into a new buffer.
private func outcome(status: sy_status, json: sy_bytes, attachments: sy_attachments) -> PluginOutcome {
    var buffer = ByteBufferAllocator().buffer(capacity: json.length)
    return outcome(status: status, json: json, attachments: attachments, into: &buffer)
}

/// The `sy_complete_fn` handed to every operation.
let operationCompletionTrampoline: sy_complete_fn = { token, status, json, attachments in
    guard let token else { return }
    let raw = UInt64(UInt(bitPattern: token))
    if raw & InlineCompletionSlot.inlineBit != 0 {
        guard let slot = InlineCompletionSlot.slot(for: raw) else { return }
        if slot.isOwnedByCurrentThread, slot.callToken == raw, slot.claim(raw) {
            // During the call, on its thread: `invoke` finishes it when the call returns. The
            // answer goes into the slot's buffer, whose storage the previous call has let go of.
            slot.outcome = outcome(status: status, json: json, attachments: attachments, into: &slot.buffer)
            return
        }
        let pending = PendingTable.shared.completeInline(raw, slot: slot) { outcome(status: status, json: json, attachments: attachments) }
        pending?.complete(outcome(status: status, json: json, attachments: attachments))
        return
    }
    guard let entry = PendingTable.shared.remove(raw) else {
        return  // already completed or timed out: ignored
    }
    switch entry {
    case .operation(let pending):
        pending.complete(outcome(status: status, json: json, attachments: attachments))
    case .measurement(let collector):
        collector.result = copy(json)
    case .decision, .early:
        break  // a decision token used as a completion: a plugin bug; ignored
    }
}

/// The `sy_decide_fn` handed to guards and identity resolvers.
let decisionTrampoline: sy_decide_fn = { token, status, json in
    guard let token, case .decision(let pending)? = PendingTable.shared.remove(UInt64(UInt(bitPattern: token))) else { return }
    let bytes = copy(json)
    if status == SY_OK {
        guard let value = try? JSONValue(parsing: bytes) else {
            pending.decide(.failure(OperationFailure(.internal, "a plugin decision is not valid JSON")))
            return
        }
        pending.decide(.success(value))
    } else {
        pending.decide(.failure(OperationFailure.fromPlugin(bytes)))
    }
}
