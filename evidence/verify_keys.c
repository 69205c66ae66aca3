/* SPDX-License-Identifier: Apache-2.0 */
/* Signer keys already decoded, in a direct-mapped table keyed by the
 * SHA-256 of the PEM text: bounded memory, and an archive of many nodes
 * only costs a decode when two keys share a slot. */
#include "verify_keys.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


#define KEY_SLOTS 1024

struct slot {
        bool used;
        uint8_t pem_sha256[32];
        struct signer_key value;
};

struct key_cache {
        struct slot slots[KEY_SLOTS];
};

struct key_cache *key_cache_new(void)
{
        return calloc(1, sizeof(struct key_cache));
}

struct key_cache *key_cache_free(struct key_cache *c)
{
        if (c)
                for (unsigned i = 0; i < KEY_SLOTS; i++)
                        public_key_free(c->slots[i].value.key);
        free(c);
        return NULL;
}

int key_cache_get(struct key_cache *c, const char *pem, size_t len, const struct signer_key **ret)
{
        struct public_key *k = NULL;
        struct signer_key decoded;
        uint8_t h[32];
        struct slot *s;

        sha256(pem, len, h);
        s = &c->slots[((unsigned) h[0] << 8 | h[1]) % KEY_SLOTS];
        if (s->used && !memcmp(s->pem_sha256, h, sizeof(h))) {
                *ret = &s->value;
                return 0;
        }
        if (public_key_from_pem(pem, len, &k) < 0)
                return -EINVAL;
        decoded.key = k;
        if (key_names_of(k, &decoded.names) < 0) {
                public_key_free(k);
                return -EINVAL;
        }
        public_key_free(s->value.key);
        *s = (struct slot){ .used = true, .value = decoded };
        memcpy(s->pem_sha256, h, sizeof(h));
        *ret = &s->value;
        return 0;
}
