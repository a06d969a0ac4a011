import GRDB

/// An SQLite error, described for an operator and sorted by what the writer does next.
struct StorageFailure: Sendable, Equatable, CustomStringConvertible {
    /// Retry later (disk full, read-only, I/O, locks) or give up on these rows (the rows
    /// themselves are bad: too big, constraint).
    enum Disposition: Sendable { case retry, discardRows }

    var description: String
    var disposition: Disposition

    init(_ error: any Error) {
        guard let error = error as? DatabaseError else {
            description = "\(error)"
            disposition = .retry
            return
        }
        let primary = error.resultCode
        let name = Self.names[primary.rawValue].map { " (\($0))" } ?? ""
        description = "SQLite error \(primary.rawValue)\(name): \(error.message ?? "unknown error")"
        switch primary {
        case .SQLITE_TOOBIG, .SQLITE_CONSTRAINT, .SQLITE_MISMATCH, .SQLITE_RANGE:
            disposition = .discardRows
        default:
            disposition = .retry
        }
    }

    private static let names: [Int32: String] = [
        1: "SQLITE_ERROR", 3: "SQLITE_PERM", 4: "SQLITE_ABORT", 5: "SQLITE_BUSY", 6: "SQLITE_LOCKED", 7: "SQLITE_NOMEM",
        8: "SQLITE_READONLY", 9: "SQLITE_INTERRUPT", 10: "SQLITE_IOERR", 11: "SQLITE_CORRUPT", 13: "SQLITE_FULL",
        14: "SQLITE_CANTOPEN", 15: "SQLITE_PROTOCOL", 18: "SQLITE_TOOBIG", 19: "SQLITE_CONSTRAINT", 20: "SQLITE_MISMATCH",
        25: "SQLITE_RANGE", 26: "SQLITE_NOTADB",
    ]
}
