import ArgumentParser
import Foundation
import Logging
import NIOHTTP1
import NIOPosix
import SwitchyardHost
import SwitchyardJSON
import SwitchyardRedis

/// How operator commands reach a running server: its admin endpoint (found in
/// `<data>/admin.json` by default), or the cluster through Redis.
struct OperatorOptions: ParsableArguments {
    @Option(name: .long, help: "The server's data directory, where it writes admin.json (default: data).")
    var data = "data"

    @Option(name: .long, help: "Admin endpoint URL (default: from <data>/admin.json).")
    var admin: String?

    @Option(name: .long, help: "Admin token (default: SWITCHYARD_ADMIN_TOKEN, or <data>/admin.json).")
    var token: String?

    @Option(name: .long, help: "Act on every node through this Redis backplane instead of an admin endpoint.")
    var redis: String?

    @Option(name: .long, help: "With --redis: the adapter protocol the cluster speaks, classic or sharded (default: classic).")
    var redisMode: String = "classic"

    /// Sends an action: through Redis (every node acts) or to the admin endpoint.
    func perform(_ path: String, command: String, payload: JSONValue) async throws -> JSONValue {
        if let redis {
            var configuration = try RedisBackplaneConfiguration(url: redis)
            configuration.role = .client
            guard let mode = RedisBackplaneConfiguration.Mode(rawValue: redisMode) else {
                throw ValidationError("--redis-mode: unknown mode '\(redisMode)' (classic, sharded)")
            }
            configuration.mode = mode
            let cluster = RedisBackplane(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "switchyard"))
            try await cluster.start()
            var request = payload.objectValue ?? JSONObject()
            request["actor"] = .string(AdminClient.defaultActor)
            let replies = await cluster.requestCommand(command, payload: .object(request))
            await cluster.shutdown()
            return OperatorActions.sum(replies.value.map(\.value), nodes: replies.value.count, missing: replies.missingNodes)
        }
        let client = try AdminClient.locate(dataDirectory: data, url: admin, token: token)
        let (status, body) = try await client.send(path == "/admin/live" ? .GET : .POST, path, body: path == "/admin/live" ? nil : payload)
        guard status == 200 else {
            throw ValidationError("the server refused (\(status)): \(body["error"]?.stringValue ?? body.serialized())")
        }
        return body
    }
}

struct Kick: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Disconnect a socket (by socket or session id) or every socket of an identity.",
        discussion: "The client first gets an 'error' event with code 'kicked' and the reason, then its connection closes. The action is audited with who did it."
    )

    @OptionGroup var target: OperatorOptions

    @Option(name: .long, help: "The socket id (or Engine.IO session id).")
    var sid: String?

    @Option(name: .long, help: "The identity whose sockets to disconnect.")
    var identity: String?

    @Option(name: .long, help: "Only in this namespace.")
    var namespace: String?

    @Option(name: .long, help: "The reason the client is given.")
    var reason = "kicked by an operator"

    func validate() throws {
        guard (sid == nil) != (identity == nil) else { throw ValidationError("give exactly one of --sid and --identity") }
    }

    func run() async throws {
        var payload = JSONObject()
        payload["sid"] = sid.map { .string($0) } ?? .null
        payload["identity"] = identity.map { .string($0) } ?? .null
        payload["namespace"] = namespace.map { .string($0) } ?? .null
        payload["reason"] = .string(reason)
        let result = try await target.perform("/admin/kick", command: "switchyard.kick", payload: .object(payload))
        print("kicked \(result["sockets"]?.intValue ?? 0) socket(s), closed \(result["sessions"]?.intValue ?? 0) session(s)" + nodes(result))
    }
}

struct Broadcast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Emit an event to a namespace or a room, validated against the event's schema if a plugin declares one."
    )

    @OptionGroup var target: OperatorOptions

    @Option(name: .long, help: "The namespace path.")
    var namespace = "/"

    @Option(name: .long, help: "Only this room.")
    var room: String?

    @Option(name: .long, help: "The event name.")
    var event: String

    @Option(name: .long, help: "The payload: one JSON value, sent as the event's single argument.")
    var payload: String?

    @Option(name: .long, help: "All arguments as a JSON array (instead of --payload).")
    var arguments: String?

    func run() async throws {
        let values: JSONValue
        if let arguments {
            guard let parsed = try? JSONValue(parsing: arguments), parsed.arrayValue != nil else { throw ValidationError("--arguments must be a JSON array") }
            values = parsed
        } else if let payload {
            guard let parsed = try? JSONValue(parsing: payload) else { throw ValidationError("--payload must be JSON") }
            values = [parsed]
        } else {
            values = []
        }
        let request: JSONValue = ["namespace": .string(namespace), "room": room.map { .string($0) } ?? .null, "event": .string(event), "arguments": values]
        let result = try await target.perform("/admin/broadcast", command: "switchyard.broadcast", payload: request)
        if let error = result["error"]?.stringValue { throw ValidationError(error) }
        print("sent '\(event)' to \(room.map { "room \($0) of " } ?? "")\(namespace)" + nodes(result))
    }
}

struct PurgeRoom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge-room",
        abstract: "Make every socket leave a room and delete its persisted memberships."
    )

    @OptionGroup var target: OperatorOptions

    @Option(name: .long, help: "The namespace path.")
    var namespace = "/"

    @Option(name: .long, help: "The room.")
    var room: String

    func run() async throws {
        let result = try await target.perform("/admin/purge-room", command: "switchyard.purge-room", payload: ["namespace": .string(namespace), "room": .string(room)])
        print("purged room \(room) of \(namespace): \(result["sockets"]?.intValue ?? 0) socket(s) left, \(result["memberships"]?.intValue ?? 0) membership(s) deleted" + nodes(result))
    }
}

private func nodes(_ result: JSONValue) -> String {
    var text = ""
    if let count = result["nodes"]?.intValue { text += " on \(count) node(s)" }
    if let missing = result["missingNodes"]?.arrayValue, !missing.isEmpty { text += "; no answer from \(missing.count) node(s)" }
    return text
}
