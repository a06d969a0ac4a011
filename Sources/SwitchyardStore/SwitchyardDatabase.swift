import Foundation
import GRDB

/// The server's one SQLite database: the audit log and room membership.
///
/// A `DatabasePool` in WAL mode: one writer connection (the audit writer and the room
/// store share it, serialized) and concurrent readers, so `switchyard audit` reads while
/// the server writes. Opening checks the migrations the file has applied and refuses a
/// database written by a newer Switchyard; ``migrate()`` brings an older one up to date.
///
/// ```swift
/// let database = try SwitchyardDatabase.open(directory: "data")   // data/switchyard.sqlite
/// try database.migrate()                                           // names it applied
/// let writer = AuditWriter(database: database, configuration: .init(level: .all), logger: logger)
/// try database.rooms.persistJoin(namespace: "/chat", room: "lobby", identity: "alice")
/// ```
///
/// Every method is synchronous and may block on disk I/O and on the writer lock (a busy
/// timeout of 5 s applies): call it off the event loops.
public final class SwitchyardDatabase: Sendable {
    /// The folder used when none is given: `data`, relative to the working directory.
    public static let defaultDirectory = "data"
    /// The database file's name inside the data folder.
    public static let fileName = "switchyard.sqlite"
    /// How long a connection waits for another's lock before giving up with `SQLITE_BUSY`.
    public static let busyTimeout: TimeInterval = 5

    /// The names of the migrations this build knows, oldest first.
    public static var knownMigrations: [String] { Migrations.names }

    /// The database file's path.
    public let path: String
    /// Whether it was opened read-only.
    public let isReadOnly: Bool

    let pool: DatabasePool

    private init(path: String, pool: DatabasePool, isReadOnly: Bool) {
        self.path = path
        self.pool = pool
        self.isReadOnly = isReadOnly
    }

    /// Opens `directory/switchyard.sqlite`, creating the folder and the file when missing
    /// (unless `readOnly`). Does not migrate: call ``migrate()``.
    ///
    /// - Throws: ``StoreError/newerDatabase(path:migrations:)`` when the file has
    ///   migrations this build does not know, ``StoreError/missingDatabase(path:)`` for a
    ///   read-only open of a missing file, a GRDB `DatabaseError` when SQLite refuses.
    public static func open(directory: String = defaultDirectory, readOnly: Bool = false) throws -> SwitchyardDatabase {
        if !readOnly {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw StoreError.cannotCreateDirectory(path: directory, reason: (error as NSError).localizedDescription)
            }
        }
        return try open(path: (directory as NSString).appendingPathComponent(fileName), readOnly: readOnly)
    }

    /// Opens the database file at `path` (its folder must exist). See ``open(directory:readOnly:)``.
    public static func open(path: String, readOnly: Bool = false) throws -> SwitchyardDatabase {
        if readOnly && !FileManager.default.fileExists(atPath: path) {
            throw StoreError.missingDatabase(path: path)
        }
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "switchyard"
        if !readOnly {
            // WAL with synchronous=NORMAL survives a process crash (committed rows are in
            // the WAL); only a power loss can take the last transactions.
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        let database = SwitchyardDatabase(path: path, pool: pool, isReadOnly: readOnly)
        try database.refuseNewerSchema()
        return database
    }

    /// Applies the migrations the file lacks and returns their names (empty when the
    /// database was current).
    ///
    /// - Throws: ``StoreError/newerDatabase(path:migrations:)``, or the SQLite error of
    ///   the first migration that failed (that migration is rolled back).
    @discardableResult
    public func migrate() throws -> [String] {
        try refuseNewerSchema()
        let before = try appliedMigrations()
        try Migrations.migrator.migrate(pool)
        let after = try appliedMigrations()
        return after.filter { !before.contains($0) }
    }

    /// The known migrations the file has applied, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Migrations.migrator.appliedMigrations(db) }
    }

    /// The known migrations the file lacks, oldest first.
    public func pendingMigrations() throws -> [String] {
        let applied = Set(try appliedMigrations())
        return Migrations.names.filter { !applied.contains($0) }
    }

    /// Throws ``StoreError/notMigrated(path:pending:)`` unless every migration is applied.
    public func requireMigrated() throws {
        let pending = try pendingMigrations()
        if !pending.isEmpty { throw StoreError.notMigrated(path: path, pending: pending) }
    }

    /// The room membership store on this database.
    public var rooms: RoomMembershipStore { RoomMembershipStore(pool: pool) }

    /// Connection state recovery's sessions and packets across restarts.
    public var recovery: RecoveryStateStore { RecoveryStateStore(pool: pool) }

    /// Runs `body` in a read transaction (a WAL snapshot; never waits for the writer).
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    /// Runs `body` in a write transaction on the single writer connection.
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.write(body)
    }

    /// Runs `body` on the writer connection outside any transaction (pragmas, tests).
    public func writeWithoutTransaction<T>(_ body: (Database) throws -> T) rethrows -> T {
        try pool.writeWithoutTransaction(body)
    }

    /// Closes every connection. Later use throws. Call after the audit writer's `run()`
    /// has returned.
    public func close() throws {
        try pool.close()
    }

    private func refuseNewerSchema() throws {
        let applied = try pool.read { db in try Migrations.migrator.appliedIdentifiers(db) }
        let unknown = applied.subtracting(Migrations.names).sorted()
        if !unknown.isEmpty {
            throw StoreError.newerDatabase(path: path, migrations: unknown)
        }
    }
}
