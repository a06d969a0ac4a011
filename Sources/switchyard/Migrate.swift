import ArgumentParser
import SwitchyardStore

/// `--data DIR`: the folder holding `switchyard.sqlite`.
struct DataDirectoryOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory holding switchyard.sqlite (default: data).")
    var data: String = SwitchyardDatabase.defaultDirectory
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or upgrade the database (DIR/switchyard.sqlite) and print what was applied.",
        discussion: """
            Creates the data directory and the database when missing, then applies the
            migrations it lacks, in order, each in its own transaction. Safe while the
            server runs. Refuses a database written by a newer Switchyard. The server
            applies migrations on start as well.
            """
    )

    @OptionGroup var storage: DataDirectoryOptions

    func run() throws {
        do {
            let database = try SwitchyardDatabase.open(directory: storage.data)
            let applied = try database.migrate()
            if applied.isEmpty {
                print("database \(database.path) is current (\(SwitchyardDatabase.knownMigrations.count) migrations)")
            } else {
                print("database \(database.path): applied \(applied.count) migration(s)")
                for name in applied { print("  \(name)") }
            }
            try database.close()
        } catch let error as StoreError {
            throw StartupFailure(message: "switchyard: \(error)")
        } catch {
            throw StartupFailure(message: "switchyard: cannot migrate the database in \(storage.data): \(error)")
        }
    }
}
