/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The HTTP listener: libmicrohttpd (the only file that touches it).
 *
 * Two modes:
 * - the daemon's metrics and health listener (httpd_start): GET only, no
 *   thread of its own, driven from the daemon's poll loop;
 * - the collector (httpd_start_opts with internal_thread): one internal
 *   polling thread that runs every handler, so handlers need no locking and
 *   stay single-threaded; POST bodies with a hard cap; optional TLS. */

#include <stdbool.h>
#include <stddef.h>

struct httpd;
struct httpd_pending;           /* a POST whose answer comes later */

/* A request as the handlers see it. Header values are NULL when absent. */
struct httpd_request {
        const char *method;
        const char *url;
        const char *content_type;
        const char *authorization;
        char peer[64];                  /* the client's address, for logs */
        const char *body;               /* NUL-terminated; NULL before the body is read */
        size_t body_len;
};

/* A handler's answer. body is malloc'ed text and owned by httpd afterwards. */
struct httpd_reply {
        int status;
        char *body;
        const char *content_type;       /* static; NULL = application/json */
        const char *header_name;        /* one extra static header, e.g. WWW-Authenticate */
        const char *header_value;
};

struct httpd_routes {
        /* GET (and HEAD). Each fills body (NUL-terminated text) and returns the HTTP status. */
        int (*metrics)(void *userdata, char **body);
        int (*livez)(void *userdata, char **body);
        int (*readyz)(void *userdata, char **body);
        void *userdata;
        /* Optional: POST to post_path. post_check sees the headers before any
         * of the body is read and returns 0 to read it, or fills ret to answer
         * at once (401, 415…). post gets the complete body, at most max_body,
         * and either fills ret, or (internal_thread only) leaves ret->status 0
         * and answers later with httpd_answer(pending), from any thread. */
        const char *post_path;
        int (*post_check)(void *userdata, const struct httpd_request *req, struct httpd_reply *ret);
        void (*post)(void *userdata, const struct httpd_request *req, struct httpd_reply *ret,
                     struct httpd_pending *pending);
        /* With a deferred answer: called once the request sleeps, and only
         * then may pending be handed to whoever calls httpd_answer(). */
        void (*post_deferred)(void *userdata, struct httpd_pending *pending);
        /* Optional: told every status answered on post_path (for counting). */
        void (*answered)(void *userdata, int status);
};

struct httpd_options {
        bool internal_thread;           /* one MHD polling thread runs everything */
        size_t max_body;                /* POST cap; larger bodies get 413. 0: 4 MiB */
        const char *tls_cert_pem;       /* PEM text, both or neither: HTTPS */
        const char *tls_key_pem;
        unsigned connection_limit;      /* 0: 32 */
        unsigned connection_timeout_s;  /* idle timeout; 0: 10 */
        unsigned per_ip_limit;          /* connections from one address; 0: no limit */
        /* internal_thread only: a request's headers and body must have
         * arrived within this many seconds of the connection's start (or of
         * the previous answer on a kept-alive connection), else the
         * connection is cut, however steadily it trickles; 0: no deadline. */
        unsigned request_deadline_s;
        /* libmicrohttpd's own error messages; NULL: stderr. */
        void (*log)(void *userdata, const char *msg);
};

/* listen: "HOST:PORT" (IPv4 or [IPv6]); port 0 picks a free one. The
 * daemon's listener: external polling, GET routes only. */
int httpd_start(const char *listen, const struct httpd_routes *routes, struct httpd **ret);
int httpd_start_opts(const char *listen, const struct httpd_routes *routes, const struct httpd_options *o,
                     struct httpd **ret);
void httpd_stop(struct httpd *h);
int httpd_fd(const struct httpd *h);            /* poll for POLLIN */
int httpd_timeout_ms(const struct httpd *h);    /* -1: none */
void httpd_run(struct httpd *h);                /* after the fd is ready or the timeout passed */
unsigned httpd_port(const struct httpd *h);

/* Answers a POST that post() deferred; takes over rep->body. Any thread,
 * exactly once per deferred request, before httpd_stop(). */
void httpd_answer(struct httpd_pending *p, const struct httpd_reply *rep);

/* Stops accepting connections (the listening socket is closed); requests
 * already in progress are served. Then httpd_connections() falls to 0. */
void httpd_quiesce(struct httpd *h);
unsigned httpd_connections(const struct httpd *h);

/* -EINVAL unless listen is a valid "HOST:PORT"; *ret_loopback tells whether
 * HOST is 127.0.0.0/8 or ::1. */
int httpd_listen_is_loopback(const char *listen, bool *ret_loopback);
