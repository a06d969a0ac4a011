import NIOCore
import NIOHTTP1

/// The server side of the WebSocket opening handshake (RFC 6455 §4.2), answered by
/// ``EngineIOHTTPHandler`` itself: the request checks Node's `ws` makes (the library the
/// reference Engine.IO server delegates upgrades to: `WebSocketServer.handleUpgrade` in
/// ws 8.x, `lib/websocket-server.js`), the `Sec-WebSocket-Accept` digest, and the bytes of
/// the 101 response.
///
/// swift-nio's upgrade handler did this through a chain of futures, a header dictionary and
/// the response encoder, then removed the HTTP handlers one future at a time; here the 101
/// is written as bytes and leaves in the same `write` as the Engine.IO open packet.
enum WebSocketHandshake {
    /// RFC 6455 §4.2.2: `Sec-WebSocket-Accept` is the base64 of the SHA-1 of the key and this GUID.
    static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Why a WebSocket request cannot be answered with 101; `ws` answers each with this
    /// status and text (and closes the connection).
    enum Refusal: Error, Equatable, Sendable {
        /// `ws`: 405 "Invalid HTTP method".
        case method
        /// `ws`: 400 "Missing or invalid Sec-WebSocket-Key header".
        case key
        /// `ws`: 400 "Missing or invalid Sec-WebSocket-Version header" (newer `ws` releases
        /// add `Sec-WebSocket-Version: 13, 8`, as RFC 6455 §4.4 asks; so do we).
        case version

        var status: HTTPResponseStatus { self == .method ? .methodNotAllowed : .badRequest }

        var message: String {
            switch self {
            case .method: "Invalid HTTP method"
            case .key: "Missing or invalid Sec-WebSocket-Key header"
            case .version: "Missing or invalid Sec-WebSocket-Version header"
            }
        }

        var extraHeaders: [(String, String)] {
            self == .version ? [("Sec-WebSocket-Version", "13, 8")] : []
        }
    }

    /// The request's key, if it may be upgraded; `ws`'s checks in its order. The `Upgrade`
    /// and `Connection` headers were checked before (``HTTPHeaders/isWebSocketUpgrade``).
    static func validate(method: HTTPMethod, headers: HTTPHeaders) -> Result<String, Refusal> {
        guard method == .GET else { return .failure(.method) }
        // `ws`: /^[+/0-9A-Za-z]{22}==$/ — the base64 of 16 bytes. A repeated header is
        // joined with ", " by Node, which then fails the pattern: so must exactly one.
        let keys = headers[canonicalForm: "sec-websocket-key"]
        guard keys.count == 1, isValidKey(keys[0]) else { return .failure(.key) }
        // `ws`: `+header` (JavaScript's Number) must be 8 or 13; "13", " 13 " and "13.0" alike.
        let versions = headers[canonicalForm: "sec-websocket-version"]
        guard versions.count == 1, let version = Double(trimmed(versions[0])),
            version == 13 || version == 8
        else { return .failure(.version) }
        return .success(String(keys[0]))
    }

    private static func trimmed(_ text: Substring) -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else { return "" }
        return text[first...last]
    }

    static func isValidKey(_ key: Substring) -> Bool {
        let bytes = key.utf8
        guard bytes.count == 24 else { return false }
        for (index, byte) in bytes.enumerated() {
            if index >= 22 {
                guard byte == UInt8(ascii: "=") else { return false }
                continue
            }
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                continue
            default:
                return false
            }
        }
        return true
    }

    /// `Sec-WebSocket-Accept` for `key`, base64 into `buffer`.
    static func writeAccept(key: String, into buffer: inout ByteBuffer) {
        var hasher = SHA1()
        hasher.update(key.utf8)
        hasher.update(acceptGUID.utf8)
        Base64.encode(hasher.finish(), into: &buffer)
    }

    static func accept(key: String) -> String {
        var encoded = ByteBuffer()
        writeAccept(key: key, into: &encoded)
        return String(buffer: encoded)
    }

    /// The 101 response, as `ws`'s `completeUpgrade` writes it (no extensions, no subprotocol).
    static func switchingProtocols(key: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 160)
        buffer.writeStaticString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
        writeAccept(key: key, into: &buffer)
        buffer.writeStaticString("\r\n\r\n")
        return buffer
    }
}
