/* SPDX-License-Identifier: Apache-2.0 */
/* store_open(): the URL picks the back end (store_iface.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_iface.h"

bool store_url_is_azblob(const char *url)
{
        return !strncmp(url, "azblob://", 9);
}

bool store_dir_is_store(const char *dir)
{
        char path[PATH_MAX];
        struct stat st;

        if (snprintf(path, sizeof(path), "%s/objects", dir) >= (int) sizeof(path) || stat(path, &st) < 0 ||
            !S_ISDIR(st.st_mode))
                return false;
        return snprintf(path, sizeof(path), "%s/index.jsonl", dir) < (int) sizeof(path) && stat(path, &st) == 0 &&
               S_ISREG(st.st_mode);
}

int store_read_all(const char *url, const struct http_transport *http, store_reader each, void *userdata, char *err,
                   size_t errsz)
{
        if (store_url_is_azblob(url))
                return store_azblob_read_all(url, http, each, userdata, err, errsz);
        return store_file_read_all(store_url_dir(url), each, userdata, err, errsz);
}

const char *store_url_dir(const char *url)
{
        return strncmp(url, "file:", 5) ? url : url + 5;
}

int store_open(const char *url, const struct http_transport *http, const struct store_options *o, struct store **ret,
               char *err, size_t errsz)
{
        struct store *s = calloc(1, sizeof(*s));
        const char *q;
        int r;

        if (!s)
                return -ENOMEM;
        /* The URL may carry a SAS after the endpoint by mistake: log only up to '?'. */
        q = strchr(url, '?');
        s->url = q ? strndup(url, (size_t) (q - url)) : strdup(url);
        if (!s->url) {
                free(s);
                return -ENOMEM;
        }
        if (store_url_is_azblob(url))
                r = http ? store_azblob_open(url, http, o, s, err, errsz) : -EINVAL;
        else if (strstr(url, "://")) {
                snprintf(err, errsz, "unknown store URL scheme (file:DIR or azblob://ACCOUNT/CONTAINER)");
                r = -EINVAL;
        } else
                r = store_file_open(store_url_dir(url), s, err, errsz);
        if (r < 0) {
                free(s->url);
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

void store_close(struct store *s)
{
        if (!s)
                return;
        s->ops->close(s->impl);
        free(s->url);
        free(s);
}

bool store_lookup(struct store *s, const char sha256[65], struct cstore_entry *ret)
{
        return s->ops->lookup(s->impl, sha256, ret);
}

enum chain_status store_chain(struct store *s, const char *key_id, uint64_t sequence, const char *previous)
{
        return s->ops->chain(s->impl, key_id, sequence, previous);
}

int store_stage(struct store *s, const struct cstore_entry *e, const char *data, size_t len, const char *summary,
                size_t summary_len, struct store_staged **ret, char *err, size_t errsz)
{
        return s->ops->stage(s->impl, e, data, len, summary, summary_len, ret, err, errsz);
}

int store_commit(struct store *s, struct store_staged *const *items, size_t n, char *err, size_t errsz)
{
        return s->ops->commit(s->impl, items, n, err, errsz);
}

void store_staged_free(struct store *s, struct store_staged *st)
{
        s->ops->staged_free(st);
}

uint64_t store_envelopes(const struct store *s)
{
        return s->ops->envelopes(s->impl);
}

uint64_t store_bytes(const struct store *s)
{
        return s->ops->bytes(s->impl);
}

uint64_t store_keys(const struct store *s)
{
        return s->ops->keys(s->impl);
}
