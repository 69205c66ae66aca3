/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Envelopes on disk: the evidence directory (retention, latest.json) and
 * the push spool (bounded; oldest delivered first, oldest dropped first). */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http.h"

#define STORE_PREFIX "hostenc-"

/* "hostenc-20261127T193040Z-000042.json": sorts by time, then sequence. */
void store_name(time_t when, uint64_t sequence, char out[64]);

/* Writes the envelope atomically, points latest.json at it, then deletes
 * envelopes beyond `keep` (oldest first) and older than max_age_s. */
int evidence_dir_store(const char *dir, const char *name, const char *data, size_t len, uint64_t keep,
                       uint64_t max_age_s, time_t now);

/* 0 when dir is a directory we can create files in (a probe file is
 * written and removed), else a negative errno: checked at start-up so a
 * missing or read-only directory is an error then, not a silent loss. */
int store_dir_usable(const char *dir);

/* Adds an envelope; returns how many old ones were dropped to stay within max. */
int spool_add(const char *dir, const char *name, const char *data, size_t len, uint64_t max, uint64_t *ret_dropped);
/* Number of envelopes waiting. */
uint64_t spool_count(const char *dir);

struct push_target {
        const struct http_transport *http;
        const char *url;
        const char *token_file;         /* bearer, re-read per request; NULL/"" = none */
        const char *ca_file, *client_cert, *client_key;
        /* Told of each envelope moved aside (for the log); may be NULL. */
        void (*rejected)(void *userdata, const char *name, const char *why);
        void *userdata;
};

/* What one push answer means for the envelope sent. */
enum push_outcome {
        PUSH_DELIVERED,         /* 2xx: removed from the spool */
        PUSH_REJECTED,          /* 400, 409, 413, 415, 422: this envelope will never be
                                 * taken; moved to <spool>/rejected/ and delivery goes on */
        PUSH_RETRY,             /* transport error, 408, 425, 429, 5xx, anything else:
                                 * stays spooled, delivery stops, backs off */
        PUSH_MISCONFIGURED,     /* 401, 403: a token or URL problem; retried like PUSH_RETRY */
};
enum push_outcome push_outcome_of(int transport_error, long status);

#define SPOOL_REJECTED_DIR "rejected"

struct spool_result {
        unsigned delivered;
        unsigned rejected;              /* moved aside during this flush */
        enum push_outcome stopped;      /* PUSH_RETRY or PUSH_MISCONFIGURED when an envelope stays */
        long retry_after_s;             /* Retry-After of the answer that stopped it, -1 = none */
};

/* Delivers spooled envelopes oldest first. A permanent rejection moves the
 * envelope aside (at most `keep_rejected` are kept, oldest dropped) and
 * goes on; a retryable failure stops, so order is kept. Returns 0 when the
 * spool is empty afterwards, -EAGAIN when envelopes stay (err says why), or
 * a negative errno when the spool cannot be read. */
int spool_flush(const char *dir, const struct push_target *t, uint64_t keep_rejected, struct spool_result *ret,
                char *err, size_t errsz);
