// libFuzzer's entry point for programs that keep their own main() (llvm.org/docs/LibFuzzer.html): used by
// trustgate-fuzz when scripts/fuzz.sh builds it with -sanitize=fuzzer; never referenced otherwise.
#ifndef TRUSTGATE_CLIBFUZZER_H
#define TRUSTGATE_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
