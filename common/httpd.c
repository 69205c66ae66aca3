/* SPDX-License-Identifier: Apache-2.0 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "macro.h"
#include "strparse.h"

#define HTTPD_DEFAULT_MAX_BODY ((size_t) 4 * 1024 * 1024)

/* A connection under the request deadline. MHD's own timeout is an idle
 * one: a client that sends a byte every few seconds would keep it forever. */
struct tracked {
        struct tracked *next, **pprev;
        int fd;
        uint64_t since_ms;              /* the connection's start, or its last answer */
        bool received;                  /* the current request is all in */
        bool cut;
};

struct httpd {
        struct MHD_Daemon *d;
        struct httpd_routes routes;
        struct httpd_options opts;
        int quiesced_fd;
        /* The deadline sweeper: its own thread, the list under lock. The
         * list entry goes before MHD closes the fd, so the sweeper never
         * shuts down a descriptor that was reused. */
        pthread_mutex_t lock;
        pthread_cond_t wake;
        pthread_t sweeper;
        bool sweeping, stopping;
        struct tracked *conns;
};

/* One POST in progress: its body so far, and its answer when deferred. */
struct httpd_pending {
        struct buf body;
        bool too_large;
        size_t dropped;         /* bytes read and thrown away once too large */
        struct MHD_Connection *conn;
        bool deferred;
        bool received;                  /* the whole body is in */
        struct httpd_reply reply;       /* set by httpd_answer() */
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static struct tracked *tracked_of(struct MHD_Connection *c)
{
        const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return i ? i->socket_context : NULL;
}

/* A request is all in (received) or a new one may start (!received). */
static void mark(struct httpd *h, struct MHD_Connection *c, bool received)
{
        struct tracked *t = h->sweeping ? tracked_of(c) : NULL;

        if (!t)
                return;
        pthread_mutex_lock(&h->lock);
        t->received = received;
        if (!received)
                t->since_ms = now_ms();
        pthread_mutex_unlock(&h->lock);
}

static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
        struct httpd *h = cls;
        struct tracked *t = *socket_context;
        const union MHD_ConnectionInfo *i;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
                t = i ? calloc(1, sizeof(*t)) : NULL;
                if (!t)
                        return;         /* untracked: only the idle timeout applies */
                t->fd = i->connect_fd;
                t->since_ms = now_ms();
                pthread_mutex_lock(&h->lock);
                t->next = h->conns;
                t->pprev = &h->conns;
                if (h->conns)
                        h->conns->pprev = &t->next;
                h->conns = t;
                pthread_mutex_unlock(&h->lock);
                *socket_context = t;
                return;
        }
        if (!t)
                return;
        pthread_mutex_lock(&h->lock);
        *t->pprev = t->next;
        if (t->next)
                t->next->pprev = t->pprev;
        pthread_mutex_unlock(&h->lock);
        free(t);
        *socket_context = NULL;
}

/* Once a second: shutdown() (not close(): MHD owns the fd) every connection
 * past its deadline; MHD then sees the end of the stream and cleans up. */
static void *sweep(void *arg)
{
        struct httpd *h = arg;
        struct timespec until;

        pthread_mutex_lock(&h->lock);
        while (!h->stopping) {
                uint64_t now = now_ms(), limit = (uint64_t) h->opts.request_deadline_s * 1000;

                for (struct tracked *t = h->conns; t; t = t->next)
                        if (!t->received && !t->cut && now - t->since_ms > limit) {
                                (void) shutdown(t->fd, SHUT_RDWR);
                                t->cut = true;
                        }
                (void) clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += 1;
                (void) pthread_cond_timedwait(&h->wake, &h->lock, &until);
        }
        pthread_mutex_unlock(&h->lock);
        return NULL;
}

static enum MHD_Result queue(struct MHD_Connection *c, const struct httpd_reply *rep)
{
        struct MHD_Response *r;
        enum MHD_Result ret;

        if (!rep->body)
                return MHD_NO;
        r = MHD_create_response_from_buffer(strlen(rep->body), rep->body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(rep->body);
                return MHD_NO;
        }
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                       rep->content_type ? rep->content_type : "application/json");
        if (rep->header_name && rep->header_value)
                (void) MHD_add_response_header(r, rep->header_name, rep->header_value);
        ret = MHD_queue_response(c, (unsigned) rep->status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, char *body, const char *type)
{
        struct httpd_reply rep = { .status = status, .body = body, .content_type = type };

        return queue(c, &rep);
}

static enum MHD_Result post_reply(struct httpd *h, struct MHD_Connection *c, struct httpd_reply *rep)
{
        if (h->routes.answered)
                h->routes.answered(h->routes.userdata, rep->status);
        return queue(c, rep);
}

static enum MHD_Result text_error(struct httpd *h, struct MHD_Connection *c, bool on_post_path, int status,
                                  const char *json, const char *allow)
{
        struct httpd_reply rep = { .status = status, .body = strdup(json), .header_name = allow ? "Allow" : NULL,
                                   .header_value = allow };

        return on_post_path ? post_reply(h, c, &rep) : queue(c, &rep);
}

static size_t max_body(const struct httpd *h)
{
        return h->opts.max_body ? h->opts.max_body : HTTPD_DEFAULT_MAX_BODY;
}

static void request_of(struct MHD_Connection *c, const char *url, const char *method, struct httpd_request *req)
{
        *req = (struct httpd_request){
                .method = method,
                .url = url,
                .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
                .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        };
        const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = i ? i->client_addr : NULL;

        if (sa && sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, req->peer, sizeof(req->peer));
        else if (sa && sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, req->peer, sizeof(req->peer));
}

/* The headers of a POST to post_path: answer now, or start reading. */
static enum MHD_Result post_begin(struct httpd *h, struct MHD_Connection *c, const char *url, const char *method,
                                  void **state)
{
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        struct httpd_reply rep = { .status = 0 };
        struct httpd_request req;
        struct httpd_pending *u;
        bool too_large;
        uint64_t n = 0;

        request_of(c, url, method, &req);
        if (h->routes.post_check && h->routes.post_check(h->routes.userdata, &req, &rep) != 0)
                return post_reply(h, c, &rep);
        too_large = cl && parse_u64(cl, &n) == 0 && n > max_body(h);
        /* Refused before a byte of it is read when the client waits for
         * "100 Continue" (curl does for large bodies), or when it is far too
         * large. Otherwise it is read and dropped, so that a client that
         * sends its body at once still reads the 413 and not a reset. */
        if (too_large && (expect || n > 2 * max_body(h)))
                return text_error(h, c, true, MHD_HTTP_CONTENT_TOO_LARGE, "{\"error\":\"body too large\"}\n", NULL);
        u = calloc(1, sizeof(*u));
        if (!u)
                return MHD_NO;
        u->body = BUF_INIT(max_body(h));
        u->too_large = too_large;
        *state = u;
        return MHD_YES;
}

static enum MHD_Result post_data(struct httpd *h, struct httpd_pending *u, const char *data, size_t *size)
{
        if (!u->too_large && buf_append(&u->body, data, *size) == 0) {
                *size = 0;
                return MHD_YES;
        }
        /* Past the cap (a chunked body, or one announced too large): keep
         * reading and dropping up to twice the cap, so the client still gets
         * its 413, then hang up. */
        if (!u->too_large)
                buf_done(&u->body);
        u->too_large = true;
        u->dropped += *size;
        *size = 0;
        return u->dropped > 2 * max_body(h) ? MHD_NO : MHD_YES;
}

static enum MHD_Result post_end(struct httpd *h, struct MHD_Connection *c, const char *url, const char *method,
                                struct httpd_pending *u)
{
        struct httpd_reply rep = { .status = 0 };
        struct httpd_request req;

        u->received = true;
        if (u->too_large)
                return text_error(h, c, true, MHD_HTTP_CONTENT_TOO_LARGE, "{\"error\":\"body too large\"}\n", NULL);
        if (!u->body.data && buf_append(&u->body, "", 0) < 0)
                return MHD_NO;
        if (!h->routes.post)    /* only a POST route makes a pending upload */
                return MHD_NO;
        request_of(c, url, method, &req);
        req.body = u->body.data;
        req.body_len = u->body.len;
        h->routes.post(h->routes.userdata, &req, &rep, h->opts.internal_thread ? u : NULL);
        if (rep.status == 0 && h->opts.internal_thread && h->routes.post_deferred) {
                /* Answered later: the connection sleeps until httpd_answer(),
                 * which may come from another thread as soon as it is handed over. */
                u->conn = c;
                u->deferred = true;
                MHD_suspend_connection(c);
                h->routes.post_deferred(h->routes.userdata, u);
                return MHD_YES;
        }
        if (rep.status == 0)
                return MHD_NO;
        return post_reply(h, c, &rep);
}

void httpd_answer(struct httpd_pending *p, const struct httpd_reply *rep)
{
        p->reply = *rep;
        /* Wakes the polling thread, which calls handle() again for p. */
        MHD_resume_connection(p->conn);
}

static int (*get_route(const struct httpd *h, const char *url))(void *, char **)
{
        if (!strcmp(url, "/metrics"))
                return h->routes.metrics;
        if (!strcmp(url, "/livez"))
                return h->routes.livez;
        if (!strcmp(url, "/readyz"))
                return h->routes.readyz;
        return NULL;
}

static enum MHD_Result dispatch(struct httpd *h, struct MHD_Connection *c, const char *url, const char *method,
                                const char *upload, size_t *upload_size, void **state);

/* Every call but those that start or continue reading a POST body ends
 * the reading of the request: the deadline no longer applies. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
        struct httpd *h = cls;
        enum MHD_Result r = dispatch(h, c, url, method, upload, upload_size, state);
        const struct httpd_pending *u = *state;

        if (!u || u->received)
                mark(h, c, true);
        return r;
}

static enum MHD_Result dispatch(struct httpd *h, struct MHD_Connection *c, const char *url, const char *method,
                                const char *upload, size_t *upload_size, void **state)
{
        bool is_get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
        bool on_post_path = h->routes.post_path && h->routes.post && !strcmp(url, h->routes.post_path);
        int (*route)(void *, char **) = get_route(h, url);
        char *body = NULL;
        int status;

        if (*state) {   /* a POST body arriving, complete, or answered later */
                struct httpd_pending *u = *state;

                if (u->deferred) {
                        u->deferred = false;
                        return post_reply(h, c, &u->reply);
                }
                if (*upload_size)
                        return post_data(h, u, upload, upload_size);
                return post_end(h, c, url, method, u);
        }
        if (on_post_path) {
                if (strcmp(method, "POST") != 0)
                        return text_error(h, c, true, MHD_HTTP_METHOD_NOT_ALLOWED,
                                          "{\"error\":\"method not allowed\"}\n", "POST");
                return post_begin(h, c, url, method, state);
        }
        if (!route)
                return reply(c, MHD_HTTP_NOT_FOUND, strdup("not found\n"), "text/plain");
        if (!is_get)
                return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, strdup("method not allowed\n"), "text/plain");
        status = route(h->routes.userdata, &body);
        if (!body)
                return MHD_NO;
        return reply(c, status, body, route == h->routes.metrics ? "text/plain; version=0.0.4; charset=utf-8"
                                                                 : "text/plain; charset=utf-8");
}

static void completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode toe)
{
        struct httpd_pending *u = *state;

        mark(cls, c, false);    /* a kept-alive connection: the next request's deadline starts */

        if (u) {
                buf_done(&u->body);
                free(u);
                *state = NULL;
        }
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        struct httpd *h = cls;
        char msg[512];
        size_t n;

        vsnprintf(msg, sizeof(msg), fmt, ap);
        n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
                msg[--n] = '\0';
        h->opts.log(h->routes.userdata, msg);
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

int httpd_listen_is_loopback(const char *listen, bool *ret_loopback)
{
        struct sockaddr_storage ss;
        socklen_t len;

        if (parse_listen(listen, &ss, &len) < 0)
                return -EINVAL;
        if (ss.ss_family == AF_INET6)
                *ret_loopback = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *) &ss)->sin6_addr);
        else
                *ret_loopback = (ntohl(((struct sockaddr_in *) &ss)->sin_addr.s_addr) >> 24) == 127;
        return 0;
}

static void httpd_free(struct httpd *h)
{
        pthread_cond_destroy(&h->wake);
        pthread_mutex_destroy(&h->lock);
        free(h);
}

int httpd_start_opts(const char *listen, const struct httpd_routes *routes, const struct httpd_options *o,
                     struct httpd **ret)
{
        struct sockaddr_storage ss;
        socklen_t len;
        struct httpd *h;
        unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
        bool tls = o->tls_cert_pem && o->tls_key_pem;

        if (parse_listen(listen, &ss, &len) < 0 || !!o->tls_cert_pem != !!o->tls_key_pem)
                return -EINVAL;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->routes = *routes;
        h->opts = *o;
        h->quiesced_fd = -EBADF;
        h->sweeping = o->internal_thread && o->request_deadline_s > 0;
        (void) pthread_mutex_init(&h->lock, NULL);
        (void) pthread_cond_init(&h->wake, NULL);
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        /* One polling thread runs every handler (so they stay single-threaded);
         * the ITC lets httpd_quiesce() stop the accepting, and lets another
         * thread resume a deferred request. Without it, no thread: the
         * daemon's poll loop calls httpd_run(). */
        if (o->internal_thread)
                flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
        if (tls)
                flags |= MHD_USE_TLS;
        size_t limit = o->connection_limit ? o->connection_limit : 32u;
        struct MHD_OptionItem opts[14];
        size_t n = 0;

        /* The logger first, so that start-up errors already go through it. */
        if (o->log)
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t) mhd_log, h };
        opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
        opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, (intptr_t) limit, NULL };
        opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
                                             o->connection_timeout_s ? (intptr_t) o->connection_timeout_s : 10, NULL };
        opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                             (intptr_t) (o->internal_thread ? 256 : 64) * 1024, NULL };
        opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) completed, h };
        if (o->per_ip_limit)
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t) o->per_ip_limit,
                                                     NULL };
        if (h->sweeping)
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t) notify_connection, h };
        if (tls) {
                /* GnuTLS through libmicrohttpd: TLS 1.2 or 1.3 only. */
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *) o->tls_cert_pem };
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *) o->tls_key_pem };
                opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
                                                     (void *) "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" };
        }
        opts[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
        h->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
        if (!h->d) {
                httpd_free(h);
                return -EADDRNOTAVAIL;
        }
        if (h->sweeping && pthread_create(&h->sweeper, NULL, sweep, h) != 0) {
                MHD_stop_daemon(h->d);
                httpd_free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

int httpd_start(const char *listen, const struct httpd_routes *routes, struct httpd **ret)
{
        static const struct httpd_options daemon_opts = { .internal_thread = false };

        return httpd_start_opts(listen, routes, &daemon_opts, ret);
}

void httpd_stop(struct httpd *h)
{
        if (!h)
                return;
        if (h->sweeping) {
                pthread_mutex_lock(&h->lock);
                h->stopping = true;
                pthread_cond_signal(&h->wake);
                pthread_mutex_unlock(&h->lock);
                (void) pthread_join(h->sweeper, NULL);
        }
        MHD_stop_daemon(h->d);
        /* A quiesced socket is ours to close, and only now. */
        if (h->quiesced_fd >= 0)
                (void) close(h->quiesced_fd);
        httpd_free(h);
}

void httpd_quiesce(struct httpd *h)
{
        MHD_socket s;

        if (!h || h->quiesced_fd >= 0)
                return;
        s = MHD_quiesce_daemon(h->d);
        if (s != MHD_INVALID_SOCKET)
                h->quiesced_fd = s;
}

unsigned httpd_connections(const struct httpd *h)
{
        const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

        return i ? i->num_connections : 0;
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
