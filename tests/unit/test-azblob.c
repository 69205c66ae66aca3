/* SPDX-License-Identifier: Apache-2.0 */
/* azblob.c: URL rules, Shared Key signature, List Blobs scanning, and how
 * answers map to results (retries, Retry-After, token refresh, write-once,
 * immutability) through a canned transport. */
#include "testutil.h"

#include <errno.h>

#include "azblob.h"
#include "buf.h"
#include "crypto.h"
#include "macro.h"

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static void test_parse_url(void **state)
{
        struct azblob_target t;
        char err[256];

        assert_int_equal(azblob_parse_url("azblob://acct1/evidence", &t, err, sizeof(err)), 0);
        assert_string_equal(t.account, "acct1");
        assert_string_equal(t.container, "evidence");
        assert_string_equal(t.endpoint, "https://acct1.blob.core.windows.net");
        assert_int_equal(azblob_parse_url("azblob://devstoreaccount1/c-1?endpoint=http://127.0.0.1:1/devstoreaccount1/",
                                          &t, err, sizeof(err)), 0);
        assert_string_equal(t.endpoint, "http://127.0.0.1:1/devstoreaccount1");
        assert_int_equal(azblob_parse_url("file:/x", &t, err, sizeof(err)), -EINVAL);
        assert_int_equal(azblob_parse_url("azblob://acct1", &t, err, sizeof(err)), -EINVAL);
        assert_int_equal(azblob_parse_url("azblob://Acct1/evidence", &t, err, sizeof(err)), -EINVAL);
        assert_int_equal(azblob_parse_url("azblob://acct1/Evidence", &t, err, sizeof(err)), -EINVAL);
        assert_int_equal(azblob_parse_url("azblob://acct1/ev", &t, err, sizeof(err)), -EINVAL);
        assert_int_equal(azblob_parse_url("azblob://acct1/evidence?sig=x", &t, err, sizeof(err)), -EINVAL);
        assert_int_equal(azblob_parse_url("azblob://acct1/evidence?endpoint=ftp://x", &t, err, sizeof(err)), -EINVAL);
        assert_int_equal(azblob_parse_url("azblob://acct1/evidence?endpoint=http://x/?a", &t, err, sizeof(err)),
                         -EINVAL);
}

/* The expected value is HMAC-SHA256 computed independently (Python's hmac)
 * over the same string-to-sign with Azurite's published development key. */
static void test_sign(void **state)
{
        static const char sts[] = "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 04 Dec 2026 12:00:00 GMT\n"
                                  "x-ms-version:2021-12-02\n/devstoreaccount1/devstoreaccount1/evidence\n"
                                  "comp:list\nrestype:container";
        _cleanup_free_ uint8_t *key = NULL;
        size_t len;
        char sig[45];

        assert_int_equal(base64_decode(DEV_KEY, strlen(DEV_KEY), &key, &len), 0);
        assert_int_equal(azblob_sign(key, len, sts, sig), 0);
        assert_string_equal(sig, "8qmGOu7QcCgFjfrW3FhvyAxBSl6ZDr5Ev42PWwi9Md8=");
}

struct names {
        char all[1024];
        int n;
};

static int collect(void *userdata, const char *name)
{
        struct names *n = userdata;

        strncat(n->all, name, sizeof(n->all) - strlen(n->all) - 2);
        strncat(n->all, ";", sizeof(n->all) - strlen(n->all) - 1);
        return ++n->n;
}

static void test_parse_list(void **state)
{
        static const char ok[] = "<?xml version=\"1.0\"?><EnumerationResults ContainerName=\"c\"><Blobs>"
                                 "<Blob><Name>vm/a/1.json</Name><Properties/></Blob>"
                                 "<Blob><Name>odd&amp;&lt;name</Name></Blob></Blobs>"
                                 "<NextMarker>2!4!MDAw&amp;</NextMarker></EnumerationResults>";
        static const char end[] = "<EnumerationResults><Blobs/><NextMarker /></EnumerationResults>";
        struct names n = { .n = 0 };
        char marker[64];

        assert_int_equal(azblob_parse_list(ok, strlen(ok), collect, &n, marker, sizeof(marker)), 0);
        assert_string_equal(n.all, "vm/a/1.json;odd&<name;");
        assert_string_equal(marker, "2!4!MDAw&");
        n = (struct names){ .n = 0 };
        assert_int_equal(azblob_parse_list(end, strlen(end), collect, &n, marker, sizeof(marker)), 0);
        assert_int_equal(n.n, 0);
        assert_string_equal(marker, "");
        /* Malformed: no root, an unterminated name, a bad entity, a raw '<', a marker too long. */
        assert_int_equal(azblob_parse_list("<Blobs/>", 8, collect, &n, marker, sizeof(marker)), -EBADMSG);
        assert_int_equal(azblob_parse_list("<EnumerationResults><Name>x", 27, collect, &n, marker, sizeof(marker)),
                         -EBADMSG);
        assert_int_equal(azblob_parse_list("<EnumerationResults><Name>&x;</Name>", 36, collect, &n, marker,
                                           sizeof(marker)), -EBADMSG);
        assert_int_equal(azblob_parse_list("<EnumerationResults><Name>a<b</Name>", 36, collect, &n, marker,
                                           sizeof(marker)), -EBADMSG);
        assert_int_equal(azblob_parse_list(ok, strlen(ok), collect, &n, marker, 4), -EBADMSG);
        /* A marker with markup or a control byte is not Blob Storage's (fuzz finding F4). */
        assert_int_equal(azblob_parse_list("<EnumerationResults><NextMarker>a&lt;b</NextMarker>", 51, collect, &n,
                                           marker, sizeof(marker)), -EBADMSG);
        assert_string_equal(marker, "");
        assert_int_equal(azblob_parse_list("<EnumerationResults><NextMarker>a\tb</NextMarker>", 48, collect, &n,
                                           marker, sizeof(marker)), -EBADMSG);
}

/* ---- a canned transport ------------------------------------------------------------ */

struct canned {
        long status[8];
        const char *code[8];
        long retry_after[8];
        int transport_error[8];
        const char *body[8];
        int n, calls;
        char last_auth[512];
        char last_url[512];
        bool if_none_match;
};

static int canned_request(void *userdata, const struct http_request *req, struct http_response *resp)
{
        struct canned *c = userdata;
        int i = c->calls < c->n ? c->calls : c->n - 1;

        c->calls++;
        snprintf(c->last_url, sizeof(c->last_url), "%s", req->url);
        c->last_auth[0] = '\0';
        c->if_none_match = false;
        for (size_t h = 0; req->headers[h]; h++) {
                if (!strncmp(req->headers[h], "Authorization: ", 15))
                        snprintf(c->last_auth, sizeof(c->last_auth), "%s", req->headers[h] + 15);
                c->if_none_match |= !strcmp(req->headers[h], "If-None-Match: *");
        }
        if (c->transport_error[i])
                return c->transport_error[i];
        *resp = (struct http_response){ .status = c->status[i], .retry_after_s = c->retry_after[i] ? c->retry_after[i]
                                                                                                      : -1,
                                        .body = BUF_INIT(req->max_body) };
        snprintf(resp->ms_error_code, sizeof(resp->ms_error_code), "%s", c->code[i] ? c->code[i] : "");
        if (c->body[i] && buf_append(&resp->body, c->body[i], strlen(c->body[i])) < 0)
                return -E2BIG;
        return 0;
}

struct bearer_state {
        int gets, invalidations;
};

static int bearer_get(void *userdata, char *out, size_t outsz)
{
        struct bearer_state *b = userdata;

        b->gets++;
        snprintf(out, outsz, "token-%d", b->invalidations);
        return 0;
}

static void bearer_invalidate(void *userdata)
{
        ((struct bearer_state *) userdata)->invalidations++;
}

static struct azblob *open_canned(struct canned *c, const struct azblob_auth *auth)
{
        static struct http_transport t;
        struct azblob_target tg;
        struct azblob *b;
        char err[128];

        t = (struct http_transport){ .request = canned_request, .userdata = c };
        assert_int_equal(azblob_parse_url("azblob://acct1/evidence?endpoint=http://127.0.0.1:9/acct1", &tg, err,
                                          sizeof(err)), 0);
        assert_int_equal(azblob_new(&tg, auth, &(struct azblob_options){ .attempts = 3, .max_wait_s = 1 }, &t, &b),
                         0);
        return b;
}

static int put(struct azblob *b, enum azblob_put *how, char *err, size_t errsz)
{
        return azblob_put_new(b, "objects/ab/x.json", "{}", 2, "application/json", AZBLOB_TAKEN_MUST_MATCH, how, err,
                              errsz);
}

static void test_answers(void **state)
{
        _cleanup_free_ uint8_t *key = NULL;
        size_t len;
        enum azblob_put how;
        char err[256];
        struct azblob *b;

        assert_int_equal(base64_decode(DEV_KEY, strlen(DEV_KEY), &key, &len), 0);
        const struct azblob_auth auth = { .shared_key = key, .shared_key_len = len };

        /* Throttled twice (Retry-After honoured, capped), then created; always If-None-Match: *. */
        struct canned c1 = { .status = { 429, 503, 201 }, .code = { "ServerBusy", "ServerBusy" },
                             .retry_after = { 1, 0, 0 }, .n = 3 };
        b = open_canned(&c1, &auth);
        assert_int_equal(put(b, &how, err, sizeof(err)), 0);
        assert_int_equal(how, AZBLOB_CREATED);
        assert_int_equal(c1.calls, 3);
        assert_true(c1.if_none_match);
        assert_true(!strncmp(c1.last_auth, "SharedKey acct1:", 16));
        assert_null(strstr(c1.last_url, "sig="));
        b = azblob_free(b);

        /* The name is taken (409 or 412), and read back: the same bytes are
         * idempotent, other bytes are -EEXIST. */
        struct canned c2 = { .status = { 409, 200 }, .code = { "BlobAlreadyExists" }, .body = { NULL, "{}" }, .n = 2 };
        b = open_canned(&c2, &auth);
        assert_int_equal(put(b, &how, err, sizeof(err)), 0);
        assert_int_equal(how, AZBLOB_EXISTS);
        assert_int_equal(c2.calls, 2);
        assert_false(c2.if_none_match);        /* the second request was the GET */
        b = azblob_free(b);
        struct canned c2b = { .status = { 412, 200 }, .code = { "ConditionNotMet" }, .body = { NULL, "{ }" }, .n = 2 };
        b = open_canned(&c2b, &auth);
        how = AZBLOB_CREATED;
        assert_int_equal(put(b, &how, err, sizeof(err)), -EEXIST);
        assert_non_null(strstr(err, "already holds other bytes"));
        assert_int_equal(how, AZBLOB_CREATED);  /* untouched on error */
        b = azblob_free(b);

        /* An immutability policy refuses a name that does not exist: -EROFS,
         * with the code in the message, no retry; one that holds these bytes
         * is the duplicate it is. */
        struct canned c3 = { .status = { 409, 404 }, .code = { "BlobImmutableDueToPolicy", "BlobNotFound" }, .n = 2 };
        b = open_canned(&c3, &auth);
        assert_int_equal(put(b, &how, err, sizeof(err)), -EROFS);
        assert_non_null(strstr(err, "HTTP 409 BlobImmutableDueToPolicy"));
        assert_null(strstr(err, DEV_KEY));
        assert_int_equal(c3.calls, 2);
        b = azblob_free(b);
        struct canned c3b = { .status = { 409, 200 }, .code = { "BlobImmutableDueToLegalHold" }, .body = { NULL, "{}" },
                              .n = 2 };
        b = open_canned(&c3b, &auth);
        assert_int_equal(put(b, &how, err, sizeof(err)), 0);
        assert_int_equal(how, AZBLOB_EXISTS);
        b = azblob_free(b);
        /* A refusal whose read-back cannot be made stays the refusal. */
        struct canned c3c = { .status = { 409, 503 }, .code = { "BlobImmutableDueToPolicy", "ServerBusy" }, .n = 2 };
        b = open_canned(&c3c, &auth);
        assert_int_equal(put(b, &how, err, sizeof(err)), -EROFS);
        assert_non_null(strstr(err, "HTTP 409 BlobImmutableDueToPolicy"));
        b = azblob_free(b);
        /* Where the name is what counts (a marker, a summary signed at its own
         * time), other bytes there are the write done. */
        struct canned c3d = { .status = { 409, 200 }, .code = { "BlobAlreadyExists" }, .body = { NULL, "{ }" }, .n = 2 };
        b = open_canned(&c3d, &auth);
        assert_int_equal(azblob_put_new(b, "summaries/x.json", "{}", 2, "application/json", AZBLOB_TAKEN_IS_DONE, &how,
                                        err, sizeof(err)), 0);
        assert_int_equal(how, AZBLOB_EXISTS);
        b = azblob_free(b);

        /* Unavailable through every attempt: -EAGAIN. Timeouts: the transport's error. */
        struct canned c4 = { .status = { 503 }, .code = { "ServerBusy" }, .n = 1 };
        b = open_canned(&c4, &auth);
        assert_int_equal(put(b, &how, err, sizeof(err)), -EAGAIN);
        assert_int_equal(c4.calls, 3);
        b = azblob_free(b);
        struct canned c5 = { .transport_error = { -ETIMEDOUT, 0 }, .status = { 0, 201 }, .n = 2 };
        b = open_canned(&c5, &auth);
        assert_int_equal(put(b, &how, err, sizeof(err)), 0);
        assert_int_equal(c5.calls, 2);
        b = azblob_free(b);
        struct canned c6 = { .transport_error = { -ETIMEDOUT }, .n = 1 };
        b = open_canned(&c6, &auth);
        assert_int_equal(put(b, &how, err, sizeof(err)), -ETIMEDOUT);
        b = azblob_free(b);
}

/* An answer whose NextMarker does not move would list one page for ever:
 * refused on the second page, after its names were seen once more. */
static void test_list_marker_must_move(void **state)
{
        _cleanup_free_ uint8_t *key = NULL;
        static const char page[] = "<EnumerationResults><Blobs><Blob><Name>vm/a</Name></Blob></Blobs>"
                                   "<NextMarker>2!8!same</NextMarker></EnumerationResults>";
        static const char last[] = "<EnumerationResults><Blobs><Blob><Name>vm/b</Name></Blob></Blobs>"
                                   "<NextMarker/></EnumerationResults>";
        size_t len;
        char err[256];
        struct names n = { 0 };
        struct azblob *b;

        assert_int_equal(base64_decode(DEV_KEY, strlen(DEV_KEY), &key, &len), 0);
        const struct azblob_auth auth = { .shared_key = key, .shared_key_len = len };
        struct canned stuck = { .status = { 200, 200, 200 }, .body = { page, page, page }, .n = 3 };
        b = open_canned(&stuck, &auth);
        assert_int_equal(azblob_list(b, "vm/", 0, collect, &n, err, sizeof(err)), -EBADMSG);
        assert_int_equal(stuck.calls, 2);
        assert_non_null(strstr(err, "malformed"));
        b = azblob_free(b);

        /* A marker that moves: both pages, then the end. */
        struct canned moving = { .status = { 200, 200 }, .body = { page, last }, .n = 2 };
        n = (struct names){ 0 };
        b = open_canned(&moving, &auth);
        assert_int_equal(azblob_list(b, "vm/", 0, collect, &n, err, sizeof(err)), 0);
        assert_int_equal(n.n, 2);
        assert_string_equal(n.all, "vm/a;vm/b;");
        assert_int_equal(moving.calls, 2);
        b = azblob_free(b);
}

static void test_bearer_and_sas(void **state)
{
        struct bearer_state bs = { 0 };
        const struct azblob_bearer bearer = { .get = bearer_get, .invalidate = bearer_invalidate, .userdata = &bs };
        enum azblob_put how;
        char err[256];
        struct azblob *b;

        /* An expired token: 403 once, the token is dropped, a fresh one works. */
        struct canned c1 = { .status = { 403, 201 }, .code = { "InvalidAuthenticationInfo" }, .n = 2 };
        b = open_canned(&c1, &(struct azblob_auth){ .bearer = &bearer });
        assert_int_equal(put(b, &how, err, sizeof(err)), 0);
        assert_int_equal(bs.invalidations, 1);
        assert_string_equal(c1.last_auth, "Bearer token-1");
        b = azblob_free(b);
        /* Refused again with the fresh token: -EACCES, no loop. */
        struct canned c2 = { .status = { 403 }, .code = { "AuthorizationPermissionMismatch" }, .n = 1 };
        b = open_canned(&c2, &(struct azblob_auth){ .bearer = &bearer });
        assert_int_equal(put(b, &how, err, sizeof(err)), -EACCES);
        assert_int_equal(c2.calls, 2);
        b = azblob_free(b);
        /* SAS: in the query, no Authorization header. */
        struct canned c3 = { .status = { 201 }, .n = 1 };
        b = open_canned(&c3, &(struct azblob_auth){ .sas = "?sv=2019-12-12&sig=abc" });
        assert_int_equal(put(b, &how, err, sizeof(err)), 0);
        assert_non_null(strstr(c3.last_url, "/acct1/evidence/objects/ab/x.json?sv=2019-12-12&sig=abc"));
        assert_string_equal(c3.last_auth, "");
        b = azblob_free(b);
        /* Names outside the safe set are refused before any request. */
        assert_int_equal(azblob_put_new(NULL, "a b", "", 0, NULL, AZBLOB_TAKEN_IS_DONE, &how, err, sizeof(err)), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_url),
                cmocka_unit_test(test_sign),
                cmocka_unit_test(test_parse_list),
                cmocka_unit_test(test_answers),
                cmocka_unit_test(test_list_marker_must_move),
                cmocka_unit_test(test_bearer_and_sas),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
