/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* One line of the store's DIR/index.jsonl (collect_store.h): the record of
 * one acknowledged envelope, compact JSON and a newline. The parser reads
 * what a crash, a disk or a person may have left in that file, so it trusts
 * nothing: a line is either a whole entry or -EBADMSG. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect_store.h"

struct cindex_rec {
        uint8_t digest[32];
        char vm_id[64];
        char key_id[64];
        uint64_t sequence;              /* 1 .. 2^53 - 1 */
        enum chain_status chain;
        uint64_t bytes;                 /* 0 when absent or negative */
};

/* Parses one line (without its newline). -EBADMSG when it is not an entry:
 * not JSON, a digest that is not 64 lower-case hex digits, a vmId that is
 * not a safe file name (cindex_safe_name), a keyId that is not visible
 * ASCII, either missing or too long, a sequence outside 1 .. 2^53 - 1, an unknown chain. */
int cindex_parse_line(const char *line, size_t len, struct cindex_rec *ret);

/* The line for an entry, newline included (free()); NULL when out of memory. */
char *cindex_format_line(const struct cstore_entry *e);

/* What the store accepts as a vmId, since it names a directory: 1..63
 * bytes of [0-9A-Za-z._-], not starting with a dot. */
bool cindex_safe_name(const char *s);

/* 64 lower-case hex digits and nothing else. */
/* n lowercase hex digits (s need not end there). */
bool cindex_hex_n(const char *s, size_t n);
bool cindex_hex64(const char *s);
