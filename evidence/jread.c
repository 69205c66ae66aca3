/* SPDX-License-Identifier: Apache-2.0 */
#include "jread.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "strparse.h"

bool jr_ok(const struct jread *j)
{
        return j->r == 0;
}

void jr_fail(struct jread *j, const char *where, const char *key, const char *what)
{
        if (j->r < 0)
                return;
        j->r = -EBADMSG;
        snprintf(j->err, sizeof(j->err), "%s%s%s %s", where, *where ? "." : "", key, what);
}

static const cJSON *item(struct jread *j, const cJSON *o, const char *where, const char *key)
{
        const cJSON *v;

        if (j->r < 0 || !o)
                return NULL;
        v = cJSON_GetObjectItemCaseSensitive(o, key);
        if (!v)
                jr_fail(j, where, key, "is missing");
        return v;
}

void jr_str(struct jread *j, const cJSON *o, const char *where, const char *key, char *dst, size_t sz)
{
        const cJSON *v = item(j, o, where, key);

        dst[0] = '\0';
        if (!v)
                return;
        if (!cJSON_IsString(v)) {
                jr_fail(j, where, key, "is not a string");
                return;
        }
        if (strcpy_bounded(dst, sz, v->valuestring) < 0)
                jr_fail(j, where, key, "is too long");
}

void jr_opt_str(struct jread *j, const cJSON *o, const char *where, const char *key, char *dst, size_t sz)
{
        const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

        dst[0] = '\0';
        if (v && !cJSON_IsNull(v))
                jr_str(j, o, where, key, dst, sz);
}

void jr_imds(struct jread *j, const cJSON *o, const char *where, const char *key, struct imds_str *dst)
{
        const cJSON *v = item(j, o, where, key);

        dst->present = false;
        dst->value[0] = '\0';
        if (!v || cJSON_IsNull(v))
                return;
        jr_str(j, o, where, key, dst->value, sizeof(dst->value));
        dst->present = jr_ok(j);
}

bool jr_bool(struct jread *j, const cJSON *o, const char *where, const char *key)
{
        const cJSON *v = item(j, o, where, key);

        if (v && !cJSON_IsBool(v))
                jr_fail(j, where, key, "is not a boolean");
        return v && cJSON_IsTrue(v);
}

uint64_t jr_u64(struct jread *j, const cJSON *o, const char *where, const char *key)
{
        const cJSON *v = item(j, o, where, key);
        double d;

        if (!v)
                return 0;
        d = v->valuedouble;
        /* Range first: converting an out-of-range double is undefined. */
        if (!cJSON_IsNumber(v) || !(d >= 0 && d <= 9007199254740992.0) || d != (double) (uint64_t) d) {
                jr_fail(j, where, key, "is not a non-negative integer");
                return 0;
        }
        return (uint64_t) d;
}

unsigned jr_enum(struct jread *j, const cJSON *o, const char *where, const char *key,
                 const char *const *names, unsigned n)
{
        char v[64];

        jr_str(j, o, where, key, v, sizeof(v));
        if (!jr_ok(j))
                return 0;
        for (unsigned i = 0; i < n; i++)
                if (!strcmp(v, names[i]))
                        return i;
        jr_fail(j, where, key, "has an unknown value");
        return 0;
}

const cJSON *jr_obj(struct jread *j, const cJSON *o, const char *where, const char *key)
{
        const cJSON *v = item(j, o, where, key);

        if (v && !cJSON_IsObject(v)) {
                jr_fail(j, where, key, "is not an object");
                return NULL;
        }
        return v;
}

const cJSON *jr_arr(struct jread *j, const cJSON *o, const char *where, const char *key, int max,
                    bool nullable)
{
        const cJSON *v = item(j, o, where, key);

        if (!v || (nullable && cJSON_IsNull(v)))
                return NULL;
        if (!cJSON_IsArray(v)) {
                jr_fail(j, where, key, "is not an array");
                return NULL;
        }
        if (cJSON_GetArraySize(v) > max) {
                jr_fail(j, where, key, "has too many elements");
                return NULL;
        }
        return v;
}
