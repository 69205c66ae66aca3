/* SPDX-License-Identifier: Apache-2.0 */
#include "dsse.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "macro.h"
#include "strparse.h"

int dsse_pae(const char *type, const void *body, size_t len, struct buf *ret)
{
        char head[320];
        int n = snprintf(head, sizeof(head), "DSSEv1 %zu %s %zu ", strlen(type), type, len);
        struct buf b = BUF_INIT(ret->max);
        int r;

        if (n < 0 || (size_t) n >= sizeof(head))
                return -E2BIG;
        r = buf_append(&b, head, (size_t) n);
        if (r == 0)
                r = buf_append(&b, body, len);
        if (r < 0) {
                buf_done(&b);
                return r;
        }
        buf_done(ret);
        *ret = b;
        return 0;
}

int dsse_envelope_build(const char *type, const void *payload, size_t len, const uint8_t *sig,
                        size_t siglen, const char *keyid, char **ret)
{
        unsigned long failures = json_alloc_failures();
        _cleanup_(cjson_deletep) cJSON *env = cJSON_CreateObject();
        _cleanup_free_ char *p64 = NULL, *s64 = NULL;
        cJSON *sigs, *one;
        char *text;

        if (!env || base64_encode(payload, len, &p64) < 0 || base64_encode(sig, siglen, &s64) < 0)
                return -ENOMEM;
        sigs = cJSON_CreateArray();
        one = cJSON_CreateObject();
        if (!sigs || !one) {
                cJSON_Delete(sigs);
                cJSON_Delete(one);
                return -ENOMEM;
        }
        cJSON_AddStringToObject(env, "payloadType", type);
        cJSON_AddStringToObject(env, "payload", p64);
        cJSON_AddStringToObject(one, "keyid", keyid);
        cJSON_AddStringToObject(one, "sig", s64);
        json_append(sigs, one);
        json_add_item(env, "signatures", sigs);
        if (json_alloc_failures() != failures)
                return -ENOMEM;
        text = json_print(env, true);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

/* What lenient readers accept: standard or URL-safe, padded or not,
 * whitespace ignored. */
static int b64_any(const char *s, uint8_t **ret, size_t *ret_len)
{
        size_t n = strlen(s), k;
        /* Up to three '=' of padding plus the terminator. */
        _cleanup_free_ char *t = malloc(n + 4);

        if (!t)
                return -ENOMEM;
        k = 0;
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
                        t[k++] = (char) (s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i]);
        while (k % 4)
                t[k++] = '=';
        t[k] = '\0';
        return base64_decode(t, k, ret, ret_len);
}

/* The one base64 form: standard alphabet, padded, no whitespace, zero
 * unused bits. -EDOM for text some reader decodes but that is not exactly
 * the encoding of what it decodes to; -EBADMSG for text that is not base64. */
static int b64_canonical(const char *s, uint8_t **ret, size_t *ret_len)
{
        _cleanup_free_ uint8_t *bytes = NULL;
        _cleanup_free_ char *again = NULL;
        size_t len = 0;
        int r;

        if (!*s) {
                *ret = calloc(1, 1);
                *ret_len = 0;
                return *ret ? 0 : -ENOMEM;
        }
        r = b64_any(s, &bytes, &len);
        if (r < 0)
                return r;
        r = base64_encode(bytes, len, &again);
        if (r < 0)
                return r;
        if (strcmp(again, s) != 0)
                return -EDOM;
        *ret = TAKE_PTR(bytes);
        *ret_len = len;
        return 0;
}

static int bad(char *err, size_t errsz, const char *why)
{
        snprintf(err, errsz, "%s", why);
        return -EBADMSG;
}

static int parse_signatures(const cJSON *arr, struct dsse_envelope *e, char *err, size_t errsz)
{
        const cJSON *s;
        int r;

        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1)
                return bad(err, errsz, "signatures is not a non-empty array");
        if (cJSON_GetArraySize(arr) > DSSE_MAX_SIGNATURES)
                return bad(err, errsz, "more signatures than supported");
        cJSON_ArrayForEach(s, arr) {
                const cJSON *sig = cJSON_GetObjectItemCaseSensitive(s, "sig");
                const cJSON *kid = cJSON_GetObjectItemCaseSensitive(s, "keyid");
                struct dsse_signature *d = &e->sigs[e->n_sigs];
                uint8_t *bytes = NULL;
                size_t n = 0;

                if (!cJSON_IsString(sig))
                        return bad(err, errsz, "signatures[].sig is not a string");
                r = b64_canonical(sig->valuestring, &bytes, &n);
                if (r < 0) {
                        snprintf(err, errsz, "signatures[].sig is not %sbase64%s", r == -EDOM ? "canonical " : "",
                                 r == -EDOM ? " (standard alphabet, padded, no whitespace)" : "");
                        return r == -EDOM ? r : -EBADMSG;
                }
                d->sig = bytes;
                d->len = n;
                e->n_sigs++;
                if (kid && (!cJSON_IsString(kid) ||
                            strcpy_bounded(d->keyid, sizeof(d->keyid), kid->valuestring) < 0))
                        return bad(err, errsz, "signatures[].keyid is not a short string");
        }
        return 0;
}

int dsse_envelope_from_json(const cJSON *root, struct dsse_envelope *ret, char *err, size_t errsz)
{
        struct dsse_envelope e = { .n_sigs = 0 };
        const cJSON *type, *payload;
        uint8_t *p;
        int r;

        if (!cJSON_IsObject(root))
                return bad(err, errsz, "not a JSON object");
        type = cJSON_GetObjectItemCaseSensitive(root, "payloadType");
        payload = cJSON_GetObjectItemCaseSensitive(root, "payload");
        if (!cJSON_IsString(type) || strcpy_bounded(e.payload_type, sizeof(e.payload_type), type->valuestring) < 0)
                return bad(err, errsz, "payloadType is missing or not a short string");
        if (!cJSON_IsString(payload))
                return bad(err, errsz, "payload is missing or not a string");
        r = b64_canonical(payload->valuestring, &e.payload, &e.payload_len);
        if (r < 0) {
                snprintf(err, errsz, "payload is not %sbase64%s", r == -EDOM ? "canonical " : "",
                         r == -EDOM ? " (standard alphabet, padded, no whitespace)" : "");
                return r == -EDOM ? r : -EBADMSG;
        }
        /* Keep a terminator so the verified bytes can go straight to a parser. */
        p = realloc(e.payload, e.payload_len + 1);
        if (!p) {
                dsse_envelope_done(&e);
                return -ENOMEM;
        }
        e.payload = p;
        e.payload[e.payload_len] = '\0';
        r = parse_signatures(cJSON_GetObjectItemCaseSensitive(root, "signatures"), &e, err, errsz);
        if (r < 0) {
                dsse_envelope_done(&e);
                return r;
        }
        *ret = e;
        return 0;
}

int dsse_envelope_parse(const char *json, size_t len, struct dsse_envelope *ret, char *err, size_t errsz)
{
        _cleanup_(cjson_deletep) cJSON *root = cJSON_ParseWithLength(json, len);

        return dsse_envelope_from_json(root, ret, err, errsz);
}

void dsse_envelope_done(struct dsse_envelope *e)
{
        free(e->payload);
        e->payload = NULL;
        for (unsigned i = 0; i < e->n_sigs; i++)
                free(e->sigs[i].sig);
        e->n_sigs = 0;
}
