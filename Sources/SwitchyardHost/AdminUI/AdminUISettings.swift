import SwitchyardJSON

/// `admin.ui`: the socket.io Admin UI namespace (`@socket.io/admin-ui` 0.5's server side).
///
/// ```json
/// "admin": { "ui": { "auth": { "username": "admin", "passwordHash": "$2b$10$…" }, "mode": "production" } }
/// ```
public struct AdminUISettings: Sendable, Hashable {
    public enum Authentication: Sendable, Hashable {
        /// `"auth": false`: anyone reaching the listener may connect (development only).
        case none
        /// `{"username", "passwordHash"}`: the password is checked against a bcrypt hash.
        case basic(username: String, passwordHash: String)
    }

    /// What the UI is sent, as upstream's `mode` option.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Sockets, rooms and every event (`all_sockets`, `socket_connected`, …,
        /// `event_received`/`event_sent`): per-event work while an Admin UI is configured.
        case development
        /// Only `server_stats` with its aggregated counters.
        case production
    }

    public var authentication: Authentication
    public var mode: Mode = .development
    /// The namespace the UI connects to.
    public var namespace = "/admin"
    /// No commands (`join`, `leave`, `_disconnect`, `emit`) are offered or obeyed.
    public var readonly = false
    /// How this server is named in the UI; nil: the host name (with the process id when
    /// the server is part of a Redis cluster, so nodes on one machine stay apart).
    public var serverID: String?
    /// How long a session id handed to the UI stays valid, in milliseconds (a day, as
    /// upstream's Redis store).
    public var sessionLifetime = 86_400_000

    public init(authentication: Authentication) {
        self.authentication = authentication
    }

    init(reading reader: inout ConfigReader) throws(ConfigurationError) {
        switch reader.raw("auth") {
        case .bool(false):
            authentication = .none
        case .some(let value) where value.objectValue != nil:
            var auth = try ConfigReader(source: reader.source, path: reader.path + ".auth", value: value)
            guard let username = try auth.string("username"), !username.isEmpty else {
                throw auth.failure("username", "a user name is required")
            }
            guard let hash = try auth.string("passwordHash") else {
                throw auth.failure(
                    "passwordHash",
                    "a bcrypt hash is required (e.g. python3 -c 'import bcrypt; print(bcrypt.hashpw(b\"secret\", bcrypt.gensalt()).decode())')"
                )
            }
            guard BcryptHash.isWellFormed(hash) else {
                throw auth.failure(
                    "passwordHash", "not a bcrypt hash: expected $2a$, $2b$ or $2y$, a cost of 04 to 31 and 53 characters of salt and hash")
            }
            try auth.finish()
            authentication = .basic(username: username, passwordHash: hash)
        case .some(let value):
            throw reader.failure("auth", "expected false or {\"username\", \"passwordHash\"}, found \(value.typeName)")
        case nil:
            throw reader.failure("auth", "required: {\"username\", \"passwordHash\"}, or false to let anyone in (development only)")
        }
        if let mode = try reader.string("mode") {
            guard let parsed = Mode(rawValue: mode) else {
                throw reader.failure("mode", "expected one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.mode = parsed
        }
        if let namespace = try reader.string("namespace") {
            guard namespace.hasPrefix("/"), !namespace.contains(":") else {
                throw reader.failure("namespace", "expected a static namespace path such as /admin")
            }
            self.namespace = namespace
        }
        readonly = try reader.bool("readonly") ?? readonly
        serverID = try reader.string("serverId")
        sessionLifetime = try reader.int("sessionLifetime", range: 1_000...31_536_000_000) ?? sessionLifetime
    }
}
