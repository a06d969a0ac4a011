import Foundation
import GRDB
import Testing

@testable import SwitchyardStore

@Suite("Database and migrations")
struct MigrationTests {
    @Test("Opening creates the data folder and a WAL database file; migrating creates the schema")
    func createsSchema() throws {
        let temporary = try TemporaryDirectory()
        let directory = (temporary.path as NSString).appendingPathComponent("nested/data")
        let database = try SwitchyardDatabase.open(directory: directory)
        #expect(database.path == directory + "/switchyard.sqlite")
        #expect(FileManager.default.fileExists(atPath: database.path))
        #expect(try database.pendingMigrations() == ["0001-audit-log", "0002-room-membership", "0003-connection-state-recovery", "0004-cluster-recovery"])

        #expect(try database.migrate() == ["0001-audit-log", "0002-room-membership", "0003-connection-state-recovery", "0004-cluster-recovery"])
        #expect(try database.pendingMigrations() == [])
        #expect(try database.appliedMigrations() == SwitchyardDatabase.knownMigrations)

        try database.read { db in
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(try db.tableExists("audit"))
            #expect(try db.tableExists("rooms"))
            let auditColumns = try db.columns(in: "audit").map(\.name)
            #expect(auditColumns == ["id"] + AuditTable.columns)
            #expect(try db.columns(in: "rooms").map(\.name) == ["namespace", "room", "identity", "joined_at"])
            let indexes = Set(try db.indexes(on: "audit").map(\.name))
            #expect(indexes.isSuperset(of: ["audit_time", "audit_kind_time", "audit_identity_time", "audit_sid"]))
        }
    }

    @Test("Migrating a current database applies nothing, and reopening keeps the data")
    func migrateIsIdempotent() throws {
        let temporary = try TemporaryDirectory()
        do {
            let database = try temporary.database()
            #expect(try database.migrate() == [])
            try database.rooms.persistJoin(namespace: "/", room: "r", identity: "alice")
            try database.close()
        }
        let reopened = try SwitchyardDatabase.open(directory: temporary.path)
        #expect(try reopened.migrate() == [])
        #expect(try reopened.rooms.rooms(for: "alice", namespace: "/") == ["r"])
    }

    @Test("A database with a migration this build does not know is refused, naming the migration")
    func refusesNewerDatabase() throws {
        let temporary = try TemporaryDirectory()
        let path: String
        do {
            let database = try temporary.database()
            path = database.path
            try database.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('0099-from-the-future')")
            }
            try database.close()
        }
        #expect(throws: StoreError.newerDatabase(path: path, migrations: ["0099-from-the-future"])) {
            _ = try SwitchyardDatabase.open(directory: temporary.path)
        }
        #expect(throws: StoreError.newerDatabase(path: path, migrations: ["0099-from-the-future"])) {
            _ = try SwitchyardDatabase.open(directory: temporary.path, readOnly: true)
        }
        let message = StoreError.newerDatabase(path: path, migrations: ["0099-from-the-future"]).description
        #expect(message == "database \(path) was written by a newer Switchyard (migration 0099-from-the-future); upgrade the server")
    }

    @Test("A read-only open needs an existing, migrated database")
    func readOnlyOpen() throws {
        let temporary = try TemporaryDirectory()
        let path = temporary.path + "/switchyard.sqlite"
        #expect(throws: StoreError.missingDatabase(path: path)) {
            _ = try SwitchyardDatabase.open(directory: temporary.path, readOnly: true)
        }
        #expect(!FileManager.default.fileExists(atPath: path))

        let unmigrated = try SwitchyardDatabase.open(directory: temporary.path)
        try unmigrated.close()
        let reader = try SwitchyardDatabase.open(directory: temporary.path, readOnly: true)
        #expect(throws: StoreError.notMigrated(path: path, pending: SwitchyardDatabase.knownMigrations)) {
            try reader.requireMigrated()
        }
    }

    @Test("A read-only reader sees rows the writer commits while both are open")
    func readerWhileWriting() throws {
        let temporary = try TemporaryDirectory()
        let database = try temporary.database()
        let reader = try SwitchyardDatabase.open(directory: temporary.path, readOnly: true)
        let writer = AuditWriter(database: database, configuration: .init(level: .all), logger: LogCapture().logger)
        writer.record(record(.connect))
        #expect(writer.flush())
        #expect(try reader.audit(AuditQuery()).count == 1)
        writer.record(record(.disconnect))
        #expect(writer.flush())
        #expect(try reader.audit(AuditQuery()).map(\.record.kind) == [.connect, .disconnect])
        #expect(try reader.latestAuditID() == 2)
    }
}
