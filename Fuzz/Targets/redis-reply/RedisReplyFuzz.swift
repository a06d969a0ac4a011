// The Redis reply decoder (Sources/SwitchyardRedis/RESP: hiredis's reader behind
// RedisReplyParser), which reads everything the Redis backplane receives.
//
// Input: [n][n chunk-size bytes][the byte stream from the server].
// Properties:
// - Chunking does not matter: the stream fed whole, one byte at a time and in the chunks
//   the input chooses gives the same replies, then the same error (or none).
// - decode → encode → decode: the replies written again in RESP2 parse to the same replies.
import FuzzSupport
import NIOCore
import SwitchyardRedis

struct Outcome: Equatable {
    var replies: [RedisValue] = []
    var error: RedisProtocolError?
}

func parse(_ chunks: [ArraySlice<UInt8>]) -> Outcome {
    let parser = RedisReplyParser()
    var outcome = Outcome()
    do throws(RedisProtocolError) {
        for chunk in chunks {
            try parser.feed(ByteBuffer(bytes: chunk))
            while let reply = try parser.next() { outcome.replies.append(reply) }
        }
    } catch {
        outcome.error = error
    }
    return outcome
}

/// RESP2, as a Redis server writes it.
func write(_ value: RedisValue, into bytes: inout [UInt8]) {
    switch value {
    case .simpleString(let text): bytes += Array("+\(text)\r\n".utf8)
    case .error(let text): bytes += Array("-\(text)\r\n".utf8)
    case .integer(let value): bytes += Array(":\(value)\r\n".utf8)
    case .bulkString(let buffer):
        bytes += Array("$\(buffer.readableBytes)\r\n".utf8)
        bytes += Array(buffer.readableBytesView)
        bytes += Array("\r\n".utf8)
    case .null: bytes += Array("$-1\r\n".utf8)
    case .array(let elements):
        bytes += Array("*\(elements.count)\r\n".utf8)
        for element in elements { write(element, into: &bytes) }
    }
}

func fuzzRedisReply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let first = input.first else { return 0 }
    let controlCount = Int(first % 8) + 1
    guard input.count >= 1 + controlCount else { return 0 }
    var sizes = ChunkSizes(Array(input[1..<(1 + controlCount)]))
    let stream = Array(input[(1 + controlCount)...])

    let whole = parse([stream[...]])
    let bytewise = parse(stream.indices.map { stream[$0...$0] })
    let chunked = parse(sizes.split(stream))
    require(whole == bytewise, "one byte at a time: \(bytewise) differs from the whole stream: \(whole)")
    require(whole == chunked, "in chunks: \(chunked) differs from the whole stream: \(whole)")

    var encoded: [UInt8] = []
    for reply in whole.replies { write(reply, into: &encoded) }
    let again = parse([encoded[...]])
    require(again.error == nil, "re-encoded replies do not parse: \(again.error!)")
    require(again.replies == whole.replies, "decode → encode → decode changed the replies: \(whole.replies) → \(again.replies)")
    return 0
}
