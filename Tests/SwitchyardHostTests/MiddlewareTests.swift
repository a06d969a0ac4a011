import EngineIO
import Foundation
import Logging
import NIOCore
import SocketIO
import SwitchyardHost
import SwitchyardJSON
import SwitchyardTestSupport
import Testing

/// Connect and event chains through the real loader and fixture plugins, on the embedded
/// pipeline: rate limits in virtual time, no sleeping.
@Suite("Middleware chains")
struct MiddlewareTests {
    func errorOf(_ packet: String?, prefix: String) throws -> JSONValue {
        let packet = try #require(packet)
        try #require(packet.hasPrefix(prefix), "\(packet) does not start with \(prefix)")
        return try #require(try JSONValue(parsing: String(packet.dropFirst(prefix.count)))[0]?["error"])
    }

    @Test("A size limit refuses a large payload before decoding, with the limit in the error")
    func sizeLimit() throws {
        let (server, _) = try PluginRuntimeTests.serve(configuration: #"""
            {"namespaces": {"/b": {"events": [{"use": "size-limit", "maxBytes": 64}]}}}
            """#)
        let client = try RawSocketIOClient.open(server)
        _ = try client.join("/b")
        let big = String(repeating: "x", count: 100)
        try client.send(#"2/b,1["validated",{"n":1,"tags":["\#(big)"]}]"#)
        let error = try errorOf(try client.received().first, prefix: "3/b,1")
        #expect(error["kind"] == "payload_too_large")
        #expect(error["context"]?["limit"] == 64)
        #expect(error["context"]?["size"]?.intValue ?? 0 > 100)
        // Malformed JSON past the limit is refused for its size, never read: the connection stays.
        try client.send(#"2/b,2["validated",{"n":1,"tags":[\#(big)"#)
        #expect(try errorOf(try client.received().first, prefix: "3/b,2")["kind"] == "payload_too_large")
        #expect(client.connection.isActive)
        try client.send(#"2/b,3["validated",{"n":1,"tags":[]}]"#)
        #expect(try client.received() == [#"3/b,3["valid"]"#])
    }

    @Test("Binary attachments count toward the size limit")
    func sizeLimitWithAttachments() throws {
        let (server, _) = try PluginRuntimeTests.serve(configuration: #"""
            {"namespaces": {"/b": {"events": [{"use": "size-limit", "maxBytes": 100}]}}}
            """#)
        let client = try RawSocketIOClient.open(server)
        _ = try client.join("/b")
        try client.send(#"51-/b,1["attachments",{"_placeholder":true,"num":0}]"#)
        try client.connection.sendBinary([UInt8](repeating: 1, count: 200))
        #expect(try errorOf(try client.received().first, prefix: "3/b,1")["kind"] == "payload_too_large")
    }

    @Test("A connection-scope rate limit allows the burst, refuses the rest with retry-after, and refills")
    func rateLimit() throws {
        let (server, _) = try PluginRuntimeTests.serve(configuration: #"""
            {"namespaces": {"/b": {"events": [{"use": "rate-limit", "rate": 10, "burst": 3, "exempt": ["context"]}]}}}
            """#)
        let client = try RawSocketIOClient.open(server)
        _ = try client.join("/b")
        for id in 1...3 {
            try client.send(#"2/b,\#(id)["validated",{"n":1,"tags":[]}]"#)
            #expect(try client.received() == [#"3/b,\#(id)["valid"]"#])
        }
        try client.send(#"2/b,4["validated",{"n":1,"tags":[]}]"#)
        let error = try errorOf(try client.received().first, prefix: "3/b,4")
        #expect(error["kind"] == "rate_limited")
        #expect(error["context"]?["retryAfterMs"] == 100)
        // Exempt events are not counted.
        try client.send(#"2/b,5["context"]"#)
        #expect(try client.received().first?.hasPrefix("3/b,5[{") == true)
        server.advance(by: .milliseconds(100))
        try client.send(#"2/b,6["validated",{"n":1,"tags":[]}]"#)
        #expect(try client.received() == [#"3/b,6["valid"]"#])
    }

    @Test("Flooding a route: accepted events match the bucket exactly, every other one is refused")
    func flood() throws {
        let (server, _) = try PluginRuntimeTests.serve(configuration: #"""
            {"namespaces": {"/b": {"events": [{"use": "rate-limit", "rate": 20, "burst": 5}]}}}
            """#)
        let client = try RawSocketIOClient.open(server)
        _ = try client.join("/b")
        var accepted = 0
        var refused = 0
        // 100 events per second for 2 seconds of virtual time.
        for step in 0..<200 {
            try client.send(#"2/b,\#(step + 1)["validated",{"n":1,"tags":[]}]"#)
            for packet in try client.received() {
                if packet.hasSuffix(#"["valid"]"#) { accepted += 1 } else if packet.contains("rate_limited") { refused += 1 }
            }
            server.advance(by: .milliseconds(10))
        }
        #expect(accepted + refused == 200)
        #expect(accepted == 5 + 40 - 1 || accepted == 5 + 40)
    }

    @Test("An address-scope limit is shared by every connection from the address")
    func addressScope() throws {
        let (server, _) = try PluginRuntimeTests.serve(configuration: #"""
            {"namespaces": {"/b": {"events": [{"use": "rate-limit", "rate": 1, "burst": 2, "scope": "address"}]}}}
            """#)
        let first = try RawSocketIOClient.open(server)
        let second = try RawSocketIOClient.open(server)
        _ = try first.join("/b")
        _ = try second.join("/b")
        try first.send(#"2/b,1["validated",{"n":1,"tags":[]}]"#)
        try second.send(#"2/b,1["validated",{"n":1,"tags":[]}]"#)
        try second.send(#"2/b,2["validated",{"n":1,"tags":[]}]"#)
        #expect(try first.received() == [#"3/b,1["valid"]"#])
        let secondPackets = try second.received()
        #expect(secondPackets.first == #"3/b,1["valid"]"#)
        #expect(try errorOf(secondPackets.last, prefix: "3/b,2")["kind"] == "rate_limited")
    }

    @Test("Built-in guards: require-identity refuses anonymous sockets, require-role checks roles")
    func builtinGuards() throws {
        let (server, _) = try PluginRuntimeTests.serve(configuration: #"""
            {"routes": [{"namespace": "/secure", "event": "context", "operation": "b.context",
                         "events": [{"use": "guard", "name": "require-role", "role": "admin"}]},
                        {"namespace": "/secure", "event": "audit", "operation": "b.context",
                         "events": [{"use": "guard", "name": "require-role", "role": "auditor"}]}],
             "namespaces": {"/secure": {"identity": "b.identity",
                                        "events": [{"use": "guard", "name": "require-identity"}]}}}
            """#)
        let admin = try RawSocketIOClient.open(server)
        _ = try admin.join("/secure", auth: #"{"token":"good"}"#)
        try admin.send(#"2/secure,1["context"]"#)
        #expect(try admin.received().first?.hasPrefix("3/secure,1[{") == true)
        try admin.send(#"2/secure,2["audit"]"#)
        let missingRole = try errorOf(try admin.received().first, prefix: "3/secure,2")
        #expect(missingRole["kind"] == "authorization")
        #expect(missingRole["code"] == "role_required")

        let anonymous = try RawSocketIOClient.open(server)
        _ = try anonymous.join("/secure", auth: #"{"token":"anon"}"#)
        try anonymous.send(#"2/secure,1["unrouted"]"#)
        let noIdentity = try errorOf(try anonymous.received().first, prefix: "3/secure,1")
        #expect(noIdentity["kind"] == "authentication")
        #expect(noIdentity["code"] == "identity_required")
    }

    @Test("A plugin guard denies through the C ABI, in chain order with validation")
    func pluginGuard() throws {
        let (server, _) = try PluginRuntimeTests.serve(configuration: #"""
            {"namespaces": {"/b": {"events": [{"use": "guard", "name": "b.no-thirteen"}, {"use": "validate"}]}}}
            """#)
        let client = try RawSocketIOClient.open(server)
        _ = try client.join("/b")
        // The guard runs before validation: a payload that is both unlucky and invalid is refused by the guard.
        try client.send(#"2/b,1["validated",{"n":13}]"#)
        let error = try errorOf(try client.received().first, prefix: "3/b,1")
        #expect(error["kind"] == "authorization")
        #expect(error["code"] == "unlucky")
        try client.send(#"2/b,2["validated",{"n":12}]"#)
        #expect(try errorOf(try client.received().first, prefix: "3/b,2")["kind"] == "validation")
        try client.send(#"2/b,3["validated",{"n":12,"tags":[]}]"#)
        #expect(try client.received() == [#"3/b,3["valid"]"#])
    }

    @Test("Validation listed before a guard runs first: order is the configured order")
    func chainOrder() throws {
        let (server, _) = try PluginRuntimeTests.serve(configuration: #"""
            {"namespaces": {"/b": {"events": [{"use": "validate"}, {"use": "guard", "name": "b.no-thirteen"}]}}}
            """#)
        let client = try RawSocketIOClient.open(server)
        _ = try client.join("/b")
        try client.send(#"2/b,1["validated",{"n":13}]"#)
        #expect(try errorOf(try client.received().first, prefix: "3/b,1")["kind"] == "validation")
    }

    @Test("Connect chain: origins, then connection limits per address, with CONNECT_ERROR codes")
    func connectChain() throws {
        let (server, runtime) = try PluginRuntimeTests.serve(configuration: #"""
            {"namespaces": {"/b": {"connect": [{"use": "origins", "allow": ["https://*.example.com"]},
                                              {"use": "connection-limit", "perAddress": 2}]}}}
            """#)
        let evil = try RawSocketIOClient.open(server, headers: [("Origin", "https://evil-example.com")])
        try evil.send("0/b,")
        #expect(try evil.received() == [#"4/b,{"message":"origin https://evil-example.com is not allowed","data":{"code":"origin_not_allowed","kind":"authorization"}}"#])

        let one = try RawSocketIOClient.open(server, headers: [("Origin", "https://app.example.com")])
        let two = try RawSocketIOClient.open(server)
        let three = try RawSocketIOClient.open(server)
        _ = try one.join("/b")
        _ = try two.join("/b")
        try three.send("0/b,")
        #expect(try three.received() == [#"4/b,{"message":"too many connections","data":{"code":"connection_limit","kind":"rate_limited"}}"#])
        // A place frees up when a socket leaves.
        try one.send("1/b,")
        server.run()
        try three.send("0/b,")
        #expect(try three.received().first?.hasPrefix(#"0/b,{"sid":"#) == true)
        _ = runtime
    }

    @Test("A plugin connect guard refuses with its own code")
    func connectGuard() throws {
        let (server, _) = try PluginRuntimeTests.serve(configuration: #"""
            {"namespaces": {"/b": {"connect": [{"use": "guard", "name": "b.no-thirteen"}]}}}
            """#)
        let client = try RawSocketIOClient.open(server)
        try client.send(#"0/b,{"lucky":13}"#)
        #expect(try client.received() == [#"4/b,{"message":"13 is unlucky","data":{"code":"unlucky","kind":"authorization"}}"#])
    }

    @Test("Past the strike limit the socket gets an error event and is disconnected")
    func strikes() throws {
        let (server, _) = try PluginRuntimeTests.serve(configuration: #"""
            {"namespaces": {"/b": {"events": [{"use": "size-limit", "maxBytes": 40}],
                                   "strikes": {"limit": 2, "window": 10000}}}}
            """#)
        let client = try RawSocketIOClient.open(server)
        _ = try client.join("/b")
        let big = String(repeating: "y", count: 50)
        for id in 1...2 {
            try client.send(#"2/b,\#(id)["validated","\#(big)"]"#)
            #expect(try client.received().count == 1)
        }
        try client.send(#"2/b,3["validated","\#(big)"]"#)
        let packets = try client.received()
        #expect(packets.count == 3)
        #expect(packets[1].contains("too_many_violations"))
        #expect(packets[2] == "1/b,")
    }

    @Test("unknownEvents 'ignore': no answer for an unrouted event, even with an ack id; the socket stays")
    func unknownEventsIgnored() throws {
        let (server, _) = try PluginRuntimeTests.serve(configuration: #"""
            {"middleware": {"unknownEvents": "error"}, "namespaces": {"/b": {"unknownEvents": "ignore"}}}
            """#)
        let client = try RawSocketIOClient.open(server)
        _ = try client.join("/b")
        _ = try client.received()
        try client.send(#"2/b,["nobody-listens"]"#)
        try client.send(#"2/b,4["nobody-listens",1]"#)
        // A numeric event name (socket.io-parser accepts numbers) and an ack nobody waits for.
        try client.send(#"2/b,5[42,"x"]"#)
        try client.send(#"3/b,77["late"]"#)
        #expect(try client.received() == [])
        try client.send(#"2/b,6["validated",{"n":3,"tags":["a"]}]"#)
        #expect(try client.received() == [#"3/b,6["valid"]"#])
    }

    @Test("unknownEvents defaults to 'error' and the defaults in middleware apply to every namespace")
    func unknownEventsDefaults() throws {
        for (configuration, answered) in [(#"{}"#, true), (#"{"middleware": {"unknownEvents": "ignore"}}"#, false)] {
            let (server, _) = try PluginRuntimeTests.serve(configuration: configuration)
            let client = try RawSocketIOClient.open(server)
            _ = try client.join("/b")
            _ = try client.received()
            try client.send(#"2/b,4["nobody-listens"]"#)
            let packets = try client.received()
            if answered {
                #expect(try errorOf(packets.first, prefix: "3/b,4")["code"] == "unknown_event")
            } else {
                #expect(packets == [])
            }
        }
    }

    @Test("Referencing a guard or resolver no plugin provides is refused at startup")
    func unknownReferences() throws {
        #expect {
            _ = try PluginRuntimeTests.serve(configuration: #"""
                {"namespaces": {"/b": {"connect": [{"use": "identity", "resolver": "nobody"}],
                                       "events": [{"use": "guard", "name": "ghost"}]}}}
                """#)
        } throws: { error in
            let text = String(describing: error)
            return text.contains("identity resolver 'nobody' is not provided by any plugin")
                && text.contains("guard 'ghost' is not provided by any plugin")
        }
    }
}
