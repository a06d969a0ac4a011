import Foundation
import GRDB

/// Persisted room membership of identified users: `rooms(namespace, room, identity, joined_at)`.
///
/// When an identified socket joins a room the host calls ``persistJoin(namespace:room:identity:at:)``;
/// when that identity connects again (after a reconnect or a server restart) the host
/// puts the new socket back into ``rooms(for:namespace:)``; a leave calls
/// ``removeJoin(namespace:room:identity:)``, and `purge-room` calls ``purge(namespace:room:)``.
///
/// ```swift
/// let rooms = database.rooms
/// try rooms.persistJoin(namespace: "/chat", room: "lobby", identity: "alice")   // true: new
/// try rooms.persistJoin(namespace: "/chat", room: "lobby", identity: "alice")   // false: kept
/// try rooms.rooms(for: "alice", namespace: "/chat")                              // ["lobby"]
/// try rooms.purge(namespace: "/chat", room: "lobby")                             // 1
/// ```
///
/// Each method comes twice: synchronous (blocks the calling thread on SQLite: never call
/// it on an event loop) and `async` (runs on GRDB's writer or reader queue and suspends
/// the caller: use it from tasks). Writes share the one writer connection with the audit
/// writer, so a write may wait behind an audit batch (a few milliseconds).
public struct RoomMembershipStore: Sendable {
    let pool: DatabasePool

    /// One persisted membership.
    public struct Membership: Sendable, Hashable {
        public var namespace: String
        public var room: String
        public var identity: String
        /// When the identity first joined (a repeated join keeps the first time).
        public var joinedAt: Date
    }

    // MARK: - Synchronous

    /// Records that `identity` is in `room`. Returns false when it already was (the first
    /// join time is kept).
    @discardableResult
    public func persistJoin(namespace: String, room: String, identity: String, at time: Date = Date()) throws -> Bool {
        try pool.write { db in try Self.insert(db, namespace, room, identity, time) }
    }

    /// Forgets that `identity` is in `room`. Returns false when it was not.
    @discardableResult
    public func removeJoin(namespace: String, room: String, identity: String) throws -> Bool {
        try pool.write { db in try Self.delete(db, namespace, room, identity) }
    }

    /// The rooms `identity` belongs to in `namespace`, sorted.
    public func rooms(for identity: String, namespace: String) throws -> [String] {
        try pool.read { db in try Self.rooms(db, identity, namespace) }
    }

    /// The identities in `room`, sorted.
    public func members(namespace: String, room: String) throws -> [String] {
        try pool.read { db in try Self.members(db, namespace, room) }
    }

    /// The memberships of `room` with their join times, sorted by identity.
    public func memberships(namespace: String, room: String) throws -> [Membership] {
        try pool.read { db in try Self.memberships(db, namespace, room) }
    }

    /// Removes every membership of `room`; returns how many rows went.
    @discardableResult
    public func purge(namespace: String, room: String) throws -> Int {
        try pool.write { db in try Self.purge(db, namespace, room) }
    }

    // MARK: - Asynchronous

    /// ``persistJoin(namespace:room:identity:at:)`` without blocking the caller's thread.
    @discardableResult
    public func persistJoin(namespace: String, room: String, identity: String, at time: Date = Date()) async throws -> Bool {
        try await pool.write { db in try Self.insert(db, namespace, room, identity, time) }
    }

    /// ``removeJoin(namespace:room:identity:)`` without blocking the caller's thread.
    @discardableResult
    public func removeJoin(namespace: String, room: String, identity: String) async throws -> Bool {
        try await pool.write { db in try Self.delete(db, namespace, room, identity) }
    }

    /// ``rooms(for:namespace:)`` without blocking the caller's thread.
    public func rooms(for identity: String, namespace: String) async throws -> [String] {
        try await pool.read { db in try Self.rooms(db, identity, namespace) }
    }

    /// ``members(namespace:room:)`` without blocking the caller's thread.
    public func members(namespace: String, room: String) async throws -> [String] {
        try await pool.read { db in try Self.members(db, namespace, room) }
    }

    /// ``purge(namespace:room:)`` without blocking the caller's thread.
    @discardableResult
    public func purge(namespace: String, room: String) async throws -> Int {
        try await pool.write { db in try Self.purge(db, namespace, room) }
    }

    // MARK: - SQL

    private static func insert(_ db: Database, _ namespace: String, _ room: String, _ identity: String, _ time: Date) throws -> Bool {
        try db.execute(
            sql: "INSERT INTO rooms (namespace, room, identity, joined_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [namespace, room, identity, Timestamp.format(time)]
        )
        return db.changesCount > 0
    }

    private static func delete(_ db: Database, _ namespace: String, _ room: String, _ identity: String) throws -> Bool {
        try db.execute(
            sql: "DELETE FROM rooms WHERE namespace = ? AND room = ? AND identity = ?",
            arguments: [namespace, room, identity]
        )
        return db.changesCount > 0
    }

    private static func rooms(_ db: Database, _ identity: String, _ namespace: String) throws -> [String] {
        try String.fetchAll(
            db,
            sql: "SELECT room FROM rooms WHERE namespace = ? AND identity = ? ORDER BY room",
            arguments: [namespace, identity]
        )
    }

    private static func members(_ db: Database, _ namespace: String, _ room: String) throws -> [String] {
        try String.fetchAll(
            db,
            sql: "SELECT identity FROM rooms WHERE namespace = ? AND room = ? ORDER BY identity",
            arguments: [namespace, room]
        )
    }

    private static func memberships(_ db: Database, _ namespace: String, _ room: String) throws -> [Membership] {
        try Row.fetchAll(
            db,
            sql: "SELECT namespace, room, identity, joined_at FROM rooms WHERE namespace = ? AND room = ? ORDER BY identity",
            arguments: [namespace, room]
        ).map { row in
            Membership(
                namespace: row["namespace"],
                room: row["room"],
                identity: row["identity"],
                joinedAt: Timestamp.parse(row["joined_at"] as String) ?? Date(timeIntervalSince1970: 0)
            )
        }
    }

    private static func purge(_ db: Database, _ namespace: String, _ room: String) throws -> Int {
        try db.execute(sql: "DELETE FROM rooms WHERE namespace = ? AND room = ?", arguments: [namespace, room])
        return db.changesCount
    }
}
