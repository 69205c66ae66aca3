/* SPDX-License-Identifier: Apache-2.0 */
#include "attested.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "macro.h"
#include "strparse.h"

static int two_digits(const char *p, int *ret)
{
        if (!isdigit((unsigned char) p[0]) || !isdigit((unsigned char) p[1]))
                return -EINVAL;
        *ret = (p[0] - '0') * 10 + (p[1] - '0');
        return 0;
}

int attested_parse_time(const char *s, time_t *ret)
{
        /* 0123456789012345678901 */
        /* MM/DD/YY HH:MM:SS -0000 */
        static const int at[6] = { 0, 3, 6, 9, 12, 15 };
        int v[6];
        struct tm tm = { 0 };
        time_t t;

        if (strlen(s) != 23 || s[2] != '/' || s[5] != '/' || s[8] != ' ' || s[11] != ':' ||
            s[14] != ':' || strcmp(s + 17, " -0000") != 0)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                if (two_digits(s + at[i], &v[i]) < 0)
                        return -EINVAL;
        if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
                return -EINVAL;
        tm.tm_mon = v[0] - 1;
        tm.tm_mday = v[1];
        tm.tm_year = 100 + v[2];
        tm.tm_hour = v[3];
        tm.tm_min = v[4];
        tm.tm_sec = v[5];
        t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = t;
        return 0;
}

static void fail(struct attested_facts *f, enum attested_state s, const char *why)
{
        f->state = s;
        snprintf(f->error, sizeof(f->error), "attested document: %.200s", why);
}

static int copy_str(const cJSON *obj, const char *key, char *dst, size_t dstsz)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

        if (!cJSON_IsString(v) || !v->valuestring)
                return -EBADMSG;
        return strcpy_bounded(dst, dstsz, v->valuestring);
}

/* The signed content: nonce, vmId, subscriptionId, timeStamp{createdOn,expiresOn}. */
static int parse_content(const uint8_t *content, size_t len, struct attested_facts *f)
{
        _cleanup_(cjson_deletep) cJSON *root = cJSON_ParseWithLength((const char *) content, len);
        const cJSON *ts;

        if (!cJSON_IsObject(root))
                return -EBADMSG;
        if (copy_str(root, "nonce", f->nonce, sizeof(f->nonce)) < 0 ||
            copy_str(root, "vmId", f->vm_id, sizeof(f->vm_id)) < 0)
                return -EBADMSG;
        /* subscriptionId is absent in documents of old api-versions. */
        (void) copy_str(root, "subscriptionId", f->subscription_id, sizeof(f->subscription_id));
        ts = cJSON_GetObjectItemCaseSensitive(root, "timeStamp");
        if (!cJSON_IsObject(ts) ||
            copy_str(ts, "createdOn", f->created_on, sizeof(f->created_on)) < 0 ||
            copy_str(ts, "expiresOn", f->expires_on, sizeof(f->expires_on)) < 0)
                return -EBADMSG;
        if (attested_parse_time(f->created_on, &f->created_at) < 0 ||
            attested_parse_time(f->expires_on, &f->expires_at) < 0)
                return -EBADMSG;
        return 0;
}

static int decode_envelope(const char *body, size_t len, uint8_t **ret_der, size_t *ret_len)
{
        _cleanup_(cjson_deletep) cJSON *root = cJSON_ParseWithLength(body, len);
        const cJSON *enc, *sig;

        if (!cJSON_IsObject(root))
                return -EBADMSG;
        enc = cJSON_GetObjectItemCaseSensitive(root, "encoding");
        sig = cJSON_GetObjectItemCaseSensitive(root, "signature");
        if (!cJSON_IsString(enc) || strcmp(enc->valuestring, "pkcs7") != 0 || !cJSON_IsString(sig))
                return -EBADMSG;
        return base64_decode(sig->valuestring, strlen(sig->valuestring), ret_der, ret_len);
}

static time_t created_on_of(const uint8_t *content, size_t len)
{
        struct attested_facts f = { .state = ATTESTED_NOT_RUN };

        return parse_content(content, len, &f) == 0 ? f.created_at : 0;
}

static enum attested_state state_from(enum pkcs7_verdict v)
{
        switch (v) {
        case PKCS7_VERIFIED:
                return ATTESTED_OK;
        case PKCS7_BAD_SIGNATURE:
                return ATTESTED_BAD_SIGNATURE;
        case PKCS7_SIGNER_NAME_MISMATCH:
                return ATTESTED_SIGNER_NOT_AZURE;
        case PKCS7_UNTRUSTED_CHAIN:
                return ATTESTED_UNTRUSTED;
        case PKCS7_MALFORMED:
        default:
                return ATTESTED_MALFORMED;
        }
}

/* Returns the state reached; *why says what failed. */
static enum attested_state verify(const char *body, size_t len, const struct trust_store *trust,
                                  const char *const *domains, time_t verify_at,
                                  struct attested_facts *f, struct pkcs7_result *res,
                                  const char **why)
{
        _cleanup_free_ uint8_t *der = NULL;
        size_t der_len;

        *why = "response is not {\"encoding\":\"pkcs7\",\"signature\":<base64>}";
        if (decode_envelope(body, len, &der, &der_len) < 0)
                return ATTESTED_MALFORMED;
        struct pkcs7_time when = { .at = verify_at };

        if (verify_at == ATTESTED_AT_CREATED_ON)
                when = (struct pkcs7_time){ .from_content = created_on_of };
        *why = "verification failed (out of memory)";
        if (pkcs7_verify_signed(der, der_len, trust, domains, &when, res) < 0)
                return ATTESTED_MALFORMED;
        (void) strcpy_bounded(f->signer_subject, sizeof(f->signer_subject), res->subject);
        (void) strcpy_bounded(f->signer_issuer, sizeof(f->signer_issuer), res->issuer);
        (void) strcpy_bounded(f->signer_dns, sizeof(f->signer_dns), res->matched_dns);
        f->signer_not_before = res->signer_not_before;
        f->signer_not_after = res->signer_not_after;
        *why = "signed content lacks nonce, vmId or timeStamp";
        if (res->content && parse_content(res->content, res->content_len, f) < 0 &&
            res->verdict == PKCS7_VERIFIED)
                return ATTESTED_MALFORMED;
        *why = res->error;
        return state_from(res->verdict);
}

void attested_verify_response(const char *body, size_t len, const struct trust_store *trust,
                              const char *const *domains, time_t verify_at,
                              struct attested_facts *f)
{
        struct pkcs7_result res = { 0 };
        const char *why = "";
        enum attested_state s;

        s = verify(body, len, trust, domains, verify_at, f, &res, &why);
        if (s == ATTESTED_OK) {
                f->state = s;
                f->error[0] = '\0';
        } else
                fail(f, s, why);
        pkcs7_result_done(&res);
}

void attested_collect(struct imds_client *c, const struct trust_store *trust,
                      const char *const *domains, const char *nonce,
                      struct attested_facts *ret)
{
        struct attested_facts f = { 0 };
        char query[64], err[256];

        if (strlen(nonce) > 32 || strcpy_bounded(f.nonce_requested, sizeof(f.nonce_requested), nonce) < 0) {
                fail(&f, ATTESTED_MALFORMED, "nonce longer than 32 characters");
                *ret = f;
                return;
        }
        snprintf(query, sizeof(query), "nonce=%s", nonce);
        for (unsigned i = 0; i <= ATTESTED_NONCE_RETRIES; i++) {
                _cleanup_(buf_done) struct buf body = { 0 };
                struct attested_facts one = { .nonce_retries = i };
                int k;

                (void) strcpy_bounded(one.nonce_requested, sizeof(one.nonce_requested), nonce);
                k = imds_get(c, "/metadata/attested/document", query, IMDS_ATTESTED_MAX_BODY,
                             &body, err, sizeof(err));
                if (k < 0) {
                        fail(&one, k == -E2BIG ? ATTESTED_MALFORMED : ATTESTED_UNAVAILABLE, err);
                        f = one;
                        break;
                }
                attested_verify_response(body.data, body.len, trust, domains, 0, &one);
                memcpy(one.raw, body.data, body.len + 1);
                one.raw_len = body.len;
                f = one;
                if (one.state != ATTESTED_OK || strcmp(one.nonce, nonce) == 0)
                        break;
        }
        *ret = f;
}
