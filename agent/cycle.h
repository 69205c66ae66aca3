/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* One cycle, as `hostenc check` runs it once and `hostenc run` on a timer
 * (docs/ARCHITECTURE.md): collect the facts, judge them, sign the result.
 * Reporting (printing, the Node, metrics, files) stays with each command. */

#include <stddef.h>
#include <stdint.h>

#include "attested.h"
#include "evidence.h"
#include "facts.h"
#include "imds.h"
#include "imds_cycle.h"
#include "policy.h"
#include "statement.h"
#include "sysroot.h"

struct cycle_env {
        struct imds_client *imds;
        uint64_t budget_ms;                     /* all IMDS calls of the cycle together */
        const struct trust_store *trust;
        const char *const *domains;
        const struct sysroot *sr;
        const struct signing_key *key;
        const struct signer_info *si;
};

/* Fills f: the compute document; the attested document for our nonce into
 * *attested when refresh is true (else *attested is kept: the daemon's
 * binding document lives hours), copied to f->attested; the block devices. */
void cycle_collect(const struct cycle_env *e, struct attested_facts *attested, bool refresh, struct node_facts *f);

/* Judges f under po into *rep, then signs the statement in (whose facts,
 * report and policy this fills) into *env when env is not NULL. -ENOENT when
 * there is no VM identity to sign for, -ENOMEM. */
int cycle_judge_sign(const struct cycle_env *e, const struct node_facts *f, const struct policy_opts *po,
                     struct statement_input *in, struct report *rep, char **env, size_t *len);
