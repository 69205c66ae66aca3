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

#include "collect_binding.h"
#include "store_iface.h"
#include "crypto.h"
#include "httpd.h"

/* SLSA VSA v1 (https://slsa.dev/spec/v1.0/verification_summary): the
 * verifier's id is a URI; custom levels must not start with SLSA_. */
#define COLLECT_VERIFIER_ID "https://hostenc.dev/verifier/collect/v1"
#define VSA_PREDICATE_TYPE "https://slsa.dev/verification_summary/v1"
#define VSA_LEVEL "HOSTENC_EVIDENCE_VALID"
#define VSA_LEVEL_BOUND "HOSTENC_NODE_BOUND"
#define VSA_BINDING_FIELD "https://hostenc.dev/vsa/node-binding/v1"
#define COLLECT_EVIDENCE_PATH "/v1/evidence"


struct collector_config {
        const char *token_file;         /* bearer token, re-read per request; NULL: none */
        uint64_t max_age_s;             /* 0: no freshness limit */
        uint64_t max_doc_lifetime_s;    /* 0: the built-in cap (verify.h) */
        const struct trust_store *trust;
        const char *const *domains;
        const struct signing_key *summary_key;  /* NULL: no summaries */
        struct collect_binding *binding;        /* the node list, ARM export and policy digest */
};

struct collector;

int collector_new(const struct collector_config *cfg, struct store *store, struct collector **ret);
void collector_free(struct collector *c);

/* The routes for httpd_start_opts(); userdata is the collector. */
void collector_routes(struct collector *c, struct httpd_routes *ret);

/* Refuses new envelopes (503) and waits until every request already
 * staged has been committed and answered. Before httpd_stop(). */
void collector_drain(struct collector *c);

struct summary_input {
        const char *vm_id;              /* Microsoft-signed, lower case */
        const char *sha256;             /* of the node's envelope */
        const char *policy_sha256;      /* collect_binding_policy() */
        time_t verified_at;
        enum binding binding;
        const char *node, *why;         /* the bound Node ("" for none); why not bound */
};

/* The signed verification summary (a DSSE envelope, with its newline) for
 * an accepted envelope: PASSED unless the binding is misattributed or
 * foreign. */
int collect_summary_sign(const struct signing_key *k, const struct summary_input *in, char **ret, size_t *ret_len);
