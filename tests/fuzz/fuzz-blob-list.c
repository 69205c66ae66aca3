/* SPDX-License-Identifier: Apache-2.0 */
/* A List Blobs answer from Blob Storage (or anything in between that can
 * answer in its place).
 *
 * Properties: every name handed out is NUL-terminated, shorter than the
 * bound and free of '<'; the next marker fits its buffer; the result is 0
 * or -EBADMSG. */
#include "fuzz.h"

#include "azblob.h"

static int each(void *userdata, const char *name)
{
        size_t *n = userdata;

        FUZZ_ASSERT(strlen(name) <= 1024);
        (*n)++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char marker[64];
        size_t n = 0;
        int r = azblob_parse_list((const char *) data, size, each, &n, marker, sizeof(marker));

        FUZZ_ASSERT(r == 0 || r == -EBADMSG);
        if (r == 0)
                FUZZ_ASSERT(strlen(marker) < sizeof(marker) && !strchr(marker, '<'));
        return 0;
}
