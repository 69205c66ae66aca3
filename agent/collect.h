/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* hostenc collect: the receiving end of the agents' push sink, and the
 * central verifier (docs/collector.md). The listener's one polling thread
 * verifies and stages; a committer thread makes groups of staged envelopes
 * durable and answers them (collect.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store_iface.h"
#include "crypto.h"
#include "httpd.h"

#define COLLECT_VERIFIER_ID "hostenc-collect"
#define VSA_PREDICATE_TYPE "https://slsa.dev/verification_summary/v1"
#define VSA_LEVEL "HOSTENC_EVIDENCE_VALID"
#define COLLECT_EVIDENCE_PATH "/v1/evidence"

int cmd_collect(int argc, char **argv);

struct collector_config {
        const char *token_file;         /* bearer token, re-read per request; NULL: none */
        uint64_t max_age_s;             /* 0: no freshness limit */
        const struct trust_store *trust;
        const char *const *domains;
        const struct signing_key *summary_key;  /* NULL: no summaries */
};

struct collector;

int collector_new(const struct collector_config *cfg, struct store *store, struct collector **ret);
void collector_free(struct collector *c);

/* The routes for httpd_start_opts(); userdata is the collector. */
void collector_routes(struct collector *c, struct httpd_routes *ret);

/* Refuses new envelopes (503) and waits until every request already
 * staged has been committed and answered. Before httpd_stop(). */
void collector_drain(struct collector *c);

/* The signed verification summary (a DSSE envelope, with its newline) for
 * an accepted envelope of vm_id with digest sha256. */
int collect_summary_sign(const struct signing_key *k, const char *vm_id, const char *sha256, time_t verified_at,
                         char **ret, size_t *ret_len);
