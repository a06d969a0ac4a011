#ifndef SWITCHYARD_CFUZZERDRIVER_H
#define SWITCHYARD_CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for programs that have their own main() (LLVM 12+,
/// compiler-rt/lib/fuzzer/FuzzerDriver.cpp). SwiftPM gives every executable a Swift main,
/// so the fuzz targets call this instead of exporting LLVMFuzzerTestOneInput.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
