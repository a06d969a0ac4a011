import EngineIO
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The Socket.IO v5 server: an Engine.IO application that multiplexes namespaces over
/// each Engine.IO connection.
///
/// ```swift
/// let io = SocketIOServer(configuration: .init(), logger: logger)
/// try io.register("/chat/:room", handler: ChatHandler())
/// let endpoint = EngineIOServer(configuration: engine, application: io, logger: logger)
/// ```
public final class SocketIOServer: EngineIOApplication, Sendable {
    public let configuration: SocketIOConfiguration
    public let logger: Logger
    let backplaneBox: NIOLockedValueBox<any SocketIOBackplane>
    /// Who watches the server (the Admin UI), if anyone.
    public let observer: (any SocketIOServerObserver)?

    private struct Registry {
        /// Registered patterns, most specific first.
        var patterns: [(NamespacePattern, any SocketIONamespaceHandler)] = []
        /// Concrete namespaces by path.
        var namespaces: [String: SocketIONamespace] = [:]
        /// Connects in progress per parameterised namespace (keeps it from being dropped).
        var reservations: [String: Int] = [:]
    }

    private let registry = NIOLockedValueBox(Registry())
    private let transportObserver = NIOLockedValueBox<(@Sendable (EngineIOConnection, EngineIOTransportKind) -> Void)?>(nil)
    private let namespaceObserver = NIOLockedValueBox<(@Sendable (String, Bool) -> Void)?>(nil)

    /// Called with a namespace path and `true` when the namespace comes into existence on
    /// this node (registered, or created for a parameterised pattern), `false` when an empty
    /// parameterised namespace is dropped. A cluster backplane listens per namespace, as
    /// the socket.io Redis adapter does.
    public func onNamespaceChange(_ observer: @escaping @Sendable (_ path: String, _ exists: Bool) -> Void) {
        namespaceObserver.withLockedValue { $0 = observer }
    }

    private let roomObserver = NIOLockedValueBox<(@Sendable (String, [String], [String]) -> Void)?>(nil)

    /// Called with a namespace path, the rooms that just got their first member on this node
    /// and those that lost their last (socket.io's `create-room` / `delete-room`; a socket's
    /// own id room is never reported). The sharded Redis adapter listens per room.
    public func onRoomChange(_ observer: @escaping @Sendable (_ namespace: String, _ created: [String], _ deleted: [String]) -> Void) {
        roomObserver.withLockedValue { $0 = observer }
    }

    func roomsChanged(namespace: String, created: [String], deleted: [String]) {
        roomObserver.withLockedValue { $0 }?(namespace, created, deleted)
    }

    private func namespaceChanged(_ path: String, exists: Bool) {
        namespaceObserver.withLockedValue { $0 }?(path, exists)
    }

    /// Called when a connection moves to another transport (an upgrade to WebSocket).
    public func onTransportChange(_ observer: @escaping @Sendable (EngineIOConnection, EngineIOTransportKind) -> Void) {
        transportObserver.withLockedValue { $0 = observer }
    }

    func transportChanged(_ connection: EngineIOConnection, to transport: EngineIOTransportKind) {
        transportObserver.withLockedValue { $0 }?(connection, transport)
    }

    /// The sessions and packets of connection state recovery; nil when it is off.
    public let recovery: SocketIOSessionStore?

    private struct WeakSocket: @unchecked Sendable { weak var socket: SocketIOSocket? }
    /// Connected sockets by pid (recovery on), to find one whose client reconnected before
    /// its old transport was seen closing.
    private let livePids = NIOLockedValueBox<[String: WeakSocket]>([:])

    func socketJoined(_ socket: SocketIOSocket) {
        guard let pid = socket.pid else { return }
        livePids.withLockedValue { $0[pid] = WeakSocket(socket: socket) }
    }

    func socketLeft(_ socket: SocketIOSocket) {
        guard let pid = socket.pid else { return }
        livePids.withLockedValue { if $0[pid]?.socket === socket || $0[pid]?.socket == nil { $0[pid] = nil } }
    }

    func liveSocket(pid: String) -> SocketIOSocket? {
        livePids.withLockedValue { $0[pid]?.socket }
    }

    /// `recovery` defaults to an empty in-memory store when the configuration turns recovery
    /// on; pass one to carry on from persisted state (or to inject a clock).
    public init(
        configuration: SocketIOConfiguration = SocketIOConfiguration(), backplane: any SocketIOBackplane = LocalBackplane(),
        recovery: SocketIOSessionStore? = nil, observer: (any SocketIOServerObserver)? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.logger = logger
        self.observer = observer
        self.backplaneBox = NIOLockedValueBox(backplane)
        self.recovery = configuration.connectionStateRecovery.map { recovery ?? SocketIOSessionStore(configuration: $0) }
    }

    /// How broadcasts and room operations reach sockets (local by default).
    public var backplane: any SocketIOBackplane {
        get { backplaneBox.withLockedValue { $0 } }
        set { backplaneBox.withLockedValue { $0 = newValue } }
    }

    /// Registers a namespace: a static path (`/chat`) or a pattern (`/chat/:room`).
    public func register(_ path: String, handler: any SocketIONamespaceHandler) throws {
        let pattern = try NamespacePattern(path)
        try registry.withLockedValue { registry in
            guard !registry.patterns.contains(where: { $0.0 == pattern }) else {
                throw SocketIOServerError.duplicateNamespace(path)
            }
            registry.patterns.append((pattern, handler))
            registry.patterns.sort { lhs, rhs in
                if lhs.0.isParameterised != rhs.0.isParameterised { return !lhs.0.isParameterised }
                return lhs.0.staticSegmentCount > rhs.0.staticSegmentCount
            }
            if !pattern.isParameterised {
                registry.namespaces[path] = SocketIONamespace(path: path, pattern: pattern, parameters: [:], handler: handler, server: self)
            }
        }
        if !pattern.isParameterised { namespaceChanged(path, exists: true) }
    }

    /// The registered patterns, in matching order.
    public var registeredPatterns: [NamespacePattern] {
        registry.withLockedValue { $0.patterns.map(\.0) }
    }

    /// The namespace at this path, if it exists on this node.
    public func namespace(_ path: String) -> SocketIONamespace? {
        registry.withLockedValue { $0.namespaces[path] }
    }

    /// Every concrete namespace on this node.
    public var namespaces: [SocketIONamespace] {
        registry.withLockedValue { Array($0.namespaces.values) }
    }

    /// Finds (or creates, for a parameterised match) the namespace a CONNECT names, and
    /// reserves it until ``releaseReservation(_:)``.
    func reserveNamespace(forConnect path: String) -> SocketIONamespace? {
        let (namespace, created) = registry.withLockedValue { registry -> (SocketIONamespace?, Bool) in
            if let existing = registry.namespaces[path] {
                if existing.pattern.isParameterised { registry.reservations[path, default: 0] += 1 }
                return (existing, false)
            }
            for (pattern, handler) in registry.patterns where pattern.isParameterised {
                guard let parameters = pattern.match(path) else { continue }
                let namespace = SocketIONamespace(path: path, pattern: pattern, parameters: parameters, handler: handler, server: self)
                registry.namespaces[path] = namespace
                registry.reservations[path, default: 0] += 1
                return (namespace, true)
            }
            return (nil, false)
        }
        if created { namespaceChanged(path, exists: true) }
        return namespace
    }

    /// Ends a reservation taken by ``reserveNamespace(forConnect:)``.
    func releaseReservation(_ namespace: SocketIONamespace) {
        guard namespace.pattern.isParameterised else { return }
        registry.withLockedValue { registry in
            let remaining = (registry.reservations[namespace.path] ?? 1) - 1
            registry.reservations[namespace.path] = remaining > 0 ? remaining : nil
        }
        dropIfEmpty(namespace)
    }

    /// Drops an empty parameterised namespace nobody is joining.
    func dropIfEmpty(_ namespace: SocketIONamespace) {
        guard namespace.pattern.isParameterised else { return }
        let dropped = registry.withLockedValue { registry -> Bool in
            guard registry.reservations[namespace.path] == nil,
                registry.namespaces[namespace.path] === namespace,
                namespace.adapter.isEmpty
            else { return false }
            registry.namespaces[namespace.path] = nil
            return true
        }
        if dropped { namespaceChanged(namespace.path, exists: false) }
    }

    // MARK: - EngineIOApplication

    public func sessionOpened(_ connection: EngineIOConnection) -> any EngineIOConnectionHandler {
        observer?.sessionOpened(connection)
        return SocketIOClient(server: self, connection: connection)
    }
}

public enum SocketIOServerError: Error, Hashable, CustomStringConvertible {
    case duplicateNamespace(String)

    public var description: String {
        switch self {
        case .duplicateNamespace(let path): return "namespace '\(path)' is registered twice"
        }
    }
}
