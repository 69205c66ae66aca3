/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared by the unit tests: locating test data and reading it. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fileio.h"

/* Directory named by an environment variable set in tests/meson.build. */
static inline const char *test_dir(const char *env)
{
        const char *d = getenv(env);

        if (!d || !*d) {
                fprintf(stderr, "%s is not set\n", env);
                exit(1);
        }
        return d;
}

static inline char *test_read(const char *env, const char *name, size_t *len)
{
        char path[4096];
        char *data = NULL;
        size_t n = 0;

        snprintf(path, sizeof(path), "%s/%s", test_dir(env), name);
        if (read_file_bounded(path, 16 * 1024 * 1024, &data, &n) < 0) {
                fprintf(stderr, "cannot read %s\n", path);
                exit(1);
        }
        if (len)
                *len = n;
        return data;
}
