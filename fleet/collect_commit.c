/* SPDX-License-Identifier: Apache-2.0 */
/* The committer's side of the collector: staged envelopes made durable in
 * groups, then their requests answered. */
#include "collect_priv.h"

#include <stdio.h>

#include "log.h"
#include "macro.h"
#include "timeutil.h"

static void log_accepted(const struct pending *p)
{
        const struct cstore_entry *e = &p->entry;
        char seq[24];

        snprintf(seq, sizeof(seq), "%llu", (unsigned long long) e->sequence);
        bool warn = e->chain == CHAIN_GAP || e->chain == CHAIN_REPLAY || p->binding == BINDING_MISATTRIBUTED ||
                    p->binding == BINDING_FOREIGN;

        jlog(warn ? "warning" : "info", "envelope accepted", "sha256", e->sha256, "vmId", e->vm_id, "keyId",
             e->key_id, "sequence", seq, "chain", chain_status_names[e->chain], "verdict", e->verdict, "observedAt",
             e->observed_at, "binding", binding_names[p->binding], "node", p->node, "bindingDetail", p->why, "peer",
             p->peer, NULL);
}

/* One group: commit what was staged, then answer every request in it. */
static void commit_batch(struct collector *c, struct pending *batch, bool broken)
{
        _cleanup_free_ struct store_staged **items = NULL;
        struct pending *p, *next;
        size_t n = 0, total = 0;
        double t0 = ((double) mono_ms() / 1e3);
        char err[320] = "";
        int r = broken ? -EIO : 0;

        for (p = batch; p; p = p->next)
                total += p->staged != NULL;
        if (r == 0 && total) {
                items = calloc(total, sizeof(*items)); // NOLINT(bugprone-sizeof-expression): an array of pointers
                if (!items) {
                        r = -ENOMEM;
                        snprintf(err, sizeof(err), "out of memory");
                }
        }
        for (p = batch; items && p; p = p->next)
                if (p->staged)
                        items[n++] = p->staged;
        if (r == 0)
                r = store_commit(c->store, items, n, err, sizeof(err));
        pthread_mutex_lock(&c->lock);
        /* -EAGAIN: the store is unreachable for now (a Blob outage) but
         * consistent; the agents keep the envelopes and send them again. */
        if (r < 0 && r != -EAGAIN && !c->broken) {
                c->broken = true;
                snprintf(c->store_error, sizeof(c->store_error), "%s", err);
        }
        if (r < 0)
                c->k.store_errors += total;
        else {
                c->k.commits += total > 0;
                if (total)
                        collect_observe(&c->k.commit, ((double) mono_ms() / 1e3) - t0);
                for (p = batch; p; p = p->next) {
                        if (p->staged) {
                                c->k.accepted++;
                                c->k.chain[p->entry.chain]++;
                                c->k.summaries += c->cfg.summary_key != NULL;
                                c->k.last_accepted = (double) p->entry.received_at;
                        } else
                                c->k.duplicate++;
                }
        }
        pthread_mutex_unlock(&c->lock);
        if (r == -EAGAIN)
                jlog("error", "store write failed; envelopes not acknowledged, agents will send them again", "error",
                     err, NULL);
        else if (r < 0 && *err)
                jlog("error", "store commit failed; nothing more is accepted until a restart", "error", err, NULL);
        for (p = batch; p; p = next) {
                struct httpd_reply rep;

                next = p->next;
                if (r == -EAGAIN)
                        collect_reply_error(&rep, 503, "the store is unavailable; send the envelope again later");
                else if (r < 0)
                        collect_reply_error(&rep, 503, "the store failed; the collector needs a restart");
                else {
                        collect_reply_stored(&rep, p->staged ? 201 : 200, p);
                        if (p->staged)
                                log_accepted(p);
                }
                httpd_answer(p->http, &rep);
                store_staged_free(c->store, p->staged);
                free(p);
        }
}

void *collect_committer_main(void *userdata)
{
        struct collector *c = userdata;

        pthread_mutex_lock(&c->lock);
        for (;;) {
                struct pending *batch;
                bool broken;

                while (!c->head && !c->stop)
                        pthread_cond_wait(&c->cond, &c->lock);
                if (!c->head)
                        break;
                batch = c->head;
                c->head = c->tail = NULL;
                c->committing = true;
                broken = c->broken;
                pthread_mutex_unlock(&c->lock);
                commit_batch(c, batch, broken);
                pthread_mutex_lock(&c->lock);
                c->committing = false;
                pthread_cond_broadcast(&c->cond);
        }
        pthread_mutex_unlock(&c->lock);
        return NULL;
}

void collect_route_answered(void *userdata, int status)
{
        struct collector *c = userdata;
        size_t i;

        c->n.received++;
        for (i = 0; i < ARRAY_SIZE(counted_codes) && counted_codes[i] != status; i++)
                ;
        c->n.responses[i]++;
}

/* ---- metrics and health ------------------------------------------------------------- */
