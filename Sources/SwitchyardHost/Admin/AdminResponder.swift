import EngineIO
import NIOCore
import NIOHTTP1
import SwitchyardJSON

/// The admin endpoint: JSON over HTTP on its own listener (loopback by default), every
/// request authenticated by `Authorization: Bearer <token>`.
///
/// - `POST /admin/kick` `{"sid"|"identity", "namespace"?, "reason"?}`
/// - `POST /admin/broadcast` `{"namespace", "room"?, "event", "arguments": [...]}`
/// - `POST /admin/purge-room` `{"namespace", "room"}`
/// - `GET /admin/live`
///
/// `X-Switchyard-Actor` names who acts (the CLI sends `user@host`); it goes to the log and
/// the audit trail.
struct AdminResponder: HTTPFallbackResponder {
    let actions: OperatorActions
    let token: [UInt8]

    func respond(to head: HTTPRequestHead, body: ByteBuffer?, remoteAddress: SocketAddress?, eventLoop: EventLoop) -> EventLoopFuture<HTTPFallbackResponse> {
        guard authorized(head) else {
            return eventLoop.makeSucceededFuture(Self.json(.unauthorized, ["error": "missing or wrong admin token"]))
        }
        let actor = head.headers.first(name: "x-switchyard-actor") ?? "admin-api@\(remoteAddress?.ipAddress ?? "?")"
        let request = OperatorRequest(actor: actor)
        let path = RequestTarget(head.uri).path
        let payload: JSONValue
        if head.method == .POST {
            guard let body, let parsed = try? body.withUnsafeReadableBytes({ bytes throws(JSONParseError) in try JSONValue(parsing: bytes) }), parsed.objectValue != nil else {
                return eventLoop.makeSucceededFuture(Self.json(.badRequest, ["error": "the body must be a JSON object"]))
            }
            payload = parsed
        } else {
            payload = .object(JSONObject())
        }
        let actions = self.actions
        return eventLoop.makeFutureWithTask {
            do {
                switch (head.method, path) {
                case (.POST, "/admin/kick"):
                    let result = try await actions.kick(
                        socketID: payload["sid"]?.stringValue,
                        identity: payload["identity"]?.stringValue,
                        namespace: payload["namespace"]?.stringValue,
                        reason: payload["reason"]?.stringValue ?? "kicked by an operator",
                        by: request
                    )
                    return Self.json(.ok, result)
                case (.POST, "/admin/broadcast"):
                    guard let namespace = payload["namespace"]?.stringValue, let event = payload["event"]?.stringValue else {
                        return Self.json(.badRequest, ["error": "namespace and event are required"])
                    }
                    let result = try await actions.broadcast(namespace: namespace, room: payload["room"]?.stringValue, event: event, arguments: payload["arguments"] ?? [], by: request)
                    return Self.json(.ok, result)
                case (.POST, "/admin/purge-room"):
                    guard let namespace = payload["namespace"]?.stringValue, let room = payload["room"]?.stringValue else {
                        return Self.json(.badRequest, ["error": "namespace and room are required"])
                    }
                    return Self.json(.ok, try await actions.purgeRoom(namespace: namespace, room: room, by: request))
                case (.GET, "/admin/live"):
                    return Self.json(.ok, await actions.live())
                default:
                    return Self.json(.notFound, ["error": .string("no admin route \(head.method) \(path)")])
                }
            } catch let failure as OperatorActions.Failure {
                return Self.json(.badRequest, ["error": .string(failure.description)])
            }
        }
    }

    /// Constant-time comparison of the bearer token.
    private func authorized(_ head: HTTPRequestHead) -> Bool {
        guard let header = head.headers.first(name: "authorization"), header.hasPrefix("Bearer ") else { return false }
        let presented = Array(header.dropFirst("Bearer ".count).utf8)
        guard presented.count == token.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(presented, token) { difference |= a ^ b }
        return difference == 0
    }

    static func json(_ status: HTTPResponseStatus, _ value: JSONValue) -> HTTPFallbackResponse {
        HTTPFallbackResponse(status: status, headers: ["Content-Type": "application/json"], body: ByteBuffer(bytes: value.serializedBytes()))
    }
}
