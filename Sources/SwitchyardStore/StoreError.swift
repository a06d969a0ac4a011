/// Why the database cannot be used. Each description is a sentence an operator can act on.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database has applied migrations this build does not know: it was written by a
    /// newer Switchyard, and this one might misread or damage it.
    case newerDatabase(path: String, migrations: [String])
    /// A read-only open found no database file.
    case missingDatabase(path: String)
    /// The database exists but lacks migrations this build needs (`switchyard migrate`).
    case notMigrated(path: String, pending: [String])
    /// The data directory could not be created.
    case cannotCreateDirectory(path: String, reason: String)

    public var description: String {
        switch self {
        case .newerDatabase(let path, let migrations):
            let names = migrations.joined(separator: ", ")
            return "database \(path) was written by a newer Switchyard (migration \(names)); upgrade the server"
        case .missingDatabase(let path):
            return "no database at \(path) (the server creates it on start; `switchyard migrate` does too)"
        case .notMigrated(let path, let pending):
            return "database \(path) needs migrations \(pending.joined(separator: ", ")); run `switchyard migrate`"
        case .cannotCreateDirectory(let path, let reason):
            return "cannot create the data directory \(path): \(reason)"
        }
    }
}
