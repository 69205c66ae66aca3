/* SPDX-License-Identifier: Apache-2.0 */
#include "facts.h"

#include <stddef.h>
#include <string.h>

/* Names as they appear in reports and evidence; indexed by the enums. */
const char *const imds_state_names[IMDS_STATE_COUNT] = { "not-run", "ok", "unavailable", "oversized", "malformed" };
const char *const attested_state_names[ATTESTED_STATE_COUNT] = {
        "not-run", "verified", "unavailable", "malformed", "bad-signature", "signer-not-azure", "untrusted",
};
const char *const host_state_names[HOST_STATE_COUNT] = { "not-run", "ok", "unreadable" };
const char *const disk_role_names[ROLE_COUNT] = { "unknown", "os", "resource", "data", "local-nvme", "bek" };
const char *const disk_bus_names[BUS_COUNT] = { "unknown", "scsi", "nvme" };
const char *const fs_source_names[FS_SOURCE_COUNT] = { "none", "blkid", "udev" };

const char *disk_role_to_string(enum disk_role r)
{
        return (unsigned) r < ROLE_COUNT ? disk_role_names[r] : "unknown";
}

const char *disk_bus_to_string(enum disk_bus b)
{
        return (unsigned) b < BUS_COUNT ? disk_bus_names[b] : "unknown";
}

const char *fs_source_to_string(enum fs_source s)
{
        return (unsigned) s < FS_SOURCE_COUNT ? fs_source_names[s] : "none";
}

void imds_facts_reset(struct imds_facts *f)
{
        memset(f, 0, offsetof(struct imds_facts, compute) + offsetof(struct imds_compute, data_disks));
}

void host_facts_reset(struct host_facts *h)
{
        memset(h, 0, offsetof(struct host_facts, mount_text));
}

size_t imds_compute_used_size(const struct imds_compute *c)
{
        return offsetof(struct imds_compute, data_disks) + c->n_data_disks * sizeof(c->data_disks[0]);
}

const char *disk_mount(const struct host_facts *h, const struct disk_facts *d, unsigned k)
{
        return k < d->n_mounts && d->mount_at[k] < h->mount_text_used ? h->mount_text + d->mount_at[k] : "";
}

void disk_add_mount(struct host_facts *h, struct disk_facts *d, const char *mp)
{
        size_t used = h->mount_text_used, len = strlen(mp);

        for (unsigned i = 0; i < d->n_mounts; i++)
                if (!strcmp(disk_mount(h, d, i), mp))
                        return;
        /* Offsets are 16 bits: the pool stays below 64 KiB. */
        _Static_assert(HOST_MOUNT_TEXT <= UINT16_MAX + 1, "mount_at cannot address the pool");
        if (d->n_mounts >= DISK_MAX_MOUNTS || used > sizeof(h->mount_text) || len + 1 > sizeof(h->mount_text) - used) {
                d->mounts_omitted++;
                return;
        }
        memcpy(h->mount_text + used, mp, len + 1);
        d->mount_at[d->n_mounts++] = (uint16_t) used;
        h->mount_text_used = used + len + 1;
}
