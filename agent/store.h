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

/* Adds an envelope; returns how many old ones were dropped to stay within max. */
int spool_add(const char *dir, const char *name, const char *data, size_t len, uint64_t max, uint64_t *ret_dropped);
/* Number of envelopes waiting. */
uint64_t spool_count(const char *dir);

struct push_target {
        const struct http_transport *http;
        const char *url;
        const char *token_file;         /* bearer, re-read per request; NULL/"" = none */
        const char *ca_file, *client_cert, *client_key;
};

/* Delivers spooled envelopes oldest first; stops at the first failure so
 * order is kept. Returns the number delivered, or a negative errno when
 * the first one failed (err says why). */
int spool_flush(const char *dir, const struct push_target *t, char *err, size_t errsz);
