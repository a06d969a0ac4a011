/* Test fixture: a descriptor from a future ABI. */
#include "switchyard_plugin.h"
static const sy_plugin_descriptor descriptor = {
    .abi_version = 999, .struct_size = sizeof(sy_plugin_descriptor), .name = "future", .version = "9.9.9",
};
const sy_plugin_descriptor *switchyard_plugin_entry(void) { return &descriptor; }
