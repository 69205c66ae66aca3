/* SPDX-License-Identifier: Apache-2.0 */
#include "blockdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "blkprobe.h"
#include "macro.h"
#include "mountinfo.h"
#include "strparse.h"

/* Layered or memory-backed devices: their storage is one of the physical
 * disks (dm, md, loop) or RAM. Everything else must be accounted for. */
static const char *const virtual_prefixes[] = { "loop", "ram", "zram", "dm-", "md" };

static bool is_layered(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(virtual_prefixes); i++)
                if (startswith(name, virtual_prefixes[i]))
                        return true;
        return false;
}

static int read_u64_attr(const struct sysroot *sr, const char *dir, const char *attr, uint64_t *ret)
{
        char rel[PATH_MAX], v[32];
        int r;

        if (path_join(rel, sizeof(rel), dir, attr) < 0)
                return -ENAMETOOLONG;
        r = sysroot_read_attr(sr, rel, v, sizeof(v));
        return r < 0 ? r : parse_u64(v, ret);
}

static int read_dev_size(const struct sysroot *sr, const char *dir, unsigned *maj, unsigned *min,
                         uint64_t *bytes)
{
        char rel[PATH_MAX], v[32];
        uint64_t sectors;
        int r;

        if (path_join(rel, sizeof(rel), dir, "dev") < 0)
                return -ENAMETOOLONG;
        r = sysroot_read_attr(sr, rel, v, sizeof(v));
        if (r < 0 || (r = parse_devnum(v, maj, min)) < 0)
                return r;
        r = read_u64_attr(sr, dir, "size", &sectors);
        if (r < 0)
                return r;
        /* sysfs "size" is in 512-byte sectors whatever the sector size. */
        if (__builtin_mul_overflow(sectors, UINT64_C(512), bytes))
                return -EOVERFLOW;
        return 0;
}

/* libblkid on dev/<name>, else the udev database; records the source. */
static void probe_fs(const struct sysroot *sr, const char *name, unsigned maj, unsigned min,
                     struct fs_facts *fs)
{
        _cleanup_close_ int fd = -EBADF;
        char rel[PATH_MAX];
        struct stat st;

        snprintf(rel, sizeof(rel), "dev/%s", name);
        fd = sysroot_open_file(sr, rel, O_RDONLY | O_NONBLOCK);
        /* A block node must be the device we mean; a regular file is an
         * image (fixtures, or a host root prepared for offline review). */
        if (fd >= 0 && fstat(fd, &st) == 0 &&
            ((S_ISBLK(st.st_mode) && st.st_rdev == makedev(maj, min)) || S_ISREG(st.st_mode)) &&
            blkprobe_fd(fd, fs) >= 0)
                return;
        if (udevdb_read_fs(sr, maj, min, fs) >= 0)
                return;
        *fs = (struct fs_facts){ .source = FS_SOURCE_NONE };
}

static void collect_parts(const struct sysroot *sr, const char *devpath, struct disk_facts *d)
{
        _cleanup_close_ int fd = -EBADF;
        char dir[PATH_MAX], probe[PATH_MAX];
        struct dirent *de;
        DIR *dp;

        fd = openat(sr->dirfd, devpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dp = fd >= 0 ? fdopendir(TAKE_FD(fd)) : NULL;
        while (dp && (de = readdir(dp)) && d->n_parts < DISK_MAX_PARTS) {
                struct part_facts *p = &d->parts[d->n_parts];

                if (!startswith(de->d_name, d->name) || !strcmp(de->d_name, d->name))
                        continue;
                if (path_join(dir, sizeof(dir), devpath, de->d_name) < 0 ||
                    path_join(probe, sizeof(probe), dir, "partition") < 0 ||
                    faccessat(sr->dirfd, probe, F_OK, 0) < 0)
                        continue;
                if (strcpy_bounded(p->name, sizeof(p->name), de->d_name) < 0 ||
                    read_dev_size(sr, dir, &p->major, &p->minor, &p->size_bytes) < 0)
                        continue;
                probe_fs(sr, p->name, p->major, p->minor, &p->fs);
                d->n_parts++;
        }
        if (dp)
                closedir(dp);
}

/* Devices that hold no storage of the VM: a CD/DVD drive (SCSI peripheral
 * type 5; the Gen2 DVD on VMBus, the Gen1 one on ata_piix, the provisioning
 * ISO), and a removable drive on the platform bus (the Gen1 legacy floppy
 * fd0, which reports a few sectors with no medium). Decided by what the
 * device is, never by its name. */
static bool is_not_storage(const struct sysroot *sr, const char *devpath)
{
        char rel[PATH_MAX], v[8], bus[PATH_MAX];

        if (path_join(rel, sizeof(rel), devpath, "device/type") == 0 &&
            sysroot_read_attr(sr, rel, v, sizeof(v)) == 0 && !strcmp(v, "5"))
                return true;
        return path_join(rel, sizeof(rel), devpath, "removable") == 0 &&
               sysroot_read_attr(sr, rel, v, sizeof(v)) == 0 && !strcmp(v, "1") &&
               path_join(rel, sizeof(rel), devpath, "device/subsystem") == 0 &&
               sysroot_resolve(sr, rel, bus, sizeof(bus)) == 0 && !strcmp(bus, "sys/bus/platform");
}

/* The disk stays in the inventory, unclassified, with what went wrong. */
static int disk_failed(struct disk_facts *d, const char *what, int r)
{
        d->role = ROLE_UNKNOWN;
        snprintf(d->error, sizeof(d->error), "%s: %s", what, strerror(-r));
        return 0;
}

/* Returns 1 when the entry is not a disk we account for, else 0 with d
 * filled in; a disk that cannot be read whole (it vanished mid-scan: a CSI
 * detach; an attribute is unreadable) carries d->error, and the scan goes
 * on with the next one. */
static int collect_disk(const struct sysroot *sr, const char *name, struct disk_facts *d)
{
        char rel[PATH_MAX], devpath[PATH_MAX];
        int r;

        if (is_layered(name))
                return 1;
        *d = (struct disk_facts){ .lun = -1 };
        if (strcpy_bounded(d->name, sizeof(d->name), name) < 0) {
                snprintf(d->name, sizeof(d->name), "%.*s...", (int) sizeof(d->name) - 4, name);
                return disk_failed(d, "kernel name", -ENAMETOOLONG);
        }
        snprintf(rel, sizeof(rel), "sys/block/%s", name);
        r = sysroot_resolve(sr, rel, devpath, sizeof(devpath));
        if (r < 0)
                return disk_failed(d, "sysfs directory", r);
        if (is_not_storage(sr, devpath))
                return 1;
        r = read_dev_size(sr, devpath, &d->major, &d->minor, &d->size_bytes);
        if (r < 0)
                return disk_failed(d, "dev or size", r);
        if (d->size_bytes == 0)
                return 1;       /* no medium: an unconnected nbd, an empty drive */
        r = diskaddr_classify(sr, devpath, d);
        if (r < 0)
                return disk_failed(d, "address", r);
        probe_fs(sr, name, d->major, d->minor, &d->fs);
        collect_parts(sr, devpath, d);
        return 0;
}

static int collect_disks(const struct sysroot *sr, struct host_facts *h)
{
        _cleanup_close_ int fd = -EBADF;
        struct dirent *de;
        DIR *dp;
        int r = 0;

        fd = openat(sr->dirfd, "sys/block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                snprintf(h->error, sizeof(h->error), "sys/block: %s", strerror(-r));
                return r;
        }
        dp = fdopendir(TAKE_FD(fd));
        if (!dp)
                return negative_errno();
        while ((de = readdir(dp))) {
                if (de->d_name[0] == '.')
                        continue;
                if (h->n_disks >= HOST_MAX_DISKS) {
                        snprintf(h->error, sizeof(h->error),
                                 "sys/block: more than %d disks, more than any Azure size attaches", HOST_MAX_DISKS);
                        r = -E2BIG;
                        break;
                }
                if (collect_disk(sr, de->d_name, &h->disks[h->n_disks]) == 0)
                        h->n_disks++;
        }
        closedir(dp);
        return r;
}

struct mount_ref {
        struct host_facts *h;
        const char *mountpoint;
};

static void add_mount(struct disk_facts *d, void *userdata)
{
        const struct mount_ref *m = userdata;

        disk_add_mount(m->h, d, m->mountpoint);
}

static void mark_root(struct disk_facts *d, void *userdata)
{
        d->holds_root = true;
}

static void map_mounts(const struct sysroot *sr, struct host_facts *h)
{
        _cleanup_free_ char *text = NULL;
        struct mount_table t = { 0 };
        const struct mount_entry *root;
        size_t len;
        int r;

        r = sysroot_read_file(sr, "proc/1/mountinfo", MOUNTINFO_MAX_BYTES, &text, &len);
        if (r < 0 || (r = mountinfo_parse(text, &t)) < 0) {
                snprintf(h->root_error, sizeof(h->root_error), "proc/1/mountinfo: %s", strerror(-r));
                return;
        }
        for (size_t i = 0; i < t.n; i++) {
                struct mount_ref m = { h, t.entries[i].mountpoint };

                if (t.entries[i].major != 0)
                        (void) blockdev_physical_disks(sr, h, t.entries[i].major, t.entries[i].minor, add_mount,
                                                       &m);
        }
        root = mount_table_root(&t);
        if (!root)
                snprintf(h->root_error, sizeof(h->root_error), "proc/1/mountinfo: nothing is mounted on /");
        else {
                snprintf(h->root_source, sizeof(h->root_source), "%u:%u %s", root->major, root->minor,
                         root->source);
                r = blockdev_physical_disks(sr, h, root->major, root->minor, mark_root, NULL);
                h->root_resolved = r > 0;
                if (r <= 0)
                        snprintf(h->root_error, sizeof(h->root_error),
                                 "the root filesystem (%u:%u %s) does not resolve to a disk",
                                 root->major, root->minor, root->source);
        }
        mount_table_done(&t);
}

void blockdev_collect(const struct sysroot *sr, struct host_facts *ret)
{
        struct host_facts *h = ret;

        host_facts_reset(h);
        h->state = HOST_OK;
        if (collect_disks(sr, h) < 0) {
                h->state = HOST_UNREADABLE;
                return;
        }
        map_mounts(sr, h);
}
