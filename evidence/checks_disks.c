/* SPDX-License-Identifier: Apache-2.0 */
/* Checks that compare the disks the node sees with what IMDS says. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "strparse.h"
#include "vmsizes.h"

#define GIB (UINT64_C(1) << 30)
#define MIB (UINT64_C(1) << 20)

static unsigned count_role(const struct host_facts *h, enum disk_role role, const struct disk_facts **first)
{
        unsigned n = 0;

        for (unsigned i = 0; i < h->n_disks; i++)
                if (h->disks[i].role == role && n++ == 0 && first)
                        *first = &h->disks[i];
        return n;
}

static const struct disk_facts *first_unreadable(const struct host_facts *h)
{
        for (unsigned i = 0; i < h->n_disks; i++)
                if (h->disks[i].error[0])
                        return &h->disks[i];
        return NULL;
}

enum check_status check_disk_inventory(const struct node_facts *f, const struct policy_opts *o, struct check_result *c)
{
        const struct host_facts *h = &f->host;
        unsigned unreadable = 0;
        bool bad = false;

        if (check_host_unusable(f, c))
                return c->status;
        c->message[0] = '\0';
        for (unsigned i = 0; i < h->n_disks; i++) {
                const struct disk_facts *d = &h->disks[i];

                if (d->role != ROLE_UNKNOWN || d->error[0])
                        continue;
                msg_append(c->message, sizeof(c->message), "%s%s at %s (vendor \"%s\", model \"%s\")",
                           bad ? "; " : "not an Azure disk: ", d->name, d->address, d->vendor, d->model);
                bad = true;
        }
        if (bad) {
                c->status = CHECK_FAIL;
                c->reason = "UnrecognisedDisk";
                return c->status;
        }
        /* A disk read only in part (detached mid-scan, an unreadable
         * attribute) is neither recognised nor foreign: unknown, on it alone. */
        for (unsigned i = 0; i < h->n_disks; i++)
                if (h->disks[i].error[0])
                        msg_append(c->message, sizeof(c->message), "%s%s: %s", unreadable++ ? "; " : "",
                                   h->disks[i].name, h->disks[i].error);
        if (unreadable) {
                c->status = CHECK_UNKNOWN;
                c->reason = "DiskUnreadable";
                return c->status;
        }
        check_set(c, CHECK_PASS, "AllDisksRecognised", "%u disks:", h->n_disks);
        for (unsigned i = 0; i < h->n_disks; i++)
                msg_append(c->message, sizeof(c->message), " %s=%s", h->disks[i].name,
                           disk_role_to_string(h->disks[i].role));
        return c->status;
}

enum check_status check_os_disk(const struct node_facts *f, const struct policy_opts *o, struct check_result *c)
{
        const struct host_facts *h = &f->host;
        const struct disk_facts *os = NULL, *unreadable;
        unsigned n;

        if (check_host_unusable(f, c))
                return c->status;
        n = count_role(h, ROLE_OS, &os);
        if (n == 0 && (unreadable = first_unreadable(h)))
                return check_set(c, CHECK_UNKNOWN, "DiskUnreadable",
                                 "no disk sits at an Azure OS disk address, and %s could not be read (%s)",
                                 unreadable->name, unreadable->error);
        if (n == 0)
                return check_set(c, CHECK_FAIL, "NoOsDisk", "no disk sits at an Azure OS disk address");
        if (n > 1)
                return check_set(c, CHECK_FAIL, "MultipleOsDisks", "%u disks sit at OS disk addresses", n);
        if (!h->root_resolved)
                return check_set(c, CHECK_UNKNOWN, "RootDeviceUnresolved", "%s", h->root_error);
        for (unsigned i = 0; i < h->n_disks; i++)
                if (h->disks[i].holds_root && h->disks[i].role != ROLE_OS)
                        return check_set(c, CHECK_FAIL, "RootNotOnOsDisk",
                                         "/ (%s) lives on %s, a %s disk at %s", h->root_source,
                                         h->disks[i].name, disk_role_to_string(h->disks[i].role),
                                         h->disks[i].address);
        return check_set(c, CHECK_PASS, "RootOnOsDisk", "/ (%s) lives on %s at %s", h->root_source,
                         os->name, os->address);
}

static int parse_lun(const struct imds_disk *d, uint32_t *lun)
{
        return parse_u32(d->lun.value, lun) < 0 || *lun > 63 ? -1 : 0;
}

static const struct disk_facts *guest_lun(const struct host_facts *h, uint32_t lun, unsigned *count)
{
        const struct disk_facts *found = NULL;

        *count = 0;
        for (unsigned i = 0; i < h->n_disks; i++)
                if (h->disks[i].role == ROLE_DATA && h->disks[i].lun == (int) lun && (*count)++ == 0)
                        found = &h->disks[i];
        return found;
}

static void lun_sets(const struct node_facts *f, char *msg, size_t sz)
{
        const struct imds_compute *m = &f->imds.compute;

        msg_append(msg, sz, "IMDS LUNs {");
        for (unsigned i = 0; i < m->n_data_disks; i++)
                msg_append(msg, sz, "%s%s", i ? "," : "", m->data_disks[i].lun.value);
        msg_append(msg, sz, "}, guest LUNs {");
        for (unsigned i = 0, k = 0; i < f->host.n_disks; i++)
                if (f->host.disks[i].role == ROLE_DATA)
                        msg_append(msg, sz, "%s%d", k++ ? "," : "", f->host.disks[i].lun);
        msg_append(msg, sz, "}");
}

static enum check_status lun_mismatch(const struct node_facts *f, struct check_result *c)
{
        check_set(c, CHECK_FAIL, "DataDiskLunMismatch", "%s", "");
        lun_sets(f, c->message, sizeof(c->message));
        return c->status;
}

/* A mismatch younger than the grace window is pending, not yet a failure. */
static enum check_status mismatch(const struct policy_opts *o, struct check_result *c)
{
        uint64_t age = o->data_disk_mismatch_since ? (uint64_t) (o->now - o->data_disk_mismatch_since) : 0;

        if (o->data_disk_grace_s && age < o->data_disk_grace_s) {
                c->status = CHECK_UNKNOWN;
                msg_append(c->message, sizeof(c->message), " (%s for %llus; fails after %llus: IMDS may lag a hot-attach)",
                           c->reason, (unsigned long long) age, (unsigned long long) o->data_disk_grace_s);
                c->reason = "DataDiskMismatchPending";
        }
        return c->status;
}

enum check_status check_data_disks(const struct node_facts *f, const struct policy_opts *o, struct check_result *c)
{
        const struct imds_compute *m = &f->imds.compute;
        unsigned guest = count_role(&f->host, ROLE_DATA, NULL), count;

        if (check_imds_unusable(f, c) || check_host_unusable(f, c))
                return c->status;
        if (!m->data_disks_present)
                return check_set(c, CHECK_UNKNOWN, "DataDisksNotReported",
                                 "compute.storageProfile.dataDisks is absent");
        if (guest != m->n_data_disks) {
                lun_mismatch(f, c);
                return mismatch(o, c);
        }
        for (unsigned i = 0; i < m->n_data_disks; i++) {
                const struct imds_disk *d = &m->data_disks[i];
                const struct disk_facts *g;
                uint32_t lun;
                uint64_t gb;

                if (parse_lun(d, &lun) < 0 || parse_u64(d->disk_size_gb.value, &gb) < 0)
                        return check_set(c, CHECK_UNKNOWN, "ImdsValueMalformed",
                                         "dataDisks[%u] has lun \"%s\" and diskSizeGB \"%s\"", i,
                                         d->lun.value, d->disk_size_gb.value);
                g = guest_lun(&f->host, lun, &count);
                if (!g || count != 1) {
                        lun_mismatch(f, c);
                        return mismatch(o, c);
                }
                /* diskSizeGB is GiB in practice (azure-vm-utils compares so). */
                if (g->size_bytes / GIB != gb) {
                        check_set(c, CHECK_FAIL, "DataDiskSizeMismatch",
                                  "lun %u: IMDS diskSizeGB %s, guest %s has %llu bytes (%llu GiB)", lun,
                                  d->disk_size_gb.value, g->name, (unsigned long long) g->size_bytes,
                                  (unsigned long long) (g->size_bytes / GIB));
                        return mismatch(o, c);
                }
        }
        check_set(c, CHECK_PASS, "DataDisksMatch", "%s", "");
        lun_sets(f, c->message, sizeof(c->message));
        return c->status;
}

static bool is_ephemeral(const struct imds_compute *m)
{
        return !strcmp(m->diff_disk_option.value, "Local");
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
        return a > b ? a - b : b - a;
}

static enum check_status resource_present(const struct node_facts *f, const struct disk_facts *d,
                                          uint64_t imds_mib, uint64_t tol, struct check_result *c)
{
        const struct imds_compute *m = &f->imds.compute;
        uint64_t guest_mib = d->size_bytes / MIB;

        if (imds_mib == 0)
                return check_set(c, CHECK_FAIL, "UnexpectedResourceDisk",
                                 "IMDS reports no temp disk, but %s sits at the resource address %s",
                                 d->name, d->address);
        if (is_ephemeral(m)) {
                /* The ephemeral OS disk may take part of the temp disk. */
                if (guest_mib <= imds_mib + tol)
                        return check_set(c, CHECK_PASS, "ResourceDiskShrunkByEphemeralOs",
                                         "%s has %llu MiB of the %llu MiB IMDS reports; ephemeral OS disk (%s GiB) "
                                         "placed on it", d->name, (unsigned long long) guest_mib,
                                         (unsigned long long) imds_mib, m->os_disk.disk_size_gb.value);
        } else if (absdiff(guest_mib, imds_mib) <= tol)
                return check_set(c, CHECK_PASS, "ResourceDiskMatches",
                                 "%s has %llu MiB, IMDS resourceDisk.size %llu (read as MiB)", d->name,
                                 (unsigned long long) guest_mib, (unsigned long long) imds_mib);
        /* B-series IMDS reports about 30 GiB more than the documented temp
         * size; the documented size (data/vmsizes.tsv) is then the reference. */
        if (startswith(m->vm_size.value, "Standard_B")) {
                const struct vm_local_nvme *doc = vmsize_local_nvme(m->vm_size.value);

                if (doc && doc->temp_gib && d->size_bytes / GIB == doc->temp_gib)
                        return check_set(c, CHECK_PASS, "ResourceDiskMatchesSizeTable",
                                         "%s has %llu MiB, the %u GiB documented for %s (IMDS says %llu)",
                                         d->name, (unsigned long long) guest_mib, doc->temp_gib,
                                         m->vm_size.value, (unsigned long long) imds_mib);
                return check_set(c, CHECK_UNKNOWN, "ResourceDiskSizeUnverified",
                                 "%s has %llu MiB, IMDS says %llu; B-series sizes are not verified",
                                 d->name, (unsigned long long) guest_mib, (unsigned long long) imds_mib);
        }
        return check_set(c, CHECK_FAIL, "ResourceDiskSizeMismatch",
                         "%s has %llu MiB, IMDS resourceDisk.size %llu (read as MiB; tolerance %llu)",
                         d->name, (unsigned long long) guest_mib, (unsigned long long) imds_mib,
                         (unsigned long long) tol);
}

enum check_status check_resource_disk(const struct node_facts *f, const struct policy_opts *o, struct check_result *c)
{
        const uint64_t tol = o->resource_tolerance_mib;
        const struct imds_compute *m = &f->imds.compute;
        const struct disk_facts *d = NULL;
        uint64_t imds_mib;
        unsigned n;

        if (check_imds_unusable(f, c) || check_host_unusable(f, c))
                return c->status;
        if (!m->resource_disk_size.present)
                return check_set(c, CHECK_UNKNOWN, "ResourceDiskNotReported",
                                 "compute.storageProfile.resourceDisk.size is absent");
        if (parse_u64(m->resource_disk_size.value, &imds_mib) < 0)
                return check_set(c, CHECK_UNKNOWN, "ImdsValueMalformed", "resourceDisk.size is \"%s\"",
                                 m->resource_disk_size.value);
        n = count_role(&f->host, ROLE_RESOURCE, &d);
        if (n > 1)
                return check_set(c, CHECK_FAIL, "MultipleResourceDisks", "%u disks sit at resource addresses", n);
        if (n == 1)
                return resource_present(f, d, imds_mib, tol, c);
        if (imds_mib == 0)
                return check_set(c, CHECK_PASS, "NoResourceDisk",
                                 "IMDS reports no SCSI temp disk and none is attached%s",
                                 count_role(&f->host, ROLE_LOCAL_NVME, NULL) ? " (local NVMe present)" : "");
        if (is_ephemeral(m))
                return check_set(c, CHECK_PASS, "ResourceDiskConsumedByEphemeralOs",
                                 "IMDS reports %llu MiB; the ephemeral OS disk (%s GiB) took all of it",
                                 (unsigned long long) imds_mib, m->os_disk.disk_size_gb.value);
        return check_set(c, CHECK_FAIL, "ResourceDiskMissing",
                         "IMDS reports a %llu MiB temp disk, but no disk sits at the resource address",
                         (unsigned long long) imds_mib);
}

enum check_status check_local_nvme(const struct node_facts *f, const struct policy_opts *o, struct check_result *c)
{
        const struct imds_compute *m = &f->imds.compute;
        const struct vm_local_nvme *want;
        unsigned n = 0;

        if (check_host_unusable(f, c) || check_imds_unusable(f, c))
                return c->status;
        for (unsigned i = 0; i < f->host.n_disks; i++)
                n += f->host.disks[i].role == ROLE_LOCAL_NVME;
        want = vmsize_local_nvme(m->vm_size.value);
        if (want && want->count == 0 && n == 0)
                return check_set(c, CHECK_NOT_APPLICABLE, "NoLocalNvme", "no local NVMe disks, none on %s",
                                 m->vm_size.value);
        if (!want)
                return n == 0 ? check_set(c, CHECK_NOT_APPLICABLE, "NoLocalNvme", "no local NVMe disks")
                              : check_set(c, CHECK_UNKNOWN, "LocalNvmeSizeUnknown",
                                          "%u local NVMe disks; no reference for %s", n, m->vm_size.value);
        /* NvmeDisk ephemeral placement consumes whole local disks. */
        if (n > want->count || (n < want->count && !is_ephemeral(m)))
                return check_set(c, CHECK_FAIL, "LocalNvmeCountMismatch", "%u local NVMe disks, %s has %u",
                                 n, m->vm_size.value, want->count);
        for (unsigned i = 0; i < f->host.n_disks; i++) {
                const struct disk_facts *d = &f->host.disks[i];

                if (d->role == ROLE_LOCAL_NVME && want->size_gib && d->size_bytes / GIB != want->size_gib)
                        return check_set(c, CHECK_FAIL, "LocalNvmeSizeMismatch", "%s has %llu GiB, %s disks have %u",
                                         d->name, (unsigned long long) (d->size_bytes / GIB),
                                         m->vm_size.value, want->size_gib);
        }
        if (!want->size_gib)
                return check_set(c, CHECK_PASS, "LocalNvmePlausible",
                                 "%u of %u local NVMe disks present (per-disk size not in the size table)", n,
                                 want->count);
        return check_set(c, CHECK_PASS, "LocalNvmePlausible", "%u of %u x %u GiB local NVMe disks present",
                         n, want->count, want->size_gib);
}

static void describe_fs(const struct fs_facts *fs, const char *name, char *msg, size_t sz)
{
        msg_append(msg, sz, " %s=%s%s%s%s", name, fs->type[0] ? fs->type : fs->pttype[0] ? fs->pttype : "raw",
                   fs->label[0] ? "(" : "", fs->label, fs->label[0] ? ")" : "");
}

static bool describe_local(const struct host_facts *h, const struct disk_facts *d, char *msg, size_t sz)
{
        bool mounted = d->n_mounts > 0;

        msg_append(msg, sz, "%s%s [%s]", msg[0] ? "; " : "", d->name, disk_role_to_string(d->role));
        describe_fs(&d->fs, d->name, msg, sz);
        for (unsigned k = 0; k < d->n_parts; k++)
                describe_fs(&d->parts[k].fs, d->parts[k].name, msg, sz);
        for (unsigned k = 0; k < d->n_mounts; k++)
                msg_append(msg, sz, "%s%s", k ? "," : " mounted at ", disk_mount(h, d, k));
        if (d->mounts_omitted)
                msg_append(msg, sz, " and %u more mount points", d->mounts_omitted);
        return mounted;
}

enum check_status check_temp_disk_usage(const struct node_facts *f, const struct policy_opts *o, struct check_result *c)
{
        bool any = false, used = false;

        if (check_host_unusable(f, c))
                return c->status;
        c->message[0] = '\0';
        for (unsigned i = 0; i < f->host.n_disks; i++) {
                const struct disk_facts *d = &f->host.disks[i];
                bool local = d->role == ROLE_RESOURCE || d->role == ROLE_LOCAL_NVME ||
                             (d->role == ROLE_OS && f->imds.state == IMDS_OK && is_ephemeral(&f->imds.compute));

                if (!local)
                        continue;
                any = true;
                used |= describe_local(&f->host, d, c->message, sizeof(c->message));
        }
        if (!any)
                return check_set(c, CHECK_NOT_APPLICABLE, "NoLocalStorage", "no host-local disk is attached");
        c->status = CHECK_PASS;
        c->reason = used ? "LocalStorageInUse" : "LocalStorageUnused";
        return c->status;
}
