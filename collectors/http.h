/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The HTTP transport seam: production uses http_curl.c, unit tests a table
 * of canned answers. */

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct http_request {
        const char *method;             /* NULL = GET */
        const char *url;
        const char *const *headers;     /* NULL-terminated, "Name: value" */
        const char *body;               /* for POST/PATCH; may be NULL */
        size_t body_len;
        size_t max_body;                /* response cap; every transport enforces it */
        long connect_timeout_ms;
        long timeout_ms;
        const char *ca_file;            /* NULL = the system trust store */
        const char *client_cert;        /* mTLS, PEM; NULL = none */
        const char *client_key;
};

struct http_response {
        long status;
        long retry_after_s;             /* -1 when absent or unparsable */
        char ms_error_code[64];         /* x-ms-error-code (Azure Storage), "" when absent */
        struct buf body;
};

struct http_transport {
        /* Returns 0 when an HTTP answer arrived (any status), -E2BIG when the
         * body passed max_body, -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH or
         * -EPROTO for other transport failures. */
        int (*request)(void *userdata, const struct http_request *req, struct http_response *resp);
        void *userdata;
};

void http_response_done(struct http_response *resp);

/* Process-wide set-up of the transport library, once before any transport
 * is made (curl_global_init); 0 or -EIO. */
int http_global_init(void);
void http_global_cleanup(void);

/* libcurl transport. Proxies are never used, redirects never followed,
 * TLS peers always verified; only http and https. */
int http_curl_new(struct http_transport **ret);
struct http_transport *http_curl_free(struct http_transport *t);

/* A URL as libcurl itself reads it, so a check made on these parts holds
 * for the request that follows. */
struct http_url {
        char scheme[8];                 /* "http" or "https" */
        char host[256];                 /* IPv6 literals keep their brackets */
        bool userinfo;                  /* a user name or password is present */
};

/* Returns 0, -EINVAL when libcurl cannot parse the URL or its scheme is not
 * http or https, -ENAMETOOLONG when a part does not fit. */
int http_url_parse(const char *url, struct http_url *ret);
