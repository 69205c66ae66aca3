/* SPDX-License-Identifier: Apache-2.0 */
/* Verified attested documents, keyed by the SHA-256 of their bytes: a node
 * binds its key once per document lifetime, so an archive holds many
 * envelopes per document and the PKCS#7 chain work is done once each. */
#include "verify_cache.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 4096        /* open addressing; when full, no more caching */

struct slot {
        bool used;
        uint8_t key[32];
        struct attested_summary value;
};

struct attested_cache {
        unsigned used;
        struct slot slots[CACHE_SLOTS];
};

struct attested_cache *attested_cache_new(void)
{
        return calloc(1, sizeof(struct attested_cache));
}

struct attested_cache *attested_cache_free(struct attested_cache *c)
{
        free(c);
        return NULL;
}

static struct slot *find(struct attested_cache *c, const uint8_t key[32])
{
        unsigned i = ((unsigned) key[0] << 8 | key[1]) % CACHE_SLOTS;

        for (unsigned n = 0; n < CACHE_SLOTS; n++, i = (i + 1) % CACHE_SLOTS)
                if (!c->slots[i].used || !memcmp(c->slots[i].key, key, 32))
                        return &c->slots[i];
        return NULL;
}

const struct attested_summary *attested_cache_get(struct attested_cache *c, const uint8_t key[32])
{
        struct slot *s = c ? find(c, key) : NULL;

        return s && s->used ? &s->value : NULL;
}

void attested_cache_put(struct attested_cache *c, const uint8_t key[32], const struct attested_summary *v)
{
        struct slot *s;

        /* Keep a quarter free so probes stay short. */
        if (!c || c->used >= CACHE_SLOTS * 3 / 4 || !(s = find(c, key)) || s->used)
                return;
        s->used = true;
        memcpy(s->key, key, 32);
        s->value = *v;
        c->used++;
}
