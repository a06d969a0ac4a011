import Crypto
import Foundation
import SwitchyardPluginKit
import Testing

@testable import TokenAuthPlugin

@Suite("token-auth: JWT and static tokens")
struct TokenVerifierTests {
    static let secret = "s3cret-for-tests"
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func jwt(_ claims: String, header: String = #"{"alg":"HS256","typ":"JWT"}"#, secret: String = secret) -> String {
        let signingInput = base64URL(Array(header.utf8)) + "." + base64URL(Array(claims.utf8))
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return signingInput + "." + base64URL(Array(signature))
    }

    func verifier(_ configuration: String) throws -> TokenVerifier {
        TokenVerifier(settings: try TokenVerifier.settings(from: try JSONValue(parsing: configuration)))
    }

    func code(_ verifier: TokenVerifier, _ token: String?) -> String? {
        do {
            _ = try verifier.identity(for: token.map { ["token": .string($0)] } ?? [:], now: now)
            return nil
        } catch let error as OperationError {
            return error.code
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test("A valid HS256 token yields its subject, roles and tenant")
    func valid() throws {
        let verifier = try verifier(#"{"secret":"\#(Self.secret)"}"#)
        let token = Self.jwt(#"{"sub":"ada","roles":["admin","ops"],"tenant":"acme","exp":1800000060}"#)
        let identity = try verifier.identity(for: ["token": .string(token)], now: now)
        #expect(identity == Identity(id: "ada", roles: ["admin", "ops"], tenant: "acme"))
    }

    @Test("Refusals carry precise codes", arguments: [
        (#"{"sub":"a","exp":1799999000}"#, "token_expired"),
        (#"{"sub":"a"}"#, "token_no_expiry"),
        (#"{"sub":"a","exp":1800000060,"nbf":1800001000}"#, "token_not_yet_valid"),
        (#"{"exp":1800000060}"#, "token_no_subject"),
    ])
    func claims(claims: String, expected: String) throws {
        #expect(code(try verifier(#"{"secret":"\#(Self.secret)"}"#), Self.jwt(claims)) == expected)
    }

    @Test("Expiry allows the configured leeway for clock skew")
    func leeway() throws {
        let verifier = try verifier(#"{"secret":"\#(Self.secret)","leeway":120}"#)
        #expect(code(verifier, Self.jwt(#"{"sub":"a","exp":1799999950}"#)) == nil)
        #expect(code(verifier, Self.jwt(#"{"sub":"a","exp":1799999870}"#)) == "token_expired")
    }

    @Test("Forged, unsigned and malformed tokens are refused")
    func forged() throws {
        let verifier = try verifier(#"{"secret":"\#(Self.secret)"}"#)
        let claims = #"{"sub":"a","exp":1800000060}"#
        #expect(code(verifier, Self.jwt(claims, secret: "wrong")) == "token_invalid")
        #expect(code(verifier, Self.jwt(claims, header: #"{"alg":"none"}"#)) == "token_algorithm")
        #expect(code(verifier, Self.jwt(claims, header: #"{"alg":"HS512"}"#)) == "token_algorithm")
        #expect(code(verifier, "a.b.c") == "token_malformed")
        let valid = Self.jwt(claims)
        let tampered = valid.replacingOccurrences(of: valid.split(separator: ".")[1], with: Self.base64URL(Array(#"{"sub":"root","exp":1800000060}"#.utf8)))
        #expect(code(verifier, tampered) == "token_invalid")
        #expect(code(verifier, nil) == "token_missing")
    }

    @Test("Issuer and audience are enforced when configured")
    func issuerAudience() throws {
        let verifier = try verifier(#"{"secret":"\#(Self.secret)","issuer":"auth.example","audience":"switchyard"}"#)
        #expect(code(verifier, Self.jwt(#"{"sub":"a","exp":1800000060,"iss":"auth.example","aud":["x","switchyard"]}"#)) == nil)
        #expect(code(verifier, Self.jwt(#"{"sub":"a","exp":1800000060,"iss":"evil","aud":"switchyard"}"#)) == "token_issuer")
        #expect(code(verifier, Self.jwt(#"{"sub":"a","exp":1800000060,"iss":"auth.example","aud":"other"}"#)) == "token_audience")
    }

    @Test("Static tokens come from a file; unknown ones are refused")
    func staticTokens() throws {
        let path = NSTemporaryDirectory() + "tokens-\(UUID()).json"
        try Data(#"{"tk_live_1": {"id": "bot-1", "roles": ["bot"], "tenant": "acme"}}"#.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let verifier = try verifier(#"{"tokensFile":"\#(path)"}"#)
        #expect(try verifier.identity(for: ["token": "tk_live_1"], now: now) == Identity(id: "bot-1", roles: ["bot"], tenant: "acme"))
        #expect(code(verifier, "tk_live_2") == "token_unknown")
        // Without a secret, JWTs are not accepted at all.
        #expect(code(verifier, Self.jwt(#"{"sub":"a","exp":1800000060}"#)) == "token_unsupported")
    }

    @Test("The secret can come from the environment; an unconfigured verifier refuses everything")
    func configuration() throws {
        let settings = try TokenVerifier.settings(from: ["secretEnv": "JWT_SECRET"], environment: ["JWT_SECRET": Self.secret])
        #expect(settings.secret == Array(Self.secret.utf8))
        #expect(throws: OperationError.self) { try TokenVerifier.settings(from: ["secretEnv": "MISSING"], environment: [:]) }
        let unconfigured = TokenVerifier(settings: TokenVerifier.Settings())
        #expect {
            _ = try unconfigured.identity(for: ["token": "x"])
        } throws: { error in
            (error as? OperationError)?.kind == .configuration
        }
    }
}
