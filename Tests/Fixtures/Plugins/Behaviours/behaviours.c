/*
 * Test fixture: operations that misbehave in every way the error boundary must handle,
 * plus a hook and an identity resolver. Namespace /b.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "switchyard_plugin.h"

static const sy_host_services *services;

static int32_t start(void *user_data, const sy_host_services *host, sy_bytes config) {
    (void)user_data;
    (void)config;
    services = host;
    return 0;
}

static void reply(sy_complete_fn complete, void *completion, sy_status status, const char *json) {
    complete(completion, status, (sy_bytes){(const uint8_t *)json, strlen(json)}, (sy_attachments){0, 0});
}

/* Copies the string value of "key" from flat JSON without escapes (ids, paths, kinds). */
static int extract(sy_bytes json, const char *key, char *out, size_t size) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    size_t plen = strlen(pattern);
    const char *text = (const char *)json.data;
    for (size_t i = 0; i + plen <= json.length; i++) {
        if (memcmp(text + i, pattern, plen) != 0) continue;
        size_t start = i + plen, end = start;
        while (end < json.length && text[end] != '"') end++;
        if (end - start >= size) return 0;
        memcpy(out, text + start, end - start);
        out[end - start] = 0;
        return 1;
    }
    return 0;
}

static void never(void *u, const sy_invocation *i, sy_complete_fn c, void *t) { (void)u; (void)i; (void)c; (void)t; }

static void malformed(void *u, const sy_invocation *i, sy_complete_fn c, void *t) { (void)u; (void)i; reply(c, t, SY_OK, "not json"); }

static void not_array(void *u, const sy_invocation *i, sy_complete_fn c, void *t) { (void)u; (void)i; reply(c, t, SY_OK, "{\"a\":1}"); }

/* Fails with the kind named by the first argument: ["not_found"]. */
static void fail(void *u, const sy_invocation *i, sy_complete_fn c, void *t) {
    (void)u;
    char kind[48] = "internal";
    const char *json = (const char *)i->arguments_json.data;
    if (i->arguments_json.length > 4 && json[1] == '"') {
        size_t n = 0;
        while (n + 2 < i->arguments_json.length && json[2 + n] != '"' && n < sizeof kind - 1) { kind[n] = json[2 + n]; n++; }
        kind[n] = 0;
    }
    char error[256];
    snprintf(error, sizeof error, "{\"kind\":\"%s\",\"detail\":\"secret detail for %s\",\"code\":\"c_%s\",\"context\":{\"hint\":1}}", kind, kind, kind);
    reply(c, t, SY_ERROR, error);
}

static void bad_error(void *u, const sy_invocation *i, sy_complete_fn c, void *t) { (void)u; (void)i; reply(c, t, SY_ERROR, "<html>oops</html>"); }

static void bad_ack(void *u, const sy_invocation *i, sy_complete_fn c, void *t) { (void)u; (void)i; reply(c, t, SY_OK, "[{\"nope\":1}]"); }

static void twice(void *u, const sy_invocation *i, sy_complete_fn c, void *t) {
    (void)u;
    (void)i;
    reply(c, t, SY_OK, "[1]");
    reply(c, t, SY_OK, "[2]");
}

/* Completions that come from elsewhere than the calling thread during the call. */
struct completion { sy_complete_fn complete; void *token; const char *json; };

static void *complete_on_thread(void *arg) {
    struct completion *pending = arg;
    reply(pending->complete, pending->token, SY_OK, pending->json);
    return NULL;
}

/* Completes from another thread while the call is still running (joined before returning). */
static void from_thread(void *u, const sy_invocation *i, sy_complete_fn c, void *t) {
    (void)u;
    (void)i;
    struct completion pending = {c, t, "[\"thread\"]"};
    pthread_t thread;
    if (pthread_create(&thread, NULL, complete_on_thread, &pending) != 0) { reply(c, t, SY_ERROR, "{\"kind\":\"internal\",\"detail\":\"no thread\"}"); return; }
    pthread_join(thread, NULL);
}

/* Completes on its thread, then again from another thread: the second is ignored. */
static void twice_then_thread(void *u, const sy_invocation *i, sy_complete_fn c, void *t) {
    (void)u;
    (void)i;
    reply(c, t, SY_OK, "[\"first\"]");
    struct completion pending = {c, t, "[\"second\"]"};
    pthread_t thread;
    if (pthread_create(&thread, NULL, complete_on_thread, &pending) == 0) pthread_join(thread, NULL);
}

/* Completes from another thread, then again on its thread: the second is ignored. */
static void thread_then_twice(void *u, const sy_invocation *i, sy_complete_fn c, void *t) {
    (void)u;
    (void)i;
    struct completion pending = {c, t, "[\"first\"]"};
    pthread_t thread;
    if (pthread_create(&thread, NULL, complete_on_thread, &pending) == 0) pthread_join(thread, NULL);
    reply(c, t, SY_OK, "[\"second\"]");
}

/* "deferred" keeps its completion; "release" (another event) completes it after the call. */
static sy_complete_fn deferred_complete;
static void *deferred_token;

static void deferred(void *u, const sy_invocation *i, sy_complete_fn c, void *t) {
    (void)u;
    (void)i;
    deferred_complete = c;
    deferred_token = t;
}

static void release(void *u, const sy_invocation *i, sy_complete_fn c, void *t) {
    (void)u;
    (void)i;
    if (deferred_complete) {
        reply(deferred_complete, deferred_token, SY_OK, "[\"deferred\"]");
        reply(deferred_complete, deferred_token, SY_OK, "[\"deferred again\"]");
    }
    deferred_complete = NULL;
    reply(c, t, SY_OK, "[\"released\"]");
}

static void context(void *u, const sy_invocation *i, sy_complete_fn c, void *t) {
    (void)u;
    char result[8192];
    int n = snprintf(result, sizeof result, "[%.*s]", (int)i->context_json.length, (const char *)i->context_json.data);
    if (n <= 0 || (size_t)n >= sizeof result) { reply(c, t, SY_ERROR, "{\"kind\":\"internal\",\"detail\":\"context too large\"}"); return; }
    reply(c, t, SY_OK, result);
}

/* Acknowledges with its own arguments and attachments: binary across the ABI both ways. */
static void attachments(void *u, const sy_invocation *i, sy_complete_fn c, void *t) {
    (void)u;
    c(t, SY_OK, i->arguments_json, i->attachments);
}

static void validated(void *u, const sy_invocation *i, sy_complete_fn c, void *t) {
    (void)u;
    (void)i;
    reply(c, t, SY_OK, "[\"valid\"]");
}

/* Emits the declared server event "strict" (schema: integer) with the first argument to the
 * caller, and acknowledges with the host's status code. */
static void emit_strict(void *u, const sy_invocation *i, sy_complete_fn c, void *t) {
    (void)u;
    char sid[64], nsp[128];
    if (!extract(i->context_json, "socketId", sid, sizeof sid) || !extract(i->context_json, "namespace", nsp, sizeof nsp)) {
        reply(c, t, SY_ERROR, "{\"kind\":\"internal\",\"detail\":\"no context\"}");
        return;
    }
    int32_t status = i->host->emit(i->host->host, nsp, SY_TARGET_SOCKET, sid, NULL, "strict", i->arguments_json, (sy_attachments){0, 0});
    char result[32];
    snprintf(result, sizeof result, "[%d]", status);
    reply(c, t, SY_OK, result);
}

static void on_connect(void *u, const sy_invocation *i) {
    (void)u;
    char sid[64], nsp[128];
    if (!extract(i->context_json, "socketId", sid, sizeof sid) || !extract(i->context_json, "namespace", nsp, sizeof nsp)) return;
    char args[8192];
    int n = snprintf(args, sizeof args, "[%.*s]", (int)i->context_json.length, (const char *)i->context_json.data);
    if (n <= 0 || (size_t)n >= sizeof args) return;
    i->host->emit(i->host->host, nsp, SY_TARGET_SOCKET, sid, NULL, "hooked", (sy_bytes){(const uint8_t *)args, (size_t)n}, (sy_attachments){0, 0});
}

static void resolve(void *u, const sy_invocation *i, sy_decide_fn decide, void *decision) {
    (void)u;
    char token[64] = "";
    extract(i->arguments_json, "token", token, sizeof token);
    const char *result;
    sy_status status = SY_OK;
    if (strcmp(token, "good") == 0) {
        result = "{\"id\":\"u1\",\"roles\":[\"admin\"],\"tenant\":\"t1\"}";
    } else if (strcmp(token, "anon") == 0) {
        result = "null";
    } else if (strcmp(token, "crash") == 0) {
        status = SY_ERROR;
        result = "{\"kind\":\"infrastructure\",\"detail\":\"token store unreachable at 10.0.0.7\"}";
    } else {
        status = SY_ERROR;
        result = "{\"kind\":\"authentication\",\"detail\":\"unknown token\",\"code\":\"bad_token\"}";
    }
    decide(decision, status, (sy_bytes){(const uint8_t *)result, strlen(result)});
}

/* A guard: denies anything whose arguments contain the number 13. */
static void no_thirteen(void *u, const sy_invocation *i, sy_decide_fn decide, void *decision) {
    (void)u;
    const char *json = (const char *)i->arguments_json.data;
    int found = 0;
    for (size_t k = 0; k + 2 <= i->arguments_json.length; k++) {
        int before = k == 0 || json[k - 1] < '0' || json[k - 1] > '9';
        int after = k + 2 == i->arguments_json.length || json[k + 2] < '0' || json[k + 2] > '9';
        if (json[k] == '1' && json[k + 1] == '3' && before && after) { found = 1; break; }
    }
    const char *result = found ? "{\"kind\":\"authorization\",\"detail\":\"13 is unlucky\",\"code\":\"unlucky\"}" : "null";
    decide(decision, found ? SY_ERROR : SY_OK, (sy_bytes){(const uint8_t *)result, strlen(result)});
}

static const sy_operation operations[] = {
    {.key = "b.never", .invoke = never},
    {.key = "b.malformed", .invoke = malformed},
    {.key = "b.not-array", .invoke = not_array},
    {.key = "b.fail", .invoke = fail},
    {.key = "b.bad-error", .invoke = bad_error},
    {.key = "b.bad-ack", .ack_schema_json = "{\"type\":\"object\",\"required\":[\"id\"]}", .invoke = bad_ack},
    {.key = "b.twice", .invoke = twice},
    {.key = "b.from-thread", .invoke = from_thread},
    {.key = "b.twice-then-thread", .invoke = twice_then_thread},
    {.key = "b.thread-then-twice", .invoke = thread_then_twice},
    {.key = "b.deferred", .invoke = deferred},
    {.key = "b.release", .invoke = release},
    {.key = "b.context", .invoke = context},
    {.key = "b.attachments", .invoke = attachments},
    {.key = "b.emit-strict", .invoke = emit_strict},
    {
        .key = "b.validated",
        .payload_schema_json =
            "{\"type\":\"object\",\"required\":[\"n\",\"tags\"],\"additionalProperties\":false,\"properties\":{"
            "\"n\":{\"type\":\"integer\",\"minimum\":1},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}",
        .invoke = validated,
    },
};

static const sy_route routes[] = {
    {"/b", "never", "b.never", 1},
    {"/b", "malformed", "b.malformed", 1},
    {"/b", "not-array", "b.not-array", 1},
    {"/b", "fail", "b.fail", 1},
    {"/b", "bad-error", "b.bad-error", 1},
    {"/b", "bad-ack", "b.bad-ack", 1},
    {"/b", "twice", "b.twice", 1},
    {"/b", "from-thread", "b.from-thread", 1},
    {"/b", "twice-then-thread", "b.twice-then-thread", 1},
    {"/b", "thread-then-twice", "b.thread-then-twice", 1},
    {"/b", "deferred", "b.deferred", 1},
    {"/b", "release", "b.release", 1},
    {"/b", "context", "b.context", 1},
    {"/b", "attachments", "b.attachments", 1},
    {"/b", "emit-strict", "b.emit-strict", 1},
    {"/b", "validated", "b.validated", 1},
    {"/b/:room", "context", "b.context", 1},
};

static const sy_hook hooks[] = {{.kind = SY_HOOK_CONNECT, .namespace_pattern = "/b", .run = on_connect}};

static const sy_server_event events[] = {
    {.name = "hooked", .summary = "The context, sent on connect"},
    {.name = "strict", .payload_schema_json = "{\"type\":\"integer\"}"},
};

static const sy_identity_resolver resolvers[] = {{.name = "b.identity", .resolve = resolve}};

static const sy_guard guards[] = {{.name = "b.no-thirteen", .check = no_thirteen}};

static const sy_plugin_descriptor descriptor = {
    .abi_version = SY_ABI_VERSION,
    .struct_size = sizeof(sy_plugin_descriptor),
    .name = "behaviours",
    .version = "0.0.1",
    .start = start,
    .operations = operations,
    .operation_count = sizeof operations / sizeof operations[0],
    .routes = routes,
    .route_count = sizeof routes / sizeof routes[0],
    .server_events = events,
    .server_event_count = sizeof events / sizeof events[0],
    .hooks = hooks,
    .hook_count = 1,
    .identity_resolvers = resolvers,
    .identity_resolver_count = 1,
    .guards = guards,
    .guard_count = 1,
};

const sy_plugin_descriptor *switchyard_plugin_entry(void) { return &descriptor; }
