/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* hostenc collect's view of the fleet (--nodes, --arm) and the policy it
 * applies: each accepted envelope is bound to a Node by identity
 * (nodeid.h), and every verification summary names, by SHA-256, a
 * canonical description of that policy, stored as
 * STORE/policies/<sha256>.json (docs/collector.md). Used by the listener's
 * thread only. */

#include <stddef.h>
#include <stdint.h>

#include "nodeid.h"
#include "verify.h"

#define COLLECT_POLICY_URI "https://hostenc.dev/policy/evidence-appraisal/v1"

struct collect_binding_config {
        const char *nodes_file, *arm_file;      /* NULL: none */
        const char *store_dir;          /* policies/ is written here; NULL: not written */
        uint64_t max_age_s;
        const char *const *domains;
        const char *trust_sha256;               /* of the trust bundle in use */
};

struct collect_binding;

/* Reads the exports and writes the policy description; -errno with a
 * message naming the file in err. */
int collect_binding_new(const struct collect_binding_config *cfg, struct collect_binding **ret, char *err,
                        size_t errsz);
void collect_binding_free(struct collect_binding *b);

/* Re-reads an export whose size or mtime changed. A changed export that
 * cannot be read keeps the previous view (and logs it). */
void collect_binding_refresh(struct collect_binding *b);

/* The binding of a valid envelope; node gets the bound Node's name (or ""). */
enum binding collect_binding_bind(const struct collect_binding *b, const struct verify_result *r, char *node,
                                  size_t nodesz, char *why, size_t whysz);

/* Hex SHA-256 of the policy description in force. */
const char *collect_binding_policy(const struct collect_binding *b);

/* The canonical description (compact JSON, fixed key order) of the policy:
 * the check catalogue (ids and severities), the verifier's options that
 * change a judgement, and the binding rule with the digests of the exports
 * it binds against (NULL: none). Newly allocated. */
char *collect_policy_describe(uint64_t max_age_s, const char *const *domains, const char *trust_sha256,
                              const char *nodes_sha256, const char *arm_sha256);
