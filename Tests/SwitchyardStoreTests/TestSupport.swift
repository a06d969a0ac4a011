import Foundation
import GRDB
import Logging
import SwitchyardJSON
import Testing

@testable import SwitchyardStore

/// A new folder under the system's temporary directory, removed when released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("switchyard-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A migrated database in this folder.
    func database() throws -> SwitchyardDatabase {
        let database = try SwitchyardDatabase.open(directory: path)
        try database.migrate()
        return database
    }
}

/// Collects what a `Logger` logs, for tests that check the operator-facing messages.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(level: Logger.Level, message: String)] = []

    var logger: Logger {
        Logger(label: "test") { _ in Handler(capture: self) }
    }

    func messages(at level: Logger.Level) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return entries.filter { $0.level == level }.map(\.message)
    }

    fileprivate func append(_ level: Logger.Level, _ message: String) {
        lock.lock()
        entries.append((level, message))
        lock.unlock()
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        var metadataProvider: Logger.MetadataProvider?

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.append(event.level, event.message.description)
        }
    }
}

/// A fixed instant: 2026-11-22T10:00:00Z.
let referenceTime = Date(timeIntervalSince1970: 1_795_341_600)

/// A record of `kind` at `referenceTime + seconds`.
func record(_ kind: AuditKind, at seconds: Double = 0, _ configure: (inout AuditRecord) -> Void = { _ in }) -> AuditRecord {
    // Whole milliseconds, as the database keeps them, so records read back compare equal.
    let milliseconds = (referenceTime.timeIntervalSince1970 * 1000 + seconds * 1000).rounded()
    var record = AuditRecord(kind: kind, time: Date(timeIntervalSince1970: milliseconds / 1000))
    configure(&record)
    return record
}

/// An event record with the outcome given, numbered by its `event` name.
func eventRecord(_ number: Int, outcome: AuditOutcome = .ok) -> AuditRecord {
    record(.event, at: Double(number) / 1000) {
        $0.sessionID = "sid-\(number % 7)"
        $0.namespace = "/chat"
        $0.identity = "user-\(number % 5)"
        $0.event = "message.send"
        $0.operation = "messages.create"
        $0.outcome = outcome
        $0.latencyMicroseconds = number
    }
}

/// Waits until `condition` holds, polling, failing the test after `seconds`.
func waitUntil(
    _ description: String, seconds: Double = 10, sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try !condition() {
        if Date() > deadline {
            Issue.record("timed out waiting for \(description)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
