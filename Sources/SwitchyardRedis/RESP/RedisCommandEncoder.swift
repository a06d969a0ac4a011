import CHiredis
import NIOCore

/// Encodes commands with hiredis's argv formatter (`redisFormatCommandArgv`): binary-safe,
/// no format strings, so no argument can be misread as a directive.
public enum RedisCommandEncoder {
    /// The RESP bytes of one command.
    ///
    /// ```swift
    /// RedisCommandEncoder.encode(["SET", "k", "v"])   // *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n
    /// ```
    public static func encode(_ arguments: [RedisArgument], allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        precondition(!arguments.isEmpty, "a Redis command needs a name")
        // One contiguous copy of every argument, then argv pointers into it.
        var joined: [UInt8] = []
        joined.reserveCapacity(arguments.reduce(0) { $0 + $1.byteCount })
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            switch argument {
            case .string(let string): joined.append(contentsOf: string.utf8)
            case .bytes(let bytes): joined.append(contentsOf: bytes.readableBytesView)
            }
            lengths.append(argument.byteCount)
        }
        if joined.isEmpty { joined.append(0) }  // a valid base pointer for empty arguments
        return joined.withUnsafeBufferPointer { storage -> ByteBuffer in
            let base = UnsafeRawPointer(storage.baseAddress!).assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = []
            argv.reserveCapacity(arguments.count)
            var offset = 0
            for length in lengths {
                argv.append(base + offset)
                offset += length
            }
            var sizes = lengths.map { size_t($0) }
            var target: UnsafeMutablePointer<CChar>?
            let count = argv.withUnsafeMutableBufferPointer { argvPointer in
                sizes.withUnsafeMutableBufferPointer { sizesPointer in
                    redisFormatCommandArgv(&target, Int32(arguments.count), argvPointer.baseAddress, sizesPointer.baseAddress)
                }
            }
            guard count >= 0, let target else {
                // hiredis only fails on allocation failure.
                fatalError("redisFormatCommandArgv failed to allocate")
            }
            defer { redisFreeCommand(target) }
            var buffer = allocator.buffer(capacity: Int(count))
            buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(count)))
            return buffer
        }
    }
}
