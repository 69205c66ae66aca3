/* SPDX-License-Identifier: Apache-2.0 */
/* The store interface over today's local directory store (collect_store.c),
 * and its reader for verify. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collect_index.h"
#include "crypto.h"
#include "dsse.h"
#include "fileio.h"
#include "macro.h"
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

/* One objects/<aa>/<sha256>.json; a file that cannot be read is an error,
 * not a skipped envelope. */
static int read_object_file(const char *path, const char *sha, store_reader each, void *userdata, char *err,
                            size_t errsz)
{
        _cleanup_free_ char *data = NULL;
        struct store_listing l = { .name = path };
        char have[65];
        uint8_t d[32];
        size_t len;
        int r = read_file_bounded(path, DSSE_MAX_ENVELOPE, &data, &len);

        if (r < 0) {
                snprintf(err, errsz, "%s: %s", path, strerror(-r));
                return r;
        }
        sha256(data, len, d);
        hex_encode(d, 32, have);
        memcpy(l.sha256, sha, 64);
        l.digest_matches = !memcmp(have, sha, 64);
        (void) each(userdata, &l, data, len);
        return 0;
}

/* The entries of dir whose names pass keep() and that are directories
 * (want_dir) or regular files, in name order; a collector writes no
 * symlinks, so one is not followed. */
static int each_entry(const char *dir, bool want_dir, bool (*keep)(const char *name),
                      int (*fn)(const char *path, const char *name, void *ctx), void *ctx, char *err, size_t errsz)
{
        struct dirent **list = NULL;
        char path[PATH_MAX];
        int n = scandir(dir, &list, NULL, alphasort), r = 0;
        struct stat st;

        if (n < 0) {
                snprintf(err, errsz, "%s: %s", dir, strerror(errno));
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                const char *name = list[i]->d_name;

                if (r == 0 && keep(name) && snprintf(path, sizeof(path), "%s/%s", dir, name) < (int) sizeof(path) &&
                    lstat(path, &st) == 0 && (want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)))
                        r = fn(path, name, ctx);
                free(list[i]);
        }
        free(list);
        return r;
}

struct file_reader {
        store_reader each;
        void *userdata;
        char *err;
        size_t errsz;
};

static bool object_name(const char *name)
{
        return strlen(name) == 64 + 5 && cindex_hex_n(name, 64) && !strcmp(name + 64, ".json");
}

static bool prefix_name(const char *name)
{
        return strlen(name) == 2 && cindex_hex_n(name, 2);
}

static int one_object(const char *path, const char *name, void *ctx)
{
        struct file_reader *fr = ctx;

        return read_object_file(path, name, fr->each, fr->userdata, fr->err, fr->errsz);
}

static int one_prefix(const char *path, const char *name, void *ctx)
{
        struct file_reader *fr = ctx;

        (void) name;
        return each_entry(path, false, object_name, one_object, fr, fr->err, fr->errsz);
}

int store_file_read_all(const char *dir, store_reader each, void *userdata, char *err, size_t errsz)
{
        struct file_reader fr = { .each = each, .userdata = userdata, .err = err, .errsz = errsz };
        char objects[PATH_MAX];

        if (snprintf(objects, sizeof(objects), "%s/objects", dir) >= (int) sizeof(objects)) {
                snprintf(err, errsz, "%s: path too long", dir);
                return -ENAMETOOLONG;
        }
        return each_entry(objects, true, prefix_name, one_prefix, &fr, err, errsz);
}
