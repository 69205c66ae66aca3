/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a Blob store for audit and verify: each VM's newest envelope by
 * its vm/ listing, or every object. The names are what whoever could write
 * to the container wrote; store_verify() holds them against what the
 * envelopes signed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect_index.h"
#include "collect_store.h"
#include "crypto.h"
#include "dsse.h"
#include "macro.h"
#include "store_azblob_priv.h"
#include "store_iface.h"
#include "verify.h"

#define FALLBACK_PER_VM 8               /* older envelopes tried when the newest is not valid */
#define ENTRY_MAX 256                   /* vm/ + 63 + / + 20 + - + 20 + - + 64 + .json, with room */
#define OBJECT_PREFIX_LEN 11            /* "objects/aa/" */

struct reader {
        struct conn c;
        store_reader each;
        void *userdata;
        char vm[64];
        char entries[FALLBACK_PER_VM][ENTRY_MAX];       /* the current VM's newest entries, a ring */
        unsigned n, next;
        char *err;
        size_t errsz;
};

/* The object named by digest sha (64 hex digits), handed to each(). */
static int read_object(struct reader *rd, const char *entry, const char *sha, bool *valid)
{
        _cleanup_free_ char *data = NULL;
        struct store_listing l = { .entry = entry };
        char name[128], have[65];
        uint8_t d[32];
        size_t len;
        int r;

        snprintf(name, sizeof(name), "objects/%.2s/%.64s.json", sha, sha);
        r = azblob_get(rd->c.blob, name, DSSE_MAX_ENVELOPE, &data, &len, rd->err, rd->errsz);
        if (r < 0)
                return r;
        sha256(data, len, d);
        hex_encode(d, 32, have);
        l.name = name;
        memcpy(l.sha256, sha, 64);
        l.digest_matches = !strncmp(have, sha, 64);
        *valid = rd->each(rd->userdata, &l, data, len);
        return 0;
}

/* The VM's newest envelope; older ones while they are not valid. */
static int flush_vm(struct reader *rd)
{
        bool valid = false;

        for (unsigned i = 0; i < rd->n && !valid; i++) {
                const char *e = rd->entries[(rd->next + FALLBACK_PER_VM - 1 - i) % FALLBACK_PER_VM];
                int r = read_object(rd, e, e + strlen(e) - 69, &valid);

                if (r < 0)
                        return r;
        }
        rd->n = rd->next = 0;
        return 0;
}

/* vm/<vmId>/<...>-<sha256>.json; anything else under vm/ is not ours. */
static int read_vm_entry(void *userdata, const char *name)
{
        struct reader *rd = userdata;
        const char *vm = name + 3, *slash = strchr(vm, '/');
        size_t vlen, nlen = strlen(name);
        int r;

        if (strncmp(name, "vm/", 3) || !slash || (vlen = (size_t) (slash - vm)) >= sizeof(rd->vm) || nlen < 70 ||
            nlen >= ENTRY_MAX || strcmp(name + nlen - 5, ".json") || !cindex_hex_n(name + nlen - 69, 64))
                return 0;
        if (strlen(rd->vm) != vlen || strncmp(rd->vm, vm, vlen)) {
                r = flush_vm(rd);
                if (r < 0)
                        return r;
                memcpy(rd->vm, vm, vlen);
                rd->vm[vlen] = '\0';
        }
        memcpy(rd->entries[rd->next], name, nlen + 1);
        rd->next = (rd->next + 1) % FALLBACK_PER_VM;
        rd->n += rd->n < FALLBACK_PER_VM;
        return 0;
}

static int read_any_object(void *userdata, const char *name)
{
        struct reader *rd = userdata;
        bool valid;

        if (strncmp(name, "objects/", 8) || strlen(name) != OBJECT_PREFIX_LEN + 64 + 5 ||
            !cindex_hex_n(name + OBJECT_PREFIX_LEN, 64) || strcmp(name + OBJECT_PREFIX_LEN + 64, ".json"))
                return 0;
        return read_object(rd, NULL, name + OBJECT_PREFIX_LEN, &valid);
}

static int read_store(const char *url, const struct http_transport *http, bool freshest, store_reader each,
                      void *userdata, char *err, size_t errsz)
{
        struct reader *rd = calloc(1, sizeof(*rd));
        int r;

        if (!rd)
                return -ENOMEM;
        *rd = (struct reader){ .each = each, .userdata = userdata, .err = err, .errsz = errsz };
        r = azconn_open(url, http, 0, &rd->c, err, errsz);
        if (r == 0)
                r = azblob_list(rd->c.blob, freshest ? "vm/" : "objects/", 0,
                                freshest ? read_vm_entry : read_any_object, rd, err, errsz);
        if (r == 0 && freshest)
                r = flush_vm(rd);
        azconn_done(&rd->c);
        free(rd);
        return r;
}

int store_read_freshest(const char *url, const struct http_transport *http, store_reader each, void *userdata,
                        char *err, size_t errsz)
{
        return read_store(url, http, true, each, userdata, err, errsz);
}

int store_azblob_read_all(const char *url, const struct http_transport *http, store_reader each, void *userdata,
                          char *err, size_t errsz)
{
        return read_store(url, http, false, each, userdata, err, errsz);
}

void store_verify(struct verifier *v, const struct store_listing *l, const char *data, size_t len,
                  struct verify_result *ret)
{
        const char *sha = l->sha256;
        char want[ENTRY_MAX];

        verify_envelope(v, data, len, ret);
        if (!l->digest_matches) {
                ret->reason = VERIFY_LISTING;
                snprintf(ret->detail, sizeof(ret->detail), "the bytes stored as %.64s do not hash to that digest",
                         sha);
                return;
        }
        if (!l->entry || !verify_result_valid(ret))
                return;
        if ((size_t) cstore_vm_entry(want, sizeof(want), ret->vm_id, ret->observed_at, ret->sequence, sha) >=
                    sizeof(want) ||
            strcmp(want, l->entry)) {
                ret->reason = VERIFY_LISTING;
                snprintf(ret->detail, sizeof(ret->detail),
                         "the listing entry does not name what the envelope signed (vmId %s, observedAt %s, "
                         "sequence %llu)",
                         ret->vm_id, ret->observed_at, (unsigned long long) ret->sequence);
        }
}
