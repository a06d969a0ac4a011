// Shared pieces of the libFuzzer targets in Fuzz/Targets (see docs/FUZZING.md).
//
// A target is a function that decodes one input with a real parser and checks a property,
// and a main.swift that hands it to libFuzzer (`runFuzzer`). A violated property stops the
// process with `propertyViolated`, which libFuzzer reports like a crash and saves the input.
import CFuzzerDriver

#if canImport(Glibc)
    import Glibc
#endif

/// Runs libFuzzer with the process's arguments and `test` as the target; never returns.
///
/// SwiftPM gives an executable its own main(), so libFuzzer's is not linked; this is the
/// documented alternative (LLVMFuzzerRunDriver).
public func runFuzzer(_ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, test))
}

/// Stops the run: the input broke a property. libFuzzer saves it as `crash-<sha1>`.
public func propertyViolated(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("property violated: \(message())", file: file, line: line)
}

/// Stops the run unless `condition` holds.
@inline(__always)
public func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { propertyViolated(message(), file: file, line: line) }
}

/// The input as an array (libFuzzer's pointer is only valid during the call).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Chunk sizes drawn from a few control bytes, for feeding one stream in pieces.
///
/// The sizes repeat once the control bytes are used up; a zero byte means "one byte".
public struct ChunkSizes {
    private let control: [UInt8]
    private var position = 0

    public init(_ control: [UInt8]) { self.control = control.isEmpty ? [0] : control }

    public mutating func next() -> Int {
        defer { position += 1 }
        return Int(control[position % control.count]) + 1
    }

    /// `bytes` cut into consecutive chunks.
    public mutating func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + next())
            chunks.append(bytes[start..<end])
            start = end
        }
        return chunks
    }
}

/// Splits `bytes` at every `separator` (the separator is dropped; n separators give n + 1 parts).
public func parts(of bytes: [UInt8], separatedBy separator: UInt8) -> [[UInt8]] {
    bytes.split(separator: separator, omittingEmptySubsequences: false).map(Array.init)
}

/// Hex for messages (short inputs only).
public func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    bytes.prefix(256).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
