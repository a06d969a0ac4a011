import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server` on a free loopback port, owned by one test.
///
/// Stopped with SIGKILL: a process spawned from an async test inherits its blocked signal
/// mask, so SIGTERM may never be delivered.
final class RedisServerProcess: @unchecked Sendable {
    let port: Int
    private let extraArguments: [String]
    private var process: Process?

    init(port: Int? = nil, extraArguments: [String] = []) throws {
        self.port = try port ?? Self.freePort()
        self.extraArguments = extraArguments
    }

    static func start(extraArguments: [String] = []) async throws -> RedisServerProcess {
        let server = try RedisServerProcess(extraArguments: extraArguments)
        try await server.start()
        return server
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts (or restarts) the server and waits until it accepts connections.
    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments =
            ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        try await waitUntilAccepting()
    }

    /// Kills the server at once (no shutdown), waiting for the process to be gone.
    func kill() {
        guard let process else { return }
        self.process = nil
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    func pause() {
        guard let process else { return }
        Glibc.kill(process.processIdentifier, SIGSTOP)
    }

    func resume() {
        guard let process else { return }
        Glibc.kill(process.processIdentifier, SIGCONT)
    }

    deinit { kill() }

    private func waitUntilAccepting() async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if result == 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RedisTestError.timeout("redis-server on port \(port) did not start")
    }

    /// A port nothing listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw RedisTestError.timeout("no free port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

enum RedisTestError: Error, CustomStringConvertible {
    case timeout(String)
    case unexpected(String)

    var description: String {
        switch self {
        case .timeout(let what): return "timed out: \(what)"
        case .unexpected(let what): return "unexpected: \(what)"
        }
    }
}

/// Waits for a condition that an asynchronous event will make true, polling until a
/// deadline; fails the wait (throws) when it never does.
func waitUntil(_ what: String, timeout: Duration = .seconds(10), _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw RedisTestError.timeout(what)
}
