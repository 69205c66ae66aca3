/* SPDX-License-Identifier: Apache-2.0 */
/* Classifies disks by address, never by kernel name (the Azure udev rules of
 * WALinuxAgent, cloud-init and azure-vm-utils, and azure-vm-utils'
 * doc/disk-identification.md):
 * SCSI by VMBus controller GUID and LUN, NVMe by controller model, PCI
 * vendor 0x1414 and namespace id. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "blockdev.h"
#include "macro.h"
#include "strparse.h"

#define GEN1_OS_GUID       "00000000-0000-8899-0000-000000000000"
#define GEN1_RESOURCE_GUID "00000000-0001-8899-0000-000000000000"
#define GEN1_BEK_PREFIX    "00000001-0001-"
#define SCSI0_GUID         "f8b3781a-1e82-4818-a1c3-63d806ec15bb"
#define MSFT_PCI_VENDOR    "0x1414"

static const char *const data_controllers[] = {
        "f8b3781b-1e82-4818-a1c3-63d806ec15bb",
        "f8b3781c-1e82-4818-a1c3-63d806ec15bb",
        "f8b3781d-1e82-4818-a1c3-63d806ec15bb",
};

static void lowercase(char *s)
{
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'F')
                        *s = (char) (*s - 'A' + 'a');
}

int diskaddr_vmbus_guid(const struct sysroot *sr, const char *devpath, char *out, size_t outsz)
{
        char path[PATH_MAX], attr[PATH_MAX], id[64], *slash, *comp;
        int r;

        if (strcpy_bounded(path, sizeof(path), devpath) < 0)
                return -ENAMETOOLONG;
        /* Walk up from the block device to the first ancestor that is a
         * VMBus device: a directory named by a GUID that has device_id. */
        while ((slash = strrchr(path, '/'))) {
                *slash = '\0';
                comp = strrchr(path, '/');
                comp = comp ? comp + 1 : path;
                if (!str_is_guid(comp))
                        continue;
                if (path_join(attr, sizeof(attr), path, "device_id") < 0)
                        return -ENAMETOOLONG;
                r = sysroot_read_attr(sr, attr, id, sizeof(id));
                if (r < 0)
                        continue;
                if (id[0] == '{' && strlen(id) == 38 && id[37] == '}') {
                        id[37] = '\0';
                        memmove(id, id + 1, 37);
                }
                if (!str_is_guid(id))
                        return -EBADMSG;
                lowercase(id);
                return strcpy_bounded(out, outsz, id);
        }
        return -ENOENT;
}

/* "H:C:T:L" from the device link's target name. */
static int scsi_hctl(const struct sysroot *sr, const char *name, char *hctl, size_t sz, uint32_t *lun)
{
        char rel[PATH_MAX], real[PATH_MAX], *base, *last;
        int r;

        snprintf(rel, sizeof(rel), "sys/block/%s/device", name);
        r = sysroot_resolve(sr, rel, real, sizeof(real));
        if (r < 0)
                return r;
        base = strrchr(real, '/');
        base = base ? base + 1 : real;
        last = strrchr(base, ':');
        if (!last || strcpy_bounded(hctl, sz, base) < 0 || parse_u32(last + 1, lun) < 0)
                return -EBADMSG;
        return 0;
}

static void read_trimmed(const struct sysroot *sr, const char *name, const char *attr, char *out, size_t outsz)
{
        char rel[PATH_MAX];

        out[0] = '\0';
        snprintf(rel, sizeof(rel), "sys/block/%s/%s", name, attr);
        if (sysroot_read_attr(sr, rel, out, outsz) < 0)
                out[0] = '\0';
}

static enum disk_role scsi_role(const char *guid, uint32_t lun)
{
        if (!strcmp(guid, GEN1_OS_GUID))
                return ROLE_OS;
        if (!strcmp(guid, GEN1_RESOURCE_GUID))
                return ROLE_RESOURCE;
        if (startswith(guid, GEN1_BEK_PREFIX))
                return ROLE_BEK;
        if (!strcmp(guid, SCSI0_GUID))
                return lun == 0 ? ROLE_OS : lun == 1 ? ROLE_RESOURCE : ROLE_UNKNOWN;
        for (size_t i = 0; i < ARRAY_SIZE(data_controllers); i++)
                if (!strcmp(guid, data_controllers[i]))
                        return ROLE_DATA;
        return ROLE_UNKNOWN;
}

static int classify_scsi(const struct sysroot *sr, const char *devpath, struct disk_facts *d)
{
        char guid[40] = "", hctl[32] = "?";
        uint32_t lun = 0;
        bool hyperv;

        d->bus = BUS_SCSI;
        read_trimmed(sr, d->name, "device/vendor", d->vendor, sizeof(d->vendor));
        read_trimmed(sr, d->name, "device/model", d->model, sizeof(d->model));
        (void) scsi_hctl(sr, d->name, hctl, sizeof(hctl), &lun);
        (void) diskaddr_vmbus_guid(sr, devpath, guid, sizeof(guid));
        snprintf(d->address, sizeof(d->address), "vmbus:%s/%s", guid[0] ? guid : "none", hctl);
        hyperv = !strcasecmp(d->vendor, "Msft") && !strcasecmp(d->model, "Virtual Disk");
        if (!hyperv || !guid[0] || !strcmp(hctl, "?"))
                return 0;
        d->role = scsi_role(guid, lun);
        if (d->role == ROLE_DATA)
                d->lun = (int) lun;
        return 0;
}

/* PCI vendor of the controller behind a namespace: `device` is either the
 * controller (no multipath) or the nvme-subsystem, which links its
 * controllers as nvme<N>. */
static void nvme_vendor(const struct sysroot *sr, const char *name, char *out, size_t outsz)
{
        char rel[PATH_MAX], real[PATH_MAX];
        _cleanup_close_ int fd = -EBADF;
        struct dirent *de;
        DIR *dir;

        read_trimmed(sr, name, "device/device/vendor", out, outsz);
        if (out[0])
                return;
        snprintf(rel, sizeof(rel), "sys/block/%s/device", name);
        if (sysroot_resolve(sr, rel, real, sizeof(real)) < 0)
                return;
        fd = openat(sr->dirfd, real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dir = fd >= 0 ? fdopendir(TAKE_FD(fd)) : NULL;
        while (dir && (de = readdir(dir)) && !out[0]) {
                size_t k = 4;

                if (strncmp(de->d_name, "nvme", 4) != 0 || !de->d_name[k])
                        continue;
                while (de->d_name[k] >= '0' && de->d_name[k] <= '9')
                        k++;
                if (de->d_name[k])
                        continue;       /* nvme0n1 and the like are not controllers */
                if (snprintf(rel, sizeof(rel), "%s/%s/device/vendor", real, de->d_name) >= (int) sizeof(rel) ||
                    sysroot_read_attr(sr, rel, out, outsz) < 0)
                        out[0] = '\0';
        }
        if (dir)
                closedir(dir);
}

static int classify_nvme(const struct sysroot *sr, struct disk_facts *d)
{
        char nsid_s[16], vendor[16];
        uint32_t nsid = 0;

        d->bus = BUS_NVME;
        read_trimmed(sr, d->name, "device/model", d->model, sizeof(d->model));
        read_trimmed(sr, d->name, "nsid", nsid_s, sizeof(nsid_s));
        nvme_vendor(sr, d->name, vendor, sizeof(vendor));
        (void) strcpy_bounded(d->vendor, sizeof(d->vendor), vendor);
        snprintf(d->address, sizeof(d->address), "nvme:%s/nsid=%s", d->model[0] ? d->model : "none",
                 nsid_s[0] ? nsid_s : "?");
        if (parse_u32(nsid_s, &nsid) < 0 || nsid == 0 || strcasecmp(vendor, MSFT_PCI_VENDOR) != 0)
                return 0;
        if (!strcmp(d->model, "MSFT NVMe Accelerator v1.0")) {
                d->role = nsid == 1 ? ROLE_OS : ROLE_DATA;
                d->lun = nsid >= 2 ? (int) nsid - 2 : -1;
        } else if (!strcmp(d->model, "Microsoft NVMe Direct Disk") ||
                   !strcmp(d->model, "Microsoft NVMe Direct Disk v2"))
                d->role = ROLE_LOCAL_NVME;
        return 0;
}

int diskaddr_classify(const struct sysroot *sr, const char *devpath, struct disk_facts *d)
{
        d->role = ROLE_UNKNOWN;
        d->lun = -1;
        /* The bus comes from where the kernel put the device, not its name. */
        if (strstr(devpath, "/nvme-subsystem/") || strstr(devpath, "/nvme/nvme"))
                return classify_nvme(sr, d);
        if (strstr(devpath, "/target"))
                return classify_scsi(sr, devpath, d);
        d->bus = BUS_UNKNOWN;
        snprintf(d->address, sizeof(d->address), "%s", devpath);
        return 0;
}
