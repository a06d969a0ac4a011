import ArgumentParser

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "A realtime application server that speaks Socket.IO.",
        subcommands: [Serve.self, Inspect.self, Plugins.self, Audit.self, Migrate.self, Kick.self, Broadcast.self, PurgeRoom.self],
        defaultSubcommand: Serve.self
    )
}

/// Options every command that reads the configuration shares.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (JSON).")
    var config: String?

    @Option(name: .long, help: "Plugin directory (default: plugins, or plugins.directory in the config).")
    var plugins: String?
}
