import EngineIO
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// The real server pipeline on `EmbeddedChannel`s that share one `EmbeddedEventLoop`:
/// bytes in, bytes out, virtual time. No sockets, no sleeping.
public final class EmbeddedServer {
    public let loop = EmbeddedEventLoop()
    public let http: EngineIOHTTPServer
    private var nextPort = 40000

    public init(endpoints: [EngineIOServer], fallback: (any HTTPFallbackResponder)? = nil) {
        self.http = EngineIOHTTPServer(endpoints: endpoints, fallback: fallback, logger: Logger(label: "test"))
    }

    /// A new client connection with the server pipeline installed.
    public func connect() throws -> EmbeddedConnection {
        let channel = EmbeddedChannel(loop: loop)
        try http.configure(channel: channel).wait()
        nextPort += 1
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: nextPort)).wait()
        return EmbeddedConnection(channel: channel)
    }

    /// Moves virtual time forward, running whatever became due.
    public func advance(by amount: TimeAmount) {
        loop.advanceTime(by: amount)
    }

    /// Runs pending tasks without moving time.
    public func run() {
        loop.run()
    }

    public static let testLogger = Logger(label: "test")
}

/// An HTTP response read back from the server.
public struct EmbeddedHTTPResponse: CustomStringConvertible {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var description: String { "\(status) \(bodyText)" }
}

/// A WebSocket frame read back from the server.
public struct EmbeddedFrame: Equatable, CustomStringConvertible {
    public var opcode: UInt8
    public var payload: [UInt8]

    public init(opcode: UInt8, payload: [UInt8]) {
        self.opcode = opcode
        self.payload = payload
    }

    public var text: String { String(decoding: payload, as: UTF8.self) }
    public var isText: Bool { opcode == 0x1 }
    public var isBinary: Bool { opcode == 0x2 }
    public var isClose: Bool { opcode == 0x8 }

    public var description: String {
        switch opcode {
        case 0x1: return "text(\(text))"
        case 0x2: return "binary(\(payload))"
        case 0x8: return "close(\(payload))"
        default: return "frame(\(opcode), \(payload))"
        }
    }
}

/// One client connection to an ``EmbeddedServer``.
public final class EmbeddedConnection {
    public let channel: EmbeddedChannel
    private var pending: [UInt8] = []

    init(channel: EmbeddedChannel) {
        self.channel = channel
    }

    public var isActive: Bool { channel.isActive }

    // MARK: HTTP

    /// Writes a request, split into `chunkSize`-byte reads when given (to exercise partial
    /// reads), and returns the response if one is already available.
    @discardableResult
    public func request(
        _ method: String,
        _ uri: String,
        headers: [(String, String)] = [],
        body: [UInt8] = [],
        chunkSize: Int? = nil
    ) throws -> EmbeddedHTTPResponse? {
        var text = "\(method) \(uri) HTTP/1.1\r\nHost: localhost\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        try writeRaw(Array(text.utf8) + body, chunkSize: chunkSize)
        return try readResponse()
    }

    public func request(_ method: String, _ uri: String, headers: [(String, String)] = [], body: String) throws -> EmbeddedHTTPResponse? {
        try request(method, uri, headers: headers, body: Array(body.utf8))
    }

    public func writeRaw(_ bytes: [UInt8], chunkSize: Int? = nil) throws {
        let size = max(1, chunkSize ?? bytes.count)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + size)
            try channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
        }
    }

    private func drainOutbound() throws {
        (channel.eventLoop as? EmbeddedEventLoop)?.run()
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            pending.append(contentsOf: buffer.readableBytesView)
        }
    }

    /// The next complete HTTP response, if any.
    public func readResponse() throws -> EmbeddedHTTPResponse? {
        try drainOutbound()
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headerEnd = pending.indices.first(where: { index in
            index + 4 <= pending.count && Array(pending[index..<(index + 4)]) == separator
        }) else { return nil }
        let headText = String(decoding: pending[..<headerEnd], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let status = Int(statusLine.split(separator: " ")[1])!
        let headers = lines.map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : "")
        }
        let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
        let bodyStart = headerEnd + 4
        guard pending.count >= bodyStart + length else { return nil }
        let body = Array(pending[bodyStart..<(bodyStart + length)])
        pending.removeFirst(bodyStart + length)
        return EmbeddedHTTPResponse(status: status, headers: headers, body: body)
    }

    // MARK: WebSocket

    /// Sends the upgrade request; returns the server's response (101 when accepted).
    public func upgrade(_ uri: String, headers: [(String, String)] = []) throws -> EmbeddedHTTPResponse? {
        try request(
            "GET",
            uri,
            headers: [
                ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
            ] + headers
        )
    }

    /// Sends a masked client frame.
    public func sendFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true, chunkSize: Int? = nil) throws {
        try writeRaw(Self.maskedFrame(opcode: opcode, payload: payload, fin: fin), chunkSize: chunkSize)
    }

    /// The bytes of a masked client frame (several of them can go in one read).
    public static func maskedFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true) -> [UInt8] {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame.append(0x80 | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((payload.count >> shift) & 0xFF)) }
        }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }

    public func sendText(_ text: String) throws {
        try sendFrame(opcode: 0x1, payload: Array(text.utf8))
    }

    public func sendBinary(_ bytes: [UInt8]) throws {
        try sendFrame(opcode: 0x2, payload: bytes)
    }

    /// Every complete frame the server has written so far.
    public func readFrames() throws -> [EmbeddedFrame] {
        try drainOutbound()
        var frames: [EmbeddedFrame] = []
        while pending.count >= 2 {
            let opcode = pending[0] & 0x0F
            var length = Int(pending[1] & 0x7F)
            var offset = 2
            if length == 126 {
                guard pending.count >= 4 else { break }
                length = Int(pending[2]) << 8 | Int(pending[3])
                offset = 4
            } else if length == 127 {
                guard pending.count >= 10 else { break }
                length = pending[2..<10].reduce(0) { $0 << 8 | Int($1) }
                offset = 10
            }
            guard pending.count >= offset + length else { break }
            frames.append(EmbeddedFrame(opcode: opcode, payload: Array(pending[offset..<(offset + length)])))
            pending.removeFirst(offset + length)
        }
        return frames
    }

    /// The text frames written so far, as strings.
    public func readTexts() throws -> [String] {
        try readFrames().filter(\.isText).map(\.text)
    }
}
