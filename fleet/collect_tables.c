/* SPDX-License-Identifier: Apache-2.0 */
/* The collector's in-memory state: open addressing, linear probing. */
#include "collect_tables.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


static uint64_t mix64(uint64_t x)
{
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ULL;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

static uint64_t hash_str(const char *s, uint64_t salt)
{
        uint64_t h = 0xcbf29ce484222325ULL ^ salt;

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 0x100000001b3ULL;
        return mix64(h);
}

static int strtab_grow(struct strtab *t)
{
        uint32_t n = t->nslots ? t->nslots * 2 : 64;
        uint32_t *slots = calloc(n, sizeof(*slots));

        if (!slots)
                return -ENOMEM;
        for (uint32_t i = 0; i < t->n; i++) {
                uint32_t j = (uint32_t) hash_str(t->strs[i], 0) & (n - 1);

                while (slots[j])
                        j = (j + 1) & (n - 1);
                slots[j] = i + 1;
        }
        free(t->slots);
        t->slots = slots;
        t->nslots = n;
        return 0;
}

/* The index of s, or -1 when absent. */
int64_t strtab_find(const struct strtab *t, const char *s)
{
        if (!t->nslots)
                return -1;
        for (uint32_t j = (uint32_t) hash_str(s, 0) & (t->nslots - 1); t->slots[j]; j = (j + 1) & (t->nslots - 1))
                if (!strcmp(t->strs[t->slots[j] - 1], s))
                        return t->slots[j] - 1;
        return -1;
}

/* The index of s, added if new; *ret_new tells which. gcc 12's analyzer
 * loses the copy once it is stored in t->strs (in the function part that
 * IPA splits off) and calls it a leak; strtab_done() frees every entry,
 * and valgrind and LeakSanitizer check that at run time. */
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
int64_t strtab_intern(struct strtab *t, const char *s, bool *ret_new)
{
        int64_t i = strtab_find(t, s);
        char *copy;
        uint32_t j;

        *ret_new = false;
        if (i >= 0)
                return i;
        if ((t->n + 1) * 10 > t->nslots * 7 && strtab_grow(t) < 0)
                return -ENOMEM;
        if (t->n == t->cap) {
                uint32_t cap = t->cap ? t->cap * 2 : 64;
                char **strs = realloc(t->strs, cap * sizeof(*strs));

                if (!strs)
                        return -ENOMEM;
                t->strs = strs;
                t->cap = cap;
        }
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        t->strs[t->n] = copy;
        for (j = (uint32_t) hash_str(s, 0) & (t->nslots - 1); t->slots[j]; j = (j + 1) & (t->nslots - 1))
                ;
        t->slots[j] = t->n + 1;
        *ret_new = true;
        return t->n++;
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void strtab_done(struct strtab *t)
{
        for (uint32_t i = 0; i < t->n; i++)
                free(t->strs[i]);
        free(t->strs);
        free(t->slots);
}

/* ---- digests seen ------------------------------------------------------------ */


static uint64_t hash_digest(const struct dtab *t, const uint8_t d[32])
{
        uint64_t x;

        memcpy(&x, d, sizeof(x));
        return mix64(x ^ t->salt);
}

static struct drec *dtab_slot(const struct dtab *t, const uint8_t d[32])
{
        uint64_t j = hash_digest(t, d) & (t->cap - 1);

        while (t->recs[j].used && memcmp(t->recs[j].digest, d, 32))
                j = (j + 1) & (t->cap - 1);
        return &t->recs[j];
}

static int dtab_grow(struct dtab *t)
{
        uint64_t cap = t->cap ? t->cap * 2 : 1024;
        struct dtab n = { .cap = cap, .salt = t->salt, .n = t->n };

        n.recs = calloc(cap, sizeof(*n.recs));
        if (!n.recs)
                return -ENOMEM;
        for (uint64_t i = 0; i < t->cap; i++)
                if (t->recs[i].used)
                        *dtab_slot(&n, t->recs[i].digest) = t->recs[i];
        free(t->recs);
        *t = n;
        return 0;
}

int dtab_add(struct dtab *t, const struct drec *r)
{
        struct drec *s;

        if ((t->n + 1) * 10 > t->cap * 7 && dtab_grow(t) < 0)
                return -ENOMEM;
        s = dtab_slot(t, r->digest);
        if (!s->used)
                t->n++;
        *s = *r;
        s->used = 1;
        return 0;
}

const struct drec *dtab_get(const struct dtab *t, const uint8_t d[32])
{
        const struct drec *s;

        if (!t->cap)
                return NULL;
        s = dtab_slot(t, d);
        return s->used ? s : NULL;
}
