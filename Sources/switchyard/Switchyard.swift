import ArgumentParser

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "A realtime application server that speaks Socket.IO.",
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )
}
