/* SPDX-License-Identifier: Apache-2.0 */
#include "collect_index.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "macro.h"
#include "strparse.h"
#include "timeutil.h"

const char *const chain_status_names[CHAIN_COUNT] = { "first", "ok", "gap", "replay" };

bool cindex_hex_n(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

bool cindex_hex64(const char *s)
{
        return cindex_hex_n(s, 64) && s[64] == '\0';
}

bool cindex_safe_name(const char *s)
{
        if (!*s || *s == '.' || strlen(s) > 63)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      *s == '-' || *s == '.' || *s == '_'))
                        return false;
        return true;
}

/* A keyId as hostenc names keys ("SHA256:" and base64): visible ASCII. */
static bool printable(const char *s)
{
        for (; *s; s++)
                if (*s < 0x21 || *s > 0x7e)
                        return false;
        return true;
}

static const char *string_of(const cJSON *o, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

        return cJSON_IsString(v) ? v->valuestring : NULL;
}

int cindex_parse_line(const char *line, size_t len, struct cindex_rec *ret)
{
        _cleanup_(cjson_deletep) cJSON *o = cJSON_ParseWithLength(line, len);
        const char *sha = string_of(o, "sha256"), *vm = string_of(o, "vmId"), *key = string_of(o, "keyId");
        const char *chain = string_of(o, "chain");
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "sequence");
        const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(o, "bytes");
        struct cindex_rec rec = { 0 };
        int c;

        if (!sha || !cindex_hex64(sha) || !vm || !cindex_safe_name(vm) || !key || !*key || !printable(key) ||
            !chain || !cJSON_IsNumber(seq) ||
            !(seq->valuedouble >= 1 && seq->valuedouble < 9007199254740992.0))
                return -EBADMSG;
        for (c = 0; c < CHAIN_COUNT && strcmp(chain, chain_status_names[c]); c++)
                ;
        if (c == CHAIN_COUNT || hex_decode(sha, rec.digest, 32) < 0 ||
            strcpy_bounded(rec.vm_id, sizeof(rec.vm_id), vm) < 0 ||
            strcpy_bounded(rec.key_id, sizeof(rec.key_id), key) < 0)
                return -EBADMSG;
        rec.sequence = (uint64_t) seq->valuedouble;
        rec.chain = (enum chain_status) c;
        rec.bytes = cJSON_IsNumber(bytes) && bytes->valuedouble >= 0 && bytes->valuedouble < 9007199254740992.0
                            ? (uint64_t) bytes->valuedouble
                            : 0;
        *ret = rec;
        return 0;
}

char *cindex_format_line(const struct cstore_entry *e)
{
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        char when[32];
        char *text, *line;
        bool ok;
        size_t n;

        if (!o)
                return NULL;
        format_rfc3339(e->received_at, when);
        /* Every member or no line: an entry with a field missing would not
         * parse back at the next open. */
        ok = cJSON_AddStringToObject(o, "sha256", e->sha256) && cJSON_AddStringToObject(o, "vmId", e->vm_id) &&
             cJSON_AddStringToObject(o, "keyId", e->key_id) &&
             cJSON_AddNumberToObject(o, "sequence", (double) e->sequence) &&
             (*e->previous ? cJSON_AddStringToObject(o, "previous", e->previous) != NULL
                           : cJSON_AddNullToObject(o, "previous") != NULL) &&
             cJSON_AddStringToObject(o, "observedAt", e->observed_at) &&
             cJSON_AddStringToObject(o, "verdict", e->verdict) && cJSON_AddStringToObject(o, "receivedAt", when) &&
             cJSON_AddStringToObject(o, "chain", chain_status_names[e->chain]) &&
             cJSON_AddNumberToObject(o, "bytes", (double) e->bytes);
        if (!ok)
                return NULL;
        text = json_print(o, true);
        if (!text)
                return NULL;
        n = strlen(text);
        line = realloc(text, n + 2);
        if (!line) {
                free(text);
                return NULL;
        }
        line[n] = '\n';
        line[n + 1] = '\0';
        return line;
}
