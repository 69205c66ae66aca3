/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz-*.c). Each harness
 * defines LLVMFuzzerTestOneInput; with clang -fsanitize=fuzzer libFuzzer
 * drives it, otherwise fuzz-main.c replays a corpus through it. */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the code under test must keep: a violation is a finding,
 * reported like a crash (abort, so libFuzzer saves the input). */
#define FUZZ_ASSERT(cond)                                                               \
        do {                                                                            \
                if (!(cond)) {                                                          \
                        fprintf(stderr, "%s:%d: fuzz property violated: %s\n", __FILE__, \
                                __LINE__, #cond);                                       \
                        abort();                                                        \
                }                                                                       \
        } while (0)

/* snprintf into an array that must hold the whole text: the harness's own
 * paths and commands are never cut short. */
#define FUZZ_FMT(buf, ...)                                                              \
        do {                                                                            \
                int fuzz_n_ = snprintf((buf), sizeof(buf), __VA_ARGS__);                \
                if (fuzz_n_ < 0 || (size_t) fuzz_n_ >= sizeof(buf))                     \
                        abort();                                                        \
        } while (0)

/* The input as a C string: an exact-size heap copy, so ASan catches a read
 * one byte past the terminator. Embedded NULs simply end the string, as they
 * would for text read from a file. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);

        if (!s)
                abort();
        if (size)
                memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* An exact-size heap copy without a terminator, for parsers that take a
 * length: any read past `size` is an ASan finding. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
        char *s = malloc(size ? size : 1);

        if (!s)
                abort();
        if (size)
                memcpy(s, data, size);
        return s;
}
