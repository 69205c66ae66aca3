/* SPDX-License-Identifier: Apache-2.0 */
/* From a device number to the physical disks under it: a partition belongs
 * to its parent disk; dm and md devices to whatever their slaves resolve to. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "blockdev.h"
#include "macro.h"
#include "strparse.h"

#define MAX_DEPTH 8

static struct disk_facts *find_disk(struct host_facts *h, unsigned major, unsigned minor)
{
        for (unsigned i = 0; i < h->n_disks; i++) {
                struct disk_facts *d = &h->disks[i];

                if (d->major == major && d->minor == minor)
                        return d;
                for (unsigned k = 0; k < d->n_parts; k++)
                        if (d->parts[k].major == major && d->parts[k].minor == minor)
                                return d;
        }
        return NULL;
}

static int resolve(const struct sysroot *sr, struct host_facts *h, const char *devpath, unsigned depth,
                   void (*mark)(struct disk_facts *, void *), void *userdata);

static int via_slaves(const struct sysroot *sr, struct host_facts *h, const char *devpath, unsigned depth,
                      void (*mark)(struct disk_facts *, void *), void *userdata)
{
        _cleanup_close_ int fd = -EBADF;
        char slaves[PATH_MAX], link[PATH_MAX], real[PATH_MAX];
        struct dirent *de;
        DIR *dp;
        int found = 0, r;

        if (path_join(slaves, sizeof(slaves), devpath, "slaves") < 0)
                return -ENAMETOOLONG;
        fd = openat(sr->dirfd, slaves, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dp = fd >= 0 ? fdopendir(TAKE_FD(fd)) : NULL;
        while (dp && (de = readdir(dp))) {
                if (de->d_name[0] == '.')
                        continue;
                if (path_join(link, sizeof(link), slaves, de->d_name) < 0 ||
                    sysroot_resolve(sr, link, real, sizeof(real)) < 0)
                        continue;
                r = resolve(sr, h, real, depth + 1, mark, userdata);
                if (r > 0)
                        found += r;
        }
        if (dp)
                closedir(dp);
        return found;
}

static int resolve(const struct sysroot *sr, struct host_facts *h, const char *devpath, unsigned depth,
                   void (*mark)(struct disk_facts *, void *), void *userdata)
{
        char rel[PATH_MAX], v[32];
        unsigned maj, min;
        struct disk_facts *d;

        if (depth > MAX_DEPTH)
                return -ELOOP;
        if (path_join(rel, sizeof(rel), devpath, "dev") < 0 ||
            sysroot_read_attr(sr, rel, v, sizeof(v)) < 0 || parse_devnum(v, &maj, &min) < 0)
                return 0;
        d = find_disk(h, maj, min);
        if (d) {
                mark(d, userdata);
                return 1;
        }
        return via_slaves(sr, h, devpath, depth, mark, userdata);
}

int blockdev_physical_disks(const struct sysroot *sr, struct host_facts *h, unsigned major,
                            unsigned minor, void (*mark)(struct disk_facts *d, void *userdata),
                            void *userdata)
{
        char rel[64], real[PATH_MAX];
        struct disk_facts *d = find_disk(h, major, minor);

        if (d) {
                mark(d, userdata);
                return 1;
        }
        snprintf(rel, sizeof(rel), "sys/dev/block/%u:%u", major, minor);
        if (sysroot_resolve(sr, rel, real, sizeof(real)) < 0)
                return 0;
        return resolve(sr, h, real, 0, mark, userdata);
}
