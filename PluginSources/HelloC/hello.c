/*
 * hello-c: a Switchyard plugin in plain C, against switchyard_plugin.h only.
 *
 * Namespace /c:
 *   greet {"name": "Ada"}  -> ack {"greeting": "Hello, Ada!"}   (synchronous)
 *   later                  -> ack "later", completed 20 ms later from another thread
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "switchyard_plugin.h"

static const sy_host_services *host_services;

static void log_line(sy_log_level level, const char *text) {
    if (host_services) {
        sy_bytes message = {(const uint8_t *)text, strlen(text)};
        host_services->log(host_services->host, level, message);
    }
}

static int32_t start(void *user_data, const sy_host_services *host, sy_bytes config_json) {
    (void)user_data;
    (void)config_json;
    host_services = host;
    log_line(SY_LOG_INFO, "hello-c started");
    return 0;
}

static void complete_text(sy_complete_fn complete, void *completion, sy_status status, const char *json) {
    sy_bytes result = {(const uint8_t *)json, strlen(json)};
    sy_attachments none = {NULL, 0};
    complete(completion, status, result, none);
}

/* The payload schema guarantees {"name": "<no quotes or backslashes>"}, so a scan suffices. */
static void greet(void *user_data, const sy_invocation *invocation, sy_complete_fn complete, void *completion) {
    (void)user_data;
    const char *json = (const char *)invocation->arguments_json.data;
    size_t length = invocation->arguments_json.length;
    const char *key = NULL;
    for (size_t i = 0; i + 6 <= length; i++) {
        if (memcmp(json + i, "\"name\"", 6) == 0) { key = json + i + 6; break; }
    }
    const char *end = json + length;
    const char *start = key ? memchr(key, '"', (size_t)(end - key)) : NULL;
    const char *stop = start ? memchr(start + 1, '"', (size_t)(end - start - 1)) : NULL;
    if (!start || !stop) {
        complete_text(complete, completion, SY_ERROR,
                      "{\"kind\":\"validation\",\"detail\":\"greet needs {\\\"name\\\": string}\",\"code\":\"missing_name\"}");
        return;
    }
    int name_length = (int)(stop - start - 1);
    char reply[256];
    snprintf(reply, sizeof reply, "[{\"greeting\":\"Hello, %.*s!\"}]", name_length, start + 1);
    complete_text(complete, completion, SY_OK, reply);
}

struct later_job {
    sy_complete_fn complete;
    void *completion;
};

static void *later_thread(void *argument) {
    struct later_job *job = argument;
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    complete_text(job->complete, job->completion, SY_OK, "[\"later\"]");
    free(job);
    return NULL;
}

static void later(void *user_data, const sy_invocation *invocation, sy_complete_fn complete, void *completion) {
    (void)user_data;
    (void)invocation;
    struct later_job *job = malloc(sizeof *job);
    pthread_t thread;
    if (!job) {
        complete_text(complete, completion, SY_ERROR, "{\"kind\":\"internal\",\"detail\":\"out of memory\"}");
        return;
    }
    job->complete = complete;
    job->completion = completion;
    if (pthread_create(&thread, NULL, later_thread, job) != 0) {
        free(job);
        complete_text(complete, completion, SY_ERROR, "{\"kind\":\"infrastructure\",\"detail\":\"cannot start a thread\"}");
        return;
    }
    pthread_detach(thread);
}

static const sy_operation operations[] = {
    {
        .key = "hello.greet",
        .summary = "Greets by name",
        .payload_schema_json =
            "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\","
            "\"minLength\":1,\"maxLength\":100,\"pattern\":\"^[^\\\"\\\\\\\\]*$\"}}}",
        .ack_schema_json = "{\"type\":\"object\",\"required\":[\"greeting\"]}",
        .invoke = greet,
    },
    {
        .key = "hello.later",
        .summary = "Answers from another thread, 20 ms later",
        .invoke = later,
    },
};

static const sy_route routes[] = {
    {.namespace_pattern = "/c", .event = "greet", .operation_key = "hello.greet", .ack = 1},
    {.namespace_pattern = "/c", .event = "later", .operation_key = "hello.later", .ack = 1},
};

static const sy_plugin_descriptor descriptor = {
    .abi_version = SY_ABI_VERSION,
    .struct_size = sizeof(sy_plugin_descriptor),
    .name = "hello-c",
    .version = "1.0.0",
    .start = start,
    .operations = operations,
    .operation_count = sizeof operations / sizeof operations[0],
    .routes = routes,
    .route_count = sizeof routes / sizeof routes[0],
};

const sy_plugin_descriptor *switchyard_plugin_entry(void) { return &descriptor; }
