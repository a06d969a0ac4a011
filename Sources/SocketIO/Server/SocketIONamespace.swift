import EngineIO
import NIOCore
import SwitchyardJSON

/// A concrete namespace (`/chat/lobby`), its sockets and rooms on this node.
///
/// Created when registered (static paths) or when the first client connects to a path
/// that matches a parameterised pattern; an empty parameterised namespace is dropped.
public final class SocketIONamespace: Sendable {
    /// The concrete path, e.g. `/chat/lobby`.
    public let path: String
    /// The pattern it was registered under, e.g. `/chat/:room`.
    public let pattern: NamespacePattern
    /// The pattern's parameters for this path.
    public let parameters: [String: String]
    public let handler: any SocketIONamespaceHandler
    let adapter: RoomAdapter
    unowned let server: SocketIOServer

    init(path: String, pattern: NamespacePattern, parameters: [String: String], handler: any SocketIONamespaceHandler, server: SocketIOServer) {
        self.path = path
        self.pattern = pattern
        self.parameters = parameters
        self.handler = handler
        self.server = server
        self.adapter = RoomAdapter { [unowned server] created, deleted in
            server.roomsChanged(namespace: path, created: created, deleted: deleted)
        }
    }

    /// Number of sockets connected on this node.
    public var socketCount: Int { adapter.count }

    /// The socket with this id on this node.
    public func socket(id: String) -> SocketIOSocket? { adapter.socket(id: id) }

    /// Rooms with their member counts on this node.
    public func rooms() -> [String: Int] { adapter.allRooms() }

    /// A broadcast to every socket of the namespace; narrow it with `to` and `except`.
    public var broadcast: SocketIOBroadcast { SocketIOBroadcast(namespace: self, options: BroadcastOptions()) }

    /// A broadcast to the members of these rooms.
    public func to(_ rooms: String...) -> SocketIOBroadcast { broadcast.to(rooms) }

    /// Emits to every socket of the namespace.
    public func emit(_ event: String, _ arguments: SocketIOArguments = SocketIOArguments()) {
        broadcast.emit(event, arguments)
    }
}

/// A broadcast under construction: `namespace.to("room").except("other").emit(…)`.
public struct SocketIOBroadcast: Sendable {
    public let namespace: SocketIONamespace
    public var options: BroadcastOptions

    public init(namespace: SocketIONamespace, options: BroadcastOptions) {
        self.namespace = namespace
        self.options = options
    }

    public func to(_ rooms: String...) -> SocketIOBroadcast { to(rooms) }

    public func to<Rooms: Sequence>(_ rooms: Rooms) -> SocketIOBroadcast where Rooms.Element == String {
        var copy = self
        copy.options.rooms.formUnion(rooms)
        return copy
    }

    public func except(_ rooms: String...) -> SocketIOBroadcast { except(rooms) }

    public func except<Rooms: Sequence>(_ rooms: Rooms) -> SocketIOBroadcast where Rooms.Element == String {
        var copy = self
        copy.options.except.formUnion(rooms)
        return copy
    }

    /// Only sockets on this node.
    public var local: SocketIOBroadcast {
        var copy = self
        copy.options.local = true
        return copy
    }

    /// Sends the event to every selected socket (the packet is encoded once).
    public func emit(_ event: String, _ arguments: SocketIOArguments = SocketIOArguments()) {
        namespace.server.backplane.broadcast(
            SocketIOBroadcastPacket(event: event, arguments: arguments),
            namespace: namespace,
            options: options
        )
    }

    public func emit(_ event: String, _ values: [JSONValue]) {
        emit(event, SocketIOArguments(values))
    }

    /// Makes the selected sockets join these rooms.
    public func socketsJoin(_ rooms: [String]) {
        namespace.server.backplane.socketsJoin(rooms, namespace: namespace, options: options)
    }

    /// Makes the selected sockets leave these rooms.
    public func socketsLeave(_ rooms: [String]) {
        namespace.server.backplane.socketsLeave(rooms, namespace: namespace, options: options)
    }

    /// Disconnects the selected sockets (closing their connections when `close`).
    public func disconnectSockets(close: Bool = false) {
        namespace.server.backplane.disconnectSockets(namespace: namespace, options: options, close: close)
    }

    /// The ids of the selected sockets on this node.
    public func localSocketIDs() -> [String] {
        localSockets().map(\.id)
    }

    /// The selected sockets on this node, in no particular order.
    public func localSockets() -> [SocketIOSocket] {
        namespace.adapter.sockets(matching: options)
    }

    /// The ids of the selected sockets on every node of the cluster (this node's only with
    /// ``local`` or the local backplane). A cluster backplane waits for the answers of the
    /// nodes it knows to be alive, up to its request timeout, and returns what it has.
    public func fetchSocketIDs() async -> [String] {
        if options.local { return localSocketIDs() }
        return await namespace.server.backplane.fetchSocketIDs(namespace: namespace, options: options)
    }
}

/// An event on its way to many sockets.
public struct SocketIOBroadcastPacket: Sendable {
    public var event: String
    public var arguments: SocketIOArguments
    /// Connection state recovery: the offset another node gave this broadcast (a cluster
    /// backplane carries it), so clients on every node see the same offset for it.
    public var offset: String?

    public init(event: String, arguments: SocketIOArguments, offset: String? = nil) {
        self.event = event
        self.arguments = arguments
        self.offset = offset
    }

    /// The wire messages for a namespace, as a parser writes them (with the offset as the
    /// last argument when the packet is stored for connection state recovery).
    func messages(namespace: String, parser: SocketIOParser = .default, offset: String? = nil) -> [OutboundMessage] {
        switch parser {
        case .default: return SocketIOPacketEncoder.event(namespace: namespace, name: event, arguments: arguments, offset: offset)
        case .msgpack: return [SocketIOMessagePackEncoder.event(namespace: namespace, name: event, arguments: arguments, offset: offset)]
        }
    }
}

/// Carries broadcasts and room operations to the sockets they select, on this node and,
/// for a cluster, on the others. The local backplane is the default; a Redis driver
/// implements the same contract.
public protocol SocketIOBackplane: Sendable {
    func broadcast(_ packet: SocketIOBroadcastPacket, namespace: SocketIONamespace, options: BroadcastOptions)
    func socketsJoin(_ rooms: [String], namespace: SocketIONamespace, options: BroadcastOptions)
    func socketsLeave(_ rooms: [String], namespace: SocketIONamespace, options: BroadcastOptions)
    func disconnectSockets(namespace: SocketIONamespace, options: BroadcastOptions, close: Bool)
    /// The ids of the sockets the options select, on every node. Has a default: this
    /// node's sockets only.
    func fetchSocketIDs(namespace: SocketIONamespace, options: BroadcastOptions) async -> [String]
}

extension SocketIOBackplane {
    public func fetchSocketIDs(namespace: SocketIONamespace, options: BroadcastOptions) async -> [String] {
        namespace.adapter.sockets(matching: options).map(\.id)
    }
}

/// Delivery within this process.
public struct LocalBackplane: SocketIOBackplane {
    public init() {}

    public func broadcast(_ packet: SocketIOBroadcastPacket, namespace: SocketIONamespace, options: BroadcastOptions) {
        Self.deliverLocally(packet, namespace: namespace, options: options)
    }

    public func socketsJoin(_ rooms: [String], namespace: SocketIONamespace, options: BroadcastOptions) {
        for socket in namespace.adapter.sockets(matching: options) { socket.join(rooms) }
    }

    public func socketsLeave(_ rooms: [String], namespace: SocketIONamespace, options: BroadcastOptions) {
        for socket in namespace.adapter.sockets(matching: options) {
            for room in rooms { socket.leave(room) }
        }
    }

    public func disconnectSockets(namespace: SocketIONamespace, options: BroadcastOptions, close: Bool) {
        for socket in namespace.adapter.sockets(matching: options) { socket.disconnect(close: close) }
    }

    /// Encodes once and writes to every selected socket of this node, one task per event
    /// loop (sockets on the caller's loop are written at once).
    ///
    /// With connection state recovery on, the event is stored first (with its rooms, as
    /// socket.io-adapter's SessionAwareAdapter.broadcast does) and carries its offset; it is
    /// stored even when no socket here is selected, since the sockets it is for may be away.
    ///
    /// Returns the offset the packet was stored under (nil when recovery is off), for a
    /// cluster backplane to carry to the other nodes.
    @discardableResult
    public static func deliverLocally(_ packet: SocketIOBroadcastPacket, namespace: SocketIONamespace, options: BroadcastOptions) -> String? {
        let mark: RecoveryMark? = namespace.server.recovery.map { store in
            let stored = store.record(
                namespace: namespace.path, event: packet.event, arguments: packet.arguments, rooms: options.rooms, except: options.except,
                broadcast: !options.local, offset: packet.offset
            )
            return RecoveryMark(sequence: stored.sequence, offset: stored.offset, emitBoundary: stored.broadcast ? nil : (stored.boundary ?? ""))
        }
        // Selected after storing: a recovering socket either joined in time to be selected,
        // or finds the packet in the log.
        let targets = namespace.adapter.sockets(matching: options)
        guard !targets.isEmpty else { return mark?.offset }
        let encoded = EncodedBroadcast(packet, namespace: namespace.path, offset: mark?.offset, for: targets)
        var byLoop: [ObjectIdentifier: (EventLoop, [SocketIOSocket])] = [:]
        for socket in targets {
            let loop = socket.eventLoop
            if loop.inEventLoop {
                socket.sendRaw(encoded.messages(for: socket.parser), mark: mark)
            } else {
                byLoop[ObjectIdentifier(loop), default: (loop, [])].1.append(socket)
            }
        }
        for (loop, sockets) in byLoop.values {
            loop.execute {
                for socket in sockets { socket.sendRaw(encoded.messages(for: socket.parser), mark: mark) }
            }
        }
        return mark?.offset
    }
}

/// A broadcast encoded once for each parser its targets use, and never for the others.
struct EncodedBroadcast: Sendable {
    private(set) var json: [OutboundMessage] = []
    private(set) var msgpack: [OutboundMessage] = []

    init(_ packet: SocketIOBroadcastPacket, namespace: String, offset: String? = nil, for targets: [SocketIOSocket]) {
        var needsJSON = false
        var needsMessagePack = false
        for socket in targets {
            if socket.parser == .msgpack { needsMessagePack = true } else { needsJSON = true }
            if needsJSON, needsMessagePack { break }
        }
        if needsJSON { json = packet.messages(namespace: namespace, parser: .default, offset: offset) }
        if needsMessagePack { msgpack = packet.messages(namespace: namespace, parser: .msgpack, offset: offset) }
    }

    func messages(for parser: SocketIOParser) -> [OutboundMessage] {
        parser == .msgpack ? msgpack : json
    }
}
