import DequeModule

/// The pure state of connection state recovery: the log of emitted packets, the sessions of
/// sockets that left for a recoverable reason, and the rules that decide a restore. Time is a
/// parameter (wall-clock milliseconds), so tests drive it without sleeping.
///
/// The model is socket.io-adapter's `SessionAwareAdapter`
/// (packages/socket.io-adapter/lib/in-memory-adapter.ts): every stored packet is kept with
/// its target rooms for `maxDisconnectionDuration`, a session keeps the rooms of the socket,
/// and a restore replays the packets after the client's offset that would have reached those
/// rooms. Differences, each for a reason given in docs/RECOVERY.md:
/// - a session can be restored once (socket.io keeps it until it expires);
/// - offsets are `<epoch>-<sequence>`, so the log needs no index: the sequence is read back
///   from the offset, and a client whose last packet already left the log (a quiet client)
///   still recovers when that packet was the last one sent to it;
/// - a client that was sent no packet at all (no offset) recovers too;
/// - a session needing more than `maxPacketsPerSession` packets is not recoverable.
public struct SocketIORecoveryState: Sendable {
    public let configuration: SocketIORecoveryConfiguration
    /// Tells offsets of this log from offsets of another (a fresh database, another cluster).
    public let epoch: String
    private(set) var log = Deque<SocketIORecoveryPacket>()
    private(set) var sessions: [String: SocketIOPersistedSession] = [:]
    /// The last sequence number handed out.
    public private(set) var lastSequence: UInt64 = 0
    /// Every packet up to this sequence number has left the log.
    public private(set) var trimmedThrough: UInt64 = 0
    /// Packets recorded under another node's offset (cluster broadcasts): offset → sequence.
    private var foreignOffsets: [String: UInt64] = [:]
    /// The offset of the last broadcast recorded (the boundary of a plain emit recorded next).
    private var lastBroadcastOffset: String?
    private var nextSessionSweep: Int64 = .min

    public init(configuration: SocketIORecoveryConfiguration, epoch: String) {
        self.configuration = configuration
        self.epoch = epoch
    }

    /// Number of packets held.
    public var packetCount: Int { log.count }
    /// Number of sessions waiting for their client.
    public var sessionCount: Int { sessions.count }

    // MARK: - Offsets

    /// The offset of a sequence number: `<epoch>-<base36 sequence>`.
    public func offset(for sequence: UInt64) -> String {
        Self.offset(epoch: epoch, sequence: sequence)
    }

    /// The offset of `sequence` in the log of `epoch`.
    public static func offset(epoch: String, sequence: UInt64) -> String {
        epoch + "-" + String(sequence, radix: 36)
    }

    /// The sequence number an offset of this log names (one it handed out, or another
    /// node's offset of a broadcast it holds); nil for anything else.
    public func sequence(of offset: String) -> UInt64? {
        if let foreign = foreignOffsets[offset] { return foreign }
        let utf8 = offset.utf8
        guard let dash = utf8.lastIndex(of: UInt8(ascii: "-")),
            offset[..<dash] == epoch,
            let sequence = UInt64(offset[offset.index(after: dash)...], radix: 36),
            sequence <= lastSequence
        else { return nil }
        return sequence
    }

    // MARK: - Recording

    /// Stores an EVENT that is being emitted and returns its log entry (its offset goes on
    /// the wire as the last argument). The caller stores only what socket.io stores: events
    /// without an ack request (broadcasts and plain `socket.emit`).
    ///
    /// `broadcast`: the packet reaches clients on every node (their logs hold it too).
    /// `offset`: another node's offset for that broadcast (it is recorded under it, and sent
    /// with it, so a client's offset means the same packet on every node).
    public mutating func record(
        namespace: String, event: String, arguments: SocketIOArguments, rooms: Set<String>, except: Set<String>, now: Int64,
        broadcast: Bool = false, offset foreign: String? = nil
    ) -> SocketIORecoveryPacket {
        expirePackets(now: now)
        lastSequence += 1
        var assigned = offset(for: lastSequence)
        if let foreign, foreignOffsets[foreign] == nil, sequence(of: foreign) == nil {
            assigned = foreign
            foreignOffsets[foreign] = lastSequence
        }
        let packet = SocketIORecoveryPacket(
            sequence: lastSequence, offset: assigned, namespace: namespace, event: event,
            arguments: arguments, rooms: rooms, except: except, emittedAt: now
        )
        var stored = packet
        stored.broadcast = broadcast
        if broadcast {
            lastBroadcastOffset = assigned
        } else {
            stored.boundary = lastBroadcastOffset
        }
        log.append(stored)
        return stored
    }

    /// The session kept for `pid`, if any.
    public func session(pid: String) -> SocketIOPersistedSession? { sessions[pid] }

    /// Removes and returns the session kept for `pid`.
    public mutating func takeSession(pid: String) -> SocketIOPersistedSession? { sessions.removeValue(forKey: pid) }

    /// Takes in a session persisted by another node (or process); ``restore(pid:namespace:offset:now:)``
    /// can then restore it here.
    public mutating func adopt(_ session: SocketIOPersistedSession) {
        sessions[session.pid] = session
    }

    // MARK: - Sessions

    /// Keeps the session of a socket that left for a recoverable reason (`disconnectedAt` is
    /// set here).
    public mutating func persist(_ session: SocketIOPersistedSession, now: Int64) {
        expireSessions(now: now)
        var session = session
        session.disconnectedAt = now
        session.epoch = epoch
        session.lastBroadcastOffset = lastBroadcast(atOrBefore: session.lastOffset.flatMap { sequence(of: $0) } ?? session.firstSequence)
        sessions[session.pid] = session
    }

    /// Takes a session back for a CONNECT that carried `pid` (and usually `offset`). The
    /// session is removed whatever the outcome: a pid is good for one attempt.
    public mutating func restore(pid: String, namespace: String, offset: String?, now: Int64) -> Result<
        SocketIORestoredSession, SocketIORecoveryFailure
    > {
        expirePackets(now: now)
        guard let session = sessions.removeValue(forKey: pid) else { return .failure(.unknownSession) }
        guard session.namespace == namespace else { return .failure(.wrongNamespace) }
        let away = now - session.disconnectedAt
        guard away <= configuration.maxDisconnectionDuration else { return .failure(.expired) }

        var after: UInt64
        if session.epoch != epoch {
            // A session of another node's log: only offsets both logs share (broadcasts) mean
            // the same packet here.
            // A plain emit of the old node (only it knows that offset) stands for the last
            // broadcast that node recorded before it: every broadcast after that one may be
            // missed, including ones on their way when the socket left. None: every broadcast
            // held here.
            let boundary: String??
            if let offset {
                if sequence(of: offset) != nil {
                    boundary = .some(offset)
                } else if let known = session.emitBoundaries[offset] {
                    boundary = .some(known.isEmpty ? nil : known)
                } else {
                    boundary = .none
                }
            } else {
                boundary = session.lastOffset == nil ? .some(session.lastBroadcastOffset) : nil
            }
            switch boundary {
            case .none:
                return .failure(.unknownOffset)
            case .some(.none):
                after = trimmedThrough
            case .some(.some(let shared)):
                guard let sequence = sequence(of: shared) else { return .failure(.unknownOffset) }
                after = sequence
            }
        } else if let offset {
            guard let sequence = sequence(of: offset) else { return .failure(.unknownOffset) }
            after = sequence
            // A quiet client: the last packet sent to it, which it saw, has left the log. The
            // packets that left with it are older than maxDisconnectionDuration, so they were
            // sent (or not meant for it) before it left: the log still holds all it missed.
            // (Not the log's end at the disconnect: packets selected for it just before then
            // may still have been on their way to its event loop, and were dropped there.)
            if offset == session.lastOffset, after < trimmedThrough { after = trimmedThrough }
        } else {
            // socket.io's client sends no offset until it has received an event: nothing it
            // was sent since it joined was stored, so everything stored since then is missed.
            guard session.lastOffset == nil else { return .failure(.unknownOffset) }
            after = session.firstSequence
        }
        // From another node, only broadcasts: this node's plain emits were never for it.
        let broadcastsOnly = session.epoch != epoch
        switch missedPackets(namespace: namespace, rooms: session.rooms, after: after, broadcastsOnly: broadcastsOnly) {
        case .failure(let failure):
            return .failure(failure)
        case .success(let missed):
            return .success(
                SocketIORestoredSession(
                    session: session, after: after, offset: offset, disconnectedFor: away, missed: missed, broadcastsOnly: broadcastsOnly))
        }
    }

    /// The packets after `after` that sockets in `rooms` of `namespace` would have received.
    /// `broadcastsOnly`: for a session from another node, which this node's plain emits and
    /// node-local broadcasts never reached.
    public func missedPackets(namespace: String, rooms: [String], after: UInt64, broadcastsOnly: Bool = false) -> Result<
        [SocketIORecoveryPacket], SocketIORecoveryFailure
    > {
        guard after >= trimmedThrough else { return .failure(.packetsDropped) }
        guard after < lastSequence else { return .success([]) }
        // The log holds exactly the packets after trimmedThrough: the first wanted one is at
        // a known index.
        var missed: [SocketIORecoveryPacket] = []
        for index in Int(after - trimmedThrough)..<log.count {
            let packet = log[index]
            guard packet.namespace == namespace, !broadcastsOnly || packet.broadcast, packet.reaches(rooms: rooms) else { continue }
            guard missed.count < configuration.maxPacketsPerSession else { return .failure(.tooManyPackets) }
            missed.append(packet)
        }
        return .success(missed)
    }

    /// The offset of the last broadcast held at or before `sequence` (nil: none).
    func lastBroadcast(atOrBefore sequence: UInt64) -> String? {
        guard sequence > trimmedThrough else { return nil }
        var index = Int(min(sequence, lastSequence) - trimmedThrough) - 1
        while index >= 0 {
            if log[index].broadcast { return log[index].offset }
            index -= 1
        }
        return nil
    }

    // MARK: - Expiry

    /// Drops packets older than `maxDisconnectionDuration` and, at most once a second,
    /// sessions older than that.
    public mutating func expire(now: Int64) {
        expirePackets(now: now)
        expireSessions(now: now)
    }

    private mutating func expirePackets(now: Int64) {
        let threshold = now - configuration.maxDisconnectionDuration
        while let first = log.first, first.emittedAt < threshold {
            trimmedThrough = first.sequence
            if !foreignOffsets.isEmpty { foreignOffsets[first.offset] = nil }
            log.removeFirst()
        }
    }

    private mutating func expireSessions(now: Int64) {
        guard now >= nextSessionSweep else { return }
        nextSessionSweep = now + 1000
        let threshold = now - configuration.maxDisconnectionDuration
        sessions = sessions.filter { $0.value.disconnectedAt >= threshold }
    }

    // MARK: - Snapshots (persistence across restarts)

    /// Everything needed to carry on in another process.
    public struct Snapshot: Sendable {
        public var epoch: String
        public var lastSequence: UInt64
        public var trimmedThrough: UInt64
        public var sessions: [SocketIOPersistedSession]
        public var packets: [SocketIORecoveryPacket]

        public init(
            epoch: String, lastSequence: UInt64, trimmedThrough: UInt64, sessions: [SocketIOPersistedSession],
            packets: [SocketIORecoveryPacket]
        ) {
            self.epoch = epoch
            self.lastSequence = lastSequence
            self.trimmedThrough = trimmedThrough
            self.sessions = sessions
            self.packets = packets
        }
    }

    /// The current state, expired entries left out.
    public mutating func snapshot(now: Int64) -> Snapshot {
        nextSessionSweep = .min
        expire(now: now)
        return Snapshot(
            epoch: epoch, lastSequence: lastSequence, trimmedThrough: trimmedThrough,
            sessions: Array(sessions.values), packets: Array(log)
        )
    }

    /// A state carrying on from a snapshot. Packets must be consecutive and in order; a
    /// snapshot that is not (a damaged database) is refused by returning nil.
    public init?(configuration: SocketIORecoveryConfiguration, snapshot: Snapshot, now: Int64) {
        self.init(configuration: configuration, epoch: snapshot.epoch)
        // The log holds exactly the packets after trimmedThrough up to lastSequence.
        var expected = snapshot.trimmedThrough
        for packet in snapshot.packets {
            guard packet.sequence == expected + 1 else { return nil }
            expected = packet.sequence
        }
        guard expected == snapshot.lastSequence else { return nil }
        lastSequence = snapshot.lastSequence
        trimmedThrough = snapshot.trimmedThrough
        log = Deque(snapshot.packets)
        for packet in snapshot.packets where packet.offset != offset(for: packet.sequence) {
            foreignOffsets[packet.offset] = packet.sequence
        }
        for var session in snapshot.sessions {
            session.fromSnapshot = true
            if session.epoch.isEmpty { session.epoch = epoch }
            session.userInfo = nil
            sessions[session.pid] = session
        }
        expire(now: now)
    }
}
