import Foundation
import GRDB
import NIOCore
import SocketIO
import SwitchyardJSON

/// Connection state recovery across restarts: the recovery store's snapshot
/// (``SocketIORecoveryState/Snapshot``) in `recovery_log`, `recovery_sessions` and
/// `recovery_packets` (docs/DATABASE.md).
///
/// The server saves it when it stops (after closing every socket with `server shutting down`)
/// and takes it back when it starts: ``take()`` reads and empties the tables in one
/// transaction, so a snapshot is used by one start only and a pid stays good for one restore.
///
/// ```swift
/// try await database.recovery.save(io.recovery!.snapshot())   // at shutdown
/// let snapshot = try database.recovery.take()                 // at the next start
/// ```
public struct RecoveryStateStore: Sendable {
    let pool: DatabasePool

    /// Replaces whatever is stored with `snapshot`. On GRDB's writer (the one writer
    /// connection, shared with the audit writer); suspends the caller, never blocks a loop.
    public func save(_ snapshot: SocketIORecoveryState.Snapshot, at time: Int64) async throws {
        try await pool.write { db in try Self.save(db, snapshot, time) }
    }

    /// Reads the stored snapshot and empties the tables; nil when none is stored. Blocks the
    /// calling thread on SQLite: call it at startup, not on an event loop.
    public func take() throws -> SocketIORecoveryState.Snapshot? {
        try pool.write { db in
            let snapshot = try Self.load(db)
            try Self.clear(db)
            return snapshot
        }
    }

    /// What is stored, left in place (tests and inspection).
    public func peek() throws -> SocketIORecoveryState.Snapshot? {
        try pool.read { db in try Self.load(db) }
    }

    // MARK: - SQL

    static func clear(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM recovery_log; DELETE FROM recovery_sessions; DELETE FROM recovery_packets;")
    }

    static func save(_ db: Database, _ snapshot: SocketIORecoveryState.Snapshot, _ time: Int64) throws {
        try clear(db)
        try db.execute(
            sql: "INSERT INTO recovery_log (id, epoch, last_sequence, trimmed_through, saved_at) VALUES (1, ?, ?, ?, ?)",
            arguments: [snapshot.epoch, Int64(snapshot.lastSequence), Int64(snapshot.trimmedThrough), time]
        )
        let sessionInsert = try db.cachedStatement(
            sql: """
                INSERT INTO recovery_sessions (pid, sid, namespace, rooms, disconnected_at, last_offset, first_sequence)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        )
        for session in snapshot.sessions {
            try sessionInsert.execute(arguments: [
                session.pid, session.sid, session.namespace, jsonArray(session.rooms), session.disconnectedAt, session.lastOffset,
                Int64(session.firstSequence),
            ])
        }
        let packetInsert = try db.cachedStatement(
            sql: """
                INSERT INTO recovery_packets (sequence, namespace, event, arguments, attachments, rooms, except_rooms, emitted_at, offset, broadcast)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        for packet in snapshot.packets {
            try packetInsert.execute(arguments: [
                Int64(packet.sequence), packet.namespace, packet.event, packet.arguments.jsonArrayText,
                packet.arguments.attachments.isEmpty ? nil : packAttachments(packet.arguments.attachments),
                jsonArray(packet.rooms.sorted()), jsonArray(packet.except.sorted()), packet.emittedAt,
                packet.offset == SocketIORecoveryState.offset(epoch: snapshot.epoch, sequence: packet.sequence) ? nil : packet.offset, packet.broadcast,
            ])
        }
    }

    static func load(_ db: Database) throws -> SocketIORecoveryState.Snapshot? {
        guard let log = try Row.fetchOne(db, sql: "SELECT epoch, last_sequence, trimmed_through FROM recovery_log WHERE id = 1") else {
            return nil
        }
        let epoch: String = log["epoch"]
        var sessions: [SocketIOPersistedSession] = []
        for row in try Row.fetchAll(db, sql: "SELECT * FROM recovery_sessions") {
            sessions.append(
                SocketIOPersistedSession(
                    sid: row["sid"], pid: row["pid"], namespace: row["namespace"], rooms: try strings(row["rooms"]),
                    disconnectedAt: row["disconnected_at"], lastOffset: row["last_offset"],
                    firstSequence: UInt64(row["first_sequence"] as Int64)
                )
            )
        }
        var packets: [SocketIORecoveryPacket] = []
        for row in try Row.fetchAll(db, sql: "SELECT * FROM recovery_packets ORDER BY sequence") {
            let sequence = UInt64(row["sequence"] as Int64)
            let text: String = row["arguments"]
            var arguments: SocketIOArguments
            do throws(SocketIOProtocolError) {
                arguments = try SocketIOArguments(splittingArray: ByteBuffer(string: text))
            } catch {
                throw RecoveryStateError.damaged("packet \(sequence): arguments are not a JSON array: \(error)")
            }
            if let blob: Data = row["attachments"] { arguments.attachments = try unpackAttachments(blob) }
            var packet = SocketIORecoveryPacket(
                sequence: sequence, offset: (row["offset"] as String?) ?? SocketIORecoveryState.offset(epoch: epoch, sequence: sequence), namespace: row["namespace"],
                event: row["event"], arguments: arguments, rooms: Set(try strings(row["rooms"])),
                except: Set(try strings(row["except_rooms"])), emittedAt: row["emitted_at"]
            )
            packet.broadcast = row["broadcast"]
            packets.append(packet)
        }
        return SocketIORecoveryState.Snapshot(
            epoch: epoch, lastSequence: UInt64(log["last_sequence"] as Int64), trimmedThrough: UInt64(log["trimmed_through"] as Int64),
            sessions: sessions, packets: packets
        )
    }

    // MARK: - Encodings

    static func jsonArray(_ strings: [String]) -> String {
        JSONValue.array(strings.map(JSONValue.string)).serialized()
    }

    static func strings(_ text: String) throws -> [String] {
        guard let values = (try? JSONValue(parsing: text))?.arrayValue else {
            throw RecoveryStateError.damaged("not a JSON array of strings: \(text)")
        }
        return try values.map { value in
            guard let string = value.stringValue else { throw RecoveryStateError.damaged("not a JSON array of strings: \(text)") }
            return string
        }
    }

    /// Attachments as one blob: each one a 4-byte big-endian length, then its bytes.
    static func packAttachments(_ attachments: [ByteBuffer]) -> Data {
        var data = Data()
        for attachment in attachments {
            withUnsafeBytes(of: UInt32(attachment.readableBytes).bigEndian) { data.append(contentsOf: $0) }
            data.append(contentsOf: attachment.readableBytesView)
        }
        return data
    }

    static func unpackAttachments(_ data: Data) throws -> [ByteBuffer] {
        let bytes = [UInt8](data)
        var attachments: [ByteBuffer] = []
        var index = 0
        while index < bytes.count {
            guard index + 4 <= bytes.count else { throw RecoveryStateError.damaged("attachment length cut short") }
            let length = bytes[index..<index + 4].reduce(0) { $0 << 8 | Int($1) }
            index += 4
            guard index + length <= bytes.count else { throw RecoveryStateError.damaged("attachment of \(length) bytes cut short") }
            attachments.append(ByteBuffer(bytes: bytes[index..<index + length]))
            index += length
        }
        return attachments
    }
}

/// The stored recovery state cannot be read back.
public enum RecoveryStateError: Error, Hashable, CustomStringConvertible {
    case damaged(String)

    public var description: String {
        switch self {
        case .damaged(let problem): return "the stored connection state is damaged: \(problem)"
        }
    }
}
