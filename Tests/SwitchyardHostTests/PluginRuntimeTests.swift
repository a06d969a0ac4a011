import EngineIO
import Foundation
import Logging
import NIOCore
import SocketIO
@testable import SwitchyardHost
import SwitchyardJSON
import SwitchyardTestSupport
import Testing

/// Operations, hooks and identity through the real loader and the real C ABI, served over
/// the embedded pipeline (virtual time for timeouts). The `Behaviours` fixture misbehaves in
/// every way the error boundary has to handle; all its callbacks answer synchronously.
@Suite("Plugin runtime: dispatch, error boundary, hooks, identity")
struct PluginRuntimeTests {
    let server: EmbeddedServer
    let runtime: PluginRuntime

    init() throws {
        (server, runtime) = try Self.serve(configuration: #"""
            {"routes": [{"namespace": "/secure", "event": "context", "operation": "b.context"}],
             "namespaces": {"/secure": {"identity": "b.identity"}}}
            """#)
    }

    /// The fixture plugins served with the middleware of a configuration document.
    static func serve(configuration text: String, plugins: [String] = ["FixtureBehaviours", "HelloCPlugin"]) throws -> (EmbeddedServer, PluginRuntime) {
        var configuration = ServerConfiguration()
        try configuration.apply(try JSONValue(parsing: text), source: "test")
        let registry = try PluginHost.loadRegistry(
            files: try plugins.map { try BuiltProducts.library($0) },
            routes: configuration.routes,
            namespaces: Array(configuration.namespaces.keys)
        )
        let socketIO = SocketIOServer(configuration: configuration.socketIO, logger: Logger(label: "test"))
        let runtime = PluginRuntime(registry: registry, socketIO: socketIO, operationTimeout: .seconds(2), logger: Logger(label: "test"))
        try runtime.registerNamespaces(plan: try MiddlewarePlan.build(registry: registry, configuration: configuration))
        try runtime.startPlugins(configuration: [:])
        let server = EmbeddedServer(endpoints: [EngineIOServer(configuration: EngineIOConfiguration(), application: socketIO, logger: Logger(label: "test"))])
        return (server, runtime)
    }

    /// Opens a connection joined to /b; skips the `hooked` event the connect hook sends.
    func client(namespace: String = "/b") throws -> RawSocketIOClient {
        let client = try RawSocketIOClient.open(server, query: "&tenant=acme", headers: [("User-Agent", "tests/1.0")])
        _ = try client.join(namespace)
        return client
    }

    /// The single JSON argument of the only packet received, e.g. `431[{"error":…}]` → `{"error":…}`.
    func onlyArgument(_ packets: [String], prefix: String) throws -> JSONValue {
        try #require(packets.count == 1, "expected one packet, got \(packets)")
        let packet = packets[0]
        try #require(packet.hasPrefix(prefix), "\(packet) does not start with \(prefix)")
        let array = try JSONValue(parsing: String(packet.dropFirst(prefix.count)))
        return try #require(array[0])
    }

    @Test("The connect hook runs with the socket's context")
    func connectHook() throws {
        let client = try RawSocketIOClient.open(server)
        try client.send("0/b,")
        let packets = try client.received()
        #expect(packets.count == 2)
        let hooked = try JSONValue(parsing: String(try #require(packets.last).dropFirst("2/b,".count)))
        #expect(hooked[0]?.stringValue == "hooked")
        #expect(hooked[1]?["namespace"] == "/b")
    }

    @Test("With connection state recovery, the connect hook and operations of a recovered socket see recovered: true (through the C ABI)")
    func recoveredInContext() throws {
        let (server, _) = try Self.serve(configuration: #"{"socketio": {"connectionStateRecovery": {}}}"#)
        let first = try RawSocketIOClient.open(server)
        try first.send("0/b,")
        let packets = try first.received()
        #expect(packets.count == 2)
        let connect = try JSONValue(parsing: String(packets[0].dropFirst("0/b,".count)))
        let sid = try #require(connect["sid"]?.stringValue)
        let pid = try #require(connect["pid"]?.stringValue)
        let hooked = try JSONValue(parsing: String(packets[1].dropFirst("2/b,".count)))
        #expect(hooked[1]?["recovered"] == .bool(false))
        let offset = try #require(hooked.arrayValue?.last?.stringValue)
        try first.connection.sendFrame(opcode: 8, payload: [0x03, 0xE8])
        _ = try first.frames()
        server.run()

        let back = try RawSocketIOClient.open(server)
        try back.send(#"0/b,{"pid":"\#(pid)","offset":"\#(offset)"}"#)
        let again = try back.received()
        #expect(again.count == 2)
        #expect(again.first?.hasPrefix(#"0/b,{"sid":"\#(sid)","pid":"\#(pid)"}"#) == true)
        let rehooked = try JSONValue(parsing: String(try #require(again.last).dropFirst("2/b,".count)))
        #expect(rehooked[1]?["socketId"]?.stringValue == sid)
        #expect(rehooked[1]?["recovered"] == .bool(true))
        try back.send(#"2/b,1["context"]"#)
        let context = try onlyArgument(try back.received(), prefix: "3/b,1")
        #expect(context["recovered"] == .bool(true))
    }

    @Test("Operations get the full context: socket, namespace, parameters, handshake, rooms")
    func context() throws {
        let client = try RawSocketIOClient.open(server, query: "&tenant=acme", headers: [("User-Agent", "tests/1.0")])
        let socketID = try client.join("/b/lobby")
        try client.send(#"2/b/lobby,1["context"]"#)
        let context = try onlyArgument(try client.received(), prefix: "3/b/lobby,1")
        #expect(context["socketId"]?.stringValue == socketID)
        #expect(context["namespace"] == "/b/lobby")
        #expect(context["params"] == ["room": "lobby"])
        #expect(context["handshake"]?["query"]?["tenant"] == "acme")
        #expect(context["handshake"]?["headers"]?["user-agent"] == "tests/1.0")
        #expect(context["handshake"]?["auth"] == .object(JSONObject()))
        #expect(context["handshake"]?["address"] == "127.0.0.1")
        #expect(context["handshake"]?["transport"] == "websocket")
        #expect(context["identity"] == .null)
        #expect(context["rooms"] == [.string(socketID)])
    }

    @Test("The rooms in an operation's context follow joins and leaves made between events")
    func contextRoomsFollowMembership() throws {
        let client = try RawSocketIOClient.open(server)
        let socketID = try client.join("/b/lobby")
        func rooms() throws -> [String] {
            try client.send(#"2/b/lobby,1["context"]"#)
            return try onlyArgument(try client.received(), prefix: "3/b/lobby,1")["rooms"]?.arrayValue?.compactMap(\.stringValue) ?? []
        }
        #expect(try rooms() == [socketID])
        let socket = try #require(runtime.socketIO.namespace("/b/lobby")?.socket(id: socketID))
        socket.join("red", "blue")
        server.run()
        #expect(try rooms() == ["blue", "red", socketID].sorted())
        socket.leave("red")
        server.run()
        #expect(try rooms() == ["blue", socketID].sorted())
        // A join through the namespace (how operator and backplane commands do it) counts too.
        runtime.socketIO.namespace("/b/lobby")!.broadcast.socketsJoin(["green"])
        server.run()
        #expect(try rooms() == ["blue", "green", socketID].sorted())
    }

    @Test("Client-side failure kinds reach the client as the plugin gave them", arguments: [
        "validation", "not_found", "conflict", "concurrency", "precondition", "authentication", "authorization", "rate_limited", "payload_too_large",
    ])
    func clientSideKinds(kind: String) throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"2/b,7["fail","\#(kind)"]"#)
        let error = try onlyArgument(try client.received(), prefix: "3/b,7")["error"]
        #expect(error?["kind"]?.stringValue == kind)
        #expect(error?["detail"]?.stringValue == "secret detail for \(kind)")
        #expect(error?["code"]?.stringValue == "c_\(kind)")
        #expect(error?["context"] == ["hint": 1])
    }

    @Test("Server-side failure kinds are replaced by a generic detail and a correlation id", arguments: [
        "internal", "infrastructure", "configuration", "timeout",
    ])
    func serverSideKinds(kind: String) throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"2/b,7["fail","\#(kind)"]"#)
        let error = try #require(try onlyArgument(try client.received(), prefix: "3/b,7")["error"])
        try Self.expectGeneric(error, kind: kind)
    }

    static func expectGeneric(_ error: JSONValue, kind: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(error["kind"]?.stringValue == kind, sourceLocation: sourceLocation)
        #expect(error["code"]?.stringValue == kind, sourceLocation: sourceLocation)
        let id = try #require(error["context"]?["correlationId"]?.stringValue, sourceLocation: sourceLocation)
        #expect(id.count == 16, sourceLocation: sourceLocation)
        #expect(error["detail"]?.stringValue == "The server could not complete the request (reference \(id)).", sourceLocation: sourceLocation)
        #expect(error.serialized().contains("secret") == false, sourceLocation: sourceLocation)
    }

    @Test("Whatever a plugin gets wrong becomes an internal error, never a leak", arguments: [
        "malformed", "not-array", "bad-error", "bad-ack",
    ])
    func pluginMistakes(event: String) throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"2/b,3["\#(event)"]"#)
        let error = try #require(try onlyArgument(try client.received(), prefix: "3/b,3")["error"])
        try Self.expectGeneric(error, kind: "internal")
    }

    @Test("A plugin that never completes is answered with a timeout after the operation timeout")
    func operationTimeout() throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"2/b,5["never"]"#)
        server.advance(by: .milliseconds(1999))
        #expect(try client.received() == [])
        server.advance(by: .milliseconds(1))
        let error = try #require(try onlyArgument(try client.received(), prefix: "3/b,5")["error"])
        try Self.expectGeneric(error, kind: "timeout")
    }

    @Test("A second completion of the same operation is ignored")
    func completedTwice() throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"2/b,9["twice"]"#)
        #expect(try client.received() == ["3/b,9[1]"])
    }

    @Test("A completion from another thread during the call is the answer; any later one is ignored", arguments: [
        ("from-thread", "thread"), ("twice-then-thread", "first"), ("thread-then-twice", "first"),
    ])
    func completedFromAnotherThread(event: String, answer: String) throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"2/b,4["\#(event)"]"#)
        #expect(try client.received() == [#"3/b,4["\#(answer)"]"#])
        // Nothing was left behind for a timeout to answer.
        server.advance(by: .seconds(5))
        #expect(try client.received() == [])
    }

    @Test("A completion after the call returned answers once, and stops the timeout")
    func completedAfterTheCall() throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"2/b,6["deferred"]"#)
        #expect(try client.received() == [])
        try client.send(#"2/b,7["release"]"#)
        #expect(try client.received() == [#"3/b,6["deferred"]"#, #"3/b,7["released"]"#])
        server.advance(by: .seconds(5))
        #expect(try client.received() == [])
    }

    @Test("Without an ack id the client gets an 'error' event naming the event")
    func errorEvent() throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"2/b,["fail","not_found"]"#)
        let packets = try client.received()
        #expect(packets.count == 1)
        let event = try JSONValue(parsing: String(try #require(packets.first).dropFirst("2/b,".count)))
        #expect(event[0] == "error")
        #expect(event[1]?["event"] == "fail")
        #expect(event[1]?["error"]?["kind"] == "not_found")
    }

    @Test("Payloads are validated against the schema, with a field path per violation")
    func validation() throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"2/b,1["validated",{"n":0,"tags":["a",2],"extra":true}]"#)
        let error = try #require(try onlyArgument(try client.received(), prefix: "3/b,1")["error"])
        #expect(error["kind"] == "validation")
        #expect(error["code"] == "invalid_payload")
        let violations = try #require(error["context"]?["violations"]?.arrayValue)
        let paths = Set(violations.compactMap { $0["path"]?.stringValue })
        #expect(paths == ["$.n", "$.tags[1]", "$.extra"])
        try client.send(#"2/b,2["validated",{"n":3,"tags":["a"]}]"#)
        #expect(try client.received() == [#"3/b,2["valid"]"#])
    }

    @Test("An event with no route is answered not_found")
    func unknownEvent() throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"2/b,4["nope"]"#)
        let error = try onlyArgument(try client.received(), prefix: "3/b,4")["error"]
        #expect(error?["kind"] == "not_found")
        #expect(error?["code"] == "unknown_event")
    }

    @Test("Binary attachments cross the C ABI both ways")
    func attachments() throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"51-/b,6["attachments",{"_placeholder":true,"num":0}]"#)
        try client.connection.sendBinary([9, 8, 7])
        let frames = try client.frames()
        #expect(frames.map(\.description) == [#"text(461-/b,6[{"_placeholder":true,"num":0}])"#, "binary([9, 8, 7])"])
    }

    @Test("Emits of a declared server event are validated before they leave")
    func typedEmitter() throws {
        let client = try client()
        _ = try client.received()
        try client.send(#"2/b,1["emit-strict",42]"#)
        #expect(try client.received() == [#"2/b,["strict",42]"#, "3/b,1[0]"])
        try client.send(#"2/b,2["emit-strict","not an integer"]"#)
        // Refused by the host (status -4, schema violation): nothing reaches the client.
        #expect(try client.received() == ["3/b,2[-4]"])
    }

    @Test("A plain C plugin answers synchronously, with its ack schema checked")
    func cPlugin() throws {
        let client = try client(namespace: "/c")
        try client.send(#"2/c,1["greet",{"name":"Ada"}]"#)
        #expect(try client.received() == [#"3/c,1[{"greeting":"Hello, Ada!"}]"#])
        try client.send(#"2/c,2["greet",{"name":"quote\"d"}]"#)
        let error = try onlyArgument(try client.received(), prefix: "3/c,2")["error"]
        #expect(error?["kind"] == "validation")
    }

    @Test("An identity resolver's identity reaches operations")
    func identity() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join("/secure", auth: #"{"token":"good"}"#)
        try client.send(#"2/secure,1["context"]"#)
        let context = try onlyArgument(try client.received(), prefix: "3/secure,1")
        #expect(context["identity"] == ["id": "u1", "roles": ["admin"], "tenant": "t1"])
        #expect(context["tenant"] == "t1")
    }

    @Test("A recovering client goes through the identity resolver again, unless skipMiddlewares keeps its identity", arguments: [false, true])
    func recoveryAndIdentity(skipMiddlewares: Bool) throws {
        let (server, _) = try Self.serve(configuration: #"""
            {"routes": [{"namespace": "/secure", "event": "context", "operation": "b.context"}],
             "namespaces": {"/secure": {"identity": "b.identity"}},
             "socketio": {"connectionStateRecovery": {"skipMiddlewares": \#(skipMiddlewares)}}}
            """#)
        let first = try RawSocketIOClient.open(server)
        try first.send(#"0/secure,{"token":"good"}"#)
        let connect = try JSONValue(parsing: String(try #require(try first.received().first).dropFirst("0/secure,".count)))
        let sid = try #require(connect["sid"]?.stringValue)
        let pid = try #require(connect["pid"]?.stringValue)
        try first.connection.sendFrame(opcode: 8, payload: [0x03, 0xE8])
        _ = try first.frames()
        server.run()

        // The token is no longer good: the resolver refuses it, unless it is skipped.
        let back = try RawSocketIOClient.open(server)
        try back.send(#"0/secure,{"pid":"\#(pid)","token":"wrong"}"#)
        let reply = try #require(try back.received().first)
        if skipMiddlewares {
            #expect(reply == #"0/secure,{"sid":"\#(sid)","pid":"\#(pid)"}"#)
            try back.send(#"2/secure,1["context"]"#)
            let context = try onlyArgument(try back.received(), prefix: "3/secure,1")
            #expect(context["identity"] == ["id": "u1", "roles": ["admin"], "tenant": "t1"])
            #expect(context["recovered"] == .bool(true))
        } else {
            #expect(reply == #"4/secure,{"message":"unknown token","data":{"code":"bad_token","kind":"authentication"}}"#)
        }
    }

    @Test("An identity refusal is a CONNECT_ERROR with the plugin's message and a machine-readable code")
    func identityRefused() throws {
        let client = try RawSocketIOClient.open(server)
        try client.send(#"0/secure,{"token":"wrong"}"#)
        #expect(try client.received() == [#"4/secure,{"message":"unknown token","data":{"code":"bad_token","kind":"authentication"}}"#])
    }

    @Test("An identity resolver's server-side failure refuses without leaking its detail")
    func identityInfrastructureFailure() throws {
        let client = try RawSocketIOClient.open(server)
        try client.send(#"0/secure,{"token":"crash"}"#)
        let packet = try #require(try client.received().first)
        #expect(packet.hasPrefix("4/secure,"))
        #expect(!packet.contains("10.0.0.7"))
        #expect(packet.contains(#""code":"infrastructure""#))
    }

    @Test("An anonymous identity is accepted with a null identity")
    func anonymous() throws {
        let client = try RawSocketIOClient.open(server)
        _ = try client.join("/secure", auth: #"{"token":"anon"}"#)
        try client.send(#"2/secure,1["context"]"#)
        #expect(try onlyArgument(try client.received(), prefix: "3/secure,1")["identity"] == .null)
    }
}
