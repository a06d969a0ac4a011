/*
 * switchyard_plugin.h — the Switchyard plugin ABI, version 1.
 *
 * This header is the only contract between the Switchyard host and a plugin. A plugin is a
 * shared library (`.so`) placed in the `plugins/` directory. The host loads it with
 * `dlopen(path, RTLD_NOW | RTLD_LOCAL)`, never unloads it, and calls one exported function:
 *
 *     const sy_plugin_descriptor *switchyard_plugin_entry(void);
 *
 * The descriptor it returns (which must stay valid for the life of the process) names the
 * plugin and lists what it contributes:
 *
 *   operations        named units of work ("messages.create") with JSON Schemas for their
 *                     payload and ack, invoked asynchronously with a completion callback;
 *   routes            default bindings `namespace + event -> operation`;
 *   server events     events the plugin emits to clients, with payload schemas (emits are
 *                     validated against them before they leave);
 *   hooks             called when a socket connects to or disconnects from a namespace;
 *   guards            checks run before an operation (allow, or deny with a reason);
 *   identity resolvers turn a CONNECT's auth payload into an identity, or refuse it.
 *
 * Data crosses as UTF-8 JSON in (pointer, length) pairs; binary attachments cross as byte
 * buffers referenced from the JSON by Socket.IO placeholders `{"_placeholder":true,"num":N}`.
 * Every buffer the host passes is valid only during the call (copy what you keep); every
 * buffer the plugin passes to a host function or completion is copied before it returns.
 *
 * Every callback receives the `user_data` of the item that declared it, so a plugin can keep
 * per-operation state without globals.
 *
 * Threads: the host calls plugin functions from its event-loop threads and never blocks
 * waiting for them; a plugin must not block in them either (start work elsewhere and call
 * the completion later, from any thread). Completions and host services are thread-safe.
 *
 * Versioning: `abi_version` must equal SY_ABI_VERSION of the host, or loading fails with a
 * message naming the file and both versions. Structures that may grow carry their size so
 * that later minor versions can append fields.
 */
#ifndef SWITCHYARD_PLUGIN_H
#define SWITCHYARD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI version this header describes. */
#define SY_ABI_VERSION 1u

/** The name of the one symbol a plugin exports. */
#define SY_PLUGIN_ENTRY_SYMBOL "switchyard_plugin_entry"

/* ------------------------------------------------------------------------------------ */
/* Data                                                                                  */
/* ------------------------------------------------------------------------------------ */

/** A byte range: UTF-8 JSON text, or the bytes of a binary attachment. */
typedef struct sy_bytes {
    const uint8_t *data;
    size_t length;
} sy_bytes;

/** A list of binary attachments, in placeholder order. */
typedef struct sy_attachments {
    const sy_bytes *items;
    size_t count;
} sy_attachments;

/** Log levels for sy_host_services.log. */
typedef enum sy_log_level {
    SY_LOG_DEBUG = 0,
    SY_LOG_INFO = 1,
    SY_LOG_WARNING = 2,
    SY_LOG_ERROR = 3,
} sy_log_level;

/** Outcome of an operation, passed to its completion. */
typedef enum sy_status {
    /** Success: the result is a JSON array, the arguments of the acknowledgement. */
    SY_OK = 0,
    /**
     * Failure: the result is a JSON object `{"kind": K, "detail": D, "code": C, "context": {...}}`.
     * `kind` is one of: validation, not_found, conflict, concurrency, precondition,
     * authentication, authorization, rate_limited, payload_too_large, internal,
     * infrastructure, configuration, timeout. `code` (machine-readable) and `context` are
     * optional. Client-side kinds reach the client as given; server-side kinds (internal,
     * infrastructure, configuration, timeout) are logged and replaced by a generic detail
     * plus a correlation id.
     */
    SY_ERROR = 1,
} sy_status;

/* ------------------------------------------------------------------------------------ */
/* Host services (handed to the plugin)                                                  */
/* ------------------------------------------------------------------------------------ */

/** Whom an emit targets. */
typedef enum sy_target_kind {
    /** One socket, by socket id. */
    SY_TARGET_SOCKET = 0,
    /** Every socket in a room. */
    SY_TARGET_ROOM = 1,
    /** Every socket of the namespace (`target` is ignored). */
    SY_TARGET_NAMESPACE = 2,
} sy_target_kind;

/** Receives a client's acknowledgement of sy_host_services.emit_with_ack. */
typedef void (*sy_ack_callback)(void *user_data, sy_status status, sy_bytes arguments_json,
                                sy_attachments attachments);

/**
 * What the host offers a plugin. Functions return 0 on success and a negative value on
 * failure (unknown namespace or socket, invalid JSON, an emit that fails its declared
 * schema); failures are also logged by the host with the plugin's name.
 */
typedef struct sy_host_services {
    /** sizeof(sy_host_services) as the host knows it. */
    uint32_t struct_size;
    /** Opaque; pass back as the first argument of every function. */
    void *host;

    /**
     * Emits `event` with `arguments_json` (a JSON array of the event's arguments) to the
     * target in `namespace_path` (a concrete path such as "/chat/lobby"). When the event
     * is a declared server event, its first argument is validated against the schema.
     * `except_socket_id` (may be NULL) leaves one socket out of room/namespace emits.
     */
    int32_t (*emit)(void *host, const char *namespace_path, sy_target_kind kind, const char *target,
                    const char *except_socket_id, const char *event, sy_bytes arguments_json,
                    sy_attachments attachments);

    /**
     * Emits to one socket and waits for its acknowledgement; `callback` is called exactly
     * once, from any thread: SY_OK with the ack arguments, or SY_ERROR with
     * `{"kind":"timeout"}` after `timeout_ms` (0: the server's default) or
     * `{"kind":"disconnected"}`.
     */
    int32_t (*emit_with_ack)(void *host, const char *namespace_path, const char *socket_id, const char *event,
                             sy_bytes arguments_json, sy_attachments attachments, uint32_t timeout_ms,
                             sy_ack_callback callback, void *user_data);

    /** Makes a socket join a room. */
    int32_t (*join)(void *host, const char *namespace_path, const char *socket_id, const char *room);

    /** Makes a socket leave a room. */
    int32_t (*leave)(void *host, const char *namespace_path, const char *socket_id, const char *room);

    /**
     * Disconnects a socket from its namespace (reason `server namespace disconnect`); with
     * `close_connection` nonzero, closes its whole connection.
     */
    int32_t (*disconnect)(void *host, const char *namespace_path, const char *socket_id, int32_t close_connection);

    /** Writes a log line attributed to the plugin. */
    void (*log)(void *host, sy_log_level level, sy_bytes message);
} sy_host_services;

/* ------------------------------------------------------------------------------------ */
/* Invocations                                                                            */
/* ------------------------------------------------------------------------------------ */

/**
 * What an operation, hook or guard receives.
 *
 * `context_json` is an object:
 *   {"socketId": "...", "namespace": "/chat/lobby", "params": {"room": "lobby"},
 *    "handshake": {"headers": {...}, "query": {...}, "auth": {...}, "address": "127.0.0.1",
 *                  "transport": "websocket"},
 *    "identity": {"id": "...", "roles": [...], "tenant": "..."} or null,
 *    "tenant": "..." or null,
 *    "recovered": false,
 *    "rooms": ["..."]}
 *
 * `recovered` (added within ABI version 1; absent from older hosts: read absent as false) is
 * true when connection state recovery brought back a socket that had lost its transport: the
 * same `socketId`, its rooms, the events it missed replayed before its connect hooks run. In a
 * connect guard or identity resolver it is true when accepting brings the previous socket back.
 * Keys may be added to this object within a version: ignore the ones you do not know.
 */
typedef struct sy_invocation {
    /** sizeof(sy_invocation) as the host knows it. */
    uint32_t struct_size;
    /** The event's arguments as a JSON array (the payload is the first element). */
    sy_bytes arguments_json;
    sy_attachments attachments;
    sy_bytes context_json;
    /** The event name (empty for hooks). */
    const char *event;
    const sy_host_services *host;
} sy_invocation;

/**
 * Finishes an operation. Call exactly once, from any thread; later calls are ignored.
 * For SY_OK, `result_json` is a JSON array (the acknowledgement's arguments); for
 * SY_ERROR, an error object (see sy_status).
 */
typedef void (*sy_complete_fn)(void *completion, sy_status status, sy_bytes result_json,
                               sy_attachments attachments);

/**
 * Starts an operation. Must return promptly; call `complete(completion, …)` now or later.
 * `user_data` is the operation's own `user_data` field.
 */
typedef void (*sy_invoke_fn)(void *user_data, const sy_invocation *invocation, sy_complete_fn complete,
                             void *completion);

/** A named unit of work. */
typedef struct sy_operation {
    /** Unique across all plugins, e.g. "messages.create". */
    const char *key;
    /** One-line description (may be NULL). */
    const char *summary;
    /** JSON Schema of the payload (the first argument); NULL accepts anything. */
    const char *payload_schema_json;
    /** JSON Schema of the ack (the first ack argument); NULL accepts anything. */
    const char *ack_schema_json;
    sy_invoke_fn invoke;
    /** Passed as the first argument of `invoke`. */
    void *user_data;
} sy_operation;

/** A default route: clients emitting `event` in namespaces matching the pattern run `operation`. */
typedef struct sy_route {
    /** A namespace path or pattern, e.g. "/chat" or "/chat/:room". */
    const char *namespace_pattern;
    const char *event;
    const char *operation_key;
    /** Nonzero: the operation's result is the acknowledgement. */
    int32_t ack;
} sy_route;

/** An event the plugin emits to clients. */
typedef struct sy_server_event {
    const char *name;
    const char *summary;
    /** JSON Schema of the payload (the first argument); NULL accepts anything. */
    const char *payload_schema_json;
} sy_server_event;

/** When a hook runs. */
typedef enum sy_hook_kind {
    /** After a socket joined a namespace (it can already receive emits). */
    SY_HOOK_CONNECT = 0,
    /** After a socket left; `arguments_json` is `["<disconnect reason>"]`. */
    SY_HOOK_DISCONNECT = 1,
} sy_hook_kind;

/** A connect or disconnect hook. Fire-and-forget: the host does not wait. */
typedef struct sy_hook {
    sy_hook_kind kind;
    /** Namespace pattern it applies to ("*" for all). */
    const char *namespace_pattern;
    void (*run)(void *user_data, const sy_invocation *invocation);
    void *user_data;
} sy_hook;

/**
 * Answers a guard or an identity resolver. For a guard, SY_OK allows; SY_ERROR denies with
 * an error object whose `kind` is authorization or authentication. For an identity
 * resolver, SY_OK carries the identity `{"id": "...", "roles": [...], "tenant": "..."}`
 * (or `null` for an anonymous connection); SY_ERROR refuses the CONNECT.
 */
typedef void (*sy_decide_fn)(void *decision, sy_status status, sy_bytes result_json);

/** A check run before operations (referenced by name from middleware configuration). */
typedef struct sy_guard {
    const char *name;
    void (*check)(void *user_data, const sy_invocation *invocation, sy_decide_fn decide, void *decision);
    void *user_data;
} sy_guard;

/** Turns a CONNECT's auth payload into an identity (referenced by name from configuration). */
typedef struct sy_identity_resolver {
    const char *name;
    /** `invocation->arguments_json` is `[<auth payload>]`. */
    void (*resolve)(void *user_data, const sy_invocation *invocation, sy_decide_fn decide, void *decision);
    void *user_data;
} sy_identity_resolver;

/* ------------------------------------------------------------------------------------ */
/* The descriptor                                                                         */
/* ------------------------------------------------------------------------------------ */

typedef struct sy_plugin_descriptor {
    /** Must be SY_ABI_VERSION. */
    uint32_t abi_version;
    /** sizeof(sy_plugin_descriptor) as the plugin was compiled. */
    uint32_t struct_size;
    /** Plugin name (unique), e.g. "chat". */
    const char *name;
    /** Plugin version, e.g. "1.2.0". */
    const char *version;

    /**
     * Called once, before any other function, with the host services (valid for the life
     * of the process) and the plugin's configuration (`{}` when none). Return 0, or nonzero
     * to refuse to start (the host reports the plugin as failed). May be NULL.
     */
    int32_t (*start)(void *user_data, const sy_host_services *host, sy_bytes config_json);
    /** Passed as the first argument of `start`. */
    void *user_data;

    const sy_operation *operations;
    size_t operation_count;
    const sy_route *routes;
    size_t route_count;
    const sy_server_event *server_events;
    size_t server_event_count;
    const sy_hook *hooks;
    size_t hook_count;
    const sy_guard *guards;
    size_t guard_count;
    const sy_identity_resolver *identity_resolvers;
    size_t identity_resolver_count;
} sy_plugin_descriptor;

/** The signature of the entry symbol. */
typedef const sy_plugin_descriptor *(*sy_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* SWITCHYARD_PLUGIN_H */
