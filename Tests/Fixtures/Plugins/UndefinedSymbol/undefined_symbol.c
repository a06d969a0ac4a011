/* Test fixture: needs a symbol nothing provides, so RTLD_NOW refuses it at load time. */
#include "switchyard_plugin.h"
extern int switchyard_fixture_symbol_nobody_defines(void);
static const sy_plugin_descriptor descriptor = {
    .abi_version = SY_ABI_VERSION, .struct_size = sizeof(sy_plugin_descriptor), .name = "undefined-symbol", .version = "1.0.0",
};
const sy_plugin_descriptor *switchyard_plugin_entry(void) {
    return switchyard_fixture_symbol_nobody_defines() ? &descriptor : &descriptor;
}
