import Foundation
import Testing

@testable import SwitchyardStore

@Suite("Room membership store")
struct RoomMembershipTests {
    @Test("Joins persist once, list by identity and by room, and leave removes them")
    func crud() throws {
        let temporary = try TemporaryDirectory()
        let rooms = try temporary.database().rooms
        #expect(try rooms.persistJoin(namespace: "/chat", room: "lobby", identity: "alice", at: referenceTime))
        #expect(
            try rooms.persistJoin(namespace: "/chat", room: "lobby", identity: "alice", at: referenceTime.addingTimeInterval(60)) == false)
        try rooms.persistJoin(namespace: "/chat", room: "dev", identity: "alice")
        try rooms.persistJoin(namespace: "/chat", room: "lobby", identity: "bob")
        try rooms.persistJoin(namespace: "/other", room: "lobby", identity: "alice")

        #expect(try rooms.rooms(for: "alice", namespace: "/chat") == ["dev", "lobby"])
        #expect(try rooms.rooms(for: "alice", namespace: "/other") == ["lobby"])
        #expect(try rooms.rooms(for: "carol", namespace: "/chat") == [])
        #expect(try rooms.members(namespace: "/chat", room: "lobby") == ["alice", "bob"])
        let first = try rooms.memberships(namespace: "/chat", room: "lobby").first
        #expect(
            first == .init(namespace: "/chat", room: "lobby", identity: "alice", joinedAt: referenceTime), "the first join time is kept")

        #expect(try rooms.removeJoin(namespace: "/chat", room: "lobby", identity: "alice"))
        #expect(try rooms.removeJoin(namespace: "/chat", room: "lobby", identity: "alice") == false)
        #expect(try rooms.rooms(for: "alice", namespace: "/chat") == ["dev"])
        #expect(try rooms.members(namespace: "/chat", room: "lobby") == ["bob"])
    }

    @Test("Purge removes every membership of one room and returns the count")
    func purge() throws {
        let temporary = try TemporaryDirectory()
        let rooms = try temporary.database().rooms
        for identity in ["a", "b", "c"] { try rooms.persistJoin(namespace: "/", room: "doomed", identity: identity) }
        try rooms.persistJoin(namespace: "/", room: "kept", identity: "a")
        try rooms.persistJoin(namespace: "/elsewhere", room: "doomed", identity: "a")

        #expect(try rooms.purge(namespace: "/", room: "doomed") == 3)
        #expect(try rooms.purge(namespace: "/", room: "doomed") == 0)
        #expect(try rooms.members(namespace: "/", room: "doomed") == [])
        #expect(try rooms.rooms(for: "a", namespace: "/") == ["kept"])
        #expect(try rooms.members(namespace: "/elsewhere", room: "doomed") == ["a"])
    }

    @Test("Memberships survive closing and reopening the database (a restart)")
    func survivesRestart() throws {
        let temporary = try TemporaryDirectory()
        do {
            let database = try temporary.database()
            try database.rooms.persistJoin(namespace: "/chat", room: "lobby", identity: "alice")
            try database.close()
        }
        let reopened = try temporary.database()
        #expect(try reopened.rooms.rooms(for: "alice", namespace: "/chat") == ["lobby"])
    }

    @Test("The async variants do the same")
    func async() async throws {
        let temporary = try TemporaryDirectory()
        let rooms = try temporary.database().rooms
        #expect(try await rooms.persistJoin(namespace: "/", room: "r", identity: "alice"))
        #expect(try await rooms.rooms(for: "alice", namespace: "/") == ["r"])
        #expect(try await rooms.members(namespace: "/", room: "r") == ["alice"])
        #expect(try await rooms.removeJoin(namespace: "/", room: "r", identity: "alice"))
        try await rooms.persistJoin(namespace: "/", room: "r", identity: "bob")
        #expect(try await rooms.purge(namespace: "/", room: "r") == 1)
    }
}
