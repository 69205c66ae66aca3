/* SPDX-License-Identifier: Apache-2.0 */
#include "canonical.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "macro.h"

/* cJSON ends a string at \u0000 where Python and jq keep the rest. */
static bool has_nul(const char *t, size_t len)
{
        bool in_string = false;

        for (size_t i = 0; i < len; i++) {
                if (t[i] == '\0')
                        return true;
                if (!in_string) {
                        in_string = t[i] == '"';
                        continue;
                }
                if (t[i] == '"')
                        in_string = false;
                else if (t[i] == '\\') {
                        if (i + 5 < len && t[i + 1] == 'u' && !memcmp(t + i + 2, "0000", 4))
                                return true;
                        i++;    /* the escaped character */
                }
        }
        return false;
}

static bool json_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* cJSON keeps every member, so a repeated name is visible in the tree
 * (cJSON reads the first, Python and jq the last). Sorted, so an object
 * of many members costs n log n, not n². */
static int find_duplicate(const cJSON *o, char *err, size_t errsz)
{
        const cJSON *c;
        size_t n = 0, i = 0;
        int r = 0;

        cJSON_ArrayForEach(c, o) {
                r = find_duplicate(c, err, errsz);
                if (r != 0)
                        return r;
                n++;
        }
        if (!cJSON_IsObject(o) || n < 2)
                return 0;
        _cleanup_free_ const char **names = calloc(n, sizeof(*names));
        if (!names)
                return -ENOMEM;
        cJSON_ArrayForEach(c, o)
                names[i++] = c->string ? c->string : "";
        qsort(names, n, sizeof(*names), cmp_names);
        for (i = 1; i < n; i++)
                if (!strcmp(names[i - 1], names[i])) {
                        snprintf(err, errsz, "member \"%.64s\" appears twice in one object", names[i]);
                        return 1;
                }
        return 0;
}

enum canon_fault canon_json_parse(const char *text, size_t len, cJSON **ret, char *err, size_t errsz)
{
        _cleanup_(cjson_deletep) cJSON *root = NULL;
        enum canon_fault f = CANON_OK;
        const char *end = NULL;
        int r;

        root = cJSON_ParseWithLengthOpts(text, len, &end, false);
        if (!root) {
                snprintf(err, errsz, "not JSON");
                return CANON_MALFORMED;
        }
        if (has_nul(text, len)) {
                snprintf(err, errsz, "a string contains \\u0000 or a NUL byte");
                f = CANON_NUL;
        }
        for (; f == CANON_OK && end && end < text + len; end++)
                if (!json_space(*end)) {
                        snprintf(err, errsz, "%zu bytes after the JSON value", (size_t) (text + len - end));
                        f = CANON_TRAILING;
                }
        r = f == CANON_OK ? find_duplicate(root, err, errsz) : 0;
        if (r < 0)
                return CANON_NO_MEMORY;
        if (r > 0)
                f = CANON_DUPLICATE_KEY;
        *ret = TAKE_PTR(root);
        return f;
}

static enum canon_fault check_signature(const struct dsse_signature *s, char *err, size_t errsz)
{
        switch (ecdsa_sig_check_canonical(s->sig, s->len)) {
        case -EDOM:
                snprintf(err, errsz, "signatures[0].sig is DER but not the one DER encoding of its (r, s)");
                return CANON_SIG_ENCODING;
        case -ERANGE:
                snprintf(err, errsz, "signatures[0].sig has a high S (s > n/2); its low-S twin is the one form");
                return CANON_HIGH_S;
        case -ENOMEM:
                return CANON_NO_MEMORY;
        default:
                return CANON_OK;        /* valid, or not DER at all: the signature check answers */
        }
}

enum canon_fault canon_envelope_parse(const char *text, size_t len, struct dsse_envelope *ret, char *err,
                                      size_t errsz)
{
        _cleanup_(cjson_deletep) cJSON *root = NULL;
        struct dsse_envelope e;
        enum canon_fault f = canon_json_parse(text, len, &root, err, errsz);
        const cJSON *sigs;
        int r;

        if (f != CANON_OK)
                return f;       /* the tree, if any, is released here */
        sigs = cJSON_GetObjectItemCaseSensitive(root, "signatures");
        if (cJSON_IsArray(sigs) && cJSON_GetArraySize(sigs) != 1) {
                snprintf(err, errsz, "%d signatures; an envelope carries exactly one", cJSON_GetArraySize(sigs));
                return CANON_SIGNATURES;
        }
        r = dsse_envelope_from_json(root, &e, err, errsz);
        if (r == -ENOMEM)
                return CANON_NO_MEMORY;
        if (r < 0)
                return r == -EDOM ? CANON_BASE64 : CANON_MALFORMED;
        f = check_signature(&e.sigs[0], err, errsz);
        if (f != CANON_OK) {
                dsse_envelope_done(&e);
                return f;
        }
        *ret = e;
        return CANON_OK;
}
