import Foundation
import SwitchyardPluginKit

// A chat plugin on `/chat`, written with typed operations.
//
// Client events:
//   room.join     {"room": "lobby"}                → ack {"room": "lobby"}
//   room.leave    {"room": "lobby"}                → ack {"room": "lobby"}
//   message.send  {"room": "lobby", "text": "hi"}  → ack {"id": "...", "at": "..."}
// Server event:
//   message.new   {"id", "room", "text", "from", "at"} to everyone in the room

struct RoomRequest: Codable, Sendable {
    var room: String
}

struct SendMessage: Codable, Sendable {
    var room: String
    var text: String
}

struct MessageAccepted: Codable, Sendable {
    var id: String
    var at: Date
}

struct NewMessage: Codable, Sendable {
    var id: String
    var room: String
    var text: String
    var from: String
    var at: Date
}

let roomSchema = #"{"type":"object","required":["room"],"additionalProperties":false,"properties":{"room":{"type":"string","minLength":1,"maxLength":64,"pattern":"^[A-Za-z0-9_-]+$"}}}"#

let plugin = Plugin(name: "chat", version: "1.0.0") { chat in
    chat.operation(
        "rooms.join",
        summary: "Joins a chat room",
        payload: RoomRequest.self,
        ack: RoomRequest.self,
        payloadSchema: roomSchema
    ) { request, context in
        try context.join(request.room)
        return request
    }

    chat.operation(
        "rooms.leave",
        summary: "Leaves a chat room",
        payload: RoomRequest.self,
        ack: RoomRequest.self,
        payloadSchema: roomSchema
    ) { request, context in
        try context.leave(request.room)
        return request
    }

    chat.operation(
        "messages.create",
        summary: "Posts a message to a room the caller is in",
        payload: SendMessage.self,
        ack: MessageAccepted.self,
        payloadSchema: #"""
            {"type":"object","required":["room","text"],"additionalProperties":false,
             "properties":{"room":{"type":"string","minLength":1,"maxLength":64},
                           "text":{"type":"string","minLength":1,"maxLength":2000}}}
            """#,
        ackSchema: #"{"type":"object","required":["id","at"],"properties":{"id":{"type":"string"},"at":{"type":"string","format":"date-time"}}}"#
    ) { message, context in
        guard context.rooms.contains(message.room) else {
            throw OperationError.precondition("join room '\(message.room)' before posting to it", code: "not_in_room")
        }
        let accepted = MessageAccepted(id: UUID().uuidString.lowercased(), at: Date())
        let from = context.identity?.id ?? context.socketID
        let event = NewMessage(id: accepted.id, room: message.room, text: message.text, from: from, at: accepted.at)
        try context.host.emit(to: .room(message.room), in: context.namespace, event: "message.new", try Arguments(encoding: event))
        return accepted
    }

    chat.serverEvent(
        "message.new",
        summary: "A message posted to a room you are in",
        payloadSchema: #"""
            {"type":"object","required":["id","room","text","from","at"],
             "properties":{"id":{"type":"string"},"room":{"type":"string"},"text":{"type":"string"},
                           "from":{"type":"string"},"at":{"type":"string","format":"date-time"}}}
            """#
    )

    chat.route(namespace: "/chat", event: "room.join", operation: "rooms.join")
    chat.route(namespace: "/chat", event: "room.leave", operation: "rooms.leave")
    chat.route(namespace: "/chat", event: "message.send", operation: "messages.create")
}

@_cdecl("switchyard_plugin_entry")
public func switchyardPluginEntry() -> UnsafeRawPointer { plugin.export() }
