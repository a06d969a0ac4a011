import Foundation
import Testing

@testable import SwitchyardStore

/// `switchyard migrate` and `switchyard audit`, run as the real executable that `swift build`
/// put next to the test binary.
@Suite("switchyard migrate and audit commands")
struct CommandLineTests {
    static var executable: String {
        get throws {
            let directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            let path = directory.appendingPathComponent("switchyard").path
            try #require(FileManager.default.isExecutableFile(atPath: path), "\(path) is missing: run `swift build` before `swift test`")
            return path
        }
    }

    /// Runs the command to completion; returns status, standard output and standard error.
    func run(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.executable)
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
    }

    @Test("migrate creates the database, then reports it current; a newer database is refused")
    func migrate() throws {
        let temporary = try TemporaryDirectory()
        let data = temporary.path + "/data"
        let first = try run(["migrate", "--data", data])
        #expect(first.status == 0)
        #expect(first.output == "database \(data)/switchyard.sqlite: applied 4 migration(s)\n  0001-audit-log\n  0002-room-membership\n  0003-connection-state-recovery\n  0004-cluster-recovery\n")
        let second = try run(["migrate", "--data", data])
        #expect(second.output == "database \(data)/switchyard.sqlite is current (4 migrations)\n")

        let database = try SwitchyardDatabase.open(directory: data)
        try database.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('0099-later')") }
        try database.close()
        let refused = try run(["migrate", "--data", data])
        #expect(refused.status != 0)
        #expect(
            refused.error.contains(
                "database \(data)/switchyard.sqlite was written by a newer Switchyard (migration 0099-later); upgrade the server"))
    }

    @Test("audit prints the filtered rows in each format")
    func audit() throws {
        let temporary = try TemporaryDirectory()
        try AuditFixtures.database(in: temporary).close()
        let data = ["--data", temporary.path]

        let csv = try run(["audit"] + data + ["--format", "csv", "--identity", "alice", "--kind", "kick,disconnect"])
        #expect(csv.status == 0)
        #expect(
            csv.output.split(separator: "\n").map { String($0.prefix(30)) } == [
                "id,time,kind,sid,socket_id,nam", "4,2026-11-22T10:05:00.000Z,kic", "5,2026-11-22T10:05:00.001Z,dis",
            ])

        let json = try run(["audit"] + data + ["--format", "json", "--outcome", "refused"])
        #expect(json.output.hasPrefix(#"{"id":7,"time":"2026-11-22T10:07:00.000Z","kind":"connect_refused""#))

        let limited = try run(["audit"] + data + ["--format", "json", "--limit", "2"])
        #expect(limited.output.split(separator: "\n").map { $0.prefix(8) } == [#"{"id":6,"#, #"{"id":7,"#])

        let since = try run(["audit"] + data + ["--format", "json", "--since", "2026-11-22T10:05:00Z", "--until", "2026-11-22T10:06:00Z"])
        #expect(since.output.split(separator: "\n").map { $0.prefix(8) } == [#"{"id":4,"#, #"{"id":5,"#])

        let table = try run(["audit"] + data + ["--sid", "s2"])
        #expect(
            table.output.hasPrefix(
                "TIME                      KIND             SID  NAMESPACE  IDENTITY  EVENT  OUTCOME  LATENCY  DETAILS\n"))

        let none = try run(["audit"] + data + ["--identity", "nobody"])
        #expect(none.status == 0)
        #expect(none.output == "")
        #expect(none.error == "no matching audit rows in \(temporary.path)/switchyard.sqlite\n")

        let bad = try run(["audit"] + data + ["--since", "yesterday"])
        #expect(bad.status != 0)
        #expect(bad.error.contains("'yesterday' is neither an age"))

        let missing = try run(["audit", "--data", temporary.path + "/nowhere"])
        #expect(missing.status != 0)
        #expect(missing.error.contains("no database at \(temporary.path)/nowhere/switchyard.sqlite"))
    }

    @Test("audit --follow prints rows written after it started, while the writer holds the database")
    func follow() async throws {
        let temporary = try TemporaryDirectory()
        let database = try AuditFixtures.database(in: temporary)
        let writer = AuditWriter(database: database, configuration: .init(level: .all), logger: LogCapture().logger)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.executable)
        process.arguments = [
            "audit", "--data", temporary.path, "--format", "json", "--limit", "1", "--kind", "kick", "--follow", "--poll-milliseconds",
            "20",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        let collected = Collected()
        pipe.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        try await waitUntil("the initial row") { collected.lines.count == 1 }
        #expect(collected.lines.first?.hasPrefix(#"{"id":4,"#) == true)

        writer.record(record(.kick, at: 600) { $0.actor = "ops" })
        writer.record(record(.connect, at: 601))
        writer.record(record(.kick, at: 602) { $0.actor = "ops2" })
        #expect(writer.flush())
        try await waitUntil("the followed rows") { collected.lines.count == 3 }
        #expect(collected.lines.dropFirst().map { $0.prefix(8) } == [#"{"id":8,"#, #"{"id":10"#])
        #expect(collected.lines.last?.contains(#""actor":"ops2""#) == true)
        process.terminate()
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
    }

    /// Output gathered from a pipe on another thread.
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()

        func append(_ chunk: Data) {
            lock.lock()
            data.append(chunk)
            lock.unlock()
        }

        var lines: [String] {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        }
    }
}
