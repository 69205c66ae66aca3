/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The collector's insides, shared by its four files (not an API):
 *
 * Two threads. The listener's one polling thread authenticates, verifies
 * (the verifier and its cache are single-threaded), decides the chain
 * status and stages the files (collect_ingest.c); the request then waits,
 * suspended. The committer thread makes whatever has been staged durable in
 * one group (a few fsyncs for many envelopes) and only then answers those
 * requests (collect_commit.c). They share the queue, a few counters and the
 * store's health, under one mutex. /metrics and the probes read them
 * (collect_metrics.c); collect.c starts and stops it all. */

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "collect.h"
#include "httpd.h"
#include "verify.h"

#define TOKEN_MAX (16 * 1024)
/* Verified attested documents are cached; the cache has a fixed size, so
 * it is started afresh now and then (a document lives 6 h). */
#define VERIFIER_CACHE_RESET_S (30 * 60)
#define LOG_EVERY_S 60

/* Status codes counted on the evidence path; anything else is "other". */
#define N_COUNTED_CODES 9
extern const int counted_codes[N_COUNTED_CODES];
#define N_CODES (N_COUNTED_CODES + 1)

#define N_BUCKETS 11
extern const double duration_buckets[N_BUCKETS];

struct histogram {
        uint64_t le[N_BUCKETS];
        uint64_t count;
        double sum;
};

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
        struct pending *ready;          /* staged by collect_route_post, queued by collect_route_deferred */

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

/* Shared by collect.c (life cycle, routes), collect_ingest.c (the
 * listener's side), collect_commit.c (the committer's side) and
 * collect_metrics.c (/metrics and the probes). */
void collect_observe(struct histogram *h, double v);
char *collect_json_text(cJSON *o);
void collect_reply_error(struct httpd_reply *ret, int status, const char *msg);
void collect_reply_stored(struct httpd_reply *ret, int status, const struct pending *p);
void *collect_committer_main(void *userdata);
/* The bearer token from --token-file, re-read when it changes (-errno). */
int collect_read_token(struct collector *c, char **ret);
int collect_route_post_check(void *userdata, const struct httpd_request *req, struct httpd_reply *ret);
void collect_route_post(void *userdata, const struct httpd_request *req, struct httpd_reply *ret,
                        struct httpd_pending *pending);
void collect_route_deferred(void *userdata, struct httpd_pending *http);
void collect_route_answered(void *userdata, int status);
int collect_route_metrics(void *userdata, char **body);
int collect_route_livez(void *userdata, char **body);
int collect_route_readyz(void *userdata, char **body);
