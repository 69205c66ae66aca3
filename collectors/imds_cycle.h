/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "attested.h"
#include "facts.h"
#include "imds.h"

/* 75 s: the compute call may use its own 70 s bound and the attested
 * document what is left; an IMDS that answers 500 to everything then costs
 * one bounded wait, not two. */
#define IMDS_CYCLE_DEFAULT_MS (75 * 1000)

/* One IMDS cycle as `check` and the daemon run it: the compute document,
 * then the attested document (unless attested is NULL: the caller keeps the
 * one it has), both within budget_ms from now. The attested document is not
 * asked for when the compute call failed for good (IMDS unavailable after
 * its retries): its facts then say so. */
void imds_collect_cycle(struct imds_client *c, uint64_t budget_ms, const struct trust_store *trust,
                        const char *const *domains, const char *nonce, struct imds_facts *imds,
                        struct attested_facts *attested);
