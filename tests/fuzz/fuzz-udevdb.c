/* SPDX-License-Identifier: Apache-2.0 */
/* A udev database entry, run/udev/data/b<maj>:<min>: the fallback source of
 * filesystem type and label when a device cannot be opened. udev writes
 * what blkid found on the disk, so a disk's owner chooses the label bytes.
 *
 * Properties: the source is always "udev"; the answer is 0 exactly when a
 * type or partition table was found; every string stays terminated within
 * its field (ASan checks the bounds, strlen the terminator). */
#include "fuzz.h"

#include "blkprobe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_cstr(data, size);
        struct fs_facts f;
        int r;

        memset(&f, 0xa5, sizeof(f));
        r = udevdb_parse_fs(text, &f);
        FUZZ_ASSERT(r == 0 || r == 1);
        FUZZ_ASSERT(f.source == FS_SOURCE_UDEV);
        FUZZ_ASSERT(strnlen(f.type, sizeof(f.type)) < sizeof(f.type));
        FUZZ_ASSERT(strnlen(f.label, sizeof(f.label)) < sizeof(f.label));
        FUZZ_ASSERT(strnlen(f.pttype, sizeof(f.pttype)) < sizeof(f.pttype));
        FUZZ_ASSERT((r == 0) == (f.type[0] || f.pttype[0]));
        free(text);
        return 0;
}
