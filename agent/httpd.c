/* SPDX-License-Identifier: Apache-2.0 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strparse.h"

struct httpd {
        struct MHD_Daemon *d;
        struct httpd_routes routes;
};

static enum MHD_Result reply(struct MHD_Connection *c, int status, char *body, const char *type)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        enum MHD_Result ret;

        if (!r) {
                free(body);
                return MHD_NO;
        }
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        ret = MHD_queue_response(c, (unsigned) status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
        struct httpd *h = cls;
        int (*route)(void *, char **) = NULL;
        char *body = NULL;
        int status;

        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
                return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, strdup("method not allowed\n"), "text/plain");
        if (!strcmp(url, "/metrics"))
                route = h->routes.metrics;
        else if (!strcmp(url, "/livez"))
                route = h->routes.livez;
        else if (!strcmp(url, "/readyz"))
                route = h->routes.readyz;
        if (!route)
                return reply(c, MHD_HTTP_NOT_FOUND, strdup("not found\n"), "text/plain");
        status = route(h->routes.userdata, &body);
        if (!body)
                return MHD_NO;
        return reply(c, status, body, route == h->routes.metrics ? "text/plain; version=0.0.4; charset=utf-8"
                                                                 : "text/plain; charset=utf-8");
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
        char host[128];
        const char *colon = strrchr(listen, ':');
        uint32_t port;
        size_t n;

        if (!colon || (n = (size_t) (colon - listen)) >= sizeof(host) || parse_u32(colon + 1, &port) < 0 ||
            port > 65535)
                return -EINVAL;
        memcpy(host, listen, n);
        host[n] = '\0';
        memset(ss, 0, sizeof(*ss));
        if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *) ss;

                host[n - 1] = '\0';
                a->sin6_family = AF_INET6;
                a->sin6_port = htons((uint16_t) port);
                *len = sizeof(*a);
                return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -EINVAL;
        }
        struct sockaddr_in *a = (struct sockaddr_in *) ss;

        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t) port);
        *len = sizeof(*a);
        return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
}

int httpd_start(const char *listen, const struct httpd_routes *routes, struct httpd **ret)
{
        struct sockaddr_storage ss;
        socklen_t len;
        struct httpd *h;
        unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

        if (parse_listen(listen, &ss, &len) < 0)
                return -EINVAL;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->routes = *routes;
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        /* No internal thread: the daemon's poll loop calls httpd_run(). */
        h->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
                                MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 64 * 1024, MHD_OPTION_END);
        if (!h->d) {
                free(h);
                return -EADDRNOTAVAIL;
        }
        *ret = h;
        return 0;
}

void httpd_stop(struct httpd *h)
{
        if (!h)
                return;
        MHD_stop_daemon(h->d);
        free(h);
}

int httpd_fd(const struct httpd *h)
{
        const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);

        return i ? i->epoll_fd : -1;
}

int httpd_timeout_ms(const struct httpd *h)
{
        MHD_UNSIGNED_LONG_LONG t;

        if (MHD_get_timeout(h->d, &t) != MHD_YES)
                return -1;
        return t > 60000 ? 60000 : (int) t;
}

void httpd_run(struct httpd *h)
{
        (void) MHD_run(h->d);
}

unsigned httpd_port(const struct httpd *h)
{
        const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);

        return i ? i->port : 0;
}
