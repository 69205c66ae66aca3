/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "facts.h"
#include "http.h"

#define IMDS_DEFAULT_URL "http://169.254.169.254"
#define IMDS_DEFAULT_API_VERSION "2023-07-01"
#define IMDS_MIN_API_VERSION "2021-12-13"
/* IMDS allows 5 requests per second per VM, shared by every process on the
 * node; we never send more than that ourselves, counted over a sliding
 * window so that the two requests of a run can go back to back. */
#define IMDS_RATE_MAX 5
#define IMDS_RATE_WINDOW_MS 1000
/* No attempt starts with less time than this before its deadline. */
#define IMDS_MIN_ATTEMPT_MS 100
#define IMDS_COMPUTE_MAX_BODY (256 * 1024)
#define IMDS_ATTESTED_MAX_BODY ATTESTED_MAX_DOCUMENT

/* Time and randomness as a seam, so the retry schedule is testable. A
 * sleep returns -ECANCELED when the caller must stop (the daemon's
 * shutdown); imds_get then gives up at once. */
struct imds_clock {
        uint64_t (*now_ms)(void *userdata);
        int (*sleep_ms)(void *userdata, uint64_t ms);
        uint32_t (*random_u32)(void *userdata);
        void *userdata;
};

const struct imds_clock *imds_clock_system(void);

struct imds_client {
        const struct http_transport *transport;
        const struct imds_clock *clock;
        char base_url[256];
        char api_version[16];
        uint64_t deadline_ms;           /* bound on one imds_get(), retries included */
        uint64_t cycle_end_ms;          /* 0 = none; else no attempt or wait runs past it */
        long connect_timeout_ms;
        long attempt_timeout_ms;
        /* When each of the last IMDS_RATE_MAX requests ended: the server saw
         * the request before then, so spacing from that time is safe. */
        uint64_t recent_end_ms[IMDS_RATE_MAX];
        unsigned requests_sent;
};

/* Validates base_url (http:// or https://, no query) and api_version
 * (YYYY-MM-DD, not older than IMDS_MIN_API_VERSION). */
int imds_client_init(struct imds_client *c, const struct http_transport *t,
                     const struct imds_clock *clock, const char *base_url,
                     const char *api_version, uint64_t deadline_ms);

/* Carries the request history of `from` over to `c`, so re-creating a
 * client does not reset the rate window. */
void imds_client_keep_rate(struct imds_client *c, const struct imds_client *from);

/* Bounds every imds_get() from now on, on top of each call's deadline_ms,
 * by one deadline for a whole cycle (compute, then the attested document). */
void imds_client_start_cycle(struct imds_client *c, uint64_t budget_ms);

/* One GET of base_url + path + "?api-version=V" (+ "&" + extra_query), with
 * retries on transient failures (404, 408, 410, 429, 5xx, timeouts,
 * refused connections) using exponential backoff with jitter, until
 * deadline_ms. Redirects and other 4xx are not retried. On failure writes a
 * one-line reason to err. -E2BIG when the body passes max_body. */
int imds_get(struct imds_client *c, const char *path, const char *extra_query,
             size_t max_body, struct buf *ret_body, char *err, size_t errsz);

/* Delay before retry number `attempt` (0 = first retry). Pure. */
uint64_t imds_backoff_ms(uint64_t deadline_ms, unsigned attempt, uint32_t random);

/* Pure: parses the compute document. -EBADMSG (malformed) or -E2BIG (a value
 * or an array too large), with a reason in err. */
int imds_compute_parse(const char *json, size_t len, struct imds_compute *ret,
                       char *err, size_t errsz);

/* Fetches and parses compute metadata into facts (state, error, digest). */
void imds_collect_compute(struct imds_client *c, struct imds_facts *ret);
