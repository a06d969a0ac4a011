import NIOCore

/// Where Redis is and how a client talks to it.
///
/// ```swift
/// var redis = try RedisConfiguration(url: "redis://app:secret@10.0.0.5:6379/2")
/// redis.connectTimeout = .seconds(2)
/// ```
public struct RedisConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// ACL user (`AUTH user password`); nil sends `AUTH password` when there is a password.
    public var username: String?
    public var password: String?
    /// The database `SELECT`ed on the command connection (pub/sub ignores databases).
    public var database: Int

    /// Longest time to open the TCP connection and finish AUTH/SELECT/PING.
    public var connectTimeout: TimeAmount = .seconds(5)
    /// A reply older than this means Redis is stuck (paused, overloaded, a dead peer the
    /// kernel has not noticed): the connection is dropped and reopened.
    public var commandTimeout: TimeAmount = .seconds(5)
    /// How often an idle connection is probed with `PING` (and replies checked for age).
    public var healthCheckInterval: TimeAmount = .seconds(1)
    /// Delays between reconnection attempts.
    public var reconnectBackoff = RedisReconnectBackoff()
    /// Most commands written and not yet answered (the pipeline depth).
    public var maxInFlight: Int = 1024
    /// Most commands held while disconnected or while the pipeline is full; more are
    /// dropped and counted.
    public var maxBufferedCommands: Int = 10_000
    /// Most bytes of commands held (the same rule, in bytes).
    public var maxBufferedBytes: Int = 16 * 1024 * 1024

    public init(host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]` (port 6379 and db 0 by default;
    /// user and password may be percent-encoded; IPv6 hosts in brackets).
    public init(url: String) throws(RedisConfigurationError) {
        let schemePrefix = "redis://"
        guard url.hasPrefix(schemePrefix) else {
            if url.hasPrefix("rediss://") { throw .unsupported("TLS (rediss://) is not supported") }
            throw .invalidURL(url, "expected redis://[user:password@]host:port[/db]")
        }
        var rest = Substring(url.dropFirst(schemePrefix.count))
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = String(credentials[..<colon])
                username = user.isEmpty ? nil : try Self.percentDecoded(user, url: url)
                password = try Self.percentDecoded(String(credentials[credentials.index(after: colon)...]), url: url)
            } else if !credentials.isEmpty {
                // `redis://secret@host`: a lone credential is the password, as redis-cli reads it.
                password = try Self.percentDecoded(String(credentials), url: url)
            }
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .invalidURL(url, "unterminated IPv6 address") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw .invalidURL(url, "unexpected text after the host")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        if host.isEmpty { host = "127.0.0.1" }
        var port = 6379
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else { throw .invalidURL(url, "invalid port '\(portText)'") }
            port = parsed
        }
        var database = 0
        if !path.isEmpty {
            guard let parsed = Int(path), parsed >= 0 else { throw .invalidURL(url, "invalid database '\(path)'") }
            database = parsed
        }
        self.init(host: String(host), port: port, username: username, password: password, database: database)
    }

    /// The URL without the password (for logs).
    public var redactedURL: String {
        var credentials = ""
        if let username { credentials = username + (password == nil ? "" : ":***") + "@" } else if password != nil { credentials = ":***@" }
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "redis://\(credentials)\(host):\(port)" + (database == 0 ? "" : "/\(database)")
    }

    private static func percentDecoded(_ text: String, url: String) throws(RedisConfigurationError) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard iterator.count >= 2,
                    let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
                else { throw .invalidURL(url, "invalid percent-encoding") }
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

public enum RedisConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidURL(String, String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .invalidURL(_, let reason): return "invalid Redis URL: \(reason)"
        case .unsupported(let what): return "unsupported Redis URL: \(what)"
        }
    }
}

/// Exponential backoff with jitter between reconnection attempts.
///
/// Attempt `n` (from 0) waits `min(maximum, initial × 2ⁿ)`, less a random share of up to
/// `jitter` of it, so a cluster that lost Redis together does not reconnect in lockstep.
public struct RedisReconnectBackoff: Sendable, Hashable {
    public var initial: TimeAmount
    public var maximum: TimeAmount
    /// Share of the delay (0…1) that is randomised away.
    public var jitter: Double

    public init(initial: TimeAmount = .milliseconds(100), maximum: TimeAmount = .seconds(10), jitter: Double = 0.5) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay before attempt `attempt`, with `random` in 0…1 (injected for tests).
    public func delay(attempt: Int, random: Double) -> TimeAmount {
        let exponent = min(attempt, 30)
        let base = min(Double(initial.nanoseconds) * Double(1 << exponent), Double(maximum.nanoseconds))
        return .nanoseconds(Int64(base * (1 - jitter * min(max(random, 0), 1))))
    }
}
