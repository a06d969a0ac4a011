import Crypto
import Foundation
import SwitchyardPluginKit

/// Verifies the tokens clients present in their CONNECT auth payload (`{"token": "…"}`):
///
/// - **JWT** (three dot-separated parts): HS256 only, signature checked with the shared
///   secret in constant time, `exp` required, `nbf` honoured, `iss`/`aud` checked when
///   configured, with a leeway for clock skew. The identity is `sub`, roles from `roles`
///   (array) or `role` (string), and `tenant`.
/// - **Static tokens** from a JSON file `{"<token>": {"id", "roles", "tenant"}}`, looked up
///   by SHA-256 digest so no comparison depends on the token's bytes.
public struct TokenVerifier: Sendable {
    public struct Settings: Sendable {
        public var secret: [UInt8]?
        public var issuer: String?
        public var audience: String?
        public var leeway: TimeInterval = 30
        /// SHA-256 of each static token → its identity.
        public var staticTokens: [Data: Identity] = [:]

        public init() {}
    }

    public let settings: Settings

    public init(settings: Settings) {
        self.settings = settings
    }

    /// Reads the plugin settings: `secret` (or `secretEnv`, the name of an environment
    /// variable holding it), `issuer`, `audience`, `leeway` (seconds), `tokensFile`.
    public static func settings(from configuration: JSONValue, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        var settings = Settings()
        if let secret = configuration["secret"]?.stringValue {
            settings.secret = Array(secret.utf8)
        } else if let name = configuration["secretEnv"]?.stringValue {
            guard let secret = environment[name], !secret.isEmpty else {
                throw OperationError.configuration("token-auth: environment variable \(name) (secretEnv) is not set")
            }
            settings.secret = Array(secret.utf8)
        }
        settings.issuer = configuration["issuer"]?.stringValue
        settings.audience = configuration["audience"]?.stringValue
        if let leeway = configuration["leeway"]?.doubleValue { settings.leeway = leeway }
        if let path = configuration["tokensFile"]?.stringValue {
            guard let data = FileManager.default.contents(atPath: path), let value = try? JSONValue(parsing: Array(data)), let object = value.objectValue else {
                throw OperationError.configuration("token-auth: tokensFile \(path) is missing or not a JSON object")
            }
            for (token, claims) in object {
                guard let identity = Identity(json: claims) else {
                    throw OperationError.configuration("token-auth: tokensFile \(path): the entry for a token has no \"id\"")
                }
                settings.staticTokens[Data(SHA256.hash(data: Data(token.utf8)))] = identity
            }
        }
        return settings
    }

    /// The identity for an auth payload, or an authentication error with a precise code.
    public func identity(for auth: JSONValue, now: Date = Date()) throws -> Identity {
        guard settings.secret != nil || !settings.staticTokens.isEmpty else {
            throw OperationError.configuration("token-auth has no secret and no tokens file configured")
        }
        guard let token = auth["token"]?.stringValue, !token.isEmpty else {
            throw OperationError.authentication("a token is required", code: "token_missing")
        }
        if token.split(separator: ".", omittingEmptySubsequences: false).count == 3 {
            return try verifyJWT(token, now: now)
        }
        guard let identity = settings.staticTokens[Data(SHA256.hash(data: Data(token.utf8)))] else {
            throw OperationError.authentication("unknown token", code: "token_unknown")
        }
        return identity
    }

    func verifyJWT(_ token: String, now: Date) throws -> Identity {
        guard let secret = settings.secret else {
            throw OperationError.authentication("JWTs are not accepted here", code: "token_unsupported")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard let headerBytes = Self.base64URLDecode(parts[0]), let payloadBytes = Self.base64URLDecode(parts[1]),
            let signature = Self.base64URLDecode(parts[2]),
            let header = try? JSONValue(parsing: headerBytes), let claims = try? JSONValue(parsing: payloadBytes)
        else {
            throw OperationError.authentication("the token is not a well-formed JWT", code: "token_malformed")
        }
        guard header["alg"]?.stringValue == "HS256" else {
            throw OperationError.authentication("only HS256 tokens are accepted", code: "token_algorithm")
        }
        let signed = Data((parts[0] + "." + parts[1]).utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signed, using: SymmetricKey(data: secret)) else {
            throw OperationError.authentication("the token's signature is invalid", code: "token_invalid")
        }
        let seconds = now.timeIntervalSince1970
        guard let expiry = claims["exp"]?.doubleValue else {
            throw OperationError.authentication("the token has no expiry (exp)", code: "token_no_expiry")
        }
        guard expiry + settings.leeway > seconds else {
            throw OperationError.authentication("the token expired", code: "token_expired")
        }
        if let notBefore = claims["nbf"]?.doubleValue, notBefore - settings.leeway > seconds {
            throw OperationError.authentication("the token is not valid yet", code: "token_not_yet_valid")
        }
        if let issuer = settings.issuer, claims["iss"]?.stringValue != issuer {
            throw OperationError.authentication("the token's issuer is not accepted", code: "token_issuer")
        }
        if let audience = settings.audience {
            let audiences = claims["aud"]?.arrayValue?.compactMap(\.stringValue) ?? claims["aud"]?.stringValue.map { [$0] } ?? []
            guard audiences.contains(audience) else {
                throw OperationError.authentication("the token is not meant for this server", code: "token_audience")
            }
        }
        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty else {
            throw OperationError.authentication("the token names no subject (sub)", code: "token_no_subject")
        }
        let roles = claims["roles"]?.arrayValue?.compactMap(\.stringValue) ?? claims["role"]?.stringValue.map { [$0] } ?? []
        return Identity(id: subject, roles: roles, tenant: claims["tenant"]?.stringValue)
    }

    static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}

extension Identity {
    init?(json value: JSONValue) {
        guard let id = value["id"]?.stringValue else { return nil }
        self.init(id: id, roles: value["roles"]?.arrayValue?.compactMap(\.stringValue) ?? [], tenant: value["tenant"]?.stringValue)
    }
}

extension OperationError {
    static func configuration(_ detail: String) -> OperationError { OperationError(.configuration, detail) }
}
