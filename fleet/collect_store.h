/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The collector's store: append-only and crash-safe (docs/collector.md).
 *
 *   DIR/objects/<aa>/<sha256>.json          the envelope, content-addressed
 *   DIR/vm/<vmId>/<observedAt>-<seq>-<sha256>.json   hard link to the object
 *   DIR/summaries/<sha256>.json             the collector's signed summary (optional)
 *   DIR/index.jsonl                         one line per acknowledged envelope
 *
 * The index line is the commit point: it is written and fsync'd last, after
 * the files it names are durable, and only then is the envelope
 * acknowledged. The in-memory state (digests seen, each key's chain head) is
 * rebuilt from the index at open. One thread stages and looks up; one
 * thread (the same or another) commits. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum chain_status { CHAIN_FIRST, CHAIN_OK, CHAIN_GAP, CHAIN_REPLAY, CHAIN_COUNT };

extern const char *const chain_status_names[CHAIN_COUNT];

struct cstore;

/* What the index records for one envelope. */
struct cstore_entry {
        char sha256[65];
        char vm_id[64];
        char key_id[64];
        uint64_t sequence;
        char previous[65];              /* "" when the statement has none */
        char observed_at[32];           /* RFC 3339 */
        char verdict[16];
        time_t received_at;
        enum chain_status chain;
        uint64_t bytes;
};

/* The per-VM listing entry of an envelope, the same in every back end:
 * "vm/<vmId>/<observedAt>-<seq, 6+ digits>-<sha256>.json", where observedAt
 * keeps only its digits, 'T' and 'Z' ("20261127T193040Z": sorts, and needs
 * no quoting; no control character or separator reaches a name). Returns
 * the snprintf() result: >= n means it did not fit. */
int cstore_vm_entry(char *out, size_t n, const char *vm_id, const char *observed_at, uint64_t sequence,
                    const char *sha256_hex);

/* Creates the layout if needed, takes an exclusive lock on the store,
 * removes temporary files a crash left, truncates a torn last index line
 * and rebuilds the state. -EBUSY when another collector holds the store;
 * other errors with a message in err. */
int cstore_open(const char *dir, struct cstore **ret, char *err, size_t errsz);
void cstore_close(struct cstore *s);

/* The stored entry with this digest (hex), if any: vm_id, sequence, chain. */
bool cstore_lookup(const struct cstore *s, const char sha256[65], struct cstore_entry *ret);

/* How an envelope from key_id with this sequence and previous digest
 * (NULL or "" for none) continues that key's chain. */
enum chain_status cstore_chain(const struct cstore *s, const char *key_id, uint64_t sequence, const char *previous);

/* Two steps, so that many envelopes share the fsyncs (group commit):
 *
 * cstore_stage() writes the envelope (and summary, if not NULL) as
 * temporary files, and takes the entry into the in-memory state at once, so
 * that a second copy is seen as a duplicate.
 *
 * cstore_commit() makes staged entries durable, in their order: fsync the
 * temporary files, rename them into place, link the vm entries, fsync the
 * directories, append the index lines, fdatasync the index. Only then may
 * they be acknowledged. It may run on another thread than cstore_stage(),
 * but one at a time. After a failed commit the store refuses every further
 * commit: the in-memory state is ahead of the disk, and a restart rebuilds
 * it from the index. */
struct cstore_staged;

int cstore_stage(struct cstore *s, const struct cstore_entry *e, const char *data, size_t len, const char *summary,
                 size_t summary_len, struct cstore_staged **ret, char *err, size_t errsz);
int cstore_commit(struct cstore *s, struct cstore_staged *const *items, size_t n, char *err, size_t errsz);
/* Frees a staged entry; its temporary files are removed unless committed. */
void cstore_staged_free(struct cstore_staged *st);

uint64_t cstore_envelopes(const struct cstore *s);
uint64_t cstore_bytes(const struct cstore *s);         /* envelope bytes in the index */
uint64_t cstore_keys(const struct cstore *s);
const char *cstore_dir(const struct cstore *s);
