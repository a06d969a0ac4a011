import Foundation
import GRDB
import NIOCore
import SocketIO
import SwitchyardJSON
import Testing

@testable import SwitchyardStore

/// Connection state recovery's snapshot in a real SQLite file.
@Suite("Recovery state store")
struct RecoveryStateStoreTests {
    static let configuration = SocketIORecoveryConfiguration(maxDisconnectionDuration: 60_000)

    /// A state with two sessions and three packets, one binary.
    static func state() -> SocketIORecoveryState {
        var state = SocketIORecoveryState(configuration: configuration, epoch: "ep")
        let first = state.record(namespace: "/", event: "hello", arguments: SocketIOArguments(["a", 1]), rooms: [], except: [], now: 1_000)
        state.persist(
            SocketIOPersistedSession(
                sid: "s1", pid: "p1", namespace: "/", rooms: ["s1", "red"], disconnectedAt: 0, lastOffset: first.offset, firstSequence: 0,
                userInfo: "in memory only"),
            now: 2_000)
        state.persist(
            SocketIOPersistedSession(
                sid: "s2", pid: "p2", namespace: "/chat", rooms: ["s2"], disconnectedAt: 0, lastOffset: nil, firstSequence: 1),
            now: 2_500)
        _ = state.record(
            namespace: "/", event: "file",
            arguments: SocketIOArguments(
                [["_placeholder": true, "num": 0], ["_placeholder": true, "num": 1]],
                attachments: [ByteBuffer(bytes: [1, 2, 3]), ByteBuffer(bytes: [])]), rooms: ["red"], except: ["blue", "s9"], now: 3_000)
        _ = state.record(namespace: "/chat", event: "é", arguments: SocketIOArguments(), rooms: ["s2"], except: [], now: 3_500)
        _ = state.record(namespace: "/", event: "from-another-node", arguments: SocketIOArguments(), rooms: [], except: [], now: 3_600, broadcast: true, offset: "other-7")
        return state
    }

    @Test("A saved snapshot comes back whole, and a restore from it replays the same packets")
    func roundTrip() async throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        var original = Self.state()
        let snapshot = original.snapshot(now: 4_000)
        try await database.recovery.save(snapshot, at: 4_000)

        let back = try #require(try database.recovery.take())
        #expect(back.epoch == "ep")
        #expect(back.lastSequence == 4)
        #expect(back.packets.last?.offset == "other-7")
        #expect(back.packets.map(\.broadcast) == [false, false, false, true])
        #expect(back.trimmedThrough == 0)
        #expect(back.packets == snapshot.packets)
        let sessions = back.sessions.sorted { $0.pid < $1.pid }
        #expect(sessions.map(\.sid) == ["s1", "s2"])
        #expect(sessions.map(\.rooms) == [["s1", "red"], ["s2"]])
        #expect(sessions.map(\.lastOffset) == ["ep-1", nil])
        #expect(sessions.map(\.firstSequence) == [0, 1])
        #expect(sessions.map(\.disconnectedAt) == [2_000, 2_500])

        var restored = try #require(SocketIORecoveryState(configuration: Self.configuration, snapshot: back, now: 5_000))
        guard case .success(let session) = restored.restore(pid: "p1", namespace: "/", offset: "ep-1", now: 5_000) else {
            Issue.record("not restored")
            return
        }
        #expect(session.missed.map(\.event) == ["file", "from-another-node"])
        #expect(restored.sequence(of: "other-7") == 4, "another node's offset is found again after the restart")
        #expect(session.missed.first?.arguments.attachments == [ByteBuffer(bytes: [1, 2, 3]), ByteBuffer(bytes: [])])
        #expect(session.session.fromSnapshot)
        #expect(session.session.userInfo == nil)
    }

    @Test("take() empties the tables: a snapshot serves one start")
    func takeEmpties() async throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        var state = Self.state()
        try await database.recovery.save(state.snapshot(now: 4_000), at: 4_000)
        #expect(try database.recovery.take() != nil)
        #expect(try database.recovery.take() == nil)
        #expect(try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM recovery_packets") } == 0)
    }

    @Test("Saving replaces what was stored")
    func saveReplaces() async throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        var state = Self.state()
        try await database.recovery.save(state.snapshot(now: 4_000), at: 4_000)
        let empty = SocketIORecoveryState.Snapshot(epoch: "other", lastSequence: 7, trimmedThrough: 7, sessions: [], packets: [])
        try await database.recovery.save(empty, at: 5_000)
        let back = try #require(try database.recovery.peek())
        #expect(back.epoch == "other")
        #expect(back.sessions.isEmpty && back.packets.isEmpty)
    }

    @Test(
        "Damaged rows are reported, not guessed at",
        arguments: [
            "UPDATE recovery_packets SET arguments = '{\"no\":1}' WHERE sequence = 1",
            "UPDATE recovery_sessions SET rooms = '[1]' WHERE pid = 'p1'",
            "UPDATE recovery_packets SET attachments = x'000000ff01' WHERE sequence = 2",
        ])
    func damaged(sql: String) async throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        var state = Self.state()
        try await database.recovery.save(state.snapshot(now: 4_000), at: 4_000)
        try database.write { db in try db.execute(sql: sql) }
        #expect(throws: RecoveryStateError.self) { try database.recovery.take() }
    }
}
