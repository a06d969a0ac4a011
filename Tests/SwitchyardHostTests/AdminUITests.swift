import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SocketIO
import SwitchyardJSON
import Testing

@testable import SwitchyardHost

@Suite("Admin UI")
struct AdminUITests {
    // The test vectors of Openwall's crypt_blowfish (`wrapper.c`, the reference the
    // OpenBSD, glibc-patch and libxcrypt implementations are checked against).
    static let vectors: [(hash: String, password: String)] = [
        ("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"),
        ("$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*"),
        ("$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", "U*U*U"),
        (
            "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored"
        ),
        ("$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", ""),
    ]

    @Test("bcrypt accepts the published test vectors", arguments: 0..<5)
    func bcryptVectors(index: Int) {
        let (hash, password) = Self.vectors[index]
        #expect(BcryptHash.verify(password: password, hash: hash))
        // The $2b$ and $2y$ spellings hash these passwords the same way.
        #expect(BcryptHash.verify(password: password, hash: "$2b$" + hash.dropFirst(4)))
        #expect(BcryptHash.verify(password: password, hash: "$2y$" + hash.dropFirst(4)))
    }

    @Test("bcrypt refuses a wrong password, a changed hash and malformed hashes")
    func bcryptRefuses() {
        let (hash, password) = Self.vectors[0]
        #expect(!BcryptHash.verify(password: password + "x", hash: hash))
        #expect(!BcryptHash.verify(password: "u*U", hash: hash))
        var changed = Array(hash)
        changed[changed.count - 1] = changed.last == "W" ? "X" : "W"
        #expect(!BcryptHash.verify(password: password, hash: String(changed)))
        // Only 72 bytes count: a longer password equal on those matches (bcrypt's rule).
        let long = Self.vectors[3]
        #expect(BcryptHash.verify(password: String(long.password.prefix(72)) + "anything", hash: long.hash))
        // NUL would cut the C string short: refused rather than checked as a prefix.
        #expect(!BcryptHash.verify(password: "U*U\u{0}extra", hash: hash))
        for malformed in [
            "", "secret", "$1$abcdefgh$abcdefghijklmnopqrstuv", "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "$2a$32$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe!",
        ] {
            #expect(!BcryptHash.isWellFormed(malformed), "\(malformed)")
            #expect(!BcryptHash.verify(password: "U*U", hash: malformed))
        }
    }

    func apply(_ json: String) throws -> ServerConfiguration { try ServerConfigurationTests().apply(json) }

    @Test("admin.ui is read with its defaults, and is off unless configured")
    func settings() throws {
        #expect(try apply("{}").admin.ui == nil)
        let open = try #require(try apply(#"{"admin": {"ui": {"auth": false}}}"#).admin.ui)
        #expect(open.authentication == .none)
        #expect(open.mode == .development)
        #expect(open.namespace == "/admin")
        #expect(!open.readonly)
        let hash = Self.vectors[0].hash
        let full = try #require(
            try apply(
                #"{"admin": {"ui": {"auth": {"username": "ops", "passwordHash": "\#(hash)"}, "mode": "production", "namespace": "/watch", "readonly": true, "serverId": "eu-1", "sessionLifetime": 60000}}}"#
            ).admin.ui)
        #expect(full.authentication == .basic(username: "ops", passwordHash: hash))
        #expect(full.mode == .production)
        #expect(full.namespace == "/watch")
        #expect(full.readonly)
        #expect(full.serverID == "eu-1")
        #expect(full.sessionLifetime == 60000)
    }

    @Test(
        "admin.ui mistakes name their key",
        arguments: [
            (#"{"admin": {"ui": {}}}"#, "test.json: admin.ui.auth: required"),
            (#"{"admin": {"ui": {"auth": true}}}"#, "test.json: admin.ui.auth: expected false or"),
            (
                #"{"admin": {"ui": {"auth": {"username": "a", "passwordHash": "secret"}}}}"#,
                "test.json: admin.ui.auth.passwordHash: not a bcrypt hash"
            ),
            (#"{"admin": {"ui": {"auth": {"passwordHash": "secret"}}}}"#, "test.json: admin.ui.auth.username: a user name is required"),
            (#"{"admin": {"ui": {"auth": {"username": "a"}}}}"#, "test.json: admin.ui.auth.passwordHash: a bcrypt hash is required"),
            (#"{"admin": {"ui": {"auth": false, "mode": "debug"}}}"#, "test.json: admin.ui.mode: expected one of development, production"),
            (
                #"{"admin": {"ui": {"auth": false, "namespace": "admin"}}}"#,
                "test.json: admin.ui.namespace: expected a static namespace path"
            ),
            (#"{"admin": {"ui": {"auth": false, "mdoe": "production"}}}"#, "test.json: admin.ui.mdoe: unknown setting"),
        ])
    func settingsMistakes(json: String, message: String) {
        do {
            _ = try apply(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".hasPrefix(message), "\(error)")
        }
    }

    func attached(_ settings: AdminUISettings) throws -> (AdminUI, SocketIOServer) {
        let ui = AdminUI(settings: settings, clustered: false, logger: Logger(label: "test"))
        let socketIO = SocketIOServer(observer: ui, logger: Logger(label: "test"))
        try socketIO.register("/chat", handler: NothingHandler())
        try ui.attach(to: socketIO, backplane: nil, clientsCount: { 7 })
        return (ui, socketIO)
    }

    struct NothingHandler: SocketIONamespaceHandler {}

    @Test("server_stats carries upstream's fields; aggregated counters are taken once, per second")
    func serverStats() throws {
        let (ui, _) = try attached(AdminUISettings(authentication: .none))
        ui.messageReceived(bytes: 10)
        ui.messageReceived(bytes: 5)
        ui.messageSent(bytes: 40)
        let events = ui.takeAggregatedEvents(now: 1_700_000_001_234)
        #expect(
            events == [
                ["timestamp": 1_700_000_001_000, "type": "packetsIn", "count": 2],
                ["timestamp": 1_700_000_001_000, "type": "bytesIn", "count": 15],
                ["timestamp": 1_700_000_001_000, "type": "packetsOut", "count": 1],
                ["timestamp": 1_700_000_001_000, "type": "bytesOut", "count": 40],
            ])
        #expect(ui.takeAggregatedEvents(now: 1_700_000_002_000).isEmpty)
        let stats = try #require(ui.serverStats())
        #expect(stats["serverId"]?.stringValue == ui.serverID)
        #expect(stats["clientsCount"] == 7)
        #expect(stats["pollingClientsCount"] == 0)
        #expect(stats["pid"]?.intValue == Int(getpid()))
        #expect(stats["uptime"]?.numberValue != nil)
        #expect(stats["aggregatedEvents"] == [])
        #expect(stats["namespaces"] == [["name": "/admin", "socketsCount": 0], ["name": "/chat", "socketsCount": 0]])
    }

    @Test("config announces the commands unless read-only, and ALL_EVENTS only in development")
    func features() throws {
        var settings = AdminUISettings(authentication: .none)
        #expect(
            try attached(settings).0.supportedFeatures == [
                "EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS",
            ])
        settings.readonly = true
        settings.mode = .production
        #expect(try attached(settings).0.supportedFeatures == ["AGGREGATED_EVENTS"])
    }

    @Test("Malformed commands get a clear error and do nothing")
    func malformedCommands() throws {
        let (ui, _) = try attached(AdminUISettings(authentication: .none))
        let cases: [(String, [JSONValue], String)] = [
            ("drop", ["/chat"], "unknown command 'drop'"),
            ("join", [], "join: the first argument must be a namespace"),
            ("join", ["/chat"], "join: the second argument must be a room name"),
            ("join", ["/chat", "room", 5], "join: the filter must be a room name or null"),
            ("leave", ["/nowhere", "room"], "leave: no namespace /nowhere on this server"),
            ("_disconnect", ["/chat", "yes"], "_disconnect: the second argument must be true or false"),
            ("emit", ["/chat", .null], "emit: the third argument must be an event name"),
        ]
        for (command, arguments, expected) in cases {
            #expect(ui.perform(command, arguments, actor: "test") == expected)
        }
        var readonly = AdminUISettings(authentication: .none)
        readonly.readonly = true
        #expect(try attached(readonly).0.perform("join", ["/chat", "room"], actor: "test") == "the Admin UI is read-only on this server")
    }

    @Test("emit is checked like the CLI's broadcast: a payload the validator refuses is not sent")
    func emitIsValidated() throws {
        let ui = AdminUI(settings: AdminUISettings(authentication: .none), clustered: false, logger: Logger(label: "test"))
        let socketIO = SocketIOServer(observer: ui, logger: Logger(label: "test"))
        try socketIO.register("/chat", handler: NothingHandler())
        let seen = NIOLockedValueBox<[String]>([])
        try ui.attach(to: socketIO, backplane: nil, clientsCount: { 0 }) { event, arguments in
            seen.withLockedValue { $0.append("\(event) \(arguments)") }
            return arguments.arrayValue?.first?["text"]?.stringValue == nil ? "the payload does not match the schema of '\(event)'" : nil
        }
        let actions = NIOLockedValueBox<[OperatorActionRecord]>([])
        ui.setActionHandler { action in actions.withLockedValue { $0.append(action) } }
        #expect(ui.perform("emit", ["/chat", .null, "announce", ["n": 1]], actor: "test") == "emit: the payload does not match the schema of 'announce'")
        #expect(actions.withLockedValue { $0.isEmpty })
        #expect(ui.perform("emit", ["/chat", .null, "announce", ["text": "hi"]], actor: "test") == nil)
        #expect(actions.withLockedValue { $0.map(\.reason) } == ["announce"])
        #expect(seen.withLockedValue { $0.count } == 2)
    }

    @Test("Session ids are 16 hex digits and expire")
    func sessions() throws {
        var settings = AdminUISettings(authentication: .basic(username: "a", passwordHash: Self.vectors[0].hash))
        settings.sessionLifetime = 60_000
        let (ui, _) = try attached(settings)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let id = ui.newSession(now: start)
        #expect(id.count == 16 && id.allSatisfy(\.isHexDigit))
        #expect(ui.newSession(now: start) != id)
        #expect(!ui.isValidSession("0123456789abcdef", now: start))
        #expect(ui.isValidSession(id, now: start + .milliseconds(59_999)))
        #expect(!ui.isValidSession(id, now: start + .milliseconds(60_000)))
    }

    @Test(
        "Times are written as JavaScript writes dates (values from Python's datetime)",
        arguments: [
            (Int64(0), "1970-01-01T00:00:00.000Z", "Thu Jan 01 1970 00:00:00"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z", "Tue Feb 29 2000 00:00:00"),
            (1_764_680_621_123, "2025-12-02T13:03:41.123Z", "Tue Dec 02 2025 13:03:41"),
            (4_102_444_799_999, "2099-12-31T23:59:59.999Z", "Thu Dec 31 2099 23:59:59"),
        ])
    func dates(milliseconds: Int64, iso: String, javascript: String) {
        #expect(AdminUI.isoTimestamp(milliseconds) == .string(iso))
        #expect(AdminUI.jsDateString(milliseconds) == javascript + " GMT+0000 (Coordinated Universal Time)")
    }
}
