/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "facts.h"

/* What verify needs from a verified document (attested_facts without the
 * raw bytes, which are the cache key's source). */
struct attested_summary {
        enum attested_state state;
        char error[256];
        char nonce[64];
        char vm_id[64];
        char subscription_id[64];
        char created_on[32];
        char expires_on[32];
        time_t created_at, expires_at;
        time_t signer_not_before, signer_not_after;
        char signer_dns[128];
        char signer_issuer[160];
};

struct attested_cache;

struct attested_cache *attested_cache_new(void);
struct attested_cache *attested_cache_free(struct attested_cache *c);
const struct attested_summary *attested_cache_get(struct attested_cache *c, const uint8_t key[32]);
void attested_cache_put(struct attested_cache *c, const uint8_t key[32], const struct attested_summary *v);
