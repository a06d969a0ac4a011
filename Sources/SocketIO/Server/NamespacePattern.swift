/// A namespace path, static (`/chat`) or parameterised (`/chat/:room`).
///
/// A parameter matches one non-empty path segment; the values are handed to the namespace
/// (`/chat/lobby` against `/chat/:room` gives `["room": "lobby"]`). Static patterns win over
/// parameterised ones; among parameterised ones, the one with more static segments wins.
public struct NamespacePattern: Sendable, Hashable, CustomStringConvertible {
    enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(String)
    }

    public let text: String
    let segments: [Segment]

    public enum Error: Swift.Error, Hashable, CustomStringConvertible {
        case mustStartWithSlash(String)
        case emptySegment(String)
        case emptyParameterName(String)
        case duplicateParameter(String, name: String)

        public var description: String {
            switch self {
            case .mustStartWithSlash(let text): return "namespace '\(text)' must start with '/'"
            case .emptySegment(let text): return "namespace '\(text)' has an empty segment"
            case .emptyParameterName(let text): return "namespace '\(text)' has a parameter without a name"
            case .duplicateParameter(let text, let name): return "namespace '\(text)' names parameter '\(name)' twice"
            }
        }
    }

    public init(_ text: String) throws(Error) {
        guard text.hasPrefix("/") else { throw .mustStartWithSlash(text) }
        self.text = text
        if text == "/" {
            self.segments = []
            return
        }
        var segments: [Segment] = []
        var names: Set<String> = []
        for part in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw .emptySegment(text) }
            if part.hasPrefix(":") {
                let name = String(part.dropFirst())
                guard !name.isEmpty else { throw .emptyParameterName(text) }
                guard names.insert(name).inserted else { throw .duplicateParameter(text, name: name) }
                segments.append(.parameter(name))
            } else {
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
    }

    public var isParameterised: Bool {
        segments.contains { if case .parameter = $0 { return true } else { return false } }
    }

    var staticSegmentCount: Int {
        segments.reduce(0) { count, segment in
            if case .literal = segment { return count + 1 }
            return count
        }
    }

    /// The parameters when `path` matches, or nil.
    public func match(_ path: String) -> [String: String]? {
        if segments.isEmpty { return path == "/" ? [:] : nil }
        guard path.hasPrefix("/") else { return nil }
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal):
                guard part == literal else { return nil }
            case .parameter(let name):
                guard !part.isEmpty else { return nil }
                parameters[name] = String(part)
            }
        }
        return parameters
    }

    public var description: String { text }
}
