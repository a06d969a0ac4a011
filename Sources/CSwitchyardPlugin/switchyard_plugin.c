/* Compile-time checks of the plugin ABI layout; the header is the contract. */
#include "switchyard_plugin.h"

_Static_assert(sizeof(sy_bytes) == 2 * sizeof(void *), "sy_bytes is a pointer and a length");
_Static_assert(SY_ABI_VERSION == 1u, "this file describes ABI version 1");
