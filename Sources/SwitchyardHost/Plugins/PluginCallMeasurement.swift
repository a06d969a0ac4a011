import CSwitchyardPlugin
import Foundation
import NIOCore
import SocketIO
import SwitchyardJSON

/// Measures what a call through the plugin boundary costs, for `switchyard plugins measure`
/// and the benchmark suite.
///
/// Times one synchronous operation called the way the server calls it (building the
/// `sy_invocation`, the C call, the SDK's trampoline, the completion through the token
/// table, the result check), against a baseline that does the host's share of that work
/// in Swift with no plugin: copying the arguments in and splitting the answer out. The
/// difference is the price of the ABI boundary per call.
public enum PluginCallMeasurement {
    public struct Result: Sendable {
        public var operation: String
        public var iterations: Int
        public var nanosecondsPerCall: Double
        public var baselineNanosecondsPerCall: Double
        public var overheadNanosecondsPerCall: Double { nanosecondsPerCall - baselineNanosecondsPerCall }
    }

    public enum Failure: Error, CustomStringConvertible {
        case unknownOperation(String)
        case notSynchronous(String)
        case invalidArguments(String)

        public var description: String {
            switch self {
            case .unknownOperation(let key): return "no operation '\(key)' is loaded"
            case .notSynchronous(let key): return "operation '\(key)' did not complete during the call; only synchronous operations can be measured"
            case .invalidArguments(let text): return "arguments must be a JSON array: \(text)"
            }
        }
    }

    /// Calls `operation` `iterations` times with `arguments` (a JSON array) and a
    /// representative context, after a warm-up.
    public static func run(runtime: PluginRuntime, operation key: String, arguments: String, iterations: Int) throws -> Result {
        guard let operation = runtime.registry.operation(key) else { throw Failure.unknownOperation(key) }
        guard let parsed = try? JSONValue(parsing: arguments), parsed.arrayValue != nil else { throw Failure.invalidArguments(arguments) }
        let argumentBytes = parsed.serializedBytes()
        let context = Array(#"{"socketId":"AAAAAAAAAAAAAAAAAAAA","namespace":"/","params":{},"handshake":{"headers":{"host":"localhost"},"query":{},"auth":{},"address":"127.0.0.1","transport":"websocket"},"identity":null,"tenant":null,"recovered":false,"rooms":["AAAAAAAAAAAAAAAAAAAA"]}"#.utf8)

        // The plugin path.
        func callOnce() throws {
            let collector = MeasurementCollector()
            let token = PendingTable.shared.insert(.measurement(collector))
            argumentBytes.withUnsafeBytes { arguments in
                runtime.withInvocation(event: key, arguments: arguments, attachments: [], context: context, plugin: operation.plugin) { invocation in
                    operation.invoke(operation.userData, invocation, operationCompletionTrampoline, UnsafeMutableRawPointer(bitPattern: UInt(token)))
                }
            }
            guard let bytes = collector.result else {
                _ = PendingTable.shared.remove(token)
                throw Failure.notSynchronous(key)
            }
            var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            _ = try? SocketIOArguments(splittingArray: buffer)
        }
        // The baseline: the same copies and the same split, no plugin.
        func baselineOnce() {
            let copy = argumentBytes.withUnsafeBufferPointer { Array($0) }
            let contextCopy = context.withUnsafeBufferPointer { Array($0) }
            var buffer = ByteBufferAllocator().buffer(capacity: copy.count)
            buffer.writeBytes(copy)
            _ = try? SocketIOArguments(splittingArray: buffer)
            precondition(contextCopy.count == context.count)
        }

        for _ in 0..<min(iterations, 10_000) {
            try callOnce()
            baselineOnce()
        }
        let clock = ContinuousClock()
        let plugin = try clock.measure { for _ in 0..<iterations { try callOnce() } }
        let baseline = clock.measure { for _ in 0..<iterations { baselineOnce() } }
        func perCall(_ duration: Duration) -> Double {
            let (seconds, attoseconds) = duration.components
            return (Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(iterations)
        }
        return Result(operation: key, iterations: iterations, nanosecondsPerCall: perCall(plugin), baselineNanosecondsPerCall: perCall(baseline))
    }
}

/// Receives a measured call's completion (always on the calling thread, for a synchronous operation).
final class MeasurementCollector: @unchecked Sendable {
    var result: [UInt8]?
}
