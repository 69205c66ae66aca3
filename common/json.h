/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Returns obj[key] if it is an object, NULL if absent; -EBADMSG via *r when
 * present with another type. */
const cJSON *json_object(const cJSON *obj, const char *key, const char *where, int *r,
                         char *err, size_t errsz);

void cjson_deletep(cJSON **j);

/* cJSON_AddItemToObject/ToArray that always take item: on failure (no
 * parent, no memory for the key) it is deleted, never left to leak. */
bool json_add_item(cJSON *parent, const char *key, cJSON *item);
bool json_append(cJSON *array, cJSON *item);

/* How many cJSON allocations have failed on this thread. A builder of
 * something that gets signed compares it before and after: a statement with
 * a member silently missing is never signed. */
unsigned long json_alloc_failures(void);

/* The allocator under cJSON's (malloc by default, NULL restores it): the
 * seam through which tests make allocations fail. */
void json_set_allocator(void *(*fn)(size_t));

/* Prints o (compact or indented) into memory of our own allocator: free()
 * it. NULL when out of memory. */
char *json_print(const cJSON *o, bool compact);
