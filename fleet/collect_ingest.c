/* SPDX-License-Identifier: Apache-2.0 */
/* The listener's side of the collector: authentication, verification on
 * receipt, binding, chain status, staging; answers wait for the commit. */
#include "collect_priv.h"

#include <stdio.h>

#include "dsse.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "strparse.h"
#include "timeutil.h"

char *collect_json_text(cJSON *o)
{
        char *text = o ? json_print(o, true) : NULL;
        char *line = NULL;

        cJSON_Delete(o);
        if (text && asprintf(&line, "%s\n", text) < 0)
                line = NULL;
        free(text);
        return line;
}

void collect_reply_error(struct httpd_reply *ret, int status, const char *msg)
{
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "error", msg);
        *ret = (struct httpd_reply){ .status = status, .body = collect_json_text(o) };
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
int collect_read_token(struct collector *c, char **ret)
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
        if (collect_read_token(c, &token) < 0) {
                collect_reply_error(ret, 503, "the collector cannot read its token");
                return -EACCES;
        }
        if (authorization && !strncasecmp(authorization, "Bearer ", 7)) {
                for (given = authorization + 7; *given == ' '; given++)
                        ;
                if (token_equal(given, strlen(given), token, strlen(token)))
                        return 0;
        }
        collect_reply_error(ret, 401, "a valid bearer token is required");
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

int collect_route_post_check(void *userdata, const struct httpd_request *req, struct httpd_reply *ret)
{
        struct collector *c = userdata;

        if (authenticate(c, req->authorization, ret) < 0)
                return -EACCES;
        if (!content_type_ok(req->content_type)) {
                collect_reply_error(ret, 415, "Content-Type must be application/vnd.in-toto+dsse+json or application/json");
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

void collect_reply_stored(struct httpd_reply *ret, int status, const struct pending *p)
{
        const struct cstore_entry *e = &p->entry;
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "sha256", e->sha256);
        cJSON_AddStringToObject(o, "vmId", e->vm_id);
        cJSON_AddNumberToObject(o, "sequence", (double) e->sequence);
        cJSON_AddStringToObject(o, "chain", chain_status_names[e->chain]);
        if (p->staged)  /* decided for new envelopes only; a duplicate's was told the first time */
                cJSON_AddStringToObject(o, "binding", binding_names[p->binding]);
        *ret = (struct httpd_reply){ .status = status, .body = collect_json_text(o) };
}

static void reject(struct collector *c, const struct verify_result *r, const char *sha, const char *peer,
                   struct httpd_reply *ret)
{
        cJSON *o = cJSON_CreateObject();

        c->n.rejected[r->reason]++;
        cJSON_AddStringToObject(o, "reason", verify_reason_names[r->reason]);
        cJSON_AddStringToObject(o, "detail", r->detail);
        *ret = (struct httpd_reply){ .status = 422, .body = collect_json_text(o) };
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
                collect_reply_error(ret, 503, "the store failed; the collector needs a restart");
        else if (closing)
                collect_reply_error(ret, 503, "the collector is shutting down");
        return broken || closing;
}

/* The request will sleep until the committer answers it: collect_route_deferred()
 * queues it once it does (httpd_answer() must not come earlier). */
static void defer(struct collector *c, struct pending *p, struct httpd_reply *ret)
{
        ret->status = 0;
        c->ready = p;
}

void collect_route_deferred(void *userdata, struct httpd_pending *http)
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
                collect_reply_error(&rep, 503, "the collector is shutting down");
                httpd_answer(http, &rep);
        }
}

static void ingest(struct collector *c, const char *body, size_t len, const char *peer, time_t now,
                   struct httpd_reply *ret, struct httpd_pending *http)
{
        _cleanup_free_ char *summary = NULL;
        _cleanup_free_ struct pending *p = calloc(1, sizeof(*p));
        struct verify_result r;
        struct cstore_entry known;
        size_t summary_len = 0;
        uint8_t d[32];
        char err[320];
        int k = 0;

        if (!p || !http) {
                collect_reply_error(ret, 500, "out of memory");
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
        /* Looking at the chain may have learnt that another collector on the
         * same store took these very bytes (store_azblob.c). They are filed
         * again under the same names, so the store keeps one keys/ entry for
         * them, and the commit (which writes only what is missing) still
         * stands behind the answer: a listing is not proof of storage. */
        if (store_lookup(c->store, p->entry.sha256, &known))
                p->entry.chain = known.chain;
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
                collect_reply_error(ret, 500, "the envelope is valid but could not be stored; send it again");
                return;
        }
        defer(c, TAKE_PTR(p), ret);
}

void collect_route_post(void *userdata, const struct httpd_request *req, struct httpd_reply *ret,
                       struct httpd_pending *pending)
{
        struct collector *c = userdata;
        double t0 = ((double) mono_ms() / 1e3);

        ingest(c, req->body, req->body_len, req->peer, time(NULL), ret, pending);
        collect_observe(&c->n.ingest, ((double) mono_ms() / 1e3) - t0);
}

/* ---- the committer ------------------------------------------------------------------ */
