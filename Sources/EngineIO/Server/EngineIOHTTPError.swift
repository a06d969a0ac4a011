import NIOHTTP1

/// The error replies of the Engine.IO HTTP endpoint: `{"code":N,"message":"…"}` with the
/// codes of the reference implementation, status 403 for `forbidden` and 400 otherwise.
public struct EngineIOHTTPError: Error, Hashable, Sendable {
    public enum Code: Int, Sendable {
        case unknownTransport = 0
        case unknownSessionID = 1
        case badHandshakeMethod = 2
        case badRequest = 3
        case forbidden = 4
        case unsupportedProtocolVersion = 5
    }

    public var code: Code
    /// The `message` field; the reference messages unless a policy gives its own.
    public var message: String
    /// The HTTP status; 413 is used for bodies over `maxPayload`.
    public var status: HTTPResponseStatus

    public init(_ code: Code, message: String? = nil, status: HTTPResponseStatus? = nil) {
        self.code = code
        self.message = message ?? Self.defaultMessage(code)
        self.status = status ?? (code == .forbidden ? .forbidden : .badRequest)
    }

    static func defaultMessage(_ code: Code) -> String {
        switch code {
        case .unknownTransport: return "Transport unknown"
        case .unknownSessionID: return "Session ID unknown"
        case .badHandshakeMethod: return "Bad handshake method"
        case .badRequest: return "Bad request"
        case .forbidden: return "Forbidden"
        case .unsupportedProtocolVersion: return "Unsupported protocol version"
        }
    }

    static let payloadTooLarge = EngineIOHTTPError(.badRequest, message: "Payload too large", status: .payloadTooLarge)

    /// The JSON body.
    var body: String {
        var escaped = ""
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case _ where scalar.value < 0x20: escaped += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return #"{"code":\#(code.rawValue),"message":"\#(escaped)"}"#
    }
}
