/* SPDX-License-Identifier: Apache-2.0 */
/* One line of the collector's index.jsonl (fleet/collect_index.c). The
 * index is read back at every start; a torn write, a full disk or a person
 * with an editor puts bytes in it.
 *
 * Properties: a line is an entry or -EBADMSG, nothing else; an entry
 * formatted again and parsed again is the same entry (what the store
 * writes, it reads back). */
#include "fuzz.h"

#include "collect_index.h"
#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *line = fuzz_copy(data, size), *again;
        struct cindex_rec rec, back;
        struct cstore_entry e = { 0 };
        int r;

        r = cindex_parse_line(line, size, &rec);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG);
        if (r == 0) {
                FUZZ_ASSERT(rec.sequence >= 1 && rec.chain < CHAIN_COUNT);
                hex_encode(rec.digest, sizeof(rec.digest), e.sha256);
                memcpy(e.vm_id, rec.vm_id, sizeof(e.vm_id));
                memcpy(e.key_id, rec.key_id, sizeof(e.key_id));
                e.sequence = rec.sequence;
                e.chain = rec.chain;
                e.bytes = rec.bytes;
                again = cindex_format_line(&e);
                FUZZ_ASSERT(again != NULL);
                FUZZ_ASSERT(cindex_parse_line(again, strlen(again) - 1, &back) == 0);
                FUZZ_ASSERT(!memcmp(rec.digest, back.digest, sizeof(rec.digest)) &&
                            !strcmp(rec.vm_id, back.vm_id) && !strcmp(rec.key_id, back.key_id) &&
                            rec.sequence == back.sequence && rec.chain == back.chain && rec.bytes == back.bytes);
                free(again);
        }
        free(line);
        return 0;
}
