/* Test fixture: declares operation "dup.op", as its twin does. */
#include "switchyard_plugin.h"
static void invoke(void *u, const sy_invocation *i, sy_complete_fn complete, void *c) {
    (void)u; (void)i;
    sy_bytes result = {(const uint8_t *)"[]", 2};
    complete(c, SY_OK, result, (sy_attachments){0, 0});
}
static const sy_operation operations[] = {{.key = "dup.op", .invoke = invoke}};
static const sy_plugin_descriptor descriptor = {
    .abi_version = SY_ABI_VERSION, .struct_size = sizeof(sy_plugin_descriptor), .name = "duplicate-A", .version = "1.0.0",
    .operations = operations, .operation_count = 1,
};
const sy_plugin_descriptor *switchyard_plugin_entry(void) { return &descriptor; }
