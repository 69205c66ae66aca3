/* SPDX-License-Identifier: Apache-2.0 */
/* The collector's store in Azure Blob Storage. Layout in the container
 * (docs/collector.md), every blob written once with If-None-Match: *:
 *
 *   objects/<aa>/<sha256>.json                      the envelope
 *   summaries/<sha256>.json                         the signed summary (optional)
 *   vm/<vmId>/<observedAt>-<seq>-<sha256>.json      empty: the per-VM listing
 *   keys/<sha256(keyId)>/<2^64-1-seq, 20 digits>-<sha256>-<chain>-<vmId>
 *                                                   empty: the commit point
 *
 * The keys/ marker is written last; it is what the state (digests seen,
 * each key's chain head) is rebuilt from at start, by listing keys/. The
 * inverted sequence makes a key's head the first name under its prefix,
 * so one short listing tells any replica the newest envelope another
 * replica stored for that key. */
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "collect_index.h"
#include "crypto.h"
#include "macro.h"
#include "store_azblob_priv.h"
#include "store_iface.h"
#include "strparse.h"

/* ---- the state: digests seen, chain heads ---------------------------------------- */

struct rec {
        uint8_t key[32];                /* envelope digest, or sha256(keyId) */
        uint8_t head[32];               /* keys only: the head's digest */
        uint64_t seq;
        char vm[64];
        uint8_t chain, used;
};

struct table {
        struct rec *recs;
        uint64_t n;
        size_t cap;                     /* a power of two */
        uint64_t salt;
};

static struct rec *slot(const struct table *t, const uint8_t k[32])
{
        uint64_t x;
        size_t j;

        memcpy(&x, k, sizeof(x));
        x ^= t->salt;
        x ^= x >> 31;
        x *= 0x94d049bb133111ebULL;
        for (j = (size_t) (x ^ (x >> 29)) & (t->cap - 1); t->recs[j].used && memcmp(t->recs[j].key, k, 32);
             j = (j + 1) & (t->cap - 1))
                ;
        return &t->recs[j];
}

static struct rec *table_get(const struct table *t, const uint8_t k[32])
{
        struct rec *r;

        if (!t->cap)
                return NULL;
        r = slot(t, k);
        return r->used ? r : NULL;
}

/* The record for k, added (zeroed) if new. */
static struct rec *table_put(struct table *t, const uint8_t k[32])
{
        struct rec *r;

        if ((t->n + 1) * 10 > t->cap * 7) {
                struct table n = { .cap = t->cap ? t->cap * 2 : 1024, .salt = t->salt, .n = t->n };

                n.recs = calloc(n.cap, sizeof(*n.recs));
                if (!n.recs)
                        return NULL;
                for (size_t i = 0; i < t->cap; i++)
                        if (t->recs[i].used)
                                *slot(&n, t->recs[i].key) = t->recs[i];
                free(t->recs);
                *t = n;
        }
        r = slot(t, k);
        if (!r->used) {
                *r = (struct rec){ .used = 1 };
                memcpy(r->key, k, 32);
                t->n++;
        }
        return r;
}

/* ---- the back end -------------------------------------------------------------------- */

/* The listener's thread looks up and decides chains; the committer's
 * writes. state guards the tables, net the connection (one curl handle). */
struct azstore {
        struct conn c;
        pthread_mutex_t state, net;
        struct table digests, keys;
        uint64_t bytes;
};

struct staged {
        struct cstore_entry e;
        char *data, *summary;
        size_t len, summary_len;
        char object[128], vm_marker[256], key_marker[256], summary_name[128];
};

static void key_hash(const char *key_id, uint8_t out[32], char hex[65])
{
        sha256(key_id, strlen(key_id), out);
        hex_encode(out, 32, hex);
}

/* keys/<kh>/<inv>-<sha>-<chain>-<vmId> into its parts. */
static int parse_key_marker(const char *name, uint8_t kh[32], uint64_t *seq, uint8_t digest[32],
                            enum chain_status *chain, const char **vm)
{
        char inv[21], hex[65];
        const char *p = name + 5, *dash;
        uint64_t v;
        int c;

        if (strncmp(name, "keys/", 5) || strlen(p) < 64 + 1 + 20 + 1 + 64 + 1 || !cindex_hex_n(p, 64) || p[64] != '/' ||
            p[85] != '-' || !cindex_hex_n(p + 86, 64) || p[150] != '-')
                return -EBADMSG;
        memcpy(inv, p + 65, 20);
        inv[20] = '\0';
        if (parse_u64(inv, &v) < 0 || v == UINT64_MAX)
                return -EBADMSG;
        dash = strchr(p + 151, '-');
        if (!dash)
                return -EBADMSG;
        for (c = 0; c < CHAIN_COUNT; c++)
                if ((size_t) (dash - (p + 151)) == strlen(chain_status_names[c]) &&
                    !strncmp(p + 151, chain_status_names[c], (size_t) (dash - (p + 151))))
                        break;
        if (c == CHAIN_COUNT || !cindex_safe_name(dash + 1))
                return -EBADMSG;
        memcpy(hex, p, 64);
        hex[64] = '\0';
        if (hex_decode(hex, kh, 32) < 0)
                return -EBADMSG;
        memcpy(hex, p + 86, 64);
        if (hex_decode(hex, digest, 32) < 0)
                return -EBADMSG;
        *seq = UINT64_MAX - v;
        *chain = (enum chain_status) c;
        *vm = dash + 1;
        return 0;
}

/* One more stored envelope, from the listing or from a commit. */
static int remember(struct azstore *s, const uint8_t kh[32], uint64_t seq, const uint8_t digest[32],
                    enum chain_status chain, const char *vm)
{
        struct rec *d = table_put(&s->digests, digest), *k;

        if (!d)
                return -ENOMEM;
        d->seq = seq;
        d->chain = (uint8_t) chain;
        (void) strcpy_bounded(d->vm, sizeof(d->vm), vm);
        k = table_put(&s->keys, kh);
        if (!k)
                return -ENOMEM;
        if (k->seq < seq) {
                k->seq = seq;
                memcpy(k->head, digest, 32);
        }
        return 0;
}

static int load_marker(void *userdata, const char *name)
{
        struct azstore *s = userdata;
        uint8_t kh[32], digest[32];
        enum chain_status chain;
        const char *vm;
        uint64_t seq;
        int r;

        if (parse_key_marker(name, kh, &seq, digest, &chain, &vm) < 0)
                return 0;       /* not ours: ignored, as audit ignores foreign files */
        pthread_mutex_lock(&s->state);
        r = remember(s, kh, seq, digest, chain, vm);
        pthread_mutex_unlock(&s->state);
        return r;
}

static bool a_lookup(void *impl, const char sha256_hex[65], struct cstore_entry *ret)
{
        struct azstore *s = impl;
        const struct rec *r;
        uint8_t d[32];
        char hex[65];

        if (hex_decode(sha256_hex, d, 32) < 0)
                return false;
        pthread_mutex_lock(&s->state);
        r = table_get(&s->digests, d);
        if (r) {
                memcpy(hex, sha256_hex, sizeof(hex));
                *ret = (struct cstore_entry){ .sequence = r->seq, .chain = (enum chain_status) r->chain };
                memcpy(ret->sha256, hex, sizeof(hex));
                (void) strcpy_bounded(ret->vm_id, sizeof(ret->vm_id), r->vm);
        }
        pthread_mutex_unlock(&s->state);
        return r != NULL;
}

static enum chain_status decide(const struct rec *k, uint64_t sequence, const char *previous)
{
        uint8_t prev[32];

        if (!k || !k->seq)
                return CHAIN_FIRST;
        if (sequence <= k->seq)
                return CHAIN_REPLAY;
        if (sequence == k->seq + 1 && previous && strlen(previous) == 64 && hex_decode(previous, prev, 32) == 0 &&
            !memcmp(prev, k->head, 32))
                return CHAIN_OK;
        return CHAIN_GAP;
}

/* A sequence has one marker per envelope a key signed with it: one, or a
 * few after a key was reused. More are not a collector's. */
#define SEQUENCE_MARKERS_MAX 16

/* What other replicas stored for this key: with sequence 0 its newest
 * keys/ marker (the first name under its prefix), else every marker of
 * that sequence (so a replica that missed an envelope knows its digest). */
static int refresh_key(struct azstore *s, const char kh_hex[65], uint64_t sequence)
{
        char prefix[112], err[256];
        int r;

        if (sequence)
                snprintf(prefix, sizeof(prefix), "keys/%s/%020llu-", kh_hex,
                         (unsigned long long) (UINT64_MAX - sequence));
        else
                snprintf(prefix, sizeof(prefix), "keys/%s/", kh_hex);
        pthread_mutex_lock(&s->net);
        /* On the receiving thread: one try, so that a stalled store delays an
         * answer by one request timeout, not five; without the look, the
         * chain is decided from what this replica knows. */
        r = azblob_list_once(s->c.blob, prefix, sequence ? SEQUENCE_MARKERS_MAX : 1, load_marker, s, err, sizeof(err));
        pthread_mutex_unlock(&s->net);
        return r;
}

static enum chain_status a_chain(void *impl, const char *key_id, uint64_t sequence, const char *previous)
{
        struct azstore *s = impl;
        uint8_t kh[32];
        char hex[65];
        enum chain_status c;

        key_hash(key_id, kh, hex);
        pthread_mutex_lock(&s->state);
        c = decide(table_get(&s->keys, kh), sequence, previous);
        pthread_mutex_unlock(&s->state);
        /* A replay may be of bytes another replica took: learn them, for the
         * caller's second lookup; a replay stays a replay. */
        if (c == CHAIN_REPLAY)
                (void) refresh_key(s, hex, sequence);
        if (c == CHAIN_OK || c == CHAIN_REPLAY || refresh_key(s, hex, 0) < 0)
                return c;
        pthread_mutex_lock(&s->state);
        c = decide(table_get(&s->keys, kh), sequence, previous);
        pthread_mutex_unlock(&s->state);
        return c;
}

static void a_staged_free(struct store_staged *p)
{
        struct staged *st = (struct staged *) p;

        if (!st)
                return;
        free(st->data);
        free(st->summary);
        free(st);
}

/* "2026-11-27T19:30:40Z" -> "20261127T193040Z", as the file store names it. */
static int a_stage(void *impl, const struct cstore_entry *e, const char *data, size_t len, const char *summary,
                   size_t summary_len, struct store_staged **ret, char *err, size_t errsz)
{
        struct staged *st;
        uint8_t kh[32];
        char kh_hex[65];
        int k1, k2, k3, k4;

        (void) impl;
        if (strlen(e->sha256) != 64 || !cindex_hex_n(e->sha256, 64) || !cindex_safe_name(e->vm_id) || e->sequence == 0 ||
            e->chain >= CHAIN_COUNT) {
                snprintf(err, errsz, "refusing to store: digest or vmId unusable as a blob name");
                return -EINVAL;
        }
        st = calloc(1, sizeof(*st));
        if (!st || !(st->data = malloc(len ? len : 1)) || (summary && !(st->summary = malloc(summary_len + 1)))) {
                a_staged_free((struct store_staged *) st);
                snprintf(err, errsz, "out of memory");
                return -ENOMEM;
        }
        st->e = *e;
        memcpy(st->data, data, len);
        st->len = len;
        if (summary) {
                memcpy(st->summary, summary, summary_len);
                st->summary_len = summary_len;
        }
        key_hash(e->key_id, kh, kh_hex);
        k1 = snprintf(st->object, sizeof(st->object), "objects/%.2s/%s.json", e->sha256, e->sha256);
        k2 = cstore_vm_entry(st->vm_marker, sizeof(st->vm_marker), e->vm_id, e->observed_at, e->sequence, e->sha256);
        k3 = snprintf(st->key_marker, sizeof(st->key_marker), "keys/%s/%020llu-%s-%s-%s", kh_hex,
                      (unsigned long long) (UINT64_MAX - e->sequence), e->sha256, chain_status_names[e->chain],
                      e->vm_id);
        k4 = snprintf(st->summary_name, sizeof(st->summary_name), "summaries/%s.json", e->sha256);
        if (k1 < 0 || k2 < 0 || k3 < 0 || k4 < 0 || (size_t) k2 >= sizeof(st->vm_marker) ||
            (size_t) k3 >= sizeof(st->key_marker)) {
                a_staged_free((struct store_staged *) st);
                snprintf(err, errsz, "blob name too long");
                return -EINVAL;
        }
        *ret = (struct store_staged *) st;
        return 0;
}

/* Every blob of one envelope, the keys/ marker last. A name already taken
 * is the same content (objects are named by their digest; markers by
 * what they record): another replica, or an attempt before a crash. */
static int commit_one(struct azstore *s, const struct staged *st, char *err, size_t errsz)
{
        enum azblob_put how;
        int r;

        r = azblob_put_new(s->c.blob, st->object, st->data, st->len, "application/json",
                           AZBLOB_TAKEN_MUST_MATCH, &how, err, errsz);
        if (r == 0 && st->summary)
                r = azblob_put_new(s->c.blob, st->summary_name, st->summary, st->summary_len, "application/json",
                                   AZBLOB_TAKEN_IS_DONE, &how, err, errsz);
        if (r == 0)
                r = azblob_put_new(s->c.blob, st->vm_marker, NULL, 0, "application/octet-stream",
                                   AZBLOB_TAKEN_IS_DONE, &how, err, errsz);
        if (r == 0)
                r = azblob_put_new(s->c.blob, st->key_marker, NULL, 0, "application/octet-stream",
                                   AZBLOB_TAKEN_IS_DONE, &how, err, errsz);
        return r;
}

static int a_commit(void *impl, struct store_staged *const *items, size_t n, char *err, size_t errsz)
{
        struct azstore *s = impl;

        for (size_t i = 0; i < n; i++) {
                const struct staged *st = (const struct staged *) items[i];
                uint8_t kh[32], d[32];
                char hex[65];
                int r;

                pthread_mutex_lock(&s->net);
                r = commit_one(s, st, err, errsz);
                pthread_mutex_unlock(&s->net);

                /* The state changes only after a write succeeded, so a failed
                 * commit leaves the store usable: nothing acknowledged, and
                 * the agents send again. */
                if (r < 0)
                        return r == -ENOMEM ? r : -EAGAIN;
                key_hash(st->e.key_id, kh, hex);
                if (hex_decode(st->e.sha256, d, 32) < 0)
                        return -EINVAL;
                pthread_mutex_lock(&s->state);
                /* remember() never moves a head back, so a replay leaves it. */
                r = remember(s, kh, st->e.sequence, d, st->e.chain, st->e.vm_id);
                s->bytes += st->len;
                pthread_mutex_unlock(&s->state);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A counter, read under the lock (the metrics are served on another thread). */
static uint64_t counter(const void *impl, size_t offset)
{
        struct azstore *s = (struct azstore *) impl; // NOLINT: the lock is not part of the value
        uint64_t v;

        pthread_mutex_lock(&s->state);
        memcpy(&v, (const char *) s + offset, sizeof(v));
        pthread_mutex_unlock(&s->state);
        return v;
}

static uint64_t a_envelopes(const void *impl)
{
        return counter(impl, offsetof(struct azstore, digests.n));
}

static uint64_t a_bytes(const void *impl)
{
        return counter(impl, offsetof(struct azstore, bytes));
}

static uint64_t a_keys(const void *impl)
{
        return counter(impl, offsetof(struct azstore, keys.n));
}

static void a_close(void *impl)
{
        struct azstore *s = impl;

        if (!s)
                return;
        azconn_done(&s->c);
        pthread_mutex_destroy(&s->state);
        pthread_mutex_destroy(&s->net);
        free(s->digests.recs);
        free(s->keys.recs);
        free(s);
}

static const struct store_ops azblob_ops = {
        .lookup = a_lookup, .chain = a_chain, .stage = a_stage, .commit = a_commit, .staged_free = a_staged_free,
        .envelopes = a_envelopes, .bytes = a_bytes, .keys = a_keys, .close = a_close,
};

int store_azblob_open(const char *url, const struct http_transport *http, const struct store_options *o,
                      struct store *s, char *err, size_t errsz)
{
        struct azstore *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        if (pthread_mutex_init(&a->state, NULL) != 0 || pthread_mutex_init(&a->net, NULL) != 0) {
                free(a);
                return -ENOMEM;
        }
        if (getrandom(&a->digests.salt, sizeof(a->digests.salt), 0) != sizeof(a->digests.salt))
                a->digests.salt = (uint64_t) time(NULL) ^ (uint64_t) getpid();
        a->keys.salt = a->digests.salt * 0x9e3779b97f4a7c15ULL;
        r = azconn_open(url, http, o ? o->request_timeout_ms : 0, &a->c, err, errsz);
        if (r == 0)
                r = azblob_create_container(a->c.blob, err, errsz);
        if (r == 0)
                r = azblob_list(a->c.blob, "keys/", 0, load_marker, a, err, errsz);
        if (r < 0) {
                a_close(a);
                return r;
        }
        s->ops = &azblob_ops;
        s->impl = a;
        return 0;
}
