import Foundation
import SwitchyardJSON

#if canImport(Glibc)
import Glibc
#endif

/// What loading one plugin in a child process showed.
public struct PreflightReport: Sendable, Hashable {
    public var file: String
    /// The plugin's name and version when it loaded.
    public var plugin: String?
    public var version: String?
    public var operations: Int
    public var failure: String?

    public var succeeded: Bool { failure == nil }
}

/// Loads plugins in child processes (`switchyard plugins probe FILE`), so that a plugin
/// that traps or crashes while loading yields a report instead of taking down the process
/// that asked. `serve` runs it before loading plugins in-process, unless told not to.
public enum PluginPreflight {
    /// The running executable, which provides the `plugins probe` subcommand.
    public static var currentExecutable: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Probes each file alone, then (if all loaded) all of them together, which finds
    /// duplicate keys and dangling routes across plugins.
    public static func run(files: [String], routes: [RouteConfiguration] = [], executable: String = currentExecutable, timeout: TimeInterval = 20) -> (reports: [PreflightReport], combined: String?) {
        let reports = files.map { probe(arguments: [$0], file: $0, executable: executable, timeout: timeout) }
        guard reports.allSatisfy(\.succeeded), files.count > 0 else { return (reports, nil) }
        var arguments = files
        for route in routes {
            guard let operation = route.operation else { continue }
            arguments += ["--route", "\(route.namespace)|\(route.event)|\(operation)|\(route.ack)"]
        }
        let combined = probe(arguments: arguments, file: files.joined(separator: ", "), executable: executable, timeout: timeout)
        return (reports, combined.failure)
    }

    static func probe(arguments: [String], file: String, executable: String, timeout: TimeInterval) -> PreflightReport {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["plugins", "probe"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        var report = PreflightReport(file: file, plugin: nil, version: nil, operations: 0, failure: nil)
        do {
            try process.run()
        } catch {
            report.failure = "\(file): cannot start the preflight process \(executable): \(error)"
            return report
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            // SIGKILL: a child may have SIGTERM blocked (inherited signal mask).
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            report.failure = "\(file): still loading after \(Int(timeout)) s (killed)"
            return report
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        if process.terminationReason == .uncaughtSignal {
            report.failure = PluginLoadError(file: file, reason: .crashed(signal: process.terminationStatus)).description
            return report
        }
        guard let value = try? JSONValue(parsing: Array(data)) else {
            report.failure = "\(file): the preflight process exited with status \(process.terminationStatus) and no report"
            return report
        }
        report.plugin = value["plugin"]?.stringValue
        report.version = value["version"]?.stringValue
        report.operations = value["operations"]?.intValue ?? 0
        if value["ok"] != .bool(true) {
            report.failure = value["error"]?.stringValue ?? "\(file): failed"
        }
        return report
    }
}
