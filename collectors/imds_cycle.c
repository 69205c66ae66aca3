/* SPDX-License-Identifier: Apache-2.0 */
#include "imds_cycle.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "strparse.h"

void imds_collect_cycle(struct imds_client *c, uint64_t budget_ms, const struct trust_store *trust,
                        const char *const *domains, const char *nonce, struct imds_facts *imds,
                        struct attested_facts *attested)
{
        imds_client_start_cycle(c, budget_ms);
        imds_collect_compute(c, imds);
        if (!attested)
                return;
        if (imds->state != IMDS_UNAVAILABLE) {
                attested_collect(c, trust, domains, nonce, attested);
                return;
        }
        memset(attested, 0, offsetof(struct attested_facts, raw));
        attested->raw[0] = '\0';
        attested->state = ATTESTED_UNAVAILABLE;
        (void) strcpy_bounded(attested->nonce_requested, sizeof(attested->nonce_requested), nonce);
        snprintf(attested->error, sizeof(attested->error),
                 "not requested: the compute call already failed for good");
}
