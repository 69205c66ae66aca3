/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The metrics and health listener: libmicrohttpd (the only file that
 * touches it), driven from the daemon's own poll loop, single-threaded. */

#include <stdbool.h>
#include <stddef.h>

struct httpd;

struct httpd_routes {
        /* Each fills body (NUL-terminated text) and returns the HTTP status. */
        int (*metrics)(void *userdata, char **body);
        int (*livez)(void *userdata, char **body);
        int (*readyz)(void *userdata, char **body);
        void *userdata;
};

/* listen: "HOST:PORT" (IPv4 or [IPv6]); port 0 picks a free one. */
int httpd_start(const char *listen, const struct httpd_routes *routes, struct httpd **ret);
void httpd_stop(struct httpd *h);
int httpd_fd(const struct httpd *h);            /* poll for POLLIN */
int httpd_timeout_ms(const struct httpd *h);    /* -1: none */
void httpd_run(struct httpd *h);                /* after the fd is ready or the timeout passed */
unsigned httpd_port(const struct httpd *h);
