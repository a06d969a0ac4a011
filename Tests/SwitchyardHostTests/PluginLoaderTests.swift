import Foundation
import SwitchyardHost
import Testing

/// Where `swift build` put the plugin and fixture libraries and the `switchyard` binary:
/// next to the test executable.
enum BuiltProducts {
    static let directory: URL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()

    /// The path of `lib<product>.so`, failing the test clearly when it was not built.
    static func library(_ product: String) throws -> String {
        let path = directory.appendingPathComponent("lib\(product).so").path
        try #require(FileManager.default.fileExists(atPath: path), "\(path) is missing: run `swift build` (all products) before `swift test`")
        return path
    }

    static var switchyard: String {
        get throws {
            let path = directory.appendingPathComponent("switchyard").path
            try #require(FileManager.default.isExecutableFile(atPath: path), "\(path) is missing: run `swift build` before `swift test`")
            return path
        }
    }
}

@Suite("Plugin loader with real libraries")
struct PluginLoaderTests {
    func loadError(_ path: String) -> PluginLoadError? {
        do {
            _ = try PluginLoader.load(file: path)
            return nil
        } catch {
            return error
        }
    }

    @Test("A Swift plugin loads with its operations, routes, events and schemas")
    func swiftPlugin() throws {
        let chat = try PluginLoader.load(file: try BuiltProducts.library("ChatPlugin"))
        #expect(chat.name == "chat")
        #expect(chat.version == "1.0.0")
        #expect(Set(chat.operations.map(\.key)) == ["rooms.join", "rooms.leave", "messages.create"])
        #expect(chat.operations.first { $0.key == "messages.create" }?.payloadSchema != nil)
        #expect(Set(chat.routes.map(\.event)) == ["room.join", "room.leave", "message.send"])
        #expect(chat.serverEvents.map(\.name) == ["message.new"])
    }

    @Test("A plugin written in plain C loads")
    func cPlugin() throws {
        let hello = try PluginLoader.load(file: try BuiltProducts.library("HelloCPlugin"))
        #expect(hello.name == "hello-c")
        #expect(hello.operations.map(\.key) == ["hello.greet", "hello.later"])
        #expect(hello.routes.map(\.namespace) == ["/c", "/c"])
    }

    @Test("A library without the entry symbol is refused, naming the file and the symbol")
    func missingEntry() throws {
        let path = try BuiltProducts.library("FixtureNoEntry")
        #expect(loadError(path)?.description == "\(path): missing entry symbol switchyard_plugin_entry")
    }

    @Test("An ABI version mismatch names both versions")
    func abiMismatch() throws {
        let path = try BuiltProducts.library("FixtureABIMismatch")
        #expect(loadError(path)?.description == "\(path): plugin ABI version 999, this host supports 1")
    }

    @Test("A library with an unresolved symbol fails at load time (RTLD_NOW), not at first call")
    func undefinedSymbol() throws {
        let path = try BuiltProducts.library("FixtureUndefinedSymbol")
        let description = loadError(path)?.description ?? ""
        #expect(description.hasPrefix("\(path): cannot be loaded:"))
        #expect(description.contains("switchyard_fixture_symbol_nobody_defines"))
    }

    @Test("A file that is not a library is refused")
    func notALibrary() throws {
        let path = NSTemporaryDirectory() + "notes-\(UUID()).so"
        try Data("these are my notes\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(loadError(path)?.description == "\(path): not a shared library (no ELF header)")
    }

    @Test("An invalid schema is refused, naming the operation and the problem")
    func invalidSchema() throws {
        let path = try BuiltProducts.library("FixtureBadSchema")
        let description = loadError(path)?.description ?? ""
        #expect(description.hasPrefix("\(path): operation bad.schema payload: invalid schema:"))
        #expect(description.contains("strnig"))
    }

    @Test("Duplicate operation keys across plugins name both plugins and files")
    func duplicateKeys() throws {
        let a = try BuiltProducts.library("FixtureDuplicateA")
        let b = try BuiltProducts.library("FixtureDuplicateB")
        #expect {
            _ = try PluginHost.loadRegistry(files: [a, b], routes: [])
        } throws: { error in
            (error as? PluginHostError)?.description == "duplicate operation key 'dup.op': declared by duplicate-A (\(a)) and duplicate-B (\(b))"
        }
    }

    @Test("A route to an unknown operation is refused when the registry freezes")
    func danglingRoute() throws {
        let path = try BuiltProducts.library("FixtureBadRoute")
        #expect {
            _ = try PluginHost.loadRegistry(files: [path], routes: [])
        } throws: { error in
            (error as? PluginHostError)?.description == "route 'go' in namespace '/x' from plugin bad-route (\(path)) points at unknown operation 'missing.op'"
        }
    }

    @Test("Configured routes add to and override plugin routes; a configured route to nothing is refused")
    func configuredRoutes() throws {
        let hello = try BuiltProducts.library("HelloCPlugin")
        let registry = try PluginHost.loadRegistry(
            files: [hello],
            routes: [
                RouteConfiguration(namespace: "/c", event: "greet", operation: "hello.later", ack: false),
                RouteConfiguration(namespace: "/other", event: "hi", operation: "hello.greet"),
            ]
        )
        let c = try #require(registry.namespaces.first { $0.pattern.text == "/c" })
        #expect(c.routes["greet"]?.operation.key == "hello.later")
        #expect(c.routes["greet"]?.ack == false)
        #expect(c.routes["greet"]?.origin == "configuration")
        #expect(registry.namespaces.first { $0.pattern.text == "/other" }?.routes["hi"]?.operation.key == "hello.greet")
        #expect {
            _ = try PluginHost.loadRegistry(files: [hello], routes: [RouteConfiguration(namespace: "/c", event: "x", operation: "nope")])
        } throws: { error in
            (error as? PluginHostError)?.description == "route 'x' in namespace '/c' from the configuration points at unknown operation 'nope'"
        }
    }

    @Test("Two plugins routing the same event in the same namespace must be settled by configuration")
    func conflictingRoutes() throws {
        let conformance = try BuiltProducts.library("ConformancePlugin")
        let echo = try BuiltProducts.library("EchoPlugin")
        // Disjoint events on "/": fine together.
        let registry = try PluginHost.loadRegistry(files: [conformance, echo], routes: [])
        #expect(registry.namespaces.first { $0.pattern.text == "/" }?.routes.keys.contains("echo") == true)
    }

    @Test("The preflight reports a plugin that traps while loading instead of crashing")
    func preflightCatchesTrap() throws {
        let trap = try BuiltProducts.library("FixtureTrap")
        let hello = try BuiltProducts.library("HelloCPlugin")
        let (reports, combined) = PluginPreflight.run(files: [hello, trap], executable: try BuiltProducts.switchyard)
        #expect(reports.count == 2)
        #expect(reports[0].succeeded)
        #expect(reports[0].plugin == "hello-c")
        #expect(reports[0].operations == 2)
        let failure = try #require(reports[1].failure)
        #expect(failure.hasPrefix("\(trap): crashed while loading (signal "))
        #expect(failure.contains("SIGILL") || failure.contains("SIGTRAP"))
        #expect(combined == nil)  // not attempted once one plugin failed alone
    }

    @Test("The preflight's combined pass finds cross-plugin problems")
    func preflightCombined() throws {
        let a = try BuiltProducts.library("FixtureDuplicateA")
        let b = try BuiltProducts.library("FixtureDuplicateB")
        let (reports, combined) = PluginPreflight.run(files: [a, b], executable: try BuiltProducts.switchyard)
        #expect(reports.allSatisfy { $0.succeeded })
        #expect(combined?.contains("duplicate operation key 'dup.op'") == true)
    }
}
