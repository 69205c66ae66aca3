/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The in-toto Statement v1 that hostenc signs; schema in
 * docs/statement.schema.json, described in docs/evidence.md. */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "facts.h"
#include "policy.h"

#define STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define PREDICATE_TYPE "https://hostenc.dev/attestation/node-encryption/v1"

struct statement_signer {
        const char *key_id;             /* OpenSSH SHA256: fingerprint */
        const char *public_key_pem;
        const char *spki_sha256;        /* hex */
};

struct statement_input {
        const struct node_facts *facts;
        const struct report *report;
        const struct policy_opts *policy;       /* the inputs that produced report */
        time_t observed_at;
        const char *node_name;          /* may be empty */
        const char *provider_id;        /* may be NULL: then no subject uri */
        uint64_t sequence;
        const char *previous_sha256;    /* hex digest of the previous envelope, or NULL */
        struct statement_signer signer;
};

/* The VM identity the statement is about: compute vmId, else the signed
 * vmId of the attested document, else NULL (nothing to attest). */
const char *statement_vm_id(const struct node_facts *f);

/* Compact JSON bytes to sign; newly allocated. -ENOENT without a VM id. */
int statement_build(const struct statement_input *in, char **ret, size_t *ret_len);
