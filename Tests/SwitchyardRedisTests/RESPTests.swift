import NIOCore
import NIOEmbedded
import Testing

@testable import SwitchyardRedis

@Suite("RESP through hiredis")
struct RESPTests {
    @Test("Commands are encoded by redisFormatCommandArgv, binary-safe")
    func encoding() {
        let encoded = RedisCommandEncoder.encode(["SET", "key", .bytes(ByteBuffer(bytes: [0, 0x0d, 0x0a])), ""])
        #expect(String(buffer: encoded) == "*4\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\n\0\r\n\r\n$0\r\n\r\n")
        #expect(
            String(buffer: RedisCommandEncoder.encode(["PUBLISH", "ch", "%s %d"])) == "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\n%s %d\r\n")
    }

    private static let stream =
        "+OK\r\n-ERR wrong\r\n:42\r\n$5\r\nhel\r\n\r\n$-1\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$0\r\n\r\n*-1\r\n*2\r\n*1\r\n:1\r\n*0\r\n"
    private static let expected: [RedisValue] = [
        .simpleString("OK"),
        .error("ERR wrong"),
        .integer(42),
        .bulkString(ByteBuffer(string: "hel\r\n")),
        .null,
        .array([.bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "ch")), .bulkString(ByteBuffer())]),
        .null,
        .array([.array([.integer(1)]), .array([])]),
    ]

    @Test("The reader yields the same replies when fed one byte at a time")
    func byteByByte() throws {
        let parser = RedisReplyParser()
        var replies: [RedisValue] = []
        for byte in Self.stream.utf8 {
            try parser.feed(ByteBuffer(bytes: [byte]))
            while let reply = try parser.next() { replies.append(reply) }
        }
        #expect(replies == Self.expected)
    }

    @Test("The decoder passes on every reply of a buffer holding many")
    func manyRepliesPerBuffer() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RedisReplyDecoder()))
        var big = ByteBuffer()
        for _ in 0..<1000 { big.writeString(Self.stream) }
        try channel.writeInbound(big)
        var count = 0
        while let reply = try channel.readInbound(as: RedisValue.self) {
            #expect(reply == Self.expected[count % Self.expected.count])
            count += 1
        }
        #expect(count == 1000 * Self.expected.count)
        #expect(try channel.finish().isClean)
    }

    @Test("A reply split across reads is passed on once complete")
    func splitAcrossReads() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RedisReplyDecoder()))
        try channel.writeInbound(ByteBuffer(string: "$10\r\n01234"))
        #expect(try channel.readInbound(as: RedisValue.self) == nil)
        try channel.writeInbound(ByteBuffer(string: "56789\r\n:7"))
        #expect(try channel.readInbound(as: RedisValue.self) == .bulkString(ByteBuffer(string: "0123456789")))
        try channel.writeInbound(ByteBuffer(string: "\r\n"))
        #expect(try channel.readInbound(as: RedisValue.self) == .integer(7))
        _ = try channel.finish()
    }

    @Test("A protocol error is reported, not guessed around")
    func protocolError() throws {
        let parser = RedisReplyParser()
        try parser.feed(ByteBuffer(string: "?what\r\n"))
        #expect(throws: RedisProtocolError.self) { try parser.next() }
    }
}
