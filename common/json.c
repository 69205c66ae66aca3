/* SPDX-License-Identifier: Apache-2.0 */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strparse.h"

/* Every cJSON allocation goes through here, so that a builder can tell
 * whether one failed anywhere below it: cJSON_Add* and cJSON_Create* only
 * return NULL, which a chain of nested builders easily drops. */
static _Thread_local unsigned long alloc_failures;
static void *(*underlying_malloc)(size_t) = malloc;

static void *tracking_malloc(size_t n)
{
        void *p = underlying_malloc(n);

        if (!p)
                alloc_failures++;
        return p;
}

__attribute__((constructor)) static void json_hooks_init(void)
{
        cJSON_Hooks hooks = { .malloc_fn = tracking_malloc, .free_fn = free };

        cJSON_InitHooks(&hooks);
}

unsigned long json_alloc_failures(void)
{
        return alloc_failures;
}

void json_set_allocator(void *(*fn)(size_t))
{
        underlying_malloc = fn ? fn : malloc;
}

bool json_add_item(cJSON *parent, const char *key, cJSON *item)
{
        if (!item)
                return false;
        if (parent && cJSON_AddItemToObject(parent, key, item))
                return true;
        cJSON_Delete(item);
        return false;
}

bool json_append(cJSON *array, cJSON *item)
{
        if (!item)
                return false;
        if (array && cJSON_AddItemToArray(array, item))
                return true;
        cJSON_Delete(item);
        return false;
}

void cjson_deletep(cJSON **j)
{
        cJSON_Delete(*j);
}

const cJSON *json_object(const cJSON *obj, const char *key, const char *where, int *r,
                         char *err, size_t errsz)
{
        const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

        if (!v)
                return NULL;
        if (!cJSON_IsObject(v)) {
                snprintf(err, errsz, "%s.%s is not an object", where, key);
                *r = -EBADMSG;
                return NULL;
        }
        return v;
}

char *json_print(const cJSON *o, bool compact)
{
        char *text = compact ? cJSON_PrintUnformatted(o) : cJSON_Print(o), *copy;

        if (!text)
                return NULL;
        /* cJSON's allocator is not ours: hand out a copy callers free(). */
        copy = strdup(text);
        cJSON_free(text);
        /* cJSON copies string bytes as they are; a sysfs attribute, a label
         * or an IMDS value that is not UTF-8 would make the report, the
         * signed statement and the API patches invalid JSON (RFC 8259). */
        if (copy)
                (void) utf8_sanitize(copy);
        return copy;
}
