/* SPDX-License-Identifier: Apache-2.0 */
/* The collector's /metrics, /livez and /readyz. */
#include "collect_priv.h"

#include <stdio.h>

#include "macro.h"
#include "prom.h"

const int counted_codes[N_COUNTED_CODES] = { 200, 201, 401, 405, 413, 415, 422, 500, 503 };
const double duration_buckets[N_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };

void collect_observe(struct histogram *h, double v)
{
        h->count++;
        h->sum += v;
        for (size_t i = 0; i < N_BUCKETS; i++)
                h->le[i] += v <= duration_buckets[i];
}

static void counter(struct prom_out *o, const char *name, const char *help, uint64_t v)
{
        prom_header(o, name, "counter", help);
        prom_emit(o, "%s %llu\n", name, (unsigned long long) v);
}

static void gauge(struct prom_out *o, const char *name, const char *help, double v)
{
        prom_header(o, name, "gauge", help);
        prom_emit(o, "%s %.0f\n", name, v);
}

static void histogram(struct prom_out *o, const char *name, const char *help, const struct histogram *h)
{
        prom_header(o, name, "histogram", help);
        for (size_t i = 0; i < N_BUCKETS; i++)
                prom_emit(o, "%s_bucket{le=\"%g\"} %llu\n", name, duration_buckets[i], (unsigned long long) h->le[i]);
        prom_emit(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long) h->count);
        prom_emit(o, "%s_sum %.6f\n", name, h->sum);
        prom_emit(o, "%s_count %llu\n", name, (unsigned long long) h->count);
}

static void render(struct collector *c, struct prom_out *o)
{
        const struct listener_counters *n = &c->n;
        struct commit_counters k;

        pthread_mutex_lock(&c->lock);
        k = c->k;
        pthread_mutex_unlock(&c->lock);
        counter(o, "hostenc_collect_envelopes_received_total",
                "Evidence POSTs answered, whatever the outcome (see hostenc_collect_responses_total).", n->received);
        counter(o, "hostenc_collect_envelopes_accepted_total", "Valid new envelopes stored (201).", k.accepted);
        counter(o, "hostenc_collect_envelopes_duplicate_total",
                "Envelopes already stored, answered 200 and not stored again.", k.duplicate);
        prom_header(o, "hostenc_collect_envelopes_rejected_total", "counter",
               "Envelopes that failed verification (422), by reason.");
        for (unsigned i = 0; i < VERIFY_REASON_COUNT; i++)
                if (i != VERIFY_VALID && i != VERIFY_VALID_SIGNATURE_ONLY)
                        prom_emit(o, "hostenc_collect_envelopes_rejected_total{reason=\"%s\"} %llu\n",
                             verify_reason_names[i], (unsigned long long) n->rejected[i]);
        prom_header(o, "hostenc_collect_chain_total", "counter",
               "Accepted envelopes by how they continue their key's chain (first, ok, gap, replay).");
        for (unsigned i = 0; i < CHAIN_COUNT; i++)
                prom_emit(o, "hostenc_collect_chain_total{status=\"%s\"} %llu\n", chain_status_names[i],
                     (unsigned long long) k.chain[i]);
        prom_header(o, "hostenc_collect_responses_total", "counter", "Answers on the evidence path, by HTTP status.");
        for (size_t i = 0; i < N_CODES; i++) {
                if (i < ARRAY_SIZE(counted_codes))
                        prom_emit(o, "hostenc_collect_responses_total{code=\"%d\"} %llu\n", counted_codes[i],
                             (unsigned long long) n->responses[i]);
                else
                        prom_emit(o, "hostenc_collect_responses_total{code=\"other\"} %llu\n",
                             (unsigned long long) n->responses[i]);
        }
        counter(o, "hostenc_collect_store_errors_total",
                "Valid envelopes that could not be made durable (not acknowledged).", k.store_errors);
        counter(o, "hostenc_collect_summaries_total", "Verification summaries signed and stored.", k.summaries);
        counter(o, "hostenc_collect_commits_total", "Group commits (each makes one or more envelopes durable).",
                k.commits);
        counter(o, "hostenc_collect_verify_cache_hits_total",
                "Envelopes whose attested document was already verified.",
                n->verify_cache_hits + c->verifier.cache_hits);
        gauge(o, "hostenc_collect_store_envelopes", "Envelopes in the store (index lines, and those being committed).",
              (double) store_envelopes(c->store));
        gauge(o, "hostenc_collect_store_bytes", "Bytes of the envelopes in the store.",
              (double) store_bytes(c->store));
        gauge(o, "hostenc_collect_keys", "Signing keys seen (chains tracked).", (double) store_keys(c->store));
        gauge(o, "hostenc_collect_last_accepted_timestamp_seconds", "Unix time of the last accepted envelope.",
              k.last_accepted);
        histogram(o, "hostenc_collect_ingest_duration_seconds",
                  "Time to verify and stage one evidence POST body (before its commit).", &n->ingest);
        histogram(o, "hostenc_collect_commit_duration_seconds",
                  "Time to make one group of staged envelopes durable (fsyncs and index).", &k.commit);
        prom_header(o, "hostenc_build_info", "gauge", "hostenc build information.");
        prom_emit(o, "hostenc_build_info{version=\"%s\"} 1\n", HOSTENC_VERSION);
}

int collect_route_metrics(void *userdata, char **body)
{
        struct collector *c = userdata;
        struct buf b = BUF_INIT(1 << 20);
        struct prom_out o = { .b = &b };

        render(c, &o);
        if (o.r < 0) {
                buf_done(&b);
                *body = strdup("metrics rendering failed\n");
                return 500;
        }
        *body = buf_steal(&b);
        return 200;
}

static bool broken(struct collector *c, char *why, size_t whysz)
{
        bool b;

        pthread_mutex_lock(&c->lock);
        b = c->broken;
        snprintf(why, whysz, "%s", c->store_error);
        pthread_mutex_unlock(&c->lock);
        return b;
}

/* Not live after a failed commit: the in-memory state is ahead of the disk,
 * and a restart (the orchestrator's answer to a failing liveness probe)
 * rebuilds it from the index. */
int collect_route_livez(void *userdata, char **body)
{
        struct collector *c = userdata;
        char why[320];

        if (broken(c, why, sizeof(why)))
                return asprintf(body, "not live: a store commit failed (%s); restart\n", why) < 0 ? 500 : 503;
        *body = strdup("ok\n");
        return 200;
}

/* Ready when the store works and the token can be read. */
int collect_route_readyz(void *userdata, char **body)
{
        struct collector *c = userdata;
        _cleanup_secret_ char *token = NULL;
        char why[320];

        if (broken(c, why, sizeof(why)))
                return asprintf(body, "not ready: a store commit failed (%s)\n", why) < 0 ? 500 : 503;
        if (c->cfg.token_file && collect_read_token(c, &token) < 0) {
                *body = strdup("not ready: the token file is unreadable or empty\n");
                return 503;
        }
        *body = strdup("ready\n");
        return 200;
}
