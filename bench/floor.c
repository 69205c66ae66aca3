/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-floor: the memory floor for `hostenc run` (see BENCHMARKS.md): the
 * least a daemon can be that links the same libraries (libcurl, libcjson,
 * libblkid, libssl/libcrypto, libmicrohttpd) and makes
 * the same IMDS requests: per cycle one GET of the compute metadata and one
 * of the attested document (a fresh nonce each time), each body parsed with
 * cJSON and dropped; between cycles it sleeps in poll(2) on a
 * libmicrohttpd listener that answers every GET with a one-line body, so it
 * can be scraped like the agent's /metrics.
 *
 *   bench-floor --imds-url URL --interval-ms MS [--cycles N] [--listen PORT]
 *
 * Prints "cycle N" on stdout after each cycle. Runs until N cycles (0, the
 * default: forever) or a signal. Exit 0, or 1 on a setup error.
 */
#include <blkid/blkid.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct body {
        char *data;
        size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
        struct body *b = userdata;
        size_t add = size * n;
        char *d = realloc(b->data, b->len + add + 1);

        if (!d)
                return 0;
        memcpy(d + b->len, p, add);
        b->len += add;
        d[b->len] = '\0';
        b->data = d;
        return add;
}

/* One GET with the Metadata header; the body parsed as JSON and dropped. */
static int fetch(CURL *h, struct curl_slist *hdrs, const char *url)
{
        struct body b = { 0 };
        long status = 0;
        cJSON *doc;
        CURLcode c;

        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        c = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        doc = b.data ? cJSON_Parse(b.data) : NULL;
        cJSON_Delete(doc);
        free(b.data);
        return c == CURLE_OK && status == 200 && doc ? 0 : -1;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_len, void **state)
{
        static const char text[] = "bench_floor_up 1\n";
        struct MHD_Response *r;
        enum MHD_Result ret;

        r = MHD_create_response_from_buffer(sizeof(text) - 1, (void *) text, MHD_RESPMEM_PERSISTENT);
        if (!r)
                return MHD_NO;
        ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
}

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Serves the listener until the deadline. */
static void wait_until(struct MHD_Daemon *mhd, uint64_t deadline)
{
        const union MHD_DaemonInfo *info = mhd ? MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
        uint64_t now;

        while ((now = now_ms()) < deadline) {
                struct pollfd p = { .fd = info ? info->epoll_fd : -1, .events = POLLIN };
                MHD_UNSIGNED_LONG_LONG mt;
                uint64_t t = deadline - now;

                if (mhd && MHD_get_timeout(mhd, &mt) == MHD_YES && mt < t)
                        t = mt;
                if (poll(&p, 1, (int) t) < 0 && errno != EINTR)
                        return;
                if (mhd)
                        MHD_run(mhd);
        }
}

int main(int argc, char **argv)
{
        const char *base = NULL;
        long interval_ms = 1000, cycles = 0, port = 0;
        struct MHD_Daemon *mhd = NULL;
        struct curl_slist *hdrs;
        char url[1024];
        CURL *h;

        for (int i = 1; i + 1 < argc; i += 2) {
                if (!strcmp(argv[i], "--imds-url"))
                        base = argv[i + 1];
                else if (!strcmp(argv[i], "--interval-ms"))
                        interval_ms = strtol(argv[i + 1], NULL, 10);
                else if (!strcmp(argv[i], "--cycles"))
                        cycles = strtol(argv[i + 1], NULL, 10);
                else if (!strcmp(argv[i], "--listen"))
                        port = strtol(argv[i + 1], NULL, 10);
        }
        if (!base || interval_ms < 0 || cycles < 0 || port < 0 || port > 65535) {
                fprintf(stderr, "usage: bench-floor --imds-url URL --interval-ms MS [--cycles N] [--listen PORT]\n");
                return 1;
        }
        /* The agent initialises the same libraries at start. */
        if (OPENSSL_init_ssl(0, NULL) != 1 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return 1;
        (void) blkid_get_library_version(NULL, NULL);
        h = curl_easy_init();
        hdrs = curl_slist_append(NULL, "Metadata: true");
        if (!h || !hdrs)
                return 1;
        if (port) {
                struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

                mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_TURBO, (uint16_t) port, NULL, NULL, answer, NULL,
                                       MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                                       MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
                if (!mhd) {
                        fprintf(stderr, "bench-floor: cannot listen on port %ld\n", port);
                        return 1;
                }
        }
        for (long n = 1; cycles == 0 || n <= cycles; n++) {
                uint64_t next = now_ms() + (uint64_t) interval_ms;
                unsigned char raw[16];
                char nonce[33];
                int ok;

                snprintf(url, sizeof(url), "%s/metadata/instance/compute?api-version=2023-07-01", base);
                ok = fetch(h, hdrs, url) == 0;
                if (RAND_bytes(raw, sizeof(raw)) != 1)
                        return 1;
                for (size_t i = 0; i < sizeof(raw); i++)
                        snprintf(nonce + 2 * i, 3, "%02x", raw[i]);
                snprintf(url, sizeof(url), "%s/metadata/attested/document?api-version=2023-07-01&nonce=%s", base,
                         nonce);
                ok = fetch(h, hdrs, url) == 0 && ok;
                printf("cycle %ld %s\n", n, ok ? "ok" : "error");
                fflush(stdout);
                wait_until(mhd, next);
        }
        if (mhd)
                MHD_stop_daemon(mhd);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        curl_global_cleanup();
        return 0;
}
