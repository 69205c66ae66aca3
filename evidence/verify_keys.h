/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "crypto.h"
#include "evidence.h"

/* A statement's signer key, decoded once, with the three names a statement
 * gives it. Decoding a PEM key (OpenSSL's decoder set-up) costs more than
 * verifying a signature, and a node signs many envelopes with one key. */
struct signer_key {
        struct public_key *key;
        struct key_names names;
};

struct key_cache;

struct key_cache *key_cache_new(void);
struct key_cache *key_cache_free(struct key_cache *c);

/* The decoded key for a PEM public key, decoded on first sight. The entry
 * belongs to the cache and stays valid until the next key_cache_get() of a
 * different PEM. -EINVAL when the PEM is not a P-256 public key. */
int key_cache_get(struct key_cache *c, const char *pem, size_t len, const struct signer_key **ret);
