/* SPDX-License-Identifier: Apache-2.0 */
#include "cycle.h"

#include "blockdev.h"

void cycle_collect(const struct cycle_env *e, struct attested_facts *attested, bool refresh, struct node_facts *f)
{
        imds_collect_cycle(e->imds, e->budget_ms, e->trust, e->domains, e->si->nonce, &f->imds,
                           refresh ? attested : NULL);
        if (attested != &f->attested)
                f->attested = *attested;
        blockdev_collect(e->sr, &f->host);
}

int cycle_judge_sign(const struct cycle_env *e, const struct node_facts *f, const struct policy_opts *po,
                     struct statement_input *in, struct report *rep, char **env, size_t *len)
{
        policy_evaluate(f, po, rep);
        if (!env)
                return 0;
        in->facts = f;
        in->report = rep;
        in->policy = po;
        in->observed_at = po->now;
        return evidence_sign(e->key, e->si, in, env, len);
}
