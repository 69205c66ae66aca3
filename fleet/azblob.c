/* SPDX-License-Identifier: Apache-2.0 */
/* Azure Blob Storage REST: request building, Shared Key signing, retries,
 * and the List Blobs answer (azblob.h). */
#include "azblob.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "macro.h"

#define API_VERSION "2021-12-02"
#define LIST_PAGE 2000
#define LIST_BODY_MAX (16 * 1024 * 1024)
#define LIST_PAGES_MAX 50000            /* 100 million names: a listing ends */
#define SMALL_BODY_MAX (64 * 1024)
#define AUTH_MAX (8 * 1024)

struct azblob {
        struct azblob_target t;
        const char *path;               /* the endpoint's path part, in t.endpoint ("" or "/account") */
        uint8_t *key;
        size_t key_len;
        char *sas;
        const struct azblob_bearer *bearer;
        struct azblob_options o;
        const struct http_transport *http;
};

/* The message into err, and r. A macro, not a variadic function: several
 * can follow one another on one path (a refused write read back), which
 * clang's va_list checker misreads in a function. */
#define fail(err, errsz, r, ...) ((void) snprintf((err), (errsz), __VA_ARGS__), (r))

static bool all_of(const char *s, size_t n, const char *set)
{
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr(set, s[i])))
                        return false;
        return true;
}

int azblob_parse_url(const char *url, struct azblob_target *ret, char *err, size_t errsz)
{
        static const char scheme[] = "azblob://";
        struct azblob_target t = { .account = "" };
        const char *a, *slash, *q, *end;
        size_t alen, clen, n;
        int k;

        if (strncmp(url, scheme, sizeof(scheme) - 1))
                return fail(err, errsz, -EINVAL, "not an azblob:// URL");
        a = url + sizeof(scheme) - 1;
        slash = strchr(a, '/');
        if (!slash)
                return fail(err, errsz, -EINVAL, "azblob://ACCOUNT/CONTAINER: no container");
        q = strchr(slash, '?');
        end = q ? q : slash + strlen(slash);
        alen = (size_t) (slash - a);
        clen = (size_t) (end - slash - 1);
        /* Storage account and container naming rules, so that names need no escaping. */
        if (alen < 3 || alen >= sizeof(t.account) || !all_of(a, alen, ""))
                return fail(err, errsz, -EINVAL, "account name: 3 to 63 lower-case letters and digits");
        if (clen < 3 || clen > 63 || !all_of(slash + 1, clen, "-"))
                return fail(err, errsz, -EINVAL, "container name: 3 to 63 lower-case letters, digits and '-'");
        memcpy(t.account, a, alen);
        memcpy(t.container, slash + 1, clen);
        if (q) {
                if (strncmp(q, "?endpoint=", 10) || (strncmp(q + 10, "http://", 7) && strncmp(q + 10, "https://", 8)))
                        return fail(err, errsz, -EINVAL, "the only query is ?endpoint=http(s)://...");
                n = strlen(q + 10);
                while (n > 0 && q[10 + n - 1] == '/')
                        n--;
                if (n >= sizeof(t.endpoint) || strpbrk(q + 10, "?#&\"' \t\r\n"))
                        return fail(err, errsz, -EINVAL, "endpoint: too long or not a plain URL");
                memcpy(t.endpoint, q + 10, n);
        } else {
                k = snprintf(t.endpoint, sizeof(t.endpoint), "https://%s.blob.core.windows.net", t.account);
                if (k < 0 || (size_t) k >= sizeof(t.endpoint))
                        return fail(err, errsz, -EINVAL, "account name too long");
        }
        *ret = t;
        return 0;
}

int azblob_new(const struct azblob_target *t, const struct azblob_auth *auth, const struct azblob_options *o,
               const struct http_transport *http, struct azblob **ret)
{
        struct azblob *b = calloc(1, sizeof(*b));
        const char *host;

        if (!b)
                return -ENOMEM;
        b->t = *t;
        host = strstr(b->t.endpoint, "://");
        host = host ? host + 3 : b->t.endpoint;
        b->path = strchr(host, '/') ? strchr(host, '/') : "";
        b->o = (struct azblob_options){ .attempts = 5, .timeout_ms = 30000, .max_wait_s = 10 };
        if (o && o->attempts)
                b->o.attempts = o->attempts;
        if (o && o->timeout_ms)
                b->o.timeout_ms = o->timeout_ms;
        if (o && o->max_wait_s)
                b->o.max_wait_s = o->max_wait_s;
        b->http = http;
        b->bearer = auth->bearer;
        if (auth->shared_key) {
                b->key = malloc(auth->shared_key_len);
                if (!b->key)
                        return azblob_free(b), -ENOMEM;
                memcpy(b->key, auth->shared_key, auth->shared_key_len);
                b->key_len = auth->shared_key_len;
        }
        if (auth->sas && !(b->sas = strdup(auth->sas[0] == '?' ? auth->sas + 1 : auth->sas)))
                return azblob_free(b), -ENOMEM;
        *ret = b;
        return 0;
}

struct azblob *azblob_free(struct azblob *b)
{
        if (!b)
                return NULL;
        if (b->key)
                explicit_bzero(b->key, b->key_len);
        free(b->key);
        if (b->sas)
                explicit_bzero(b->sas, strlen(b->sas));
        free(b->sas);
        free(b);
        return NULL;
}

/* ---- one request ------------------------------------------------------------------ */

struct call {
        const char *method;
        const char *name;               /* blob name, or NULL for the container */
        const char *const *query;       /* name, value, ..., NULL; names in sorted order */
        const char *body;
        size_t len;
        const char *content_type;       /* PUT only */
        bool if_none_match;
        bool block_blob;
        size_t max_body;
        unsigned attempts;              /* 0: the handle's */
};

static int pct_encode(struct buf *b, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        int r = 0;

        for (; *s && r == 0; s++) {
                unsigned char c = (unsigned char) *s;

                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c))
                        r = buf_append(b, s, 1);
                else {
                        char e[3] = { '%', hex[c >> 4], hex[c & 15] };

                        r = buf_append(b, e, 3);
                }
        }
        return r;
}

static int bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bprintf(struct buf *b, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        return n < 0 ? -ENOMEM : buf_append(b, s, (size_t) n);
}

static int append_str(struct buf *b, const char *s)
{
        return buf_append(b, s, strlen(s));
}

static int build_url(const struct azblob *b, const struct call *c, struct buf *url)
{
        int r = append_str(url, b->t.endpoint);

        if (r == 0)
                r = append_str(url, "/");
        if (r == 0)
                r = append_str(url, b->t.container);
        if (r == 0 && c->name && (r = append_str(url, "/")) == 0)
                r = append_str(url, c->name);
        for (size_t i = 0; r == 0 && c->query && c->query[i]; i += 2) {
                r = append_str(url, i ? "&" : "?");
                if (r == 0)
                        r = append_str(url, c->query[i]);
                if (r == 0)
                        r = append_str(url, "=");
                if (r == 0)
                        r = pct_encode(url, c->query[i + 1]);
        }
        if (r == 0 && b->sas && !b->key && (r = append_str(url, c->query && c->query[0] ? "&" : "?")) == 0)
                r = append_str(url, b->sas);
        return r == 0 && buf_append(url, "", 1) == 0 ? 0 : -ENOMEM;
}

int azblob_sign(const uint8_t *key, size_t keylen, const char *string_to_sign, char out[45])
{
        _cleanup_free_ char *b64 = NULL;
        uint8_t mac[32];
        int r = hmac_sha256(key, keylen, string_to_sign, strlen(string_to_sign), mac);

        if (r == 0)
                r = base64_encode(mac, sizeof(mac), &b64);
        if (r < 0)
                return r;
        if (!b64 || strlen(b64) != 44)
                return -EINVAL;
        memcpy(out, b64, 45);
        return 0;
}

static int string_to_sign(const struct azblob *b, const struct call *c, const char *date, struct buf *s)
{
        char len[24] = "";
        int r;

        if (c->len)
                snprintf(len, sizeof(len), "%zu", c->len);
        /* VERB, Content-Encoding, -Language, -Length, -MD5, -Type, Date,
         * If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range. */
        r = bprintf(s, "%s\n\n\n%s\n\n%s\n\n\n\n%s\n\n\n", c->method, len, c->content_type ? c->content_type : "",
                       c->if_none_match ? "*" : "");
        /* Canonicalized headers, sorted: x-ms-blob-type, x-ms-date, x-ms-version. */
        if (r == 0 && c->block_blob)
                r = append_str(s, "x-ms-blob-type:BlockBlob\n");
        if (r == 0)
                r = bprintf(s, "x-ms-date:%s\nx-ms-version:" API_VERSION "\n/%s%s/%s", date, b->t.account, b->path,
                               b->t.container);
        if (r == 0 && c->name)
                r = bprintf(s, "/%s", c->name);
        for (size_t i = 0; r == 0 && c->query && c->query[i]; i += 2)
                r = bprintf(s, "\n%s:%s", c->query[i], c->query[i + 1]);
        return r == 0 && buf_append(s, "", 1) == 0 ? 0 : -ENOMEM;
}

static void http_date(time_t now, char out[32])
{
        static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        struct tm tm;

        gmtime_r(&now, &tm);
        snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
                 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "Authorization: ..." into auth (wiped by the caller), or "" with SAS only. */
static int authorization(struct azblob *b, const struct call *c, const char *date, char *auth, size_t authsz)
{
        _cleanup_(buf_done) struct buf s = BUF_INIT(64 * 1024);
        char sig[45];
        int r, k;

        *auth = '\0';
        if (b->key) {
                r = string_to_sign(b, c, date, &s);
                if (r == 0)
                        r = azblob_sign(b->key, b->key_len, s.data, sig);
                if (r < 0)
                        return r;
                k = snprintf(auth, authsz, "Authorization: SharedKey %s:%s", b->t.account, sig);
                return k > 0 && (size_t) k < authsz ? 0 : -ENOBUFS;
        }
        if (b->bearer) {
                k = snprintf(auth, authsz, "Authorization: Bearer ");
                r = b->bearer->get(b->bearer->userdata, auth + k, authsz - (size_t) k);
                return r;
        }
        return 0;
}

static bool retryable(long status)
{
        return status == 429 || status == 500 || status == 503;
}

static void pause_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int attempt(struct azblob *b, const struct call *c, const char *url, struct http_response *resp,
                   bool *auth_failed)
{
        char date[32], xdate[64], ctype[160], auth[AUTH_MAX];
        const char *headers[8];
        size_t n = 0;
        int r;

        http_date(time(NULL), date);
        snprintf(xdate, sizeof(xdate), "x-ms-date: %s", date);
        r = authorization(b, c, date, auth, sizeof(auth));
        if (r < 0) {
                explicit_bzero(auth, sizeof(auth));
                *auth_failed = true;
                return r;
        }
        headers[n++] = xdate;
        headers[n++] = "x-ms-version: " API_VERSION;
        headers[n++] = "Expect:";
        if (c->block_blob)
                headers[n++] = "x-ms-blob-type: BlockBlob";
        if (c->if_none_match)
                headers[n++] = "If-None-Match: *";
        if (c->body || !strcmp(c->method, "PUT")) {
                /* Without one, curl would send (and Shared Key would have to sign) a form type. */
                snprintf(ctype, sizeof(ctype), "Content-Type:%s%s", c->content_type ? " " : "",
                         c->content_type ? c->content_type : "");
                headers[n++] = ctype;
        }
        if (*auth)
                headers[n++] = auth;
        headers[n] = NULL;
        r = b->http->request(b->http->userdata,
                             &(struct http_request){ .method = c->method, .url = url, .headers = headers,
                                                     .body = c->body, .body_len = c->len, .max_body = c->max_body,
                                                     .connect_timeout_ms = 5000, .timeout_ms = b->o.timeout_ms },
                             resp);
        explicit_bzero(auth, sizeof(auth));
        return r;
}

/* Tries up to o.attempts times; 0 with the last answer in resp, or the
 * last transport error. */
static int call(struct azblob *b, const struct call *c, struct http_response *resp, char *err, size_t errsz)
{
        _cleanup_(buf_done) struct buf url = BUF_INIT(16 * 1024);
        bool refreshed = false, auth_failed = false;
        unsigned attempts = c->attempts ? c->attempts : b->o.attempts;
        long backoff = 100;
        int r = build_url(b, c, &url);

        *resp = (struct http_response){ .retry_after_s = -1 };
        if (r < 0)
                return fail(err, errsz, r, "out of memory");
        for (unsigned i = 0;; i++) {
                long wait;

                *resp = (struct http_response){ .retry_after_s = -1 };
                r = attempt(b, c, url.data, resp, &auth_failed);
                if (auth_failed)
                        /* The token source retries on its own. */
                        return fail(err, errsz, r, "no access token for Blob Storage (workload or managed "
                                    "identity): %s", strerror(-r));
                if (r == 0 && (resp->status == 401 || resp->status == 403) && b->bearer && !refreshed) {
                        /* An expired or revoked token: one fresh one, at once. */
                        b->bearer->invalidate(b->bearer->userdata);
                        refreshed = true;
                        http_response_done(resp);
                        continue;
                }
                if ((r == 0 && !retryable(resp->status)) || r == -E2BIG || r == -ENOMEM || r == -EKEYREJECTED ||
                    i + 1 >= attempts)
                        break;
                wait = backoff;
                if (r == 0 && resp->retry_after_s >= 0)
                        wait = resp->retry_after_s * 1000 > wait ? resp->retry_after_s * 1000 : wait;
                if (wait > (long) b->o.max_wait_s * 1000)
                        wait = (long) b->o.max_wait_s * 1000;
                if (r == 0)
                        http_response_done(resp);
                pause_ms(wait);
                backoff = backoff < 2000 ? backoff * 2 : backoff;
        }
        if (r < 0)
                return fail(err, errsz, r, "%s %s: %s", c->method, c->name ? c->name : b->t.container, strerror(-r));
        return 0;
}

static bool immutable_refusal(const char *code)
{
        return !strcmp(code, "BlobImmutableDueToPolicy") || !strcmp(code, "BlobImmutableDueToLegalHold") ||
               !strcmp(code, "ContainerImmutableDueToPolicy");
}

/* The error for an answer that was not the expected one. */
static int answer_error(const struct call *c, const struct azblob *b, const struct http_response *resp, char *err,
                        size_t errsz)
{
        const char *code = resp->ms_error_code;
        int r = -EPROTO;

        if (resp->status == 401 || resp->status == 403)
                r = -EACCES;
        else if (retryable(resp->status))
                r = -EAGAIN;
        else if (immutable_refusal(code))
                r = -EROFS;
        return fail(err, errsz, r, "%s %s: HTTP %ld%s%s", c->method, c->name ? c->name : b->t.container, resp->status,
                    *code ? " " : "", code);
}

/* A name that is taken, or that a policy keeps, is read back. Whether Blob
 * Storage answers a conditional create under a locked policy with the
 * precondition (409 BlobAlreadyExists, or 412) or with the policy (409
 * BlobImmutableDueToPolicy) is not documented, so both are settled by
 * reading: the write stands when the blob exists and, under
 * AZBLOB_TAKEN_MUST_MATCH, holds exactly these bytes (a blob planted under
 * a digest's name is never taken for the envelope). After a refusal, err
 * keeps the refusal unless the name settles it. */
static int settle_taken(struct azblob *b, const char *name, const char *data, size_t len, enum azblob_taken rule,
                        int refused, char *err, size_t errsz)
{
        _cleanup_free_ char *have = NULL;
        char get_err[256];
        size_t have_len = 0;
        int r = azblob_get(b, name, len < SMALL_BODY_MAX ? SMALL_BODY_MAX : len + 1, &have, &have_len, get_err,
                           sizeof(get_err));
        bool same = r == 0 && have_len == len && (len == 0 || (data && have && !memcmp(have, data, len)));

        if (rule == AZBLOB_TAKEN_IS_DONE && (r == 0 || r == -E2BIG))
                return 0;
        if (rule == AZBLOB_TAKEN_MUST_MATCH && (r == -E2BIG || (r == 0 && !same)))
                return fail(err, errsz, -EEXIST, "PUT %s: the name already holds other bytes", name);
        if (r < 0 && refused < 0)
                return refused;
        if (r < 0)
                return fail(err, errsz, r, "%s", get_err);
        return 0;
}

int azblob_put_new(struct azblob *b, const char *name, const char *data, size_t len, const char *content_type,
                   enum azblob_taken rule, enum azblob_put *ret, char *err, size_t errsz)
{
        const struct call c = { .method = "PUT", .name = name, .body = data ? data : "", .len = len,
                                .content_type = content_type, .if_none_match = true, .block_blob = true,
                                .max_body = SMALL_BODY_MAX };
        struct http_response resp = { .status = 0 };
        bool created, taken;
        int r, refused = 0;

        if (!*name || strlen(name) > AZBLOB_NAME_MAX || !all_of(name, strlen(name), "ABCDEFGHIJKLMNOPQRSTUVWXYZ._/-"))
                return fail(err, errsz, -EINVAL, "blob name not usable");
        r = call(b, &c, &resp, err, errsz);
        if (r < 0)
                return r;
        /* If-None-Match: * on an existing blob: 409 BlobAlreadyExists, or
         * 412 ConditionNotMet in older service versions. */
        created = resp.status == 201;
        taken = (resp.status == 409 && !strcmp(resp.ms_error_code, "BlobAlreadyExists")) || resp.status == 412;
        if (resp.status == 409 && immutable_refusal(resp.ms_error_code))
                refused = answer_error(&c, b, &resp, err, errsz);
        if (created)
                *ret = AZBLOB_CREATED;
        else if (!taken && !refused)
                r = answer_error(&c, b, &resp, err, errsz);
        http_response_done(&resp);
        if (r == 0 && !created) {
                r = settle_taken(b, name, data, len, rule, refused, err, errsz);
                if (r == 0)
                        *ret = AZBLOB_EXISTS;
        }
        return r;
}

int azblob_get(struct azblob *b, const char *name, size_t max, char **ret, size_t *ret_len, char *err, size_t errsz)
{
        const struct call c = { .method = "GET", .name = name, .max_body = max };
        struct http_response resp = { .status = 0 };
        char *data;
        int r = call(b, &c, &resp, err, errsz);

        if (r < 0)
                return r;
        if (resp.status == 404)
                r = fail(err, errsz, -ENOENT, "%s: not found", name);
        else if (resp.status != 200)
                r = answer_error(&c, b, &resp, err, errsz);
        else if (!(data = malloc(resp.body.len + 1)))
                r = fail(err, errsz, -ENOMEM, "out of memory");
        else {
                if (resp.body.len)
                        memcpy(data, resp.body.data, resp.body.len);
                data[resp.body.len] = '\0';
                *ret = data;
                *ret_len = resp.body.len;
        }
        http_response_done(&resp);
        return r;
}

int azblob_create_container(struct azblob *b, char *err, size_t errsz)
{
        static const char *const q[] = { "restype", "container", NULL };
        const struct call c = { .method = "PUT", .query = q, .max_body = SMALL_BODY_MAX };
        struct http_response resp = { .status = 0 };
        int r = call(b, &c, &resp, err, errsz);

        if (r < 0)
                return r;
        if (resp.status != 201 && !(resp.status == 409 && !strcmp(resp.ms_error_code, "ContainerAlreadyExists")))
                r = answer_error(&c, b, &resp, err, errsz);
        http_response_done(&resp);
        return r;
}

/* ---- List Blobs ----------------------------------------------------------------------- */

struct limited {
        int (*each)(void *userdata, const char *name);
        void *userdata;
        size_t left;                    /* SIZE_MAX: no limit */
};

static int each_limited(void *userdata, const char *name)
{
        struct limited *l = userdata;

        if (l->left == 0)
                return -ECANCELED;
        l->left--;
        return l->each(l->userdata, name);
}

static int list(struct azblob *b, const char *prefix, size_t limit, unsigned attempts,
                int (*each)(void *userdata, const char *name), void *userdata, char *err, size_t errsz)
{
        struct limited l = { .each = each, .userdata = userdata, .left = limit ? limit : SIZE_MAX };
        char marker[2048] = "", last[sizeof(marker)] = "", page[16];
        unsigned pages = 0;
        int r;

        snprintf(page, sizeof(page), "%zu", limit && limit < LIST_PAGE ? limit : (size_t) LIST_PAGE);
        do {
                const char *q[] = { "comp", "list", *marker ? "marker" : "maxresults", *marker ? marker : page,
                                    *marker ? "maxresults" : "prefix", *marker ? page : prefix,
                                    *marker ? "prefix" : "restype", *marker ? prefix : "container",
                                    *marker ? "restype" : NULL, "container", NULL };
                const struct call c = { .method = "GET", .query = q, .max_body = LIST_BODY_MAX, .attempts = attempts };
                struct http_response resp = { .status = 0 };

                r = call(b, &c, &resp, err, errsz);
                if (r < 0)
                        return r;
                if (resp.status != 200)
                        r = answer_error(&c, b, &resp, err, errsz);
                else {
                        r = azblob_parse_list(resp.body.data, resp.body.len, each_limited, &l, marker, sizeof(marker));
                        /* A marker that does not move (or goes round) would list for ever. */
                        if (r == 0 && *marker && (!strcmp(marker, last) || ++pages >= LIST_PAGES_MAX))
                                r = -EBADMSG;
                        memcpy(last, marker, sizeof(last));
                        if (r == -EBADMSG)
                                r = fail(err, errsz, r, "List Blobs %s: malformed answer", prefix);
                        else if (r < 0 && r != -ECANCELED)
                                (void) fail(err, errsz, r, "List Blobs %s: %s", prefix, strerror(-r));
                }
                http_response_done(&resp);
        } while (r == 0 && *marker && l.left > 0);
        return r == -ECANCELED ? 0 : r;
}

int azblob_list(struct azblob *b, const char *prefix, size_t limit, int (*each)(void *userdata, const char *name),
                void *userdata, char *err, size_t errsz)
{
        return list(b, prefix, limit, 0, each, userdata, err, errsz);
}

int azblob_list_once(struct azblob *b, const char *prefix, size_t limit, int (*each)(void *userdata, const char *name),
                     void *userdata, char *err, size_t errsz)
{
        return list(b, prefix, limit, 1, each, userdata, err, errsz);
}
