/* Test fixture: traps while initialising, as a Swift plugin's failed precondition would. */
#include "switchyard_plugin.h"
const sy_plugin_descriptor *switchyard_plugin_entry(void) { __builtin_trap(); }
