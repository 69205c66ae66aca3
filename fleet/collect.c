/* SPDX-License-Identifier: Apache-2.0 */
/* hostenc collect: the collector's life cycle and its routes (collect_priv.h
 * says how the work is shared between the files and threads). */
#include "collect_priv.h"

#include "macro.h"

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
            pthread_create(&c->committer, NULL, collect_committer_main, c) != 0) {
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

void collector_routes(struct collector *c, struct httpd_routes *ret)
{
        *ret = (struct httpd_routes){
                .metrics = collect_route_metrics, .livez = collect_route_livez, .readyz = collect_route_readyz, .userdata = c,
                .post_path = COLLECT_EVIDENCE_PATH, .post_check = collect_route_post_check, .post = collect_route_post,
                .post_deferred = collect_route_deferred, .answered = collect_route_answered,
        };
}
