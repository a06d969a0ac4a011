import SwitchyardJSON

/// The failure kinds of the error boundary.
public enum ErrorKind: String, Sendable, CaseIterable {
    case validation, conflict, concurrency, precondition, authentication, authorization
    case `internal`, infrastructure, configuration, timeout
    case notFound = "not_found"
    case rateLimited = "rate_limited"
    case payloadTooLarge = "payload_too_large"

    /// Server-side kinds are the server's business: clients get a generic detail and a
    /// correlation id; the log gets the rest.
    public var isServerSide: Bool {
        switch self {
        case .internal, .infrastructure, .configuration, .timeout: return true
        default: return false
        }
    }
}

/// One operation failure on its way to a client, before the egress policy is applied.
public struct OperationFailure: Error, Sendable, CustomStringConvertible {
    public var kind: ErrorKind
    public var detail: String
    public var code: String?
    public var context: JSONObject?

    public init(_ kind: ErrorKind, _ detail: String, code: String? = nil, context: JSONObject? = nil) {
        self.kind = kind
        self.detail = detail
        self.code = code
        self.context = context
    }

    public var description: String { "\(kind.rawValue): \(detail)" + (code.map { " [\($0)]" } ?? "") }

    /// Reads a plugin's error object. Anything malformed is itself an internal failure.
    static func fromPlugin(_ bytes: [UInt8]) -> OperationFailure {
        guard let value = try? JSONValue(parsing: bytes), case .object(let object) = value else {
            return OperationFailure(.internal, "the plugin returned an error that is not a JSON object: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
        guard let kindName = object["kind"]?.stringValue, let kind = ErrorKind(rawValue: kindName) else {
            return OperationFailure(.internal, "the plugin returned an error with unknown kind \(object["kind"]?.serialized() ?? "(none)"): \(value.serialized())")
        }
        return OperationFailure(kind, object["detail"]?.stringValue ?? kind.rawValue, code: object["code"]?.stringValue, context: object["context"]?.objectValue)
    }
}

/// Turns failures into what clients receive: `{"error": {"detail", "code", "kind", "context"?}}`.
///
/// Client-side kinds travel as given. Server-side kinds (internal, infrastructure,
/// configuration, timeout) are replaced by a generic detail and a correlation id that the
/// caller logs next to the real detail, so internals never reach clients.
public enum ErrorBoundary {
    public static func clientPayload(for failure: OperationFailure, correlationID: String) -> JSONValue {
        var error = JSONObject()
        if failure.kind.isServerSide {
            error["detail"] = .string("The server could not complete the request (reference \(correlationID)).")
            error["code"] = .string(failure.kind.rawValue)
            error["kind"] = .string(failure.kind.rawValue)
            error["context"] = .object(["correlationId": .string(correlationID)])
        } else {
            error["detail"] = .string(failure.detail)
            error["code"] = .string(failure.code ?? failure.kind.rawValue)
            error["kind"] = .string(failure.kind.rawValue)
            if let context = failure.context { error["context"] = .object(context) }
        }
        return .object(["error": .object(error)])
    }

    /// A short random id to find a failure in the log.
    public static func makeCorrelationID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value: UInt64 = generator.next()
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
