/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Strict readers for JSON we parse back (evidence). The first error wins
 * and names its field; later reads on a failed reader do nothing, so a
 * decoder reads straight through and checks once at the end. */

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facts.h"

struct jread {
        int r;
        char err[256];
};

bool jr_ok(const struct jread *j);
void jr_fail(struct jread *j, const char *where, const char *key, const char *what);
void jr_str(struct jread *j, const cJSON *o, const char *where, const char *key, char *dst, size_t sz);
/* Optional string: absent or null leaves dst empty. */
void jr_opt_str(struct jread *j, const cJSON *o, const char *where, const char *key, char *dst, size_t sz);
/* null means absent (present = false). */
void jr_imds(struct jread *j, const cJSON *o, const char *where, const char *key, struct imds_str *dst);
bool jr_bool(struct jread *j, const cJSON *o, const char *where, const char *key);
/* A non-negative integer up to 2^53 (exact in a JSON number). */
uint64_t jr_u64(struct jread *j, const cJSON *o, const char *where, const char *key);
/* Index of the string value in names[0..n), or 0 after an error. */
unsigned jr_enum(struct jread *j, const cJSON *o, const char *where, const char *key,
                 const char *const *names, unsigned n);
const cJSON *jr_obj(struct jread *j, const cJSON *o, const char *where, const char *key);
/* An array of at most max elements; NULL when null and nullable. */
const cJSON *jr_arr(struct jread *j, const cJSON *o, const char *where, const char *key, int max,
                    bool nullable);
