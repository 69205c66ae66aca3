/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The collector's store behind one interface, with two back ends:
 *
 *   file:DIR (or a plain DIR)     collect_store.c, one collector per store
 *   azblob://ACCOUNT/CONTAINER[?endpoint=URL]
 *                                 store_azblob.c, Azure Blob Storage; any
 *                                 number of collectors share a container
 *
 * Both keep the same layout and rules: objects named by their SHA-256,
 * a per-VM listing, nothing ever overwritten, a second copy of an
 * envelope idempotent, and an envelope acknowledged only once the commit
 * that holds it returned 0 (docs/collector.md). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect_store.h"
#include "http.h"

struct store;
struct store_staged;

struct store_ops {
        bool (*lookup)(void *impl, const char sha256[65], struct cstore_entry *ret);
        enum chain_status (*chain)(void *impl, const char *key_id, uint64_t sequence, const char *previous);
        int (*stage)(void *impl, const struct cstore_entry *e, const char *data, size_t len, const char *summary,
                     size_t summary_len, struct store_staged **ret, char *err, size_t errsz);
        int (*commit)(void *impl, struct store_staged *const *items, size_t n, char *err, size_t errsz);
        void (*staged_free)(struct store_staged *st);
        uint64_t (*envelopes)(const void *impl);
        uint64_t (*bytes)(const void *impl);
        uint64_t (*keys)(const void *impl);
        void (*close)(void *impl);
};

struct store {
        const struct store_ops *ops;
        void *impl;
        char *url;                      /* for logs: never holds a secret */
};

/* Tuning of a store's back end; zero: the default. */
struct store_options {
        long request_timeout_ms;        /* azblob://: one try of one request (default 30 s) */
};

/* Opens the store the URL names. The transport (used by azblob:// only)
 * is borrowed and must outlive the store; o may be NULL. */
int store_open(const char *url, const struct http_transport *http, const struct store_options *o, struct store **ret,
               char *err, size_t errsz);
void store_close(struct store *s);

/* What the back ends share, as in collect_store.h. A commit that returns
 * -EAGAIN stored nothing it could not store again: nothing is
 * acknowledged, and the store stays usable (a Blob outage); any other
 * error leaves it refusing further commits until a restart. */
bool store_lookup(struct store *s, const char sha256[65], struct cstore_entry *ret);
enum chain_status store_chain(struct store *s, const char *key_id, uint64_t sequence, const char *previous);
int store_stage(struct store *s, const struct cstore_entry *e, const char *data, size_t len, const char *summary,
                size_t summary_len, struct store_staged **ret, char *err, size_t errsz);
int store_commit(struct store *s, struct store_staged *const *items, size_t n, char *err, size_t errsz);
void store_staged_free(struct store *s, struct store_staged *st);
uint64_t store_envelopes(const struct store *s);
uint64_t store_bytes(const struct store *s);
uint64_t store_keys(const struct store *s);

/* The back ends' constructors (store_file.c, store_azblob.c). */
int store_file_open(const char *dir, struct store *s, char *err, size_t errsz);
int store_azblob_open(const char *url, const struct http_transport *http, const struct store_options *o,
                      struct store *s, char *err, size_t errsz);

/* Readers for audit and verify. store_read_freshest() (azblob:// only: a
 * directory store is read whole, as files) calls each() with every VM's
 * newest envelope, by its vm/ listing entry (and, while each() answers
 * false for "not valid", the next older ones, up to a few);
 * store_read_all() (azblob:// or a directory store) with every envelope
 * under objects/, in name order.
 *
 * Names are not signed, and whoever can write to the container can write
 * any name: each() gets what the names claim, to hold against what the
 * envelope signed (store_verify()). */
struct store_listing {
        const char *name;               /* the blob or file read: [DIR/]objects/<aa>/<sha256>.json */
        const char *entry;              /* the vm/ entry that named it; NULL from store_read_all() */
        char sha256[65];                /* the digest in name */
        bool digest_matches;            /* the bytes' SHA-256 is that digest */
};
typedef bool (*store_reader)(void *userdata, const struct store_listing *l, const char *data, size_t len);
int store_read_freshest(const char *url, const struct http_transport *http, store_reader each, void *userdata,
                        char *err, size_t errsz);
int store_read_all(const char *url, const struct http_transport *http, store_reader each, void *userdata, char *err,
                   size_t errsz);
/* The back ends' store_read_all() (store_file.c, store_azread.c). */
int store_file_read_all(const char *dir, store_reader each, void *userdata, char *err, size_t errsz);
int store_azblob_read_all(const char *url, const struct http_transport *http, store_reader each, void *userdata,
                          char *err, size_t errsz);

struct verifier;
struct verify_result;
/* verify_envelope(), then the listing held against it: bytes that do not
 * hash to their name, or a vm/ entry whose vmId, observedAt, sequence or
 * digest is not the envelope's, are VERIFY_LISTING (so a forged entry can
 * neither put an older envelope first nor file one under another VM). */
void store_verify(struct verifier *v, const struct store_listing *l, const char *data, size_t len,
                  struct verify_result *ret);
bool store_url_is_azblob(const char *url);
/* A directory a collector made: it holds index.jsonl and objects/. */
bool store_dir_is_store(const char *dir);
/* "file:DIR" -> "DIR"; anything else unchanged. */
const char *store_url_dir(const char *url);
