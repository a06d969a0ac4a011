import NIOCore
import SwitchyardJSON

/// A guard: built in, or contributed by a plugin (by name).
public enum GuardReference: Hashable, Sendable, CustomStringConvertible {
    /// Refuses anonymous connections (no identity resolved).
    case requireIdentity
    /// Refuses identities without this role.
    case requireRole(String)
    /// A plugin's guard, by the name it declares.
    case plugin(String)

    public var description: String {
        switch self {
        case .requireIdentity: return "require-identity"
        case .requireRole(let role): return "require-role(\(role))"
        case .plugin(let name): return name
        }
    }
}

/// One step of a namespace's connect chain, run before a socket joins.
public enum ConnectStep: Hashable, Sendable, CustomStringConvertible {
    /// Only these browser origins (exact, `*`, `https://*.example.com`); requests without an
    /// `Origin` header pass.
    case origins([String])
    /// At most `total` sockets in the namespace on this node, `perAddress` from one address.
    case connectionLimit(total: Int?, perAddress: Int?)
    /// Runs an identity resolver; its refusal refuses the connection.
    case identity(resolver: String)
    case `guard`(GuardReference)

    public var description: String {
        switch self {
        case .origins(let origins): return "origins(\(origins.joined(separator: ", ")))"
        case .connectionLimit(let total, let perAddress):
            return "connection-limit(total: \(total.map(String.init) ?? "-"), per address: \(perAddress.map(String.init) ?? "-"))"
        case .identity(let resolver): return "identity(\(resolver))"
        case .guard(let reference): return "guard(\(reference))"
        }
    }
}

/// Whose events a rate limit counts together.
public enum RateLimitScope: String, Hashable, Sendable, CaseIterable {
    /// Each socket has its own bucket.
    case connection
    /// One bucket per identity across all its sockets (anonymous sockets count by address).
    case identity
    /// One bucket per remote address.
    case address
}

/// A token bucket limit: `rate` events per second on average, bursts of up to `burst`.
public struct RateLimit: Hashable, Sendable {
    public var rate: Double
    public var burst: Int
    public var scope: RateLimitScope
    /// Events this limit does not count.
    public var exempt: Set<String>

    public init(rate: Double, burst: Int, scope: RateLimitScope = .connection, exempt: Set<String> = []) {
        self.rate = rate
        self.burst = burst
        self.scope = scope
        self.exempt = exempt
    }
}

/// One step of an event chain, run before the operation.
public enum EventStep: Hashable, Sendable, CustomStringConvertible {
    /// Refuses events whose payload (JSON text plus attachments) exceeds `maxBytes`, before
    /// the JSON is read.
    case sizeLimit(maxBytes: Int)
    case rateLimit(RateLimit)
    case `guard`(GuardReference)
    /// Validates the payload against the operation's schema.
    case validate

    public var description: String {
        switch self {
        case .sizeLimit(let maxBytes): return "size-limit(\(maxBytes) bytes)"
        case .rateLimit(let limit):
            var text = "rate-limit(\(limit.rate)/s, burst \(limit.burst), per \(limit.scope.rawValue)"
            if !limit.exempt.isEmpty { text += ", exempt: \(limit.exempt.sorted().joined(separator: ", "))" }
            return text + ")"
        case .guard(let reference): return "guard(\(reference))"
        case .validate: return "validate"
        }
    }

    /// Steps that need no decoded arguments and answer at once run before decoding.
    var runsBeforeDecoding: Bool {
        switch self {
        case .sizeLimit, .rateLimit, .guard(.requireIdentity), .guard(.requireRole): return true
        case .guard(.plugin), .validate: return false
        }
    }
}

/// Disconnects a socket that keeps violating its namespace's limits.
public struct StrikePolicy: Hashable, Sendable {
    /// Violations tolerated within `window`; the next one disconnects.
    public var limit: Int
    public var window: TimeAmount

    public init(limit: Int, window: TimeAmount) {
        self.limit = limit
        self.window = window
    }
}

/// What a namespace does with an event that no route serves.
public enum UnknownEventPolicy: String, Hashable, Sendable, CaseIterable {
    /// The client is told: an error ack (or an `error` event) of kind `not_found`, code
    /// `unknown_event`. The default: a typo in an event name shows up at once.
    case error
    /// Nothing is sent back, as socket.io does for an event nobody listens to (the official
    /// protocol suites expect it); an ack the client asked for never comes.
    case ignore
}

/// The middleware settings of a namespace (or the defaults for all).
public struct MiddlewareConfiguration: Hashable, Sendable {
    public var connect: [ConnectStep]?
    public var events: [EventStep]?
    public var strikes: StrikePolicy?
    public var unknownEvents: UnknownEventPolicy?

    public init(connect: [ConnectStep]? = nil, events: [EventStep]? = nil, strikes: StrikePolicy? = nil, unknownEvents: UnknownEventPolicy? = nil) {
        self.connect = connect
        self.events = events
        self.strikes = strikes
        self.unknownEvents = unknownEvents
    }
}

extension ConfigReader {
    /// Reads `connect`, `events`, `strikes` and `unknownEvents` of a namespace or of the defaults.
    mutating func middleware() throws(ConfigurationError) -> MiddlewareConfiguration {
        var configuration = MiddlewareConfiguration()
        if let steps = try objects("connect") {
            configuration.connect = []
            for var step in steps {
                configuration.connect!.append(try step.connectStep())
                try step.finish()
            }
        }
        configuration.events = try eventSteps("events")
        if var strikes = try object("strikes") {
            let limit = try strikes.int("limit", range: 1...1_000_000) ?? 10
            let window = try strikes.int("window", range: 1...86_400_000) ?? 60_000
            configuration.strikes = StrikePolicy(limit: limit, window: .milliseconds(Int64(window)))
            try strikes.finish()
        }
        if let policy = try string("unknownEvents") {
            guard let parsed = UnknownEventPolicy(rawValue: policy) else {
                throw error("unknownEvents", "expected one of \(UnknownEventPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.unknownEvents = parsed
        }
        return configuration
    }

    mutating func eventSteps(_ key: String) throws(ConfigurationError) -> [EventStep]? {
        guard let steps = try objects(key) else { return nil }
        var result: [EventStep] = []
        for var step in steps {
            result.append(try step.eventStep())
            try step.finish()
        }
        return result
    }

    private func problem(_ text: String) -> ConfigurationError {
        ConfigurationError(source: source, keyPath: path, problem: text)
    }

    mutating func connectStep() throws(ConfigurationError) -> ConnectStep {
        guard let use = try string("use") else { throw problem("a step needs 'use'") }
        switch use {
        case "origins":
            guard let allow = try strings("allow"), !allow.isEmpty else { throw problem("origins needs a non-empty 'allow' list") }
            return .origins(allow)
        case "connection-limit":
            let total = try int("total", range: 1...10_000_000)
            let perAddress = try int("perAddress", range: 1...10_000_000)
            guard total != nil || perAddress != nil else { throw problem("connection-limit needs 'total' and/or 'perAddress'") }
            return .connectionLimit(total: total, perAddress: perAddress)
        case "identity":
            guard let resolver = try string("resolver") else { throw problem("identity needs 'resolver'") }
            return .identity(resolver: resolver)
        case "guard":
            return .guard(try guardReference())
        default:
            throw problem("unknown connect step '\(use)' (origins, connection-limit, identity, guard)")
        }
    }

    mutating func eventStep() throws(ConfigurationError) -> EventStep {
        guard let use = try string("use") else { throw problem("a step needs 'use'") }
        switch use {
        case "size-limit":
            guard let maxBytes = try int("maxBytes", range: 1...(1 << 30)) else { throw problem("size-limit needs 'maxBytes'") }
            return .sizeLimit(maxBytes: maxBytes)
        case "rate-limit":
            guard let rate = try number("rate"), rate > 0 else { throw problem("rate-limit needs a positive 'rate' (events per second)") }
            let burst = try int("burst", range: 1...1_000_000) ?? max(1, Int(rate.rounded(.up)))
            let scopeName = try string("scope") ?? "connection"
            guard let scope = RateLimitScope(rawValue: scopeName) else {
                throw problem("unknown rate-limit scope '\(scopeName)' (connection, identity, address)")
            }
            return .rateLimit(RateLimit(rate: rate, burst: burst, scope: scope, exempt: Set(try strings("exempt") ?? [])))
        case "guard":
            return .guard(try guardReference())
        case "validate":
            return .validate
        default:
            throw problem("unknown event step '\(use)' (size-limit, rate-limit, guard, validate)")
        }
    }

    mutating func guardReference() throws(ConfigurationError) -> GuardReference {
        guard let name = try string("name") else { throw problem("a guard needs 'name'") }
        switch name {
        case "require-identity": return .requireIdentity
        case "require-role":
            guard let role = try string("role") else { throw problem("require-role needs 'role'") }
            return .requireRole(role)
        default: return .plugin(name)
        }
    }
}
