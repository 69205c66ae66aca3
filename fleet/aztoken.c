/* SPDX-License-Identifier: Apache-2.0 */
#include "aztoken.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "fileio.h"
#include "imds.h"
#include "jread.h"
#include "json.h"
#include "macro.h"
#include "strparse.h"

#define AZ_DEFAULT_AUTHORITY "https://login.microsoftonline.com/"
/* The managed identity endpoint has its own versions, older than the
 * instance metadata floor IMDS_MIN_API_VERSION. */
#define AZ_IMDS_API_VERSION "2018-02-01"
#define AZ_IMDS_DEADLINE_MS 8000
#define AZ_ASSERTION_MAX (16 * 1024)
#define AZ_RESPONSE_MAX (64 * 1024)
#define AZ_TOKEN_MAX (16 * 1024)        /* stored with its NUL */
#define AZ_LIFETIME_MAX (7 * 24 * 3600)
#define AZ_REFRESH_EARLY 300
#define AZ_SCOPE_MAX 256

struct aztoken {
        const struct http_transport *t;
        bool workload;
        char token_file[4096];
        char client_id[128];            /* "" = the VM's only managed identity */
        char tenant[128];
        char authority[256];            /* ends with '/' */
        struct imds_client imds;
        char scope[AZ_SCOPE_MAX];       /* of the cached token */
        char *token;                    /* secret; NULL = nothing cached */
        time_t expires_at;
};

static void forget(struct aztoken *a)
{
        free_secretp(&a->token);
        a->token = NULL;
        a->scope[0] = '\0';
}

struct aztoken *aztoken_free(struct aztoken *a)
{
        if (a) {
                forget(a);
                free(a);
        }
        return NULL;
}

void aztoken_invalidate(struct aztoken *a)
{
        forget(a);
}

/* GUIDs and tenant domain names: they end up in URLs and form bodies. */
static bool id_valid(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') &&
                    *s != '-' && *s != '.')
                        return false;
        return true;
}

static bool host_is_loopback(const char *host, size_t len)
{
        static const char *const names[] = { "127.0.0.1", "[::1]", "localhost" };
        const char *end = host[0] == '[' ? memchr(host, ']', len) : memchr(host, ':', len);
        size_t hlen = end ? (size_t) (end - host) + (host[0] == '[') : len;

        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (strlen(names[i]) == hlen && !strncmp(host, names[i], hlen))
                        return true;
        return false;
}

/* https only (plain http for a loopback test server), no user-info, query
 * or fragment; a '/' is appended when missing. */
static int authority_set(struct aztoken *a, const char *url)
{
        bool tls = startswith(url, "https://");
        const char *host = url + (tls ? 8 : 7);
        size_t hlen = strcspn(host, "/"), len;

        if (!tls && !startswith(url, "http://"))
                return -EINVAL;
        if (hlen == 0 || strpbrk(url, "@?# \t\r\n\\") || (!tls && !host_is_loopback(host, hlen)))
                return -EINVAL;
        if (strcpy_bounded(a->authority, sizeof(a->authority) - 1, url) < 0)
                return -E2BIG;
        len = strlen(a->authority);
        if (a->authority[len - 1] != '/')
                a->authority[len] = '/', a->authority[len + 1] = '\0';
        return 0;
}

static int env_copy(const char *name, char *dst, size_t sz, bool required)
{
        const char *v = getenv(name);

        dst[0] = '\0';
        if (!v || !*v) {
                if (required)
                        log_error("azure token: %s is not set", name);
                return required ? -EINVAL : 0;
        }
        if (strcpy_bounded(dst, sz, v) < 0) {
                log_error("azure token: %s is too long", name);
                return -E2BIG;
        }
        return 0;
}

static int workload_init(struct aztoken *a)
{
        const char *auth = getenv("AZURE_AUTHORITY_HOST");
        int r;

        a->workload = true;
        r = env_copy("AZURE_FEDERATED_TOKEN_FILE", a->token_file, sizeof(a->token_file), true);
        if (r == 0)
                r = env_copy("AZURE_CLIENT_ID", a->client_id, sizeof(a->client_id), true);
        if (r == 0)
                r = env_copy("AZURE_TENANT_ID", a->tenant, sizeof(a->tenant), true);
        if (r < 0)
                return r;
        if (!id_valid(a->client_id) || !id_valid(a->tenant)) {
                log_error("azure token: AZURE_CLIENT_ID or AZURE_TENANT_ID has characters other than letters, digits, '-' and '.'");
                return -EINVAL;
        }
        r = authority_set(a, auth && *auth ? auth : AZ_DEFAULT_AUTHORITY);
        if (r < 0)
                log_error("azure token: AZURE_AUTHORITY_HOST must be an https:// URL without user, query or fragment "
                          "(http:// only for a loopback address)");
        return r;
}

static int managed_init(struct aztoken *a, const char *imds_base)
{
        int r = env_copy("AZURE_CLIENT_ID", a->client_id, sizeof(a->client_id), false);

        if (r < 0)
                return r;
        if (*a->client_id && !id_valid(a->client_id)) {
                log_error("azure token: AZURE_CLIENT_ID has characters other than letters, digits, '-' and '.'");
                return -EINVAL;
        }
        r = imds_client_init(&a->imds, a->t, imds_clock_system(), imds_base, IMDS_DEFAULT_API_VERSION,
                             AZ_IMDS_DEADLINE_MS);
        if (r < 0) {
                log_error("azure token: invalid IMDS URL %s", imds_base);
                return r;
        }
        (void) strcpy_bounded(a->imds.api_version, sizeof(a->imds.api_version), AZ_IMDS_API_VERSION);
        return 0;
}

int aztoken_new(const struct http_transport *t, const char *imds_base, struct aztoken **ret)
{
        const char *file = getenv("AZURE_FEDERATED_TOKEN_FILE");
        struct aztoken *a;
        int r;

        if ((!file || !*file) && (!imds_base || !*imds_base))
                return -ENOENT;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->t = t;
        r = file && *file ? workload_init(a) : managed_init(a, imds_base);
        if (r < 0) {
                free(a);
                return r;
        }
        *ret = a;
        return 0;
}

/* application/x-www-form-urlencoded: everything but RFC 3986 unreserved
 * characters percent-encoded. dst has room for 3 * strlen(v) + 1. */
static char *form_escape(char *dst, const char *v)
{
        static const char hex[] = "0123456789ABCDEF";

        for (; *v; v++) {
                unsigned char c = (unsigned char) *v;

                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~') {
                        *dst++ = (char) c;
                } else {
                        *dst++ = '%';
                        *dst++ = hex[c >> 4];
                        *dst++ = hex[c & 15];
                }
        }
        *dst = '\0';
        return dst;
}

/* Joins key=value pairs (NULL-terminated list) into one allocation sized
 * up front, so a secret value is never left behind by a realloc. */
static char *form_encode(const char *const *kv, size_t *ret_len)
{
        size_t n = 1;
        char *s, *p;

        for (size_t i = 0; kv[i]; i += 2)
                n += strlen(kv[i]) + 2 + 3 * strlen(kv[i + 1]);
        s = p = malloc(n);
        if (!s)
                return NULL;
        *p = '\0';
        for (size_t i = 0; kv[i]; i += 2) {
                if (i)
                        *p++ = '&';
                p = form_escape(p, kv[i]);
                *p++ = '=';
                p = form_escape(p, kv[i + 1]);
        }
        *ret_len = (size_t) (p - s);
        return s;
}

static void body_wipe(struct buf *b)
{
        if (b->data)
                explicit_bzero(b->data, b->len);
        buf_done(b);
}

/* A lifetime in seconds: a JSON number or a decimal string. */
static int json_seconds(const cJSON *v, uint64_t *ret)
{
        if (cJSON_IsNumber(v)) {
                double d = v->valuedouble;

                if (!(d >= 0 && d <= 9007199254740992.0) || d != (double) (uint64_t) d)
                        return -EBADMSG;
                *ret = (uint64_t) d;
                return 0;
        }
        if (cJSON_IsString(v))
                return parse_u64(v->valuestring, ret) < 0 ? -EBADMSG : 0;
        return -EBADMSG;
}

static bool token_chars_valid(const char *s)
{
        /* It goes into an Authorization header: visible ASCII only. */
        for (; *s; s++)
                if (*s < 0x21 || *s > 0x7e)
                        return false;
        return true;
}

/* access_token plus expires_in (relative to now) or expires_on (epoch). */
static int parse_token(const char *body, size_t len, time_t now, char **ret, time_t *ret_exp,
                       char *err, size_t errsz)
{
        _cleanup_(cjson_deletep) cJSON *j = cJSON_ParseWithLength(body, len);
        _cleanup_secret_ char *tok = NULL;
        struct jread jr = { 0 };
        const cJSON *in, *on, *at;
        uint64_t life = 0, epoch = 0;

        if (!cJSON_IsObject(j)) {
                snprintf(err, errsz, "token response is not a JSON object");
                return -EBADMSG;
        }
        tok = calloc(1, AZ_TOKEN_MAX);
        if (!tok)
                return -ENOMEM;
        jr_str(&jr, j, "token response", "access_token", tok, AZ_TOKEN_MAX);
        at = cJSON_GetObjectItemCaseSensitive(j, "access_token");
        if (cJSON_IsString(at))
                explicit_bzero(at->valuestring, strlen(at->valuestring));
        if (!jr_ok(&jr)) {
                snprintf(err, errsz, "%s", jr.err);
                return jr.r;
        }
        if (!*tok || !token_chars_valid(tok)) {
                snprintf(err, errsz, "token response.access_token is empty or not printable ASCII");
                return -EBADMSG;
        }
        in = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
        on = cJSON_GetObjectItemCaseSensitive(j, "expires_on");
        if (in ? json_seconds(in, &life) < 0 : (!on || json_seconds(on, &epoch) < 0)) {
                snprintf(err, errsz, "token response has no valid expires_in or expires_on");
                return -EBADMSG;
        }
        if (!in)
                life = epoch > (uint64_t) now ? epoch - (uint64_t) now : 0;
        if (life == 0 || life > AZ_LIFETIME_MAX) {
                snprintf(err, errsz, "token response lifetime %llu s is out of range (1..%d)",
                         (unsigned long long) life, AZ_LIFETIME_MAX);
                return -EBADMSG;
        }
        *ret_exp = now + (time_t) life;
        *ret = TAKE_PTR(tok);
        return 0;
}

/* The OAuth error code of a refused request (e.g. invalid_client), when it
 * has the expected shape; never the description, which may echo input. */
static void oauth_error(const struct buf *b, char *dst, size_t sz)
{
        _cleanup_(cjson_deletep) cJSON *j = b->data ? cJSON_ParseWithLength(b->data, b->len) : NULL;
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");

        dst[0] = '\0';
        if (!cJSON_IsString(e) || strlen(e->valuestring) > 64 || !*e->valuestring ||
            strspn(e->valuestring, "abcdefghijklmnopqrstuvwxyz_") != strlen(e->valuestring))
                return;
        snprintf(dst, sz, " (%s)", e->valuestring);
}

static int workload_fetch(struct aztoken *a, const char *scope, struct buf *body, char *err, size_t errsz)
{
        static const char *const headers[] = { "Content-Type: application/x-www-form-urlencoded",
                                               "Accept: application/json", NULL };
        _cleanup_secret_ char *assertion = NULL, *form = NULL;
        char url[512], code[80], *jwt;
        size_t len, form_len = 0;
        int r, n;

        n = snprintf(url, sizeof(url), "%s%s/oauth2/v2.0/token", a->authority, a->tenant);
        if (n < 0 || (size_t) n >= sizeof(url)) {
                snprintf(err, errsz, "token URL too long");
                return -E2BIG;
        }
        /* Re-read every time: the kubelet rotates the projected token. */
        r = read_file_secret(a->token_file, AZ_ASSERTION_MAX, &assertion, &len);
        if (r < 0) {
                snprintf(err, errsz, "AZURE_FEDERATED_TOKEN_FILE %.200s: %s", a->token_file,
                         r == -E2BIG ? "larger than 16 KiB" : r == -EINVAL ? "holds a NUL byte" : strerror(-r));
                return r;
        }
        jwt = strstrip(assertion);
        if (!*jwt) {
                snprintf(err, errsz, "AZURE_FEDERATED_TOKEN_FILE %.200s is empty", a->token_file);
                return -EBADMSG;
        }
        form = form_encode((const char *const[]){
                "client_id", a->client_id, "scope", scope, "grant_type", "client_credentials",
                "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion", jwt, NULL }, &form_len);
        if (!form)
                return -ENOMEM;
        struct http_request req = {
                .method = "POST", .url = url, .headers = headers, .body = form, .body_len = form_len,
                .max_body = AZ_RESPONSE_MAX, .connect_timeout_ms = 5000, .timeout_ms = 15000,
        };
        struct http_response resp = { .retry_after_s = -1 };

        r = a->t->request(a->t->userdata, &req, &resp);
        if (r < 0) {
                snprintf(err, errsz, "POST %.200s: %s", url,
                         r == -E2BIG ? "answer larger than 64 KiB" : strerror(-r));
                return r;
        }
        if (resp.status != 200) {
                oauth_error(&resp.body, code, sizeof(code));
                snprintf(err, errsz, "POST %.200s: HTTP %ld%s", url, resp.status, code);
                body_wipe(&resp.body);
                return resp.status == 400 || resp.status == 401 || resp.status == 403 ? -EACCES : -EPROTO;
        }
        *body = resp.body;
        return 0;
}

static int managed_fetch(struct aztoken *a, const char *scope, struct buf *body, char *err, size_t errsz)
{
        size_t slen = strlen(scope);
        char resource[AZ_SCOPE_MAX], query[3 * AZ_SCOPE_MAX + 3 * sizeof(a->client_id) + 32], *p;

        /* IMDS takes the v1 resource, not a v2 scope. */
        if (slen > 9 && !strcmp(scope + slen - 9, "/.default"))
                slen -= 9;
        memcpy(resource, scope, slen);
        resource[slen] = '\0';
        memcpy(query, "resource=", sizeof("resource="));
        p = form_escape(query + 9, resource);
        if (*a->client_id) {
                memcpy(p, "&client_id=", 12);
                (void) form_escape(p + 11, a->client_id);
        }
        return imds_get(&a->imds, "/metadata/identity/oauth2/token", query, AZ_RESPONSE_MAX, body, err, errsz);
}

static bool scope_valid(const char *s)
{
        return *s && strlen(s) < AZ_SCOPE_MAX && token_chars_valid(s);
}

static int refresh(struct aztoken *a, const char *scope, time_t now)
{
        _cleanup_(body_wipe) struct buf body = { 0 };
        char err[512] = "", *tok = NULL;
        time_t exp = 0;
        int r;

        r = a->workload ? workload_fetch(a, scope, &body, err, sizeof(err))
                        : managed_fetch(a, scope, &body, err, sizeof(err));
        if (r == 0)
                r = parse_token(body.data, body.len, now, &tok, &exp, err, sizeof(err));
        if (r < 0) {
                log_error("azure token (%s) for %s: %s", a->workload ? "workload identity" : "managed identity",
                          scope, *err ? err : strerror(-r));
                return r;
        }
        forget(a);
        a->token = tok;
        a->expires_at = exp;
        (void) strcpy_bounded(a->scope, sizeof(a->scope), scope);
        return 0;
}

int aztoken_get(struct aztoken *a, const char *scope, time_t now, char *out, size_t outsz)
{
        bool cached = a->token && !strcmp(a->scope, scope);
        size_t len;
        int r;

        if (!scope_valid(scope)) {
                log_error("azure token: invalid scope");
                return -EINVAL;
        }
        if (!cached || now >= a->expires_at - AZ_REFRESH_EARLY) {
                r = refresh(a, scope, now);
                /* A refresh that fails early keeps a token still valid. */
                if (r < 0 && !(cached && now < a->expires_at))
                        return r;
        }
        len = strlen(a->token);
        if (len >= outsz)
                return -ENOBUFS;
        memcpy(out, a->token, len + 1);
        return 0;
}
