import GRDB

/// The schema's history: named migrations in plain SQL, applied in order.
///
/// Append-only. A migration that has shipped is never edited, renamed or removed: a
/// database remembers the names it has applied (`grdb_migrations`), and a build that
/// finds a name it does not know refuses the database (``StoreError/newerDatabase(path:migrations:)``).
/// To change the schema, append a migration. `docs/DATABASE.md` documents the result.
enum Migrations {
    /// The audit log: one row per record, indexed for the CLI's filters.
    ///
    /// `id` is AUTOINCREMENT so ids are never reused, even when retention empties the
    /// table: `switchyard audit --follow` tails by id.
    static let auditLog = (
        name: "0001-audit-log",
        sql: """
        CREATE TABLE audit (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            time            TEXT    NOT NULL,
            kind            TEXT    NOT NULL,
            sid             TEXT,
            socket_id       TEXT,
            namespace       TEXT,
            room            TEXT,
            identity        TEXT,
            tenant          TEXT,
            remote_address  TEXT,
            user_agent      TEXT,
            transport       TEXT,
            event           TEXT,
            operation       TEXT,
            outcome         TEXT,
            error_kind      TEXT,
            reason          TEXT,
            latency_us      INTEGER,
            duration_ms     INTEGER,
            bytes_in        INTEGER,
            bytes_out       INTEGER,
            events_in       INTEGER,
            events_out      INTEGER,
            actor           TEXT,
            detail          TEXT
        );
        CREATE INDEX audit_time ON audit (time);
        CREATE INDEX audit_kind_time ON audit (kind, time);
        CREATE INDEX audit_identity_time ON audit (identity, time) WHERE identity IS NOT NULL;
        CREATE INDEX audit_sid ON audit (sid) WHERE sid IS NOT NULL;
        """
    )

    /// Room membership of identified users, restored when they reconnect.
    static let roomMembership = (
        name: "0002-room-membership",
        sql: """
        CREATE TABLE rooms (
            namespace  TEXT NOT NULL,
            room       TEXT NOT NULL,
            identity   TEXT NOT NULL,
            joined_at  TEXT NOT NULL,
            PRIMARY KEY (namespace, room, identity)
        ) WITHOUT ROWID;
        CREATE INDEX rooms_identity ON rooms (namespace, identity);
        """
    )

    /// Connection state recovery across restarts: what the Socket.IO layer's recovery store
    /// held when the server stopped (docs/RECOVERY.md). Written at shutdown, read and emptied
    /// at the next start.
    static let connectionStateRecovery = (
        name: "0003-connection-state-recovery",
        sql: """
        CREATE TABLE recovery_log (
            id               INTEGER PRIMARY KEY CHECK (id = 1),
            epoch            TEXT    NOT NULL,
            last_sequence    INTEGER NOT NULL,
            trimmed_through  INTEGER NOT NULL,
            saved_at         INTEGER NOT NULL
        );
        CREATE TABLE recovery_sessions (
            pid              TEXT    PRIMARY KEY,
            sid              TEXT    NOT NULL,
            namespace        TEXT    NOT NULL,
            rooms            TEXT    NOT NULL,
            disconnected_at  INTEGER NOT NULL,
            last_offset      TEXT,
            first_sequence   INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE recovery_packets (
            sequence         INTEGER PRIMARY KEY,
            namespace        TEXT    NOT NULL,
            event            TEXT    NOT NULL,
            arguments        TEXT    NOT NULL,
            attachments      BLOB,
            rooms            TEXT    NOT NULL,
            except_rooms     TEXT    NOT NULL,
            emitted_at       INTEGER NOT NULL
        );
        """
    )

    /// Connection state recovery in a cluster: a packet broadcast to every node keeps the
    /// offset its publisher gave it (NULL: this node's own `<epoch>-<sequence>`), and whether
    /// it went to every node.
    static let clusterRecovery = (
        name: "0004-cluster-recovery",
        sql: """
        ALTER TABLE recovery_packets ADD COLUMN offset TEXT;
        ALTER TABLE recovery_packets ADD COLUMN broadcast INTEGER NOT NULL DEFAULT 0;
        """
    )

    /// Every migration, oldest first. Append here; never edit an entry.
    static let all = [auditLog, roomMembership, connectionStateRecovery, clusterRecovery]

    /// The names, in order.
    static var names: [String] { all.map(\.name) }

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        for migration in all {
            let sql = migration.sql
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: sql)
            }
        }
        return migrator
    }()
}
