import Foundation
import SwitchyardPluginKit

/// `token-auth`: the identity resolver `token` (JWT HS256 or static tokens; see
/// ``TokenVerifier``). Configure it under `plugins.settings.token-auth`:
///
/// ```json
/// "plugins": { "settings": { "token-auth": { "secretEnv": "SWITCHYARD_JWT_SECRET",
///                                            "tokensFile": "/etc/switchyard/tokens.json" } } },
/// "namespaces": { "/chat": { "identity": "token" } }
/// ```
final class Verifier: @unchecked Sendable {
    private let lock = NSLock()
    private var verifier: TokenVerifier?

    func set(_ verifier: TokenVerifier) {
        lock.lock()
        self.verifier = verifier
        lock.unlock()
    }

    func get() throws -> TokenVerifier {
        lock.lock()
        defer { lock.unlock() }
        guard let verifier else { throw OperationError(.configuration, "token-auth was not started") }
        return verifier
    }
}

let verifier = Verifier()

let plugin = Plugin(name: "token-auth", version: "1.0.0") { tokens in
    tokens.onStart { configuration, host in
        let settings = try TokenVerifier.settings(from: configuration)
        verifier.set(TokenVerifier(settings: settings))
        if settings.secret == nil && settings.staticTokens.isEmpty {
            host.log(.warning, "token-auth has no secret and no tokensFile: every token will be refused")
        } else {
            host.log(.info, "token-auth ready: JWT \(settings.secret == nil ? "off" : "on"), \(settings.staticTokens.count) static token(s)")
        }
    }
    tokens.identityResolver("token") { auth, _ in
        try verifier.get().identity(for: auth)
    }
}

@_cdecl("switchyard_plugin_entry")
public func switchyardPluginEntry() -> UnsafeRawPointer { plugin.export() }
