import NIOCore
import NIOHTTP1

/// What sits on top of an Engine.IO endpoint (the Socket.IO server, or a plain echo).
public protocol EngineIOApplication: Sendable {
    /// A session opened. Return the handler that receives its messages.
    ///
    /// Called on `connection.eventLoop`; the handler's methods are called there too.
    func sessionOpened(_ connection: EngineIOConnection) -> any EngineIOConnectionHandler
}

/// Receives one session's messages and its end. Called on the session's event loop only.
public protocol EngineIOConnectionHandler: AnyObject {
    /// A text message (the bytes after the `4` type digit).
    func didReceive(text: ByteBuffer)
    /// A binary message.
    func didReceive(binary: ByteBuffer)
    /// The session moved to a new transport (after an upgrade to WebSocket).
    func transportChanged(to transport: EngineIOTransportKind)
    /// The session ended. Called exactly once; nothing is delivered afterwards.
    func didClose(reason: EngineIOCloseReason)
}

extension EngineIOConnectionHandler {
    public func transportChanged(to transport: EngineIOTransportKind) {}
}

/// The request that opened a session, as the application sees it.
///
/// A session lives for hours and its handshake is read a few times (at connect, by a plugin's
/// context, by the admin views), so it is kept compact: the headers packed into one string
/// (swift-nio's `HTTPHeaders` from the decoder keeps a 16-entry array and a string per name
/// and value, over a kilobyte per idle connection), and the query parsed from `uri` when
/// asked for.
public struct EngineIOHandshake: Sendable {
    /// The request target, e.g. `/socket.io/?EIO=4&transport=polling`.
    public var uri: String
    public var remoteAddress: SocketAddress?
    /// The transport the session started on.
    public var transport: EngineIOTransportKind
    /// `name:value` pairs, each followed by CR LF (neither can occur in a name or value).
    private var packedHeaders: String

    public init(uri: String, headers: HTTPHeaders, remoteAddress: SocketAddress?, transport: EngineIOTransportKind) {
        self.uri = uri
        self.packedHeaders = Self.pack(headers)
        self.remoteAddress = remoteAddress
        self.transport = transport
    }

    /// The request's headers, in their order.
    public var headers: HTTPHeaders {
        get {
            var headers = HTTPHeaders()
            var rest = packedHeaders[...]
            while let end = rest.firstRange(of: "\r\n") {
                let line = rest[..<end.lowerBound]
                if let colon = line.firstIndex(of: ":") {
                    headers.add(name: String(line[..<colon]), value: String(line[line.index(after: colon)...]))
                }
                rest = rest[end.upperBound...]
            }
            return headers
        }
        set { packedHeaders = Self.pack(newValue) }
    }

    /// The first value of the header `name` (ASCII case-insensitive, as
    /// `HTTPHeaders.first(name:)`), read from the packed form: what a connect needs (the
    /// audit's user agent, the connect chain's origin) without unpacking every header into
    /// strings — that unpacking was 5% of a WebSocket handshake's server CPU.
    public func header(_ name: String) -> String? {
        let found = packedHeaders.utf8.withContiguousStorageIfAvailable { bytes -> String? in
            Self.firstValue(of: name, in: bytes)
        }
        return found ?? headers.first(name: name)
    }

    private static func firstValue(of name: String, in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let colon = UInt8(ascii: ":"), cr = UInt8(ascii: "\r")
        var lineStart = 0
        while lineStart < bytes.count {
            var nameEnd = lineStart
            while nameEnd < bytes.count, bytes[nameEnd] != colon { nameEnd += 1 }
            var valueEnd = nameEnd
            while valueEnd < bytes.count, bytes[valueEnd] != cr { valueEnd += 1 }
            if nameEnd < bytes.count, asciiCaseInsensitiveEqual(bytes[lineStart..<nameEnd], name.utf8) {
                return String(decoding: bytes[(nameEnd + 1)..<valueEnd], as: UTF8.self)
            }
            lineStart = valueEnd + 2  // past CR LF
        }
        return nil
    }

    private static func asciiCaseInsensitiveEqual(_ a: Slice<UnsafeBufferPointer<UInt8>>, _ b: String.UTF8View) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= UInt8(ascii: "a") && (x | 0x20) <= UInt8(ascii: "z"))
        }
    }

    /// Query parameters (first value of each name).
    public var query: [String: String] { RequestTarget(uri).query }

    private static func pack(_ headers: HTTPHeaders) -> String {
        var packed = ""
        packed.reserveCapacity(headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 3 })
        for (name, value) in headers {
            packed += name
            packed += ":"
            packed += value
            packed += "\r\n"
        }
        return packed
    }
}
