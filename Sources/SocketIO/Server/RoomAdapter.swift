import NIOConcurrencyHelpers

/// Which sockets of a namespace a broadcast or a room operation targets.
public struct BroadcastOptions: Sendable, Hashable {
    /// Target the union of these rooms; empty means every socket of the namespace.
    public var rooms: Set<String>
    /// Leave out sockets in any of these rooms (a socket id names that socket's own room).
    public var except: Set<String>
    /// Deliver on this node only (never through a backplane).
    public var local: Bool

    public init(rooms: Set<String> = [], except: Set<String> = [], local: Bool = false) {
        self.rooms = rooms
        self.except = except
        self.local = local
    }
}

/// The sockets of one namespace on this node and the rooms they are in.
///
/// Thread-safe (one lock); every socket is implicitly in the room named by its id, which
/// is not stored, saving a set per connection.
final class RoomAdapter: Sendable {
    private struct State {
        var sockets: [String: SocketIOSocket] = [:]
        var rooms: [String: Set<String>] = [:]
        var socketRooms: [String: Set<String>] = [:]
    }

    private let state = NIOLockedValueBox(State())
    /// Called (outside the lock) with the rooms that got their first member and the rooms
    /// that lost their last one, as socket.io's adapter emits `create-room`/`delete-room`.
    private let onChange: (@Sendable (_ created: [String], _ deleted: [String]) -> Void)?

    init(onChange: (@Sendable (_ created: [String], _ deleted: [String]) -> Void)? = nil) {
        self.onChange = onChange
    }

    private func report(created: [String], deleted: [String]) {
        guard let onChange, !created.isEmpty || !deleted.isEmpty else { return }
        onChange(created, deleted)
    }

    var isEmpty: Bool { state.withLockedValue { $0.sockets.isEmpty } }
    var count: Int { state.withLockedValue { $0.sockets.count } }

    func add(_ socket: SocketIOSocket) {
        state.withLockedValue { $0.sockets[socket.id] = socket }
    }

    /// Removes the socket from the namespace and all its rooms; returns those rooms (its
    /// own id room not included).
    @discardableResult
    func remove(_ socket: SocketIOSocket) -> Set<String> {
        let (rooms, deleted) = state.withLockedValue { state -> (Set<String>, [String]) in
            guard state.sockets[socket.id] === socket else { return ([], []) }
            state.sockets[socket.id] = nil
            socket.roomsChanged()
            let rooms = state.socketRooms.removeValue(forKey: socket.id) ?? []
            var deleted: [String] = []
            for room in rooms {
                state.rooms[room]?.remove(socket.id)
                if state.rooms[room]?.isEmpty == true {
                    state.rooms[room] = nil
                    deleted.append(room)
                }
            }
            return (rooms, deleted)
        }
        report(created: [], deleted: deleted)
        return rooms
    }

    func socket(id: String) -> SocketIOSocket? {
        state.withLockedValue { $0.sockets[id] }
    }

    /// Returns the rooms the socket was not in before.
    @discardableResult
    func join(_ socketID: String, rooms: [String]) -> [String] {
        let (joined, created) = state.withLockedValue { state -> ([String], [String]) in
            guard let socket = state.sockets[socketID] else { return ([], []) }
            var joined: [String] = []
            var created: [String] = []
            for room in rooms where room != socketID {
                if state.rooms[room] == nil { created.append(room) }
                state.rooms[room, default: []].insert(socketID)
                if state.socketRooms[socketID, default: []].insert(room).inserted { joined.append(room) }
            }
            socket.roomsChanged()
            return (joined, created)
        }
        report(created: created, deleted: [])
        return joined
    }

    /// Returns the rooms the socket was in.
    @discardableResult
    func leave(_ socketID: String, rooms: [String]) -> [String] {
        let (left, deleted) = state.withLockedValue { state -> ([String], [String]) in
            var left: [String] = []
            var deleted: [String] = []
            for room in rooms {
                state.rooms[room]?.remove(socketID)
                if state.rooms[room]?.isEmpty == true {
                    state.rooms[room] = nil
                    deleted.append(room)
                }
                if state.socketRooms[socketID]?.remove(room) != nil { left.append(room) }
            }
            if state.socketRooms[socketID]?.isEmpty == true { state.socketRooms[socketID] = nil }
            state.sockets[socketID]?.roomsChanged()
            return (left, deleted)
        }
        report(created: [], deleted: deleted)
        return left
    }

    /// The rooms of a socket, including its own id room.
    func rooms(of socketID: String) -> Set<String> {
        state.withLockedValue { state in
            guard state.sockets[socketID] != nil else { return [] }
            var rooms = state.socketRooms[socketID] ?? []
            rooms.insert(socketID)
            return rooms
        }
    }

    /// Every room with at least one member (socket id rooms excluded).
    func allRooms() -> [String: Int] {
        state.withLockedValue { state in state.rooms.mapValues(\.count) }
    }

    /// The sockets the options select.
    func sockets(matching options: BroadcastOptions) -> [SocketIOSocket] {
        state.withLockedValue { state in
            func members(of room: String) -> [String] {
                if let members = state.rooms[room] { return Array(members) }
                if state.sockets[room] != nil { return [room] }
                return []
            }
            var excluded: Set<String> = []
            for room in options.except { excluded.formUnion(members(of: room)) }

            if options.rooms.isEmpty {
                if excluded.isEmpty { return Array(state.sockets.values) }
                return state.sockets.values.filter { !excluded.contains($0.id) }
            }
            var seen: Set<String> = []
            var result: [SocketIOSocket] = []
            for room in options.rooms {
                for id in members(of: room) where !excluded.contains(id) && seen.insert(id).inserted {
                    if let socket = state.sockets[id] { result.append(socket) }
                }
            }
            return result
        }
    }
}
