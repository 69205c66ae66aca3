/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "facts.h"

/* Reads obj[key] as an IMDS string. Absent keys leave dst->present false.
 * -EBADMSG when the value is not a string, -E2BIG when it does not fit; the
 * dotted `where` names the key in err. */
int json_imds_str(const cJSON *obj, const char *key, struct imds_str *dst,
                  const char *where, char *err, size_t errsz);

/* Returns obj[key] if it is an object, NULL if absent; -EBADMSG via *r when
 * present with another type. */
const cJSON *json_object(const cJSON *obj, const char *key, const char *where, int *r,
                         char *err, size_t errsz);

void cjson_deletep(cJSON **j);

/* Prints o (compact or indented) into memory of our own allocator: free()
 * it. NULL when out of memory. */
char *json_print(const cJSON *o, bool compact);
