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
        epoch + "-" + String(sequence, radix: 36)
    }

    /// The sequence number an offset of this log names; nil for anything else.
    public func sequence(of offset: String) -> UInt64? {
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
    public mutating func record(
        namespace: String, event: String, arguments: SocketIOArguments, rooms: Set<String>, except: Set<String>, now: Int64
    ) -> SocketIORecoveryPacket {
        expirePackets(now: now)
        lastSequence += 1
        let packet = SocketIORecoveryPacket(
            sequence: lastSequence, offset: offset(for: lastSequence), namespace: namespace, event: event,
            arguments: arguments, rooms: rooms, except: except, emittedAt: now
        )
        log.append(packet)
        return packet
    }

    // MARK: - Sessions

    /// Keeps the session of a socket that left for a recoverable reason (`disconnectedAt` is
    /// set here).
    public mutating func persist(_ session: SocketIOPersistedSession, now: Int64) {
        expireSessions(now: now)
        var session = session
        session.disconnectedAt = now
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
        if let offset {
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
        switch missedPackets(namespace: namespace, rooms: session.rooms, after: after) {
        case .failure(let failure):
            return .failure(failure)
        case .success(let missed):
            return .success(SocketIORestoredSession(session: session, after: after, offset: offset, disconnectedFor: away, missed: missed))
        }
    }

    /// The packets after `after` that sockets in `rooms` of `namespace` would have received.
    public func missedPackets(namespace: String, rooms: [String], after: UInt64) -> Result<
        [SocketIORecoveryPacket], SocketIORecoveryFailure
    > {
        guard after >= trimmedThrough else { return .failure(.packetsDropped) }
        guard after < lastSequence else { return .success([]) }
        // The log holds exactly the packets after trimmedThrough: the first wanted one is at
        // a known index.
        var missed: [SocketIORecoveryPacket] = []
        for index in Int(after - trimmedThrough)..<log.count {
            let packet = log[index]
            guard packet.namespace == namespace, packet.reaches(rooms: rooms) else { continue }
            guard missed.count < configuration.maxPacketsPerSession else { return .failure(.tooManyPackets) }
            missed.append(packet)
        }
        return .success(missed)
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
        for var session in snapshot.sessions {
            session.fromSnapshot = true
            session.userInfo = nil
            sessions[session.pid] = session
        }
        expire(now: now)
    }
}
