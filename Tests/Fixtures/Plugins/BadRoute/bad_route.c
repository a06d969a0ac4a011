/* Test fixture: a route to an operation nobody declares. */
#include "switchyard_plugin.h"
static const sy_route routes[] = {{.namespace_pattern = "/x", .event = "go", .operation_key = "missing.op", .ack = 1}};
static const sy_plugin_descriptor descriptor = {
    .abi_version = SY_ABI_VERSION, .struct_size = sizeof(sy_plugin_descriptor), .name = "bad-route", .version = "1.0.0",
    .routes = routes, .route_count = 1,
};
const sy_plugin_descriptor *switchyard_plugin_entry(void) { return &descriptor; }
