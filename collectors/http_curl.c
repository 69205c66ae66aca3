/* SPDX-License-Identifier: Apache-2.0 */
/* The only module that touches libcurl. */
#include "http.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "macro.h"
#include "strparse.h"

struct sink {
        struct http_response *resp;
        bool overflow;
};

void http_response_done(struct http_response *resp)
{
        buf_done(&resp->body);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *userdata)
{
        struct sink *s = userdata;
        size_t n = size * nmemb;

        if (buf_append(&s->resp->body, p, n) < 0) {
                s->overflow = true;
                return 0;       /* makes curl abort with CURLE_WRITE_ERROR */
        }
        return n;
}

/* The value of header line p (n bytes) if it is name (with its colon),
 * stripped, into v; false if it is another header or does not fit. */
static bool header_value(const char *p, size_t n, const char *name, char *v, size_t vsz)
{
        size_t l = strlen(name);
        char *t;

        if (n <= l || n - l >= vsz || strncasecmp(p, name, l) != 0)
                return false;
        memcpy(v, p + l, n - l);
        v[n - l] = '\0';
        t = strstrip(v);
        memmove(v, t, strlen(t) + 1);
        return true;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
        struct sink *s = userdata;
        size_t n = size * nmemb;
        char v[64];
        uint64_t secs;

        if (header_value(p, n, "retry-after:", v, sizeof(v))) {
                if (parse_u64(v, &secs) == 0 && secs < 3600)
                        s->resp->retry_after_s = (long) secs;
        } else if (header_value(p, n, "x-ms-error-code:", v, sizeof(v)))
                memcpy(s->resp->ms_error_code, v, sizeof(v));
        return n;
}

static int curl_error_to_errno(CURLcode c, bool overflow)
{
        switch (c) {
        case CURLE_OK:
                return 0;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                return overflow || c == CURLE_FILESIZE_EXCEEDED ? -E2BIG : -EIO;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
                return -EKEYREJECTED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EPROTO;
        }
}

static void slist_freep(struct curl_slist **l)
{
        curl_slist_free_all(*l);
}

static int build_headers(const char *const *headers, struct curl_slist **ret)
{
        struct curl_slist *l = NULL, *n;

        for (size_t i = 0; headers && headers[i]; i++) {
                n = curl_slist_append(l, headers[i]);
                if (!n) {
                        curl_slist_free_all(l);
                        return -ENOMEM;
                }
                l = n;
        }
        *ret = l;
        return 0;
}

static bool set_method(CURL *h, const struct http_request *req)
{
        if (!req->method || !strcmp(req->method, "GET"))
                return curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
        return curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "") == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len) == CURLE_OK;
}

static bool set_tls(CURL *h, const struct http_request *req)
{
        return (!req->ca_file || curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file) == CURLE_OK) &&
               (!req->client_cert || curl_easy_setopt(h, CURLOPT_SSLCERT, req->client_cert) == CURLE_OK) &&
               (!req->client_key || curl_easy_setopt(h, CURLOPT_SSLKEY, req->client_key) == CURLE_OK);
}

static bool setopts(CURL *h, const struct http_request *req, struct curl_slist *hdrs, struct sink *s)
{
        return set_method(h, req) && set_tls(h, req) &&
               curl_easy_setopt(h, CURLOPT_URL, req->url) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
               /* IMDS must never go through a proxy, even one configured later
                * through the environment. */
               curl_easy_setopt(h, CURLOPT_PROXY, "") == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_NOPROXY, "*") == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_NETRC, (long) CURL_NETRC_IGNORED) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) req->max_body) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_USERAGENT, "hostenc/" HOSTENC_VERSION) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_WRITEDATA, s) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_HEADERDATA, s) == CURLE_OK;
}

static int curl_request(void *userdata, const struct http_request *req, struct http_response *resp)
{
        _cleanup_(slist_freep) struct curl_slist *hdrs = NULL;
        struct http_response r = { .retry_after_s = -1, .body = BUF_INIT(req->max_body) };
        struct sink s = { .resp = &r };
        CURL *h = userdata;
        CURLcode c;
        int k;

        k = build_headers(req->headers, &hdrs);
        if (k < 0)
                return k;
        curl_easy_reset(h);
        if (!setopts(h, req, hdrs, &s))
                return -EINVAL;
        c = curl_easy_perform(h);
        k = curl_error_to_errno(c, s.overflow);
        if (k < 0) {
                buf_done(&r.body);
                return k;
        }
        (void) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
        *resp = r;
        return 0;
}

int http_curl_new(struct http_transport **ret)
{
        struct http_transport *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        t->userdata = curl_easy_init();
        if (!t->userdata) {
                free(t);
                return -ENOMEM;
        }
        t->request = curl_request;
        *ret = t;
        return 0;
}

struct http_transport *http_curl_free(struct http_transport *t)
{
        if (!t)
                return NULL;
        curl_easy_cleanup(t->userdata);
        free(t);
        return NULL;
}

int http_global_init(void)
{
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void http_global_cleanup(void)
{
        curl_global_cleanup();
}

static int url_part(CURLU *u, CURLUPart part, char *out, size_t size, bool *present)
{
        char *v = NULL;
        CURLUcode c = curl_url_get(u, part, &v, 0);
        int r = 0;

        *present = c == CURLUE_OK;
        if (c != CURLUE_OK)
                return c == CURLUE_NO_USER || c == CURLUE_NO_PASSWORD || c == CURLUE_NO_HOST ? 0 : -EINVAL;
        if (out && snprintf(out, size, "%s", v) >= (int) size)
                r = -ENAMETOOLONG;
        curl_free(v);
        return r;
}

int http_url_parse(const char *url, struct http_url *ret)
{
        struct http_url p = { .userinfo = false };
        bool user = false, password = false, host = false;
        CURLU *u = curl_url();
        int r;

        if (!u)
                return -ENOMEM;
        r = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK ? 0 : -EINVAL;
        if (r == 0)
                r = url_part(u, CURLUPART_SCHEME, p.scheme, sizeof(p.scheme), &host);
        if (r == 0 && strcmp(p.scheme, "http") != 0 && strcmp(p.scheme, "https") != 0)
                r = -EINVAL;
        if (r == 0)
                r = url_part(u, CURLUPART_USER, NULL, 0, &user);
        if (r == 0)
                r = url_part(u, CURLUPART_PASSWORD, NULL, 0, &password);
        if (r == 0)
                r = url_part(u, CURLUPART_HOST, p.host, sizeof(p.host), &host);
        if (r == 0 && !host)
                r = -EINVAL;
        curl_url_cleanup(u);
        if (r < 0)
                return r;
        p.userinfo = user || password;
        *ret = p;
        return 0;
}
