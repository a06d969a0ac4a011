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
    /// and `Connection` headers were checked before (``RequestHeaders/isUpgrade``).
    static func validate(method: HTTPMethod, headers: RequestHeaders) -> Result<String, Refusal> {
        guard method == .GET else { return .failure(.method) }
        // `ws`: /^[+/0-9A-Za-z]{22}==$/ — the base64 of 16 bytes. A repeated header is
        // joined with ", " by Node, which then fails the pattern: so must exactly one.
        guard let key = headers.key.onlyElement, isValidKey(key) else { return .failure(.key) }
        // `ws`: `+header` (JavaScript's Number) must be 8 or 13; "13", " 13 " and "13.0" alike
        // (the element is trimmed already).
        guard let versionText = headers.version.onlyElement, let version = Double(versionText),
            version == 13 || version == 8
        else { return .failure(.version) }
        return .success(String(key))
    }

    /// The four headers the opening handshake reads, found in one pass over the request's
    /// headers: each `HTTPHeaders` lookup walks every header and builds arrays, and the
    /// handshake made four (3.8% of a handshake's server CPU in a perf profile).
    ///
    /// A header's elements are what `HTTPHeaders[canonicalForm:]` gives: every value of the
    /// name, split at commas (empty parts dropped) and trimmed of ASCII whitespace.
    struct RequestHeaders {
        struct Elements {
            fileprivate var values: [String] = []

            /// The element, when there is exactly one.
            var onlyElement: Substring? {
                guard values.count == 1 else { return values.isEmpty ? nil : Self.only(of: values) }
                let value = values[0]
                if !value.utf8.contains(UInt8(ascii: ",")) {
                    let element = Self.trimmed(value[...])
                    // "" splits into no element; whitespace alone into one empty element.
                    return value.isEmpty ? nil : element
                }
                return Self.only(of: values)
            }

            /// Whether an element is `token` (`toLowerCase()` equality, as Node compares).
            func contains(token: String) -> Bool {
                for value in values {
                    for part in value.split(separator: ",") where Self.trimmed(part).lowercased() == token {
                        return true
                    }
                }
                return false
            }

            /// Whether a whole value is `value` (`toLowerCase()` equality, unsplit: `ws` compares
            /// `req.headers.upgrade.toLowerCase()` with "websocket").
            func contains(value expected: String) -> Bool {
                values.contains { $0.lowercased() == expected }
            }

            private static func only(of values: [String]) -> Substring? {
                let elements = values.flatMap { $0.split(separator: ",").map(trimmed) }
                return elements.count == 1 ? elements[0] : nil
            }

            private static func trimmed(_ text: Substring) -> Substring {
                let isBlank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }  // NIO's `isASCIIWhitespace`
                guard let first = text.utf8.firstIndex(where: { !isBlank($0) }) else { return "" }
                let last = text.utf8.lastIndex(where: { !isBlank($0) })!
                return Substring(text.utf8[first...last])
            }
        }

        private(set) var connection = Elements()
        private(set) var upgrade = Elements()
        private(set) var key = Elements()
        private(set) var version = Elements()

        init(_ headers: HTTPHeaders) {
            for (name, value) in headers {
                switch name.utf8.count {
                case 7 where Self.equal(name, "upgrade"): upgrade.values.append(value)
                case 10 where Self.equal(name, "connection"): connection.values.append(value)
                case 17 where Self.equal(name, "sec-websocket-key"): key.values.append(value)
                case 21 where Self.equal(name, "sec-websocket-version"): version.values.append(value)
                default: break
                }
            }
        }

        /// Whether the request asks to switch to WebSocket: `upgrade` among the `Connection`
        /// header's elements, and an `Upgrade` header that is `websocket`.
        var isUpgrade: Bool {
            connection.contains(token: "upgrade") && upgrade.contains(value: "websocket")
        }

        /// ASCII case-insensitive equality with a lowercase `name`.
        private static func equal(_ header: String, _ name: StaticString) -> Bool {
            let bytes = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
            var index = 0
            for byte in header.utf8 {
                guard index < bytes.count else { return false }
                let lower = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                guard lower == bytes[index] else { return false }
                index += 1
            }
            return index == bytes.count
        }
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
