import NIOCore
import SocketIO
import SwitchyardJSON

/// Connection state recovery across nodes: every session a node keeps is also a Redis key
/// with the session's remaining lifetime (`SET … PX maxDisconnectionDuration`), and a
/// restore on any node takes it out with `GETDEL`, so exactly one node restores it. The
/// packets are not in Redis: every node already records every cluster broadcast in its own
/// recovery log, under the offset its publisher gave it (`flags.offset` of the broadcast
/// message), so the node the client comes back to replays from its own log. docs/REDIS.md
/// says why.
extension RedisBackplane: SocketIORecoverySessionMirror {
    public func keep(_ session: SocketIOPersistedSession, ttl: Int64) {
        let value = Self.encode(session)
        _ = publisher.sendAndForget([
            "SET", .string(channels.recoverySessionKey(pid: session.pid)), .string(value), "PX", .string(String(max(ttl, 1))),
        ])
    }

    public func take(pid: String, completion: @escaping @Sendable (SocketIOPersistedSession?, Bool) -> Void) {
        publisher.send(["GETDEL", .string(channels.recoverySessionKey(pid: pid))]).whenComplete { result in
            switch result {
            case .success(.null):
                completion(nil, true)
            case .success(.bulkString(let bytes)):
                completion(Self.decode(bytes), true)
            case .success, .failure:
                completion(nil, false)
            }
        }
    }

    /// `{"sid","pid","namespace","rooms","disconnectedAt","lastOffset","epoch","lastBroadcastOffset","emitBoundaries"}`.
    static func encode(_ session: SocketIOPersistedSession) -> String {
        var object = JSONObject()
        object["sid"] = .string(session.sid)
        object["pid"] = .string(session.pid)
        object["namespace"] = .string(session.namespace)
        object["rooms"] = .array(session.rooms.map(JSONValue.string))
        object["disconnectedAt"] = .number(JSONNumber(Int(session.disconnectedAt)))
        object["lastOffset"] = session.lastOffset.map(JSONValue.string) ?? .null
        object["epoch"] = .string(session.epoch)
        object["lastBroadcastOffset"] = session.lastBroadcastOffset.map(JSONValue.string) ?? .null
        object["emitBoundaries"] = .object(
            JSONObject(session.emitBoundaries.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
        return JSONValue.object(object).serialized()
    }

    /// A session read back from Redis (nil when it is not one: it is then not restored).
    static func decode(_ bytes: ByteBuffer) -> SocketIOPersistedSession? {
        guard let value = try? JSONValue(parsing: String(buffer: bytes)),
            let sid = value["sid"]?.stringValue, let pid = value["pid"]?.stringValue,
            let namespace = value["namespace"]?.stringValue,
            let rooms = value["rooms"]?.arrayValue?.compactMap(\.stringValue),
            let disconnectedAt = value["disconnectedAt"]?.intValue,
            let epoch = value["epoch"]?.stringValue
        else { return nil }
        var session = SocketIOPersistedSession(
            sid: sid, pid: pid, namespace: namespace, rooms: rooms, disconnectedAt: Int64(disconnectedAt),
            lastOffset: value["lastOffset"]?.stringValue, firstSequence: 0)
        session.epoch = epoch
        session.lastBroadcastOffset = value["lastBroadcastOffset"]?.stringValue
        for (offset, boundary) in value["emitBoundaries"]?.objectValue ?? JSONObject() {
            if let boundary = boundary.stringValue { session.emitBoundaries[offset] = boundary }
        }
        session.fromSnapshot = true
        return session
    }
}
