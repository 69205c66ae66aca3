/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The collector's in-memory state, rebuilt from the index at open: the
 * interned vmIds and keyIds, and every digest stored. Both grow without a
 * fixed cap (the store's size is the cap). */

#include <stdbool.h>
#include <stdint.h>

/* Interned strings (vmIds, keyIds), each with a stable index. */
struct strtab {
        char **strs;
        uint32_t n, cap;
        uint32_t *slots;        /* index + 1; 0 = empty */
        uint32_t nslots;        /* a power of two */
};

/* The index of s, or -1 when absent. */
int64_t strtab_find(const struct strtab *t, const char *s);
/* The index of s, added if new (*ret_new says which); -ENOMEM. */
int64_t strtab_intern(struct strtab *t, const char *s, bool *ret_new);
void strtab_done(struct strtab *t);

/* Digests seen: which VM, which sequence, how it continued its chain. */
struct drec {
        uint8_t digest[32];
        uint64_t sequence;
        uint32_t vm;            /* in vms */
        uint8_t used;
        uint8_t chain;
};

struct dtab {
        struct drec *recs;
        uint64_t n, cap;        /* cap: a power of two */
        uint64_t salt;          /* digests are attacker-chosen: keep probing unpredictable */
};

/* Adds or replaces the record of r->digest; -ENOMEM. */
int dtab_add(struct dtab *t, const struct drec *r);
const struct drec *dtab_get(const struct dtab *t, const uint8_t d[32]);
