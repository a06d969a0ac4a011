import NIOConcurrencyHelpers
import SocketIO
import SwitchyardJSON
import Testing

/// The pure recovery state: offsets, the log, sessions, and every reason a restore is
/// granted or refused. Time is a parameter; nothing sleeps.
@Suite("Connection state recovery: the session store's rules")
struct RecoveryStateTests {
    static let configuration = SocketIORecoveryConfiguration(maxDisconnectionDuration: 10_000, maxPacketsPerSession: 3)

    var state = SocketIORecoveryState(configuration: Self.configuration, epoch: "ep")

    static func session(
        sid: String = "s1", pid: String = "p1", namespace: String = "/", rooms: [String] = ["s1", "red"], lastOffset: String? = nil,
        firstSequence: UInt64 = 0
    )
        -> SocketIOPersistedSession
    {
        SocketIOPersistedSession(
            sid: sid, pid: pid, namespace: namespace, rooms: rooms, disconnectedAt: 0, lastOffset: lastOffset, firstSequence: firstSequence)
    }

    @discardableResult
    mutating func record(_ event: String, rooms: Set<String> = [], except: Set<String> = [], namespace: String = "/", at now: Int64)
        -> SocketIORecoveryPacket
    {
        state.record(
            namespace: namespace, event: event, arguments: SocketIOArguments([.string(event)]), rooms: rooms, except: except, now: now)
    }

    func restored(_ result: Result<SocketIORestoredSession, SocketIORecoveryFailure>) -> [String]? {
        guard case .success(let restored) = result else { return nil }
        return restored.missed.map(\.event)
    }

    func failure(_ result: Result<SocketIORestoredSession, SocketIORecoveryFailure>) -> SocketIORecoveryFailure? {
        guard case .failure(let failure) = result else { return nil }
        return failure
    }

    @Test("Offsets are <epoch>-<base36 sequence>, increase, and are read back only for this log")
    mutating func offsets() {
        let first = record("a", at: 0)
        let second = record("b", at: 0)
        #expect(first.offset == "ep-1")
        #expect(second.sequence == 2)
        for _ in 0..<40 { record("x", at: 0) }
        #expect(state.offset(for: 42) == "ep-16")
        #expect(state.sequence(of: "ep-16") == 42)
        #expect(state.sequence(of: "ep-17") == nil)  // not handed out yet
        #expect(state.sequence(of: "other-1") == nil)
        #expect(state.sequence(of: "ep-") == nil)
        #expect(state.sequence(of: "ep-zz!") == nil)
        #expect(state.sequence(of: "") == nil)
    }

    @Test("A restore replays, in order, the packets after the offset that reached the session's rooms")
    mutating func replaysMatchingPackets() {
        let seen = record("seen", rooms: ["red"], at: 0)
        state.persist(Self.session(lastOffset: seen.offset), now: 100)
        record("to-red", rooms: ["red"], at: 200)
        record("to-blue", rooms: ["blue"], at: 210)
        record("to-all", at: 220)
        record("to-all-but-red", except: ["red"], at: 230)
        record("to-me", rooms: ["s1"], at: 240)
        record("other-namespace", namespace: "/chat", at: 250)
        let result = state.restore(pid: "p1", namespace: "/", offset: seen.offset, now: 1000)
        #expect(restored(result) == ["to-red", "to-all", "to-me"])
        if case .success(let session) = result {
            #expect(session.session.sid == "s1")
            #expect(session.session.rooms == ["s1", "red"])
            #expect(session.disconnectedFor == 900)
        }
    }

    @Test("Packets sent before the disconnect but not seen by the client are replayed too")
    mutating func inFlightPacketsReplayed() {
        let seen = record("seen", at: 0)
        let lost = record("lost-in-flight", at: 10)
        state.persist(Self.session(lastOffset: lost.offset), now: 20)
        record("while-away", at: 30)
        #expect(restored(state.restore(pid: "p1", namespace: "/", offset: seen.offset, now: 40)) == ["lost-in-flight", "while-away"])
    }

    @Test("A session is good for one restore")
    mutating func singleUse() {
        let seen = record("seen", at: 0)
        state.persist(Self.session(lastOffset: seen.offset), now: 0)
        #expect(restored(state.restore(pid: "p1", namespace: "/", offset: seen.offset, now: 1)) == [])
        #expect(failure(state.restore(pid: "p1", namespace: "/", offset: seen.offset, now: 2)) == .unknownSession)
    }

    @Test("A failed attempt uses the session up as well")
    mutating func failedAttemptConsumes() {
        record("seen", at: 0)
        state.persist(Self.session(lastOffset: "ep-1"), now: 0)
        #expect(failure(state.restore(pid: "p1", namespace: "/", offset: "forged-1", now: 1)) == .unknownOffset)
        #expect(failure(state.restore(pid: "p1", namespace: "/", offset: "ep-1", now: 2)) == .unknownSession)
    }

    @Test("Unknown pid, wrong namespace")
    mutating func unknownOrWrongNamespace() {
        state.persist(Self.session(), now: 0)
        #expect(failure(state.restore(pid: "nope", namespace: "/", offset: nil, now: 1)) == .unknownSession)
        #expect(failure(state.restore(pid: "p1", namespace: "/chat", offset: nil, now: 1)) == .wrongNamespace)
    }

    @Test("A session lives exactly maxDisconnectionDuration")
    mutating func sessionExpiry() {
        state.persist(Self.session(pid: "a"), now: 1000)
        state.persist(Self.session(pid: "b"), now: 1000)
        #expect(restored(state.restore(pid: "a", namespace: "/", offset: nil, now: 11_000)) == [])
        #expect(failure(state.restore(pid: "b", namespace: "/", offset: nil, now: 11_001)) == .expired)
    }

    @Test("Expired sessions are swept")
    mutating func sessionSweep() {
        state.persist(Self.session(pid: "a"), now: 0)
        #expect(state.sessionCount == 1)
        state.expire(now: 10_001)
        #expect(state.sessionCount == 0)
        #expect(failure(state.restore(pid: "a", namespace: "/", offset: nil, now: 10_002)) == .unknownSession)
    }

    @Test("Packets leave the log after maxDisconnectionDuration; a client needing them is not recovered")
    mutating func packetExpiry() {
        let old = record("old", at: 0)
        record("newer", at: 100)
        let latest = record("latest", at: 9_000)
        #expect(state.packetCount == 3)
        // The client saw only "old"; it left at 9,500 having been sent "newer" and "latest".
        state.persist(Self.session(lastOffset: latest.offset), now: 9_500)
        state.expire(now: 10_101)
        #expect(state.packetCount == 1)
        #expect(state.trimmedThrough == 2)
        #expect(failure(state.restore(pid: "p1", namespace: "/", offset: old.offset, now: 10_102)) == .packetsDropped)
    }

    @Test("A quiet client whose last packet left the log still recovers when that packet was the last one sent to it")
    mutating func quietClient() {
        let last = record("last-for-me", rooms: ["s1"], at: 0)
        record("for-others", rooms: ["blue"], at: 1_000)
        state.persist(Self.session(lastOffset: last.offset), now: 9_000)
        record("while-away", rooms: ["red"], at: 12_000)
        state.expire(now: 12_000)
        #expect(state.trimmedThrough == 2)
        #expect(restored(state.restore(pid: "p1", namespace: "/", offset: last.offset, now: 12_500)) == ["while-away"])
    }

    @Test("Without an offset: recovered when nothing was ever sent to the socket, refused otherwise")
    mutating func noOffset() {
        record("before-it-joined", at: 0)
        record("on-its-way", rooms: ["red"], at: 5)
        state.persist(Self.session(pid: "silent", lastOffset: nil, firstSequence: 1), now: 10)
        state.persist(Self.session(pid: "talked-to", lastOffset: "ep-1"), now: 10)
        record("after", rooms: ["red"], at: 20)
        #expect(restored(state.restore(pid: "silent", namespace: "/", offset: nil, now: 30)) == ["on-its-way", "after"])
        #expect(failure(state.restore(pid: "talked-to", namespace: "/", offset: nil, now: 30)) == .unknownOffset)
    }

    @Test("Offsets from another log or not handed out yet are refused")
    mutating func foreignOffsets() {
        record("a", at: 0)
        for (pid, offset) in [("1", "other-1"), ("2", "ep-2"), ("3", "garbage")] {
            state.persist(Self.session(pid: pid), now: 1)
            #expect(failure(state.restore(pid: pid, namespace: "/", offset: offset, now: 2)) == .unknownOffset)
        }
    }

    @Test("maxPacketsPerSession missed packets are replayed; one more and the session is not recoverable")
    mutating func packetCap() {
        let seen = record("seen", at: 0)
        state.persist(Self.session(pid: "a", lastOffset: seen.offset), now: 0)
        state.persist(Self.session(pid: "b", lastOffset: seen.offset), now: 0)
        for index in 0..<3 { record("m\(index)", rooms: ["red"], at: 1) }
        record("not-for-me", rooms: ["blue"], at: 1)
        #expect(restored(state.restore(pid: "a", namespace: "/", offset: seen.offset, now: 2)) == ["m0", "m1", "m2"])
        record("m3", rooms: ["red"], at: 3)
        #expect(failure(state.restore(pid: "b", namespace: "/", offset: seen.offset, now: 4)) == .tooManyPackets)
    }

    @Test("The session keeps the log position at the disconnect")
    mutating func persistSetsPosition() {
        record("a", at: 0)
        record("b", at: 0)
        state.persist(Self.session(lastOffset: "ep-1", firstSequence: 1), now: 7)
        let snapshot = state.snapshot(now: 7)
        #expect(snapshot.sessions.first?.firstSequence == 1)
        #expect(snapshot.sessions.first?.disconnectedAt == 7)
    }

    @Test("Packets selected for the socket but still on their way to it when it left are replayed")
    mutating func inFlightAtDisconnect() {
        // "seen" reached the socket; "on-its-way" was stored and selected, but the socket's
        // loop closed it before the delivery ran, so the last offset sent stays "seen".
        let seen = record("seen", at: 0)
        record("on-its-way", rooms: ["red"], at: 5)
        state.persist(Self.session(lastOffset: seen.offset), now: 5)
        #expect(restored(state.restore(pid: "p1", namespace: "/", offset: seen.offset, now: 6)) == ["on-its-way"])
    }

    @Test("A snapshot carries everything to another process; offsets keep increasing")
    mutating func snapshotRoundTrip() throws {
        let seen = record("seen", at: 0)
        state.persist(Self.session(lastOffset: seen.offset), now: 10)
        record("away", rooms: ["red"], at: 20)
        let snapshot = state.snapshot(now: 30)
        var next = try #require(SocketIORecoveryState(configuration: Self.configuration, snapshot: snapshot, now: 40))
        #expect(next.epoch == "ep")
        #expect(
            next.record(namespace: "/", event: "later", arguments: SocketIOArguments(), rooms: ["red"], except: [], now: 50).offset
                == "ep-3")
        let result = next.restore(pid: "p1", namespace: "/", offset: seen.offset, now: 60)
        #expect(restored(result) == ["away", "later"])
    }

    @Test("A snapshot whose packets are not consecutive is refused")
    mutating func damagedSnapshot() {
        record("a", at: 0)
        record("b", at: 0)
        var snapshot = state.snapshot(now: 0)
        snapshot.packets.removeFirst()
        #expect(SocketIORecoveryState(configuration: Self.configuration, snapshot: snapshot, now: 0) == nil)
        var short = state.snapshot(now: 0)
        short.lastSequence += 1
        #expect(SocketIORecoveryState(configuration: Self.configuration, snapshot: short, now: 0) == nil)
    }

    @Test("Which disconnect reasons keep a session")
    func recoverableReasons() {
        let recoverable = Set(SocketIODisconnectReason.allCases.filter(\.isRecoverable))
        #expect(recoverable == [.transportClose, .transportError, .pingTimeout, .forcedClose, .serverShuttingDown])
    }
}

/// Sessions that move between nodes: each node records cluster broadcasts under the offset
/// their publisher gave them, and restores a session persisted by another node from its own log.
@Suite("Connection state recovery: sessions moving between nodes")
struct RecoveryAcrossNodesTests {
    static let configuration = SocketIORecoveryConfiguration(maxDisconnectionDuration: 10_000, maxPacketsPerSession: 10)
    var a = SocketIORecoveryState(configuration: Self.configuration, epoch: "a")
    var b = SocketIORecoveryState(configuration: Self.configuration, epoch: "b")

    /// A broadcast published by `from` and received by `to`, as the backplane does it.
    mutating func broadcast(_ event: String, rooms: Set<String>, fromA: Bool, at now: Int64) -> String {
        let arguments = SocketIOArguments()
        if fromA {
            let offset = a.record(namespace: "/", event: event, arguments: arguments, rooms: rooms, except: [], now: now, broadcast: true).offset
            _ = b.record(namespace: "/", event: event, arguments: arguments, rooms: rooms, except: [], now: now, broadcast: true, offset: offset)
            return offset
        }
        let offset = b.record(namespace: "/", event: event, arguments: arguments, rooms: rooms, except: [], now: now, broadcast: true).offset
        _ = a.record(namespace: "/", event: event, arguments: arguments, rooms: rooms, except: [], now: now, broadcast: true, offset: offset)
        return offset
    }

    /// The session A keeps when its socket s1 (in red) leaves, as B gets it from the mirror;
    /// `emits` are the plain emits A sent it (the socket remembers their boundaries).
    mutating func leaveA(lastOffset: String?, emits: [SocketIORecoveryPacket] = [], at now: Int64) -> SocketIOPersistedSession {
        var session = SocketIOPersistedSession(
            sid: "s1", pid: "p1", namespace: "/", rooms: ["s1", "red"], disconnectedAt: 0, lastOffset: lastOffset, firstSequence: 0)
        for emit in emits { session.emitBoundaries[emit.offset] = emit.boundary ?? "" }
        a.persist(session, now: now)
        var moved = a.session(pid: "p1")!
        moved.userInfo = nil
        moved.fromSnapshot = true
        return moved
    }

    func events(_ result: Result<SocketIORestoredSession, SocketIORecoveryFailure>) -> [String]? {
        guard case .success(let restored) = result else { return nil }
        return restored.missed.map(\.event)
    }

    @Test("A broadcast keeps its publisher's offset on every node")
    mutating func sharedOffsets() {
        let offset = broadcast("x", rooms: [], fromA: true, at: 0)
        #expect(offset == "a-1")
        #expect(b.sequence(of: "a-1") == 1)
        #expect(b.offset(for: 1) == "b-1")  // B's own numbering is untouched
        let local = b.record(namespace: "/", event: "y", arguments: SocketIOArguments(), rooms: ["s2"], except: [], now: 0)
        #expect(local.offset == "b-2")
        #expect(a.sequence(of: "b-2") == nil, "a plain emit stays on its node")
    }

    @Test("The client's last offset is a broadcast: the other node replays after it")
    mutating func clientOffsetShared() {
        let seen = broadcast("before", rooms: ["red"], fromA: true, at: 0)
        let session = leaveA(lastOffset: seen, at: 10)
        _ = broadcast("to-red-from-b", rooms: ["red"], fromA: false, at: 20)
        _ = broadcast("to-blue", rooms: ["blue"], fromA: false, at: 21)
        _ = broadcast("to-s1-from-a", rooms: ["s1"], fromA: true, at: 22)
        b.adopt(session)
        #expect(events(b.restore(pid: "p1", namespace: "/", offset: seen, now: 30)) == ["to-red-from-b", "to-s1-from-a"])
    }

    @Test("The client's last offset is a plain emit of its old node: the replay starts at that node's last broadcast")
    mutating func clientOffsetLocal() {
        _ = broadcast("before", rooms: ["blue"], fromA: true, at: 0)
        let welcome = a.record(namespace: "/", event: "welcome", arguments: SocketIOArguments(), rooms: ["s1"], except: [], now: 5)
        let session = leaveA(lastOffset: welcome.offset, emits: [welcome], at: 10)
        #expect(welcome.boundary == "a-1")
        _ = broadcast("while-away", rooms: ["red"], fromA: false, at: 20)
        b.adopt(session)
        #expect(events(b.restore(pid: "p1", namespace: "/", offset: welcome.offset, now: 30)) == ["while-away"])
    }

    @Test("Broadcasts on their way to the socket when it left on its node are replayed by the other node")
    mutating func inFlightAcrossNodes() {
        let welcome = a.record(namespace: "/", event: "welcome", arguments: SocketIOArguments(), rooms: ["s1"], except: [], now: 5)
        // Stored and selected on A, but A's loop closed the socket before writing it.
        _ = broadcast("on-its-way", rooms: ["red"], fromA: true, at: 8)
        let session = leaveA(lastOffset: welcome.offset, emits: [welcome], at: 10)
        _ = broadcast("while-away", rooms: ["red"], fromA: false, at: 20)
        b.adopt(session)
        #expect(events(b.restore(pid: "p1", namespace: "/", offset: welcome.offset, now: 30)) == ["on-its-way", "while-away"])
    }

    @Test("No broadcast before its last packet: every broadcast held is replayed, never the other node's own emits")
    mutating func noBroadcastBefore() {
        let welcome = a.record(namespace: "/", event: "welcome", arguments: SocketIOArguments(), rooms: ["s1"], except: [], now: 5)
        _ = b.record(namespace: "/", event: "b-only-before", arguments: SocketIOArguments(), rooms: ["red"], except: [], now: 6)
        let session = leaveA(lastOffset: welcome.offset, emits: [welcome], at: 10)
        #expect(welcome.boundary == nil)
        _ = broadcast("while-away", rooms: ["red"], fromA: true, at: 20)
        b.adopt(session)
        #expect(events(b.restore(pid: "p1", namespace: "/", offset: welcome.offset, now: 30)) == ["while-away"])
    }

    @Test("A plain-emit offset the socket did not remember: a new socket")
    mutating func unknownThere() {
        let first = a.record(namespace: "/", event: "first", arguments: SocketIOArguments(), rooms: ["s1"], except: [], now: 1)
        let second = a.record(namespace: "/", event: "second", arguments: SocketIOArguments(), rooms: ["s1"], except: [], now: 2)
        let session = leaveA(lastOffset: second.offset, emits: [second], at: 10)
        b.adopt(session)
        guard case .failure(let failure) = b.restore(pid: "p1", namespace: "/", offset: first.offset, now: 30) else {
            Issue.record("restored with a packet the node never had")
            return
        }
        #expect(failure == .unknownOffset)
    }
}

extension RecoveryAcrossNodesTests {
    @Test("The client's offset is an earlier plain emit (the later one was lost on the way): its boundary is used")
    mutating func earlierPlainEmit() {
        let first = a.record(namespace: "/", event: "first", arguments: SocketIOArguments(), rooms: ["s1"], except: [], now: 1)
        _ = broadcast("between", rooms: ["red"], fromA: true, at: 2)
        let lost = a.record(namespace: "/", event: "lost", arguments: SocketIOArguments(), rooms: ["s1"], except: [], now: 3)
        let session = leaveA(lastOffset: lost.offset, emits: [first, lost], at: 10)
        b.adopt(session)
        // "lost" itself was a plain emit of A: B never had it; "between" is replayed.
        #expect(events(b.restore(pid: "p1", namespace: "/", offset: first.offset, now: 30)) == ["between"])
    }
}

/// A mirror held in memory, standing for the Redis one (which the cluster interop test runs).
final class MemoryMirror: SocketIORecoverySessionMirror {
    let sessions = NIOLockedValueBox<[String: SocketIOPersistedSession]>([:])
    let available: Bool
    init(available: Bool = true) { self.available = available }

    func keep(_ session: SocketIOPersistedSession, ttl: Int64) {
        var copy = session
        copy.userInfo = nil
        copy.fromSnapshot = true
        sessions.withLockedValue { $0[session.pid] = copy }
    }

    func take(pid: String, completion: @escaping @Sendable (SocketIOPersistedSession?, Bool) -> Void) {
        guard available else { return completion(nil, false) }
        completion(sessions.withLockedValue { $0.removeValue(forKey: pid) }, true)
    }
}

@Suite("Connection state recovery: the session mirror decides who restores")
struct RecoveryMirrorTests {
    static let configuration = SocketIORecoveryConfiguration(maxDisconnectionDuration: 10_000)

    func restore(_ store: SocketIOSessionStore, pid: String) -> Result<SocketIORestoredSession, SocketIORecoveryFailure>? {
        let result = NIOLockedValueBox<Result<SocketIORestoredSession, SocketIORecoveryFailure>?>(nil)
        store.restore(pid: pid, namespace: "/", offset: nil) { outcome in result.withLockedValue { $0 = outcome } }
        return result.withLockedValue { $0 }
    }

    static func session(_ pid: String) -> SocketIOPersistedSession {
        SocketIOPersistedSession(sid: "s-" + pid, pid: pid, namespace: "/", rooms: ["s-" + pid], disconnectedAt: 0, lastOffset: nil, firstSequence: 0,
            userInfo: "kept here")
    }

    @Test("Persisted sessions go to the mirror; a restore here keeps the local userInfo and empties the mirror")
    func localRestore() throws {
        let mirror = MemoryMirror()
        let store = SocketIOSessionStore(configuration: Self.configuration, epoch: "n1", clock: { 1000 })
        store.mirror = mirror
        store.persist(Self.session("p"))
        #expect(mirror.sessions.withLockedValue { $0["p"]?.epoch } == "n1")
        let restored = try #require(try restore(store, pid: "p")?.get())
        #expect(restored.session.userInfo as? String == "kept here")
        #expect(mirror.sessions.withLockedValue { $0.isEmpty })
    }

    @Test("Restored on another node (gone from the mirror): not restored here, even with a local copy")
    func restoredElsewhere() throws {
        let mirror = MemoryMirror()
        let here = SocketIOSessionStore(configuration: Self.configuration, epoch: "n1", clock: { 1000 })
        let there = SocketIOSessionStore(configuration: Self.configuration, epoch: "n2", clock: { 1000 })
        here.mirror = mirror
        there.mirror = mirror
        here.persist(Self.session("p"))
        let moved = try #require(try restore(there, pid: "p")?.get())
        #expect(moved.session.sid == "s-p")
        #expect(moved.session.userInfo == nil)
        guard case .failure(let failure)? = restore(here, pid: "p") else {
            Issue.record("restored twice")
            return
        }
        #expect(failure == .unknownSession)
    }

    @Test("The mirror unreachable: the local copy decides")
    func mirrorDown() throws {
        let store = SocketIOSessionStore(configuration: Self.configuration, epoch: "n1", clock: { 1000 })
        store.mirror = MemoryMirror(available: false)
        store.persist(Self.session("p"))
        #expect(try restore(store, pid: "p")?.get().session.sid == "s-p")
    }
}
