/// Which browser origins may use an endpoint.
///
/// Patterns are exact origins (`https://app.example.com`), `*` for any origin, or a
/// wildcard subdomain (`https://*.example.com`, or `*.example.com` for any scheme) that
/// matches whole DNS labels only: `https://a.example.com` and `https://a.b.example.com`
/// match, `https://example.com` and `https://evil-example.com` do not.
public struct CORSPolicy: Sendable, Hashable {
    public var allowedOrigins: [String]
    /// Whether responses carry `Access-Control-Allow-Credentials: true`.
    public var allowCredentials: Bool

    public init(allowedOrigins: [String], allowCredentials: Bool = true) {
        self.allowedOrigins = allowedOrigins
        self.allowCredentials = allowCredentials
    }

    /// Any origin, as the socket.io reference server is configured (`cors: { origin: "*" }`).
    public static let allowAll = CORSPolicy(allowedOrigins: ["*"])

    /// Whether a request with this `Origin` header may proceed. Requests without an
    /// `Origin` (non-browser clients) always may.
    public func allows(origin: String?) -> Bool {
        guard let origin else { return true }
        return allowedOrigins.contains { Self.matches(pattern: $0, origin: origin) }
    }

    /// The `Access-Control-Allow-Origin` value for an allowed request.
    ///
    /// Echoes the request's origin (so credentials work) unless the request has none.
    func allowOriginHeader(for origin: String?) -> String? {
        guard let origin else { return allowedOrigins.contains("*") ? "*" : nil }
        return allows(origin: origin) ? origin : nil
    }

    static func matches(pattern: String, origin: String) -> Bool {
        if pattern == "*" { return true }
        let pattern = pattern.lowercased()
        let origin = origin.lowercased()
        guard pattern.contains("*") else { return pattern == origin }

        // Split "scheme://host[:port]" on both sides.
        let (patternScheme, patternHost) = splitScheme(pattern)
        let (originScheme, originHost) = splitScheme(origin)
        if let patternScheme, patternScheme != originScheme { return false }
        guard patternHost.hasPrefix("*.") else { return false }
        let suffix = patternHost.dropFirst(1)  // ".example.com[:port]"
        guard originHost.hasSuffix(suffix) else { return false }
        let label = originHost.dropLast(suffix.count)
        // At least one whole label before the suffix, made of host characters only.
        return !label.isEmpty && label.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
            && !label.hasPrefix(".") && !label.hasSuffix(".") && !label.contains("..")
    }

    private static func splitScheme(_ value: String) -> (scheme: String?, host: Substring) {
        let utf8 = Array(value.utf8)
        if utf8.count >= 3 {
            for index in 0...(utf8.count - 3)
            where utf8[index] == UInt8(ascii: ":") && utf8[index + 1] == UInt8(ascii: "/") && utf8[index + 2] == UInt8(ascii: "/") {
                let schemeEnd = value.utf8.index(value.utf8.startIndex, offsetBy: index)
                let hostStart = value.utf8.index(schemeEnd, offsetBy: 3)
                return (String(value[..<schemeEnd]), value[hostStart...])
            }
        }
        return (nil, value[...])
    }
}
