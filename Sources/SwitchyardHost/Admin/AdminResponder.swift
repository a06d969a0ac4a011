import EngineIO
import NIOCore
import NIOHTTP1
import SwitchyardJSON
import SwitchyardStore

/// The admin endpoint: JSON over HTTP on its own listener (loopback by default), every
/// request authenticated by `Authorization: Bearer <token>`.
///
/// - `POST /admin/kick` `{"sid"|"identity", "namespace"?, "reason"?}`
/// - `POST /admin/broadcast` `{"namespace", "room"?, "event", "arguments": [...]}`
/// - `POST /admin/purge-room` `{"namespace", "room"}`
/// - `GET /admin/live`
/// - the console's data: `GET /admin/stream` (server-sent events, a snapshot a second),
///   `GET /admin/registry`, `GET /admin/audit?…` (JSON or `format=csv`), `GET /admin/history`
///
/// `GET /` is the console page itself: a shell with no data in it, served without the token
/// (the page asks for the token and sends it with every request it makes).
///
/// `X-Switchyard-Actor` names who acts (the CLI sends `user@host`); it goes to the log and
/// the audit trail.
struct AdminResponder: HTTPFallbackResponder {
    let actions: OperatorActions
    let token: [UInt8]
    var console: AdminConsole? = nil

    func respond(to head: HTTPRequestHead, body: ByteBuffer?, remoteAddress: SocketAddress?, eventLoop: EventLoop) -> EventLoopFuture<HTTPFallbackResponse> {
        let target = RequestTarget(head.uri)
        if head.method == .GET, target.path == "/" || target.path == "/console", console != nil {
            return eventLoop.makeSucceededFuture(ConsolePage.response)
        }
        guard authorized(head) else {
            return eventLoop.makeSucceededFuture(Self.json(.unauthorized, ["error": "missing or wrong admin token"]))
        }
        let actor = head.headers.first(name: "x-switchyard-actor") ?? "admin-api@\(remoteAddress?.ipAddress ?? "?")"
        let request = OperatorRequest(actor: actor)
        let path = target.path
        if let console, head.method == .GET, let response = consoleRoute(path, query: target.query, console: console, eventLoop: eventLoop) {
            return response
        }
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

    /// The console's data routes (nil: not one of them).
    private func consoleRoute(_ path: String, query: [String: String], console: AdminConsole, eventLoop: EventLoop) -> EventLoopFuture<HTTPFallbackResponse>? {
        switch path {
        case "/admin/stream":
            let headers: HTTPHeaders = ["Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"]
            return eventLoop.makeSucceededFuture(.streaming(headers: headers) { stream in console.subscribe(stream) })
        case "/admin/registry":
            return eventLoop.makeSucceededFuture(Self.json(.ok, console.registry))
        case "/admin/history":
            return eventLoop.makeFutureWithTask {
                do {
                    return Self.json(.ok, try await console.history())
                } catch {
                    return Self.json(.internalServerError, ["error": .string("cannot read the audit log: \(error)")])
                }
            }
        case "/admin/audit":
            return eventLoop.makeFutureWithTask {
                do {
                    let (entries, next) = try await console.audit(parameters: query)
                    if query["format"] == "csv" {
                        var formatter = AuditFormatter(format: .csv)
                        var response = HTTPFallbackResponse.text(.ok, formatter.render(entries), contentType: "text/csv; charset=utf-8")
                        response.headers.add(name: "Content-Disposition", value: "attachment; filename=\"switchyard-audit.csv\"")
                        return response
                    }
                    let rows = entries.map(AuditFormatter.json)
                    return Self.json(.ok, ["rows": .array(rows), "next": next.map { .number(JSONNumber($0)) } ?? .null])
                } catch let failure as OperatorActions.Failure {
                    return Self.json(.badRequest, ["error": .string(failure.description)])
                } catch {
                    return Self.json(.internalServerError, ["error": .string("cannot read the audit log: \(error)")])
                }
            }
        default:
            return nil
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
