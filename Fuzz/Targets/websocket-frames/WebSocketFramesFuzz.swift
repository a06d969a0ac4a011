// Client-to-server WebSocket framing (Sources/EngineIO/Server/WebSocketFraming.swift).
//
// Input: [limit byte][n][n chunk-size bytes][the byte stream from the client].
// Properties:
// - Chunking does not matter: the stream given whole, one byte at a time and in the chunk
//   sizes the input chooses yields the same messages and then the same failure (or the same
//   number of bytes left waiting).
// - decode → encode → decode: the messages written again as masked client frames (each
//   data message fragmented in two when it can be) parse to the same messages.
import FuzzSupport
import NIOCore

@testable import EngineIO

typealias Parser = WebSocketMessageParser

/// What a parser made of a stream: its messages, then a failure or the bytes still buffered.
struct Outcome: Equatable {
    var messages: [Parser.Message] = []
    var failure: Parser.Failure?
    var buffered = 0
}

func parse(_ chunks: [ArraySlice<UInt8>], limit: Int) -> Outcome {
    var parser = Parser(maxMessageSize: limit, maxFragments: 8)
    var outcome = Outcome()
    do throws(Parser.Failure) {
        for chunk in chunks {
            parser.append(ByteBuffer(bytes: chunk))
            while let message = try parser.next() { outcome.messages.append(message) }
        }
        outcome.buffered = parser.bufferedBytes
    } catch {
        outcome.failure = error
        // A failed parser stays failed.
        do throws(Parser.Failure) {
            _ = try parser.next()
            propertyViolated("a parser that failed with \(error) parsed again")
        } catch {
            require(error == outcome.failure, "second failure \(error) differs from \(outcome.failure!)")
        }
    }
    return outcome
}

/// A masked client frame (RFC 6455 §5.2); the key comes from `seed`.
func clientFrame(fin: Bool, opcode: UInt8, _ payload: [UInt8], seed: UInt8) -> [UInt8] {
    var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
    if payload.count <= 125 {
        frame.append(0x80 | UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
        frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    } else {
        frame.append(0x80 | 127)
        frame += (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> (8 * $0)) }
    }
    let key: [UInt8] = [seed, seed &* 7 &+ 1, seed ^ 0x5A, ~seed]
    frame += key
    frame += payload.enumerated().map { $0.element ^ key[$0.offset & 3] }
    return frame
}

func frames(for message: Parser.Message, seed: UInt8) -> [UInt8] {
    switch message {
    case .text(let bytes), .binary(let bytes):
        let opcode: UInt8
        if case .text = message { opcode = 1 } else { opcode = 2 }
        let payload = Array(bytes.readableBytesView)
        // Split anywhere, even inside a UTF-8 sequence: validity is checked on the whole message.
        let cut = payload.isEmpty ? 0 : Int(seed) % (payload.count + 1)
        return clientFrame(fin: false, opcode: opcode, Array(payload[..<cut]), seed: seed)
            + clientFrame(fin: true, opcode: 0, Array(payload[cut...]), seed: seed &+ 1)
    case .ping(let bytes): return clientFrame(fin: true, opcode: 9, Array(bytes.readableBytesView), seed: seed)
    case .pong: return clientFrame(fin: true, opcode: 0xA, [], seed: seed)
    case .close(let bytes): return clientFrame(fin: true, opcode: 8, Array(bytes.readableBytesView), seed: seed)
    }
}

func fuzzWebSocketFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard input.count >= 2 else { return 0 }
    // Limits from 1 byte to 64 KiB, so "too large" is reachable.
    let limit = 1 + Int(input[0]) * Int(input[0])
    let controlCount = Int(input[1] % 8) + 1
    guard input.count >= 2 + controlCount else { return 0 }
    var sizes = ChunkSizes(Array(input[2..<(2 + controlCount)]))
    let stream = Array(input[(2 + controlCount)...])

    let whole = parse([stream[...]], limit: limit)
    let bytewise = parse(stream.indices.map { stream[$0...$0] }, limit: limit)
    let chunked = parse(sizes.split(stream), limit: limit)
    require(whole == bytewise, "one byte at a time: \(bytewise) differs from the whole stream: \(whole)")
    require(whole == chunked, "in chunks: \(chunked) differs from the whole stream: \(whole)")

    // Every message is within the limit, and a text message is UTF-8.
    for message in whole.messages {
        switch message {
        case .text(let bytes):
            require(bytes.readableBytes <= limit, "a text message over the limit")
            require(String(validating: bytes.readableBytesView, as: UTF8.self) != nil, "a text message that is not UTF-8")
        case .binary(let bytes): require(bytes.readableBytes <= limit, "a binary message over the limit")
        case .ping(let bytes), .close(let bytes): require(bytes.readableBytes <= 125, "a control frame over 125 bytes")
        case .pong: break
        }
    }

    // decode → encode → decode.
    let encoded = whole.messages.enumerated().flatMap { frames(for: $0.element, seed: UInt8(truncatingIfNeeded: $0.offset)) }
    let again = parse([encoded[...]], limit: limit)
    require(again.failure == nil && again.buffered == 0, "re-encoded messages failed to parse: \(again)")
    require(again.messages == whole.messages, "decode → encode → decode changed the messages")
    return 0
}
