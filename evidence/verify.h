/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Offline verification of hostenc envelopes (docs/evidence.md
 * §5.9): signature, statement, key binding through the IMDS attested
 * document, subject, time window, freshness, and a re-appraisal of the
 * facts with the same policy code. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crypto.h"

enum verify_reason {
        VERIFY_VALID,
        VERIFY_VALID_SIGNATURE_ONLY,    /* foreign predicate, operator-supplied key */
        VERIFY_UNREADABLE,
        VERIFY_TOO_LARGE,
        VERIFY_MALFORMED,
        VERIFY_PAYLOAD_TYPE,
        VERIFY_NO_KEY,
        VERIFY_SIGNATURE,
        VERIFY_STATEMENT,
        VERIFY_PREDICATE_TYPE,
        VERIFY_SIGNER_KEY,
        VERIFY_ATTESTED,
        VERIFY_BINDING,
        VERIFY_SUBJECT,
        VERIFY_WINDOW,
        VERIFY_STALE,
        VERIFY_VERDICT,
        /* The canonical form (canonical.h): each way of being read two ways. */
        VERIFY_TRAILING,
        VERIFY_DUPLICATE_KEY,
        VERIFY_NUL,
        VERIFY_BASE64,
        VERIFY_SIGNATURE_COUNT,
        VERIFY_SIGNATURE_ENCODING,
        VERIFY_HIGH_S,
        VERIFY_SUBJECT_COUNT,
        VERIFY_FUTURE,
        VERIFY_ATTESTED_LIFETIME,
        VERIFY_ATTESTED_LEAF_TIME,
        VERIFY_LISTING,                 /* a store's names disagree with the envelope (store_verify) */
        VERIFY_REASON_COUNT,
};

extern const char *const verify_reason_names[VERIFY_REASON_COUNT];

/* Allowed distance between observedAt and the attested document's window. */
#define VERIFY_CLOCK_SKEW_S 300

/* Whether evidence observed at `observed` is older than max_age_s at `now`
 * (0: no limit). Signed: evidence a little ahead of this clock (within the
 * skew verify allows) is age 0, not 2^64 - ε seconds old. */
static inline bool evidence_age_exceeds(time_t now, time_t observed, uint64_t max_age_s)
{
        return max_age_s && observed < now && (uint64_t) (now - observed) > max_age_s;
}

struct verify_result {
        enum verify_reason reason;
        char detail[320];
        char verdict[16];
        char vm_id[64];
        char observed_at[32];
        char key_id[64];
        uint64_t sequence;
        /* From a valid statement, for fleet views (hostenc audit). */
        char node_name[256];
        char provider_id[512];
        char subscription_id[64];       /* Microsoft-signed, from the attested document */
        char vm_size[64];
        char eah_claim[16];             /* IMDS encryptionAtHost as claimed; "" when absent */
        char deciding_reason[64];       /* first failing or unknown fail-check's reason */
        time_t observed;
};

struct attested_cache;
struct key_cache;
struct node_facts;

struct verifier {
        const struct trust_store *trust;
        const char *const *domains;
        const struct public_key *pubkey;        /* --pubkey, or NULL: the statement's key */
        uint64_t max_age_s;                     /* 0: no freshness limit */
        uint64_t max_doc_lifetime_s;            /* 0: ATTESTED_MAX_LIFETIME_S */
        time_t now;
        struct attested_cache *cache;           /* documents already verified */
        struct key_cache *keys;                 /* signer keys already decoded */
        struct node_facts *facts;               /* scratch for the re-appraisal */
        uint64_t cache_hits;
};

int verifier_init(struct verifier *v);
void verifier_done(struct verifier *v);

bool verify_result_valid(const struct verify_result *r);
void verify_envelope(struct verifier *v, const char *data, size_t len, struct verify_result *ret);
