import NIOCore
import Testing

@testable import EngineIO

/// A client frame as RFC 6455 §5.2 lays it out, masked with `key`.
private func clientFrame(
    opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0, masked: Bool = true,
    key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D], declaredLength: UInt64? = nil
) -> [UInt8] {
    var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv << 4 | opcode]
    let length = declaredLength ?? UInt64(payload.count)
    let maskBit: UInt8 = masked ? 0x80 : 0
    if length <= 125 {
        bytes.append(maskBit | UInt8(length))
    } else if length <= 0xFFFF {
        bytes.append(maskBit | 126)
        bytes += [UInt8(length >> 8), UInt8(length & 0xFF)]
    } else {
        bytes.append(maskBit | 127)
        bytes += (0..<8).reversed().map { UInt8((length >> (8 * UInt64($0))) & 0xFF) }
    }
    guard masked else { return bytes + payload }
    bytes += key
    bytes += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    return bytes
}

private func parseAll(_ parser: inout WebSocketMessageParser) throws(WebSocketMessageParser.Failure) -> [WebSocketMessageParser.Message] {
    var messages: [WebSocketMessageParser.Message] = []
    while let message = try parser.next() { messages.append(message) }
    return messages
}

private func text(_ string: String) -> WebSocketMessageParser.Message { .text(ByteBuffer(string: string)) }

@Suite("WebSocket framing")
struct WebSocketFramingTests {
    @Test("Payload lengths on each side of the 7-, 16- and 64-bit encodings unmask exactly", arguments: [
        0, 1, 3, 7, 8, 9, 15, 125, 126, 127, 1000, 65_535, 65_536, 70_001,
    ])
    func lengths(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var parser = WebSocketMessageParser(maxMessageSize: 1_000_000)
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 2, payload)))
        #expect(try parseAll(&parser) == [.binary(ByteBuffer(bytes: payload))])
        #expect(parser.bufferedBytes == 0)
    }

    @Test("Fed one byte at a time, several frames come out whole and in order")
    func byteByByte() throws {
        let bytes = clientFrame(opcode: 1, Array("4hello".utf8)) + clientFrame(opcode: 9, [1, 2])
            + clientFrame(opcode: 1, Array(String(repeating: "x", count: 300).utf8))
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        var messages: [WebSocketMessageParser.Message] = []
        for byte in bytes {
            parser.append(ByteBuffer(bytes: [byte]))
            messages += try parseAll(&parser)
        }
        #expect(messages == [text("4hello"), .ping(ByteBuffer(bytes: [1, 2])), text(String(repeating: "x", count: 300))])
    }

    @Test("A message still held keeps its bytes when the next one reuses the unmasking buffer")
    func heldMessagesStayIntact() throws {
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 1, Array("4first".utf8))))
        let first = try parser.next()
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 1, Array("4second".utf8), key: [1, 2, 3, 4])))
        let second = try parser.next()
        #expect(first == text("4first"))
        #expect(second == text("4second"))
        // And the input bytes themselves are left masked: swift-nio may share their storage.
        let input = ByteBuffer(bytes: clientFrame(opcode: 1, Array("4third".utf8)))
        let copy = input
        parser.append(input)
        #expect(try parser.next() == text("4third"))
        #expect(Array(copy.readableBytesView) == clientFrame(opcode: 1, Array("4third".utf8)))
    }

    @Test("A reusable buffer reuses its storage once let go, never while held, and keeps only small buffers")
    func reusableBuffer() {
        func address(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
            buffer.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) }
        }
        var reusable = ReusableBuffer()
        var first = reusable.take(minimumCapacity: 10)
        first.writeString("first")
        reusable.keep(first)
        let firstAddress = address(first)
        // Still held: the next take must not write over it.
        var second = reusable.take(minimumCapacity: 10)
        second.writeString("second")
        #expect(String(buffer: first) == "first")
        #expect(address(second) != firstAddress)
        reusable.keep(second)
        let secondAddress = address(second)
        second = ByteBuffer()
        // Let go: the same storage comes back.
        var third = reusable.take(minimumCapacity: 10)
        third.writeString("x")
        #expect(address(third) == secondAddress)
        // Large buffers are not kept.
        var large = reusable.take(minimumCapacity: ReusableBuffer.limit + 1)
        large.writeString("y")
        reusable.keep(large)
        large = ByteBuffer()
        #expect(reusable.take(minimumCapacity: 1).capacity <= ReusableBuffer.limit)
    }

    @Test("Many frames in one read are all parsed")
    func manyPerBuffer() throws {
        let bytes = (0..<50).flatMap { clientFrame(opcode: 1, Array("4m\($0)".utf8)) }
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        parser.append(ByteBuffer(bytes: bytes))
        #expect(try parseAll(&parser) == (0..<50).map { text("4m\($0)") })
    }

    @Test("A fragmented message is reassembled, with control frames in between")
    func fragments() throws {
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 1, Array("4fr".utf8), fin: false)))
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 9, [])))
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 0, Array("ag".utf8), fin: false)))
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 10, [])))
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 0, Array("ment".utf8))))
        #expect(try parseAll(&parser) == [.ping(ByteBuffer()), .pong, text("4fragment")])
    }

    @Test("A close frame carries its code and reason")
    func close() throws {
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 8, [0x03, 0xE8] + Array("bye".utf8))))
        #expect(try parseAll(&parser) == [.close(ByteBuffer(bytes: [0x03, 0xE8] + Array("bye".utf8)))])
    }

    @Test("A frame over the limit is refused from its header, before its payload arrives")
    func oversizedFromHeader() {
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        // Only the header of a 1001-byte frame: nothing of the payload is needed to refuse it.
        parser.append(ByteBuffer(bytes: Array(clientFrame(opcode: 1, [UInt8](repeating: 0x34, count: 1001)).prefix(8))))
        #expect(throws: WebSocketMessageParser.Failure.messageTooLarge) { try parser.next() }
        #expect(WebSocketMessageParser.Failure.messageTooLarge.closeCode == 1009)
        // And the parser stays failed.
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 1, Array("4ok".utf8))))
        #expect(throws: WebSocketMessageParser.Failure.messageTooLarge) { try parser.next() }
    }

    @Test("Fragments adding up to more than the limit are refused")
    func oversizedByFragments() throws {
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 1, [UInt8](repeating: 0x34, count: 600), fin: false)))
        #expect(try parser.next() == nil)
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 0, [UInt8](repeating: 0x34, count: 401))))
        #expect(throws: WebSocketMessageParser.Failure.messageTooLarge) { try parser.next() }
        #expect(parser.bufferedBytes == 0)
    }

    @Test("A message of exactly the limit is accepted")
    func exactlyTheLimit() throws {
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 1, [UInt8](repeating: 0x34, count: 500), fin: false)))
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 0, [UInt8](repeating: 0x34, count: 500))))
        #expect(try parseAll(&parser) == [text(String(repeating: "4", count: 1000))])
    }

    @Test("Frames a client must not send are protocol errors (close code 1002)", arguments: [
        ("unmasked", clientFrame(opcode: 1, Array("4x".utf8), masked: false)),
        ("reserved bit", clientFrame(opcode: 1, Array("4x".utf8), rsv: 4)),
        ("unknown opcode 3", clientFrame(opcode: 3, [])),
        ("unknown opcode 11", clientFrame(opcode: 11, [])),
        ("fragmented ping", clientFrame(opcode: 9, [], fin: false)),
        ("ping over 125 bytes", clientFrame(opcode: 9, [UInt8](repeating: 0, count: 126))),
        ("continuation without a start", clientFrame(opcode: 0, Array("x".utf8))),
        ("new message inside a fragmented one", clientFrame(opcode: 1, Array("4a".utf8), fin: false) + clientFrame(opcode: 1, Array("4b".utf8))),
        ("one-byte close body", clientFrame(opcode: 8, [0x03])),
        ("64-bit length with the top bit set", clientFrame(opcode: 2, [], declaredLength: 1 << 63)),
    ])
    func protocolErrors(name: String, bytes: [UInt8]) {
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        parser.append(ByteBuffer(bytes: bytes))
        do {
            _ = try parseAll(&parser)
            Issue.record("\(name) was accepted")
        } catch {
            guard case .protocolError = error else {
                Issue.record("\(name): \(error)")
                return
            }
            #expect(error.closeCode == 1002)
        }
    }

    @Test("A text message that is not UTF-8 closes with 1007; the same bytes as binary are fine", arguments: [
        [0xC0, 0x80] as [UInt8],  // overlong NUL
        [0xE0, 0x80, 0xAF],  // overlong '/'
        [0xED, 0xA0, 0x80],  // a UTF-16 surrogate
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0xF5, 0x80, 0x80, 0x80],  // no such lead byte
        [0x80],  // a continuation byte alone
        [0xE2, 0x82],  // cut short
        [0x34, 0xFF],
    ])
    func invalidUTF8(bytes: [UInt8]) throws {
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 1, Array("4ok".utf8) + bytes)))
        #expect(throws: WebSocketMessageParser.Failure.invalidUTF8) { try parser.next() }
        #expect(WebSocketMessageParser.Failure.invalidUTF8.closeCode == 1007)
        var binary = WebSocketMessageParser(maxMessageSize: 1000)
        binary.append(ByteBuffer(bytes: clientFrame(opcode: 2, bytes)))
        #expect(try binary.next() == .binary(ByteBuffer(bytes: bytes)))
    }

    @Test("A character split across two fragments is valid")
    func utf8AcrossFragments() throws {
        let bytes = Array("4é€😀".utf8)
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 1, Array(bytes.prefix(5)), fin: false)))
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 0, Array(bytes.dropFirst(5)))))
        #expect(try parseAll(&parser) == [text("4é€😀")])
    }

    @Test("The UTF-8 check agrees with the standard library on 20,000 generated byte strings")
    func utf8AgreesWithStandardLibrary() {
        var generator = SystemRandomNumberGenerator()
        // Bytes biased towards the interesting ones: lead bytes, continuations, ASCII.
        let palette: [UInt8] = [0x00, 0x34, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
                                0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...12, using: &generator)
            // Sometimes behind a run of ASCII long enough for the eight-byte fast path.
            let ascii = [UInt8](repeating: 0x61, count: Int.random(in: 0...17, using: &generator))
            let bytes = ascii + (0..<length).map { _ in palette.randomElement(using: &generator)! }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            let actual = bytes.withUnsafeBytes { WebSocketMessageParser.isValidUTF8($0) }
            #expect(actual == expected, "\(bytes.map { String($0, radix: 16) })")
            if actual != expected { return }
        }
    }

    @Test("Too many fragments are refused")
    func tooManyFragments() {
        var parser = WebSocketMessageParser(maxMessageSize: 1000, maxFragments: 3)
        parser.append(ByteBuffer(bytes: clientFrame(opcode: 1, Array("4".utf8), fin: false)))
        for _ in 0..<3 { parser.append(ByteBuffer(bytes: clientFrame(opcode: 0, Array("a".utf8), fin: false))) }
        #expect(throws: WebSocketMessageParser.Failure.protocolError("a message of more than 3 fragments")) { try parseAll(&parser) }
    }

    @Test("Incomplete input is held, not lost")
    func incomplete() throws {
        let bytes = clientFrame(opcode: 1, Array("4hello world".utf8))
        var parser = WebSocketMessageParser(maxMessageSize: 1000)
        parser.append(ByteBuffer(bytes: Array(bytes.prefix(9))))
        #expect(try parser.next() == nil)
        #expect(parser.bufferedBytes == 9)
        parser.append(ByteBuffer(bytes: Array(bytes.dropFirst(9))))
        #expect(try parseAll(&parser) == [text("4hello world")])
    }

    @Test("Server frames: header sizes at each length encoding", arguments: [
        (0, [0x81, 0x00] as [UInt8]), (125, [0x81, 125]), (126, [0x81, 126, 0x00, 126]),
        (65_535, [0x81, 126, 0xFF, 0xFF]), (65_536, [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
    ])
    func serverHeaders(length: Int, expected: [UInt8]) {
        var buffer = ByteBuffer()
        WebSocketFrameWriter.writeHeader(opcode: 1, payloadLength: length, into: &buffer)
        #expect(Array(buffer.readableBytesView) == expected)
        #expect(WebSocketFrameWriter.headerLength(payload: length) == expected.count)
    }
}
