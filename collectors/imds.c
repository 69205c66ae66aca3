/* SPDX-License-Identifier: Apache-2.0 */
#include "imds.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "crypto.h"
#include "macro.h"
#include "strparse.h"
#include "timeutil.h"

static uint64_t system_now_ms(void *userdata)
{
        return mono_ms();
}

static int system_sleep_ms(void *userdata, uint64_t ms)
{
        struct timespec ts = { .tv_sec = (time_t) (ms / 1000), .tv_nsec = (long) (ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        return 0;
}

static uint32_t system_random_u32(void *userdata)
{
        uint32_t v = 0;

        if (getrandom(&v, sizeof(v), 0) != sizeof(v))
                v = (uint32_t) system_now_ms(NULL);     /* jitter only, not a secret */
        return v;
}

const struct imds_clock *imds_clock_system(void)
{
        static const struct imds_clock clock = {
                .now_ms = system_now_ms,
                .sleep_ms = system_sleep_ms,
                .random_u32 = system_random_u32,
        };
        return &clock;
}

static bool api_version_valid(const char *v)
{
        static const char shape[] = "dddd-dd-dd";
        size_t i;

        if (strlen(v) != sizeof(shape) - 1)
                return false;
        for (i = 0; shape[i]; i++)
                if (shape[i] == 'd' ? (v[i] < '0' || v[i] > '9') : v[i] != '-')
                        return false;
        /* ISO dates compare correctly as strings. */
        return strcmp(v, IMDS_MIN_API_VERSION) >= 0;
}

static bool base_url_valid(const char *u)
{
        if (!startswith(u, "http://") && !startswith(u, "https://"))
                return false;
        return !strpbrk(u, "?# \t\r\n");
}

int imds_client_init(struct imds_client *c, const struct http_transport *t,
                     const struct imds_clock *clock, const char *base_url,
                     const char *api_version, uint64_t deadline_ms)
{
        struct imds_client n = {
                .transport = t,
                .clock = clock,
                .deadline_ms = deadline_ms,
                .connect_timeout_ms = 2000,
                .attempt_timeout_ms = 5000,
        };
        size_t len;

        if (!base_url_valid(base_url) || strcpy_bounded(n.base_url, sizeof(n.base_url), base_url) < 0)
                return -EINVAL;
        len = strlen(n.base_url);
        while (len > 0 && n.base_url[len - 1] == '/')
                n.base_url[--len] = '\0';
        if (!api_version_valid(api_version))
                return -EINVAL;
        (void) strcpy_bounded(n.api_version, sizeof(n.api_version), api_version);
        if (deadline_ms == 0)
                return -EINVAL;
        *c = n;
        return 0;
}

uint64_t imds_backoff_ms(uint64_t deadline_ms, unsigned attempt, uint32_t random)
{
        /* Microsoft advises exponential backoff from about a second; a short
         * deadline (tests, node boot probes) scales the base down with it. */
        uint64_t base = deadline_ms / 16, cap;

        if (base > 1000)
                base = 1000;
        if (base < 50)
                base = 50;
        cap = attempt >= 16 ? 30000 : base << attempt;
        if (cap > 30000)
                cap = 30000;
        return cap / 2 + random % (cap / 2 + 1);
}

static bool status_retryable(long s)
{
        return s == 404 || s == 408 || s == 410 || s == 429 || (s >= 500 && s <= 599);
}

/* Waits until a request more keeps at most IMDS_RATE_MAX in any window of
 * IMDS_RATE_WINDOW_MS: the request IMDS_RATE_MAX back must have ended a
 * whole window ago. -ETIMEDOUT when that wait would pass `end`. */
static int rate_limit(struct imds_client *c, uint64_t end)
{
        uint64_t now, oldest, wait;

        if (c->requests_sent < IMDS_RATE_MAX)
                return 0;
        oldest = c->recent_end_ms[c->requests_sent % IMDS_RATE_MAX];
        now = c->clock->now_ms(c->clock->userdata);
        if (now - oldest >= IMDS_RATE_WINDOW_MS)
                return 0;
        wait = IMDS_RATE_WINDOW_MS - (now - oldest);
        if (now + wait + IMDS_MIN_ATTEMPT_MS > end)
                return -ETIMEDOUT;
        return c->clock->sleep_ms(c->clock->userdata, wait) < 0 ? -ECANCELED : 0;
}

void imds_client_keep_rate(struct imds_client *c, const struct imds_client *from)
{
        memcpy(c->recent_end_ms, from->recent_end_ms, sizeof(c->recent_end_ms));
        c->requests_sent = from->requests_sent;
}

static void rate_record(struct imds_client *c)
{
        c->recent_end_ms[c->requests_sent % IMDS_RATE_MAX] = c->clock->now_ms(c->clock->userdata);
        c->requests_sent++;
}

static int build_url(const struct imds_client *c, const char *path, const char *extra,
                     char *url, size_t urlsz)
{
        int n = snprintf(url, urlsz, "%s%s?api-version=%s%s%s", c->base_url, path, c->api_version,
                         extra ? "&" : "", extra ? extra : "");

        return n < 0 || (size_t) n >= urlsz ? -E2BIG : 0;
}

/* One attempt, started only with time for it before `end`, and bounded by
 * it. Returns 0 on 200, 1 when worth retrying, negative when not. */
static int attempt(struct imds_client *c, const struct http_request *req, uint64_t end,
                   struct http_response *resp, char *last, size_t lastsz)
{
        struct http_request r = *req;
        uint64_t now;
        int k;

        k = rate_limit(c, end);
        if (k == -ECANCELED)
                snprintf(last, lastsz, "cancelled");
        if (k < 0)
                return k;
        now = c->clock->now_ms(c->clock->userdata);
        if (now + IMDS_MIN_ATTEMPT_MS > end)
                return -ETIMEDOUT;
        if ((uint64_t) r.timeout_ms > end - now)
                r.timeout_ms = (long) (end - now);
        if ((uint64_t) r.connect_timeout_ms > end - now)
                r.connect_timeout_ms = (long) (end - now);
        k = c->transport->request(c->transport->userdata, &r, resp);
        rate_record(c);
        if (k == -E2BIG) {
                snprintf(last, lastsz, "body larger than %zu bytes", req->max_body);
                return k;
        }
        if (k < 0) {
                snprintf(last, lastsz, "%s", strerror(-k));
                return 1;
        }
        if (resp->status == 200)
                return 0;
        snprintf(last, lastsz, "HTTP %ld", resp->status);
        if (resp->status >= 300 && resp->status < 400)
                snprintf(last, lastsz, "HTTP %ld redirect refused", resp->status);
        return status_retryable(resp->status) ? 1 : -EPROTO;
}

void imds_client_start_cycle(struct imds_client *c, uint64_t budget_ms)
{
        c->cycle_end_ms = c->clock->now_ms(c->clock->userdata) + budget_ms;
}

int imds_get(struct imds_client *c, const char *path, const char *extra_query,
             size_t max_body, struct buf *ret_body, char *err, size_t errsz)
{
        static const char *const headers[] = { "Metadata: true", NULL };
        const struct imds_clock *clk = c->clock;
        uint64_t start = clk->now_ms(clk->userdata), end = start + c->deadline_ms, now, delay;
        char url[512], last[96] = "the cycle's deadline had passed";
        unsigned tries = 0;
        int k;

        k = build_url(c, path, extra_query, url, sizeof(url));
        if (k < 0)
                return k;
        struct http_request req = {
                .url = url, .headers = headers, .max_body = max_body,
                .connect_timeout_ms = c->connect_timeout_ms, .timeout_ms = c->attempt_timeout_ms,
        };
        if (c->cycle_end_ms && c->cycle_end_ms < end)
                end = c->cycle_end_ms;
        k = start < end ? 1 : -ETIMEDOUT;
        while (k > 0) {
                struct http_response resp = { .retry_after_s = -1 };

                k = attempt(c, &req, end, &resp, last, sizeof(last));
                if (k == -ETIMEDOUT)
                        break;
                tries++;
                if (k == 0) {
                        *ret_body = resp.body;
                        return 0;
                }
                http_response_done(&resp);
                if (k < 0)
                        break;
                delay = imds_backoff_ms(c->deadline_ms, tries - 1, clk->random_u32(clk->userdata));
                if (resp.retry_after_s > 0 && (uint64_t) resp.retry_after_s * 1000 > delay)
                        delay = (uint64_t) resp.retry_after_s * 1000;
                now = clk->now_ms(clk->userdata);
                if (now + delay >= end) {
                        k = -ETIMEDOUT;
                        break;
                }
                if (clk->sleep_ms(clk->userdata, delay) < 0) {
                        snprintf(last, sizeof(last), "cancelled during backoff");
                        k = -ECANCELED;
                        break;
                }
        }
        now = clk->now_ms(clk->userdata);
        snprintf(err, errsz, "GET %s: %s after %u attempt%s in %.1f s", url, last, tries,
                 tries == 1 ? "" : "s", (double) (now - start) / 1000.0);
        return k;
}

void imds_collect_compute(struct imds_client *c, struct imds_facts *ret)
{
        _cleanup_(buf_done) struct buf body = { 0 };
        int k;

        /* The facts are large (every data disk); fill the caller's copy. */
        imds_facts_reset(ret);
        ret->state = IMDS_OK;
        (void) strcpy_bounded(ret->api_version, sizeof(ret->api_version), c->api_version);
        k = imds_get(c, "/metadata/instance/compute", NULL, IMDS_COMPUTE_MAX_BODY, &body,
                     ret->error, sizeof(ret->error));
        if (k < 0) {
                ret->state = k == -E2BIG ? IMDS_OVERSIZED : IMDS_UNAVAILABLE;
                return;
        }
        sha256(body.data, body.len, ret->compute_sha256);
        k = imds_compute_parse(body.data, body.len, &ret->compute, ret->error, sizeof(ret->error));
        if (k < 0)
                ret->state = k == -E2BIG ? IMDS_OVERSIZED : IMDS_MALFORMED;
}
