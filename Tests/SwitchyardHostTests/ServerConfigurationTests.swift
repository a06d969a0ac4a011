import EngineIO
import Foundation
import NIOCore
import SocketIO
import SwitchyardHost
import SwitchyardJSON
import SwitchyardRedis
import Testing

@Suite("Server configuration")
struct ServerConfigurationTests {
    func apply(_ json: String) throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        try configuration.apply(try JSONValue(parsing: json), source: "test.json")
        return configuration
    }

    @Test("The conformance example sets the reference server's values")
    func conformanceExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configuration = try ServerConfiguration.load(file: root.appendingPathComponent("examples/conformance.json").path)
        #expect(configuration.engine.pingInterval == .milliseconds(300))
        #expect(configuration.engine.pingTimeout == .milliseconds(200))
        #expect(configuration.engine.maxPayload == 1_000_000)
        #expect(configuration.socketIO.connectTimeout == .milliseconds(1000))
        #expect(configuration.engine.cors == .allowAll)
        #expect(configuration.plugins.enabled == ["conformance"])
        #expect(configuration.engineioEchoPath == "/engine.io/")
        // The reference server has no listener for unknown events: nothing is sent back.
        #expect(configuration.middleware.unknownEvents == .ignore)
        // One event loop, like the reference server's one thread: requests the suites send
        // 5 ms apart on two connections are handled in the order the kernel reports them.
        #expect(configuration.threads == 1)
    }

    @Test("Every setting is read")
    func everySetting() throws {
        let configuration = try apply(#"""
            {"listen": {"host": "0.0.0.0", "port": 8080}, "threads": 3, "logLevel": "debug",
             "engine": {"pingInterval": 1000, "pingTimeout": 500, "upgradeTimeout": 2000, "maxPayload": 4096,
                        "transports": ["websocket"], "cors": {"origins": ["https://*.example.com"], "credentials": false}},
             "socketio": {"path": "/rt/", "connectTimeout": 3000, "ackTimeout": 4000, "maxAttachments": 2, "parsers": ["msgpack"]},
             "plugins": {"directory": "/opt/p", "enabled": ["chat"], "preflight": false, "operationTimeout": 1500,
                         "settings": {"chat": {"max": 3}}},
             "routes": [{"namespace": "/chat", "event": "say", "operation": "messages.create", "ack": false},
                        {"namespace": "/c", "event": "hi", "operation": "hello.greet"}],
             "namespaces": {"/chat": {"identity": "token"}},
             "engineioEcho": "/eio/",
             "redis": {"url": "redis://127.0.0.1:6380/2", "mode": "sharded", "key": "sy"}}
            """#)
        #expect(configuration.redis?.mode == .sharded)
        #expect(configuration.redis?.key == "sy")
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 8080)
        #expect(configuration.threads == 3)
        #expect(configuration.logLevel == "debug")
        #expect(configuration.engine.pingInterval == .seconds(1))
        #expect(configuration.engine.upgradeTimeout == .seconds(2))
        #expect(configuration.engine.maxPayload == 4096)
        #expect(configuration.engine.transports == [.websocket])
        #expect(configuration.engine.cors == CORSPolicy(allowedOrigins: ["https://*.example.com"], allowCredentials: false))
        #expect(configuration.engine.path == "/rt/")
        #expect(configuration.socketIO.connectTimeout == .seconds(3))
        #expect(configuration.socketIO.ackTimeout == .seconds(4))
        #expect(configuration.socketIO.maxAttachments == 2)
        #expect(configuration.socketIO.parsers == [.msgpack])
        #expect(configuration.plugins.directory == "/opt/p")
        #expect(configuration.plugins.enabled == ["chat"])
        #expect(configuration.plugins.preflight == false)
        #expect(configuration.plugins.operationTimeout == .milliseconds(1500))
        #expect(configuration.plugins.settings["chat"] == ["max": 3])
        #expect(configuration.routes == [
            RouteConfiguration(namespace: "/chat", event: "say", operation: "messages.create", ack: false),
            RouteConfiguration(namespace: "/c", event: "hi", operation: "hello.greet", ack: true),
        ])
        #expect(configuration.namespaces["/chat"]?.identity == "token")
        #expect(configuration.engineioEchoPath == "/eio/")
    }

    @Test("Connection state recovery is off unless configured; {} turns it on with the defaults")
    func recoveryDefaults() throws {
        #expect(try apply("{}").socketIO.connectionStateRecovery == nil)
        #expect(try apply(#"{"socketio": {"connectionStateRecovery": {}}}"#).socketIO.connectionStateRecovery
            == SocketIORecoveryConfiguration(maxDisconnectionDuration: 120_000, skipMiddlewares: false, maxPacketsPerSession: 1000))
        let set = try apply(#"""
            {"socketio": {"connectionStateRecovery": {"maxDisconnectionDuration": 5000, "skipMiddlewares": true, "maxPacketsPerSession": 7}}}
            """#)
        #expect(set.socketIO.connectionStateRecovery == SocketIORecoveryConfiguration(maxDisconnectionDuration: 5000, skipMiddlewares: true, maxPacketsPerSession: 7))
    }

    @Test("The recovery example turns recovery on for the conformance plugin")
    func recoveryExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configuration = try ServerConfiguration.load(file: root.appendingPathComponent("examples/recovery.json").path)
        #expect(configuration.plugins.enabled == ["conformance"])
        #expect(configuration.socketIO.connectionStateRecovery?.maxDisconnectionDuration == 120_000)
        #expect(configuration.socketIO.connectionStateRecovery?.skipMiddlewares == false)
    }

    @Test("Mistakes are reported with their key path", arguments: [
        (#"{"engine": {"pingIntervl": 5}}"#, "test.json: engine.pingIntervl: unknown setting"),
        (#"{"engine": {"pingInterval": "5"}}"#, #"test.json: engine.pingInterval: expected an integer, found "5""#),
        (#"{"engine": {"pingInterval": 1.5}}"#, "test.json: engine.pingInterval: expected an integer, found 1.5"),
        (#"{"listen": {"port": 70000}}"#, "test.json: listen.port: 70000 is out of range (0...65535)"),
        (#"{"engine": {"transports": ["carrier-pigeon"]}}"#, "test.json: engine.transports: unknown transport 'carrier-pigeon' (polling, websocket)"),
        (#"{"engine": {"transports": []}}"#, "test.json: engine.transports: at least one transport is needed"),
        (#"{"socketio": {"parsers": ["cbor"]}}"#, "test.json: socketio.parsers: unknown parser 'cbor' (default, msgpack)"),
        (#"{"socketio": {"parsers": []}}"#, "test.json: socketio.parsers: at least one parser is needed"),
        (#"{"redis": {"url": "redis://127.0.0.1:6379", "mode": "cluster"}}"#, "test.json: redis.mode: unknown mode 'cluster' (classic, sharded)"),
        (#"{"engine": {"cors": {"origins": ["*", 3]}}}"#, "test.json: engine.cors.origins[1]: expected a string, found integer"),
        (#"{"application": "nope"}"#, "test.json: application: unknown setting"),
        (#"{"routes": [{"namespace": "/x"}]}"#, "test.json: routes[0]: a route needs namespace and event"),
        (#"{"routes": [{"namespace": "/x", "event": "e"}]}"#, "test.json: routes[0]: a route needs an operation, or events to set its chain"),
        (#"{"middleware": {"events": [{"use": "rate-limit", "rate": 5, "scope": "galaxy"}]}}"#, "test.json: middleware.events[0]: unknown rate-limit scope 'galaxy' (connection, identity, address)"),
        (#"{"middleware": {"events": [{"use": "throttle"}]}}"#, "test.json: middleware.events[0]: unknown event step 'throttle' (size-limit, rate-limit, guard, validate)"),
        (#"{"namespaces": {"/x": {"connect": [{"use": "guard", "name": "require-role"}]}}}"#, "test.json: namespaces./x.connect[0]: require-role needs 'role'"),
        (#"{"routes": [{"namespace": "/x", "event": "e", "operation": "o", "acks": true}]}"#, "test.json: routes[0].acks: unknown setting"),
        (#"{"plugins": {"enabled": "chat"}}"#, "test.json: plugins.enabled: expected an array of strings, found string"),
        (#"{"namespaces": {"/x": {"unknownEvents": "shrug"}}}"#, "test.json: namespaces./x.unknownEvents: expected one of error, ignore"),
        (#"{"namespaces": {"/chat": {"identiy": "x"}}}"#, "test.json: namespaces./chat.identiy: unknown setting"),
        (#"{"logLevel": "loud"}"#, "test.json: logLevel: expected one of trace, debug, info, notice, warning, error, critical"),
        (#"[]"#, "test.json: expected an object, found array"),
        (#"{"socketio": {"connectionStateRecovery": true}}"#, "test.json: socketio.connectionStateRecovery: expected an object, found boolean"),
        (#"{"socketio": {"connectionStateRecovery": {"maxDisconnectDuration": 5}}}"#, "test.json: socketio.connectionStateRecovery.maxDisconnectDuration: unknown setting"),
        (#"{"socketio": {"connectionStateRecovery": {"maxPacketsPerSession": 0}}}"#, "test.json: socketio.connectionStateRecovery.maxPacketsPerSession: 0 is out of range (1...1000000)"),
        (#"{"socketio": {"connectionStateRecovery": {"skipMiddlewares": "yes"}}}"#, #"test.json: socketio.connectionStateRecovery.skipMiddlewares: expected true or false, found string"#),
    ])
    func mistakes(json: String, message: String) throws {
        #expect {
            _ = try apply(json)
        } throws: { error in
            (error as? ConfigurationError)?.description == message
        }
    }

    @Test("A file that is not JSON, or missing, is reported with its path")
    func badFiles() throws {
        let path = NSTemporaryDirectory() + "switchyard-bad-\(UUID()).json"
        try Data("{ nope".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            _ = try ServerConfiguration.load(file: path)
        } throws: { error in
            (error as? ConfigurationError)?.description.hasPrefix("\(path): not valid JSON") == true
        }
        #expect {
            _ = try ServerConfiguration.load(file: "/nonexistent/switchyard.json")
        } throws: { error in
            (error as? ConfigurationError)?.description == "/nonexistent/switchyard.json: cannot read the file"
        }
    }

    @Test("The environment overrides the file")
    func environment() throws {
        var configuration = try apply(#"{"listen": {"port": 1}}"#)
        try configuration.applyEnvironment(["SWITCHYARD_PORT": "4000", "SWITCHYARD_HOST": "::1", "SWITCHYARD_LOG_LEVEL": "error"])
        #expect(configuration.port == 4000)
        #expect(configuration.host == "::1")
        #expect(configuration.logLevel == "error")
        #expect(throws: ConfigurationError.self) { try configuration.applyEnvironment(["SWITCHYARD_PORT": "x"]) }
    }
}
