/* SPDX-License-Identifier: Apache-2.0 */
/* The only module that touches libblkid. */
#include "blkprobe.h"

#include <errno.h>
#include <string.h>

#include <blkid/blkid.h>

#include "strparse.h"

static void blkid_probe_freep(blkid_probe *pr)
{
        if (*pr)
                blkid_free_probe(*pr);
}

static void lookup(blkid_probe pr, const char *name, char *dst, size_t dstsz)
{
        const char *v = NULL;
        size_t len = 0;

        if (blkid_probe_lookup_value(pr, name, &v, &len) == 0 && v)
                (void) strcpy_bounded(dst, dstsz, v);   /* oversized values stay empty */
}

int blkprobe_fd(int fd, struct fs_facts *ret)
{
        __attribute__((cleanup(blkid_probe_freep))) blkid_probe pr = NULL;
        struct fs_facts f = { .source = FS_SOURCE_BLKID };
        int r;

        pr = blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, 0, 0) < 0)
                return -EIO;
        if (blkid_probe_enable_superblocks(pr, 1) < 0 ||
            blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL |
                                                      BLKID_SUBLKS_USAGE) < 0 ||
            blkid_probe_enable_partitions(pr, 1) < 0)
                return -EIO;
        r = blkid_do_safeprobe(pr);
        if (r == -2)
                return -ENOTUNIQ;       /* ambiguous signatures: report nothing rather than guess */
        if (r < 0)
                return -EIO;
        if (r == 0) {
                lookup(pr, "TYPE", f.type, sizeof(f.type));
                lookup(pr, "LABEL", f.label, sizeof(f.label));
                lookup(pr, "PTTYPE", f.pttype, sizeof(f.pttype));
        }
        *ret = f;
        return r;
}
