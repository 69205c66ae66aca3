/* SPDX-License-Identifier: Apache-2.0 */
/* hostenc collect: authentication, verification on receipt, storage, chain
 * tracking, summaries, metrics.
 *
 * Two threads. The listener's one polling thread authenticates, verifies
 * (the verifier and its cache are single-threaded), decides the chain
 * status and stages the files; the request then waits, suspended. The
 * committer thread makes whatever has been staged durable in one group
 * (a few fsyncs for many envelopes) and only then answers those requests.
 * They share the queue, a few counters and the store's health, under one
 * mutex. */
#include "collect.h"
#include "prom.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "dsse.h"
#include "fileio.h"
#include "log.h"
#include "json.h"
#include "macro.h"
#include "strparse.h"
#include "timeutil.h"
#include "verify.h"

#define TOKEN_MAX (16 * 1024)
/* Verified attested documents are cached; the cache has a fixed size, so
 * it is started afresh now and then (a document lives 6 h). */
#define VERIFIER_CACHE_RESET_S (30 * 60)
#define LOG_EVERY_S 60

/* Status codes counted on the evidence path; anything else is "other". */
static const int counted_codes[] = { 200, 201, 401, 405, 413, 415, 422, 500, 503 };
#define N_CODES (ARRAY_SIZE(counted_codes) + 1)

static const double duration_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };
#define N_BUCKETS ARRAY_SIZE(duration_buckets)

struct histogram {
        uint64_t le[N_BUCKETS];
        uint64_t count;
        double sum;
};

static void observe(struct histogram *h, double v)
{
        h->count++;
        h->sum += v;
        for (size_t i = 0; i < N_BUCKETS; i++)
                h->le[i] += v <= duration_buckets[i];
}

/* Written by the listener's thread only. */
struct listener_counters {
        uint64_t received;
        uint64_t rejected[VERIFY_REASON_COUNT];
        uint64_t responses[N_CODES];
        uint64_t verify_cache_hits;
        struct histogram ingest;
};

/* Written by the committer, under the lock. */
struct commit_counters {
        uint64_t accepted, duplicate;
        uint64_t chain[CHAIN_COUNT];
        uint64_t store_errors;
        uint64_t summaries;
        uint64_t commits;
        double last_accepted;
        struct histogram commit;
};

/* A request waiting for its answer: a staged envelope, or a duplicate
 * (which waits for the commit of anything staged before it). */
struct pending {
        struct httpd_pending *http;
        struct store_staged *staged;   /* NULL for a duplicate */
        struct cstore_entry entry;
        char peer[64];
        enum binding binding;           /* of a new envelope to a cluster Node */
        char node[256];
        char why[320];
        struct pending *next;
};

struct collector {
        struct collector_config cfg;
        struct store *store;
        struct verifier verifier;
        time_t cache_since;
        time_t token_logged;
        struct listener_counters n;
        struct pending *ready;          /* staged by route_post, queued by route_deferred */

        pthread_mutex_t lock;
        pthread_cond_t cond;
        pthread_t committer;
        bool thread_started;
        struct pending *head, *tail;    /* the queue, oldest first */
        bool committing;
        bool closing, stop;
        bool broken;                    /* a commit failed: restart */
        char store_error[320];
        struct commit_counters k;
};

static void *committer_main(void *userdata);

int collector_new(const struct collector_config *cfg, struct store *store, struct collector **ret)
{
        struct collector *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->cfg = *cfg;
        c->store = store;
        c->verifier = (struct verifier){ .trust = cfg->trust, .domains = cfg->domains, .max_age_s = cfg->max_age_s,
                                         .max_doc_lifetime_s = cfg->max_doc_lifetime_s };
        if (verifier_init(&c->verifier) < 0) {
                free(c);
                return -ENOMEM;
        }
        c->cache_since = time(NULL);
        if (pthread_mutex_init(&c->lock, NULL) != 0 || pthread_cond_init(&c->cond, NULL) != 0 ||
            pthread_create(&c->committer, NULL, committer_main, c) != 0) {
                collector_free(c);
                return -ENOMEM;
        }
        c->thread_started = true;
        *ret = c;
        return 0;
}

void collector_drain(struct collector *c)
{
        pthread_mutex_lock(&c->lock);
        c->closing = true;
        while (c->head || c->committing)
                pthread_cond_wait(&c->cond, &c->lock);
        pthread_mutex_unlock(&c->lock);
}

void collector_free(struct collector *c)
{
        if (!c)
                return;
        if (c->thread_started) {
                pthread_mutex_lock(&c->lock);
                c->stop = true;
                pthread_cond_broadcast(&c->cond);
                pthread_mutex_unlock(&c->lock);
                pthread_join(c->committer, NULL);
        }
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        verifier_done(&c->verifier);
        free(c);
}

static char *json_text(cJSON *o)
{
        char *text = o ? json_print(o, true) : NULL;
        char *line = NULL;

        cJSON_Delete(o);
        if (text && asprintf(&line, "%s\n", text) < 0)
                line = NULL;
        free(text);
        return line;
}

static void reply_error(struct httpd_reply *ret, int status, const char *msg)
{
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "error", msg);
        *ret = (struct httpd_reply){ .status = status, .body = json_text(o) };
}

/* ---- authentication ------------------------------------------------------------ */

/* Equal, in time that depends on neither the contents nor the lengths. */
static bool token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
        uint8_t da[32], db[32];
        volatile uint8_t diff = 0;

        sha256(a, alen, da);
        sha256(b, blen, db);
        for (size_t i = 0; i < sizeof(da); i++)
                diff |= da[i] ^ db[i];
        explicit_bzero(da, sizeof(da));
        explicit_bzero(db, sizeof(db));
        return diff == 0;
}

/* 0 when the token file holds a token, else why not (logged at most once a minute). */
static int read_token(struct collector *c, char **ret)
{
        _cleanup_secret_ char *t = NULL;
        size_t n;
        int r = read_file_bounded(c->cfg.token_file, TOKEN_MAX, &t, &n);
        time_t now = time(NULL);

        if (r == 0) {
                char *s = strstrip(t);

                memmove(t, s, strlen(s) + 1);
                if (!*t)
                        r = -ENODATA;
        }
        if (r < 0) {
                bool log_now;

                /* /readyz may run on the health listener's thread too. */
                pthread_mutex_lock(&c->lock);
                log_now = now - c->token_logged >= LOG_EVERY_S;
                if (log_now)
                        c->token_logged = now;
                pthread_mutex_unlock(&c->lock);
                if (log_now) {
                        jlog("error", "token file unusable; every push is refused with 503", "tokenFile",
                             c->cfg.token_file, "error", r == -ENODATA ? "empty" : strerror(-r), NULL);
                }
                return r;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

static int authenticate(struct collector *c, const char *authorization, struct httpd_reply *ret)
{
        _cleanup_secret_ char *token = NULL;
        const char *given;

        if (!c->cfg.token_file)
                return 0;
        if (read_token(c, &token) < 0) {
                reply_error(ret, 503, "the collector cannot read its token");
                return -EACCES;
        }
        if (authorization && !strncasecmp(authorization, "Bearer ", 7)) {
                for (given = authorization + 7; *given == ' '; given++)
                        ;
                if (token_equal(given, strlen(given), token, strlen(token)))
                        return 0;
        }
        reply_error(ret, 401, "a valid bearer token is required");
        ret->header_name = "WWW-Authenticate";
        ret->header_value = "Bearer";
        return -EACCES;
}

static bool content_type_ok(const char *ct)
{
        static const char *const ok[] = { "application/vnd.in-toto+dsse+json", "application/json" };
        size_t n;

        if (!ct)
                return false;
        n = strcspn(ct, "; \t");
        for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
                if (n == strlen(ok[i]) && !strncasecmp(ct, ok[i], n))
                        return true;
        return false;
}

static int route_post_check(void *userdata, const struct httpd_request *req, struct httpd_reply *ret)
{
        struct collector *c = userdata;

        if (authenticate(c, req->authorization, ret) < 0)
                return -EACCES;
        if (!content_type_ok(req->content_type)) {
                reply_error(ret, 415, "Content-Type must be application/vnd.in-toto+dsse+json or application/json");
                return -EINVAL;
        }
        return 0;
}

/* ---- ingest ---------------------------------------------------------------------- */

/* predicate.previous.sha256 of an envelope that verified: the same bytes,
 * read once more for the one field verify does not return. */
static void statement_previous(const char *data, size_t len, char out[65])
{
        _cleanup_(cjson_deletep) cJSON *st = NULL;
        struct dsse_envelope e;
        const cJSON *prev;
        char err[64];

        out[0] = '\0';
        if (dsse_envelope_parse(data, len, &e, err, sizeof(err)) < 0)
                return;
        st = cJSON_ParseWithLength((const char *) e.payload, e.payload_len);
        dsse_envelope_done(&e);
        prev = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(st, "predicate"), "previous"),
                "sha256");
        if (cJSON_IsString(prev))
                (void) strcpy_bounded(out, 65, prev->valuestring);
}

static void reply_stored(struct httpd_reply *ret, int status, const struct pending *p)
{
        const struct cstore_entry *e = &p->entry;
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "sha256", e->sha256);
        cJSON_AddStringToObject(o, "vmId", e->vm_id);
        cJSON_AddNumberToObject(o, "sequence", (double) e->sequence);
        cJSON_AddStringToObject(o, "chain", chain_status_names[e->chain]);
        if (p->staged)  /* decided for new envelopes only; a duplicate's was told the first time */
                cJSON_AddStringToObject(o, "binding", binding_names[p->binding]);
        *ret = (struct httpd_reply){ .status = status, .body = json_text(o) };
}

static void reject(struct collector *c, const struct verify_result *r, const char *sha, const char *peer,
                   struct httpd_reply *ret)
{
        cJSON *o = cJSON_CreateObject();

        c->n.rejected[r->reason]++;
        cJSON_AddStringToObject(o, "reason", verify_reason_names[r->reason]);
        cJSON_AddStringToObject(o, "detail", r->detail);
        *ret = (struct httpd_reply){ .status = 422, .body = json_text(o) };
        jlog("warning", "envelope rejected", "reason", verify_reason_names[r->reason], "detail", r->detail,
             "sha256", sha, "peer", peer, NULL);
}

static void fresh_cache(struct collector *c, time_t now)
{
        if (now - c->cache_since < VERIFIER_CACHE_RESET_S)
                return;
        c->n.verify_cache_hits += c->verifier.cache_hits;
        verifier_done(&c->verifier);
        c->verifier.cache_hits = 0;
        if (verifier_init(&c->verifier) < 0)
                jlog("warning", "verifier cache not renewed: out of memory", NULL);
        c->cache_since = now;
}

/* Refused while the store cannot take more, or when shutting down. */
static bool unavailable(struct collector *c, struct httpd_reply *ret)
{
        bool closing, broken;

        pthread_mutex_lock(&c->lock);
        closing = c->closing;
        broken = c->broken;
        pthread_mutex_unlock(&c->lock);
        if (broken)
                reply_error(ret, 503, "the store failed; the collector needs a restart");
        else if (closing)
                reply_error(ret, 503, "the collector is shutting down");
        return broken || closing;
}

/* The request will sleep until the committer answers it: route_deferred()
 * queues it once it does (httpd_answer() must not come earlier). */
static void defer(struct collector *c, struct pending *p, struct httpd_reply *ret)
{
        ret->status = 0;
        c->ready = p;
}

static void route_deferred(void *userdata, struct httpd_pending *http)
{
        struct collector *c = userdata;
        struct pending *p = TAKE_PTR(c->ready);
        bool closing;

        pthread_mutex_lock(&c->lock);
        closing = c->closing;
        if (!closing) {
                if (c->tail)
                        c->tail->next = p;
                else
                        c->head = p;
                c->tail = p;
                pthread_cond_broadcast(&c->cond);
        }
        pthread_mutex_unlock(&c->lock);
        if (closing) {  /* never acknowledged; the agent sends it again */
                struct httpd_reply rep;

                store_staged_free(c->store, p->staged);
                free(p);
                reply_error(&rep, 503, "the collector is shutting down");
                httpd_answer(http, &rep);
        }
}

static void ingest(struct collector *c, const char *body, size_t len, const char *peer, time_t now,
                   struct httpd_reply *ret, struct httpd_pending *http)
{
        _cleanup_free_ char *summary = NULL;
        _cleanup_free_ struct pending *p = calloc(1, sizeof(*p));
        struct verify_result r;
        size_t summary_len = 0;
        uint8_t d[32];
        char err[320];
        int k = 0;

        if (!p || !http) {
                reply_error(ret, 500, "out of memory");
                return;
        }
        if (unavailable(c, ret))
                return;
        *p = (struct pending){ .http = http, .entry = { .received_at = now, .bytes = len } };
        (void) strcpy_bounded(p->peer, sizeof(p->peer), peer);
        sha256(body, len, d);
        hex_encode(d, sizeof(d), p->entry.sha256);
        /* The same bytes as an envelope already taken: the same answer. */
        if (store_lookup(c->store, p->entry.sha256, &p->entry)) {
                defer(c, TAKE_PTR(p), ret);
                return;
        }
        fresh_cache(c, now);
        c->verifier.now = now;
        verify_envelope(&c->verifier, body, len, &r);
        if (r.reason != VERIFY_VALID) {
                reject(c, &r, p->entry.sha256, peer, ret);
                return;
        }
        (void) strcpy_bounded(p->entry.vm_id, sizeof(p->entry.vm_id), r.vm_id);
        (void) strcpy_bounded(p->entry.key_id, sizeof(p->entry.key_id), r.key_id);
        (void) strcpy_bounded(p->entry.observed_at, sizeof(p->entry.observed_at), r.observed_at);
        (void) strcpy_bounded(p->entry.verdict, sizeof(p->entry.verdict), r.verdict);
        p->entry.sequence = r.sequence;
        statement_previous(body, len, p->entry.previous);
        p->entry.chain = store_chain(c->store, p->entry.key_id, p->entry.sequence, p->entry.previous);
        if (c->cfg.binding) {
                collect_binding_refresh(c->cfg.binding);
                p->binding = collect_binding_bind(c->cfg.binding, &r, p->node, sizeof(p->node), p->why,
                                                  sizeof(p->why));
        }
        if (c->cfg.summary_key && c->cfg.binding) {
                const struct summary_input in = {
                        .vm_id = p->entry.vm_id, .sha256 = p->entry.sha256, .verified_at = now,
                        .policy_sha256 = collect_binding_policy(c->cfg.binding), .binding = p->binding,
                        .node = p->node, .why = p->why,
                };

                k = collect_summary_sign(c->cfg.summary_key, &in, &summary, &summary_len);
        }
        if (k < 0)
                snprintf(err, sizeof(err), "summary: %s", strerror(-k));
        else
                k = store_stage(c->store, &p->entry, body, len, summary, summary_len, &p->staged, err, sizeof(err));
        if (k < 0) {
                jlog("error", "store write failed; envelope not acknowledged", "sha256", p->entry.sha256, "error",
                     err, NULL);
                reply_error(ret, 500, "the envelope is valid but could not be stored; send it again");
                return;
        }
        defer(c, TAKE_PTR(p), ret);
}

static void route_post(void *userdata, const struct httpd_request *req, struct httpd_reply *ret,
                       struct httpd_pending *pending)
{
        struct collector *c = userdata;
        double t0 = ((double) mono_ms() / 1e3);

        ingest(c, req->body, req->body_len, req->peer, time(NULL), ret, pending);
        observe(&c->n.ingest, ((double) mono_ms() / 1e3) - t0);
}

/* ---- the committer ------------------------------------------------------------------ */

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
                        observe(&c->k.commit, ((double) mono_ms() / 1e3) - t0);
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
                        reply_error(&rep, 503, "the store is unavailable; send the envelope again later");
                else if (r < 0)
                        reply_error(&rep, 503, "the store failed; the collector needs a restart");
                else {
                        reply_stored(&rep, p->staged ? 201 : 200, p);
                        if (p->staged)
                                log_accepted(p);
                }
                httpd_answer(p->http, &rep);
                store_staged_free(c->store, p->staged);
                free(p);
        }
}

static void *committer_main(void *userdata)
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

static void route_answered(void *userdata, int status)
{
        struct collector *c = userdata;
        size_t i;

        c->n.received++;
        for (i = 0; i < ARRAY_SIZE(counted_codes) && counted_codes[i] != status; i++)
                ;
        c->n.responses[i]++;
}

/* ---- metrics and health ------------------------------------------------------------- */

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

static int route_metrics(void *userdata, char **body)
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
static int route_livez(void *userdata, char **body)
{
        struct collector *c = userdata;
        char why[320];

        if (broken(c, why, sizeof(why)))
                return asprintf(body, "not live: a store commit failed (%s); restart\n", why) < 0 ? 500 : 503;
        *body = strdup("ok\n");
        return 200;
}

/* Ready when the store works and the token can be read. */
static int route_readyz(void *userdata, char **body)
{
        struct collector *c = userdata;
        _cleanup_secret_ char *token = NULL;
        char why[320];

        if (broken(c, why, sizeof(why)))
                return asprintf(body, "not ready: a store commit failed (%s)\n", why) < 0 ? 500 : 503;
        if (c->cfg.token_file && read_token(c, &token) < 0) {
                *body = strdup("not ready: the token file is unreadable or empty\n");
                return 503;
        }
        *body = strdup("ready\n");
        return 200;
}

void collector_routes(struct collector *c, struct httpd_routes *ret)
{
        *ret = (struct httpd_routes){
                .metrics = route_metrics, .livez = route_livez, .readyz = route_readyz, .userdata = c,
                .post_path = COLLECT_EVIDENCE_PATH, .post_check = route_post_check, .post = route_post,
                .post_deferred = route_deferred, .answered = route_answered,
        };
}
