import ArgumentParser
import Foundation
import SwitchyardStore

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the audit log, filtered, as a table, JSON lines or CSV.",
        discussion: """
            Reads DIR/switchyard.sqlite without blocking the server (a WAL reader). Shows
            the newest --limit matching rows, oldest first. --follow then prints new rows
            as they are written until interrupted.

            Times: --since and --until take an age (30s, 10m, 2h, 3d, 1w, 1h30m) or a UTC
            time (2026-11-22T10:00:00Z, 2026-11-22). --since is inclusive, --until exclusive.

            Kinds: \(AuditKind.allCases.map(\.rawValue).joined(separator: ", ")).
            docs/DATABASE.md documents every column and has sqlite3 examples.
            """
    )

    @OptionGroup var storage: DataDirectoryOptions

    @Option(name: .long, help: "Rows at or after this age or time (10m, 2h, 3d, 2026-11-22T10:00:00Z).")
    var since: String?

    @Option(name: .long, help: "Rows before this age or time.")
    var until: String?

    @Option(name: .long, help: "Only this kind (repeat, or separate with commas).")
    var kind: [String] = []

    @Option(name: .long, help: "Only this identity.")
    var identity: String?

    @Option(name: .long, help: "Only this namespace (e.g. /chat).")
    var namespace: String?

    @Option(name: .long, help: "Only this event name.")
    var event: String?

    @Option(name: .long, help: "Only this outcome: ok, error or refused.")
    var outcome: String?

    @Option(name: .long, help: "Only this Engine.IO session id.")
    var sid: String?

    @Option(name: .long, help: "At most this many rows, the newest (0: no limit).")
    var limit: Int = 1000

    @Option(name: .long, help: "table, json (JSON lines) or csv.")
    var format: String = "table"

    @Flag(name: .long, help: "Keep printing new rows as they are written (Ctrl-C stops).")
    var follow = false

    @Option(name: .long, help: .hidden)
    var pollMilliseconds: Int = 500

    func validate() throws {
        guard AuditOutputFormat(rawValue: format) != nil else {
            throw ValidationError("unknown --format '\(format)' (table, json, csv)")
        }
        guard limit >= 0 else { throw ValidationError("--limit must be 0 or more") }
        if follow && until != nil { throw ValidationError("--follow and --until do not go together") }
        _ = try kinds()
        _ = try parsedOutcome()
        _ = try time(since, now: Date())
        _ = try time(until, now: Date())
        guard pollMilliseconds > 0 else { throw ValidationError("--poll-milliseconds must be positive") }
    }

    func run() async throws {
        let now = Date()
        var query = AuditQuery()
        query.since = try time(since, now: now)
        query.until = try time(until, now: now)
        query.kinds = try kinds()
        query.identity = identity
        query.namespace = namespace
        query.event = event
        query.outcome = try parsedOutcome()
        query.sessionID = sid

        let database: SwitchyardDatabase
        do {
            database = try SwitchyardDatabase.open(directory: storage.data, readOnly: true)
            try database.requireMigrated()
        } catch let error as StoreError {
            throw StartupFailure(message: "switchyard: \(error)")
        }

        var formatter = AuditFormatter(format: AuditOutputFormat(rawValue: format)!)
        // The newest `limit` rows, printed oldest first; `through` pins the snapshot so
        // --follow continues exactly after it.
        let through = try database.latestAuditID()
        var first = query
        first.throughID = through
        first.order = .newestFirst
        first.limit = limit == 0 ? nil : limit
        let entries = Array(try database.audit(first).reversed())
        write(formatter.render(entries))
        if entries.isEmpty && !follow && formatter.format == .table {
            FileHandle.standardError.write(Data("no matching audit rows in \(database.path)\n".utf8))
        }
        guard follow else { return }

        var cursor = through
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(pollMilliseconds))
            let latest = try database.latestAuditID()
            guard latest > cursor else { continue }
            var next = query
            next.afterID = cursor
            next.throughID = latest
            write(formatter.render(try database.audit(next)))
            cursor = latest
        }
    }

    private func time(_ text: String?, now: Date) throws -> Date? {
        guard let text else { return nil }
        do {
            return try AuditTimeExpression.parse(text, now: now)
        } catch {
            throw ValidationError(error.description)
        }
    }

    private func kinds() throws -> [AuditKind] {
        try kind.flatMap { $0.split(separator: ",") }.map { name in
            let name = name.trimmingCharacters(in: .whitespaces)
            guard let kind = AuditKind(rawValue: name) else {
                throw ValidationError("unknown --kind '\(name)' (\(AuditKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return kind
        }
    }

    private func parsedOutcome() throws -> AuditOutcome? {
        guard let outcome else { return nil }
        guard let parsed = AuditOutcome(rawValue: outcome) else {
            throw ValidationError("unknown --outcome '\(outcome)' (ok, error, refused)")
        }
        return parsed
    }

    /// Writes straight to standard output (unbuffered, so --follow shows rows at once).
    private func write(_ text: String) {
        guard !text.isEmpty else { return }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
