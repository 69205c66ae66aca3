/* SPDX-License-Identifier: Apache-2.0 */
/* The store interface over today's local directory store (collect_store.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_iface.h"

static bool f_lookup(void *impl, const char sha256[65], struct cstore_entry *ret)
{
        return cstore_lookup(impl, sha256, ret);
}

static enum chain_status f_chain(void *impl, const char *key_id, uint64_t sequence, const char *previous)
{
        return cstore_chain(impl, key_id, sequence, previous);
}

static int f_stage(void *impl, const struct cstore_entry *e, const char *data, size_t len, const char *summary,
                   size_t summary_len, struct store_staged **ret, char *err, size_t errsz)
{
        struct cstore_staged *st;
        int r = cstore_stage(impl, e, data, len, summary, summary_len, &st, err, errsz);

        if (r == 0)
                *ret = (struct store_staged *) st;
        return r;
}

static int f_commit(void *impl, struct store_staged *const *items, size_t n, char *err, size_t errsz)
{
        /* A failed file commit leaves the in-memory state ahead of the disk:
         * never -EAGAIN, always a restart. */
        int r = cstore_commit(impl, (struct cstore_staged *const *) items, n, err, errsz);

        return r == -EAGAIN ? -EIO : r;
}

static void f_staged_free(struct store_staged *st)
{
        cstore_staged_free((struct cstore_staged *) st);
}

static uint64_t f_envelopes(const void *impl)
{
        return cstore_envelopes(impl);
}

static uint64_t f_bytes(const void *impl)
{
        return cstore_bytes(impl);
}

static uint64_t f_keys(const void *impl)
{
        return cstore_keys(impl);
}

static void f_close(void *impl)
{
        cstore_close(impl);
}

static const struct store_ops file_ops = {
        .lookup = f_lookup, .chain = f_chain, .stage = f_stage, .commit = f_commit, .staged_free = f_staged_free,
        .envelopes = f_envelopes, .bytes = f_bytes, .keys = f_keys, .close = f_close,
};

int store_file_open(const char *dir, struct store *s, char *err, size_t errsz)
{
        struct cstore *c;
        int r = cstore_open(dir, &c, err, errsz);

        if (r < 0)
                return r;
        s->ops = &file_ops;
        s->impl = c;
        return 0;
}
