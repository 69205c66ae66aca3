/* SPDX-License-Identifier: Apache-2.0 */
#include "facts_json.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "jread.h"
#include "strparse.h"

#define ADD_STR(o, k, v) cJSON_AddStringToObject(o, k, v)

/* An IMDS string as received, or null when the key was absent. */
static void add_imds(cJSON *o, const char *key, const struct imds_str *s)
{
        if (s->present)
                ADD_STR(o, key, s->value);
        else
                cJSON_AddNullToObject(o, key);
}

struct imds_disk_field {
        const char *key;
        size_t offset;
};

#define F(k, m) { k, offsetof(struct imds_disk, m) }
static const struct imds_disk_field disk_fields[] = {
        F("diskSizeGB", disk_size_gb), F("caching", caching),
        F("storageAccountType", storage_account_type), F("isUltraDisk", is_ultra_disk),
        F("encryptionSettingsEnabled", ade_enabled),
};
#undef F
#define N_DISK_FIELDS (sizeof(disk_fields) / sizeof(disk_fields[0]))

static cJSON *imds_disk_to_json(const struct imds_disk *d, bool data)
{
        cJSON *o = cJSON_CreateObject();

        if (data)
                add_imds(o, "lun", &d->lun);
        for (size_t i = 0; i < N_DISK_FIELDS; i++)
                add_imds(o, disk_fields[i].key,
                         (const struct imds_str *) ((const char *) d + disk_fields[i].offset));
        return o;
}

struct vm_field {
        const char *key;
        size_t offset;
};

#define F(k, m) { k, offsetof(struct imds_compute, m) }
static const struct vm_field vm_fields[] = {
        F("vmId", vm_id), F("subscriptionId", subscription_id), F("name", name),
        F("vmSize", vm_size), F("location", location), F("resourceId", resource_id),
        F("vmScaleSetName", vm_scale_set_name), F("encryptionAtHost", encryption_at_host),
        F("securityType", security_type), F("resourceDiskSize", resource_disk_size),
};
#undef F
#define N_VM_FIELDS (sizeof(vm_fields) / sizeof(vm_fields[0]))

cJSON *imds_facts_to_json(const struct imds_facts *f)
{
        const struct imds_compute *m = &f->compute;
        cJSON *o = cJSON_CreateObject(), *os, *dd;
        char hex[65];

        ADD_STR(o, "imdsState", imds_state_names[f->state]);
        if (f->error[0])
                ADD_STR(o, "imdsError", f->error);
        ADD_STR(o, "imdsApiVersion", f->api_version);
        if (f->state == IMDS_OK || f->state == IMDS_MALFORMED) {
                hex_encode(f->compute_sha256, 32, hex);
                ADD_STR(o, "computeSha256", hex);
        }
        if (f->state != IMDS_OK)
                return o;
        for (size_t i = 0; i < N_VM_FIELDS; i++)
                add_imds(o, vm_fields[i].key, (const struct imds_str *) ((const char *) m + vm_fields[i].offset));
        os = imds_disk_to_json(&m->os_disk, false);
        add_imds(os, "diffDiskOption", &m->diff_disk_option);
        json_add_item(o, "osDisk", os);
        if (!m->data_disks_present) {
                cJSON_AddNullToObject(o, "dataDisks");
                return o;
        }
        dd = cJSON_AddArrayToObject(o, "dataDisks");
        for (unsigned k = 0; dd && k < m->n_data_disks; k++)
                json_append(dd, imds_disk_to_json(&m->data_disks[k], true));
        return o;
}

cJSON *attested_facts_to_json(const struct attested_facts *a)
{
        cJSON *o = cJSON_CreateObject();

        ADD_STR(o, "state", attested_state_names[a->state]);
        if (a->error[0])
                ADD_STR(o, "error", a->error);
        ADD_STR(o, "nonceRequested", a->nonce_requested);
        ADD_STR(o, "nonce", a->nonce);
        ADD_STR(o, "vmId", a->vm_id);
        ADD_STR(o, "subscriptionId", a->subscription_id);
        ADD_STR(o, "createdOn", a->created_on);
        ADD_STR(o, "expiresOn", a->expires_on);
        ADD_STR(o, "signerSubject", a->signer_subject);
        ADD_STR(o, "signerIssuer", a->signer_issuer);
        ADD_STR(o, "signerDnsName", a->signer_dns);
        return o;
}

cJSON *host_facts_to_json(const struct host_facts *h)
{
        cJSON *o = cJSON_CreateObject(), *root = cJSON_CreateObject();

        ADD_STR(o, "state", host_state_names[h->state]);
        if (h->error[0])
                ADD_STR(o, "error", h->error);
        cJSON_AddBoolToObject(root, "resolved", h->root_resolved);
        ADD_STR(root, "source", h->root_source);
        if (h->root_error[0])
                ADD_STR(root, "error", h->root_error);
        json_add_item(o, "root", root);
        return o;
}

static void add_fs(cJSON *o, const struct fs_facts *fs)
{
        ADD_STR(o, "fsType", fs->type);
        ADD_STR(o, "label", fs->label);
        ADD_STR(o, "ptType", fs->pttype);
        ADD_STR(o, "fsSource", fs_source_names[fs->source]);
}

static cJSON *disk_to_json(const struct host_facts *h, const struct disk_facts *d)
{
        cJSON *o = cJSON_CreateObject(), *parts, *mounts;

        ADD_STR(o, "device", d->name);
        ADD_STR(o, "role", disk_role_names[d->role]);
        if (d->lun >= 0)
                cJSON_AddNumberToObject(o, "lun", d->lun);
        else
                cJSON_AddNullToObject(o, "lun");
        ADD_STR(o, "bus", disk_bus_names[d->bus]);
        ADD_STR(o, "address", d->address);
        ADD_STR(o, "vendor", d->vendor);
        ADD_STR(o, "model", d->model);
        cJSON_AddNumberToObject(o, "sizeBytes", (double) d->size_bytes);
        add_fs(o, &d->fs);
        parts = cJSON_AddArrayToObject(o, "partitions");
        for (unsigned k = 0; parts && k < d->n_parts; k++) {
                cJSON *p = cJSON_CreateObject();

                ADD_STR(p, "device", d->parts[k].name);
                cJSON_AddNumberToObject(p, "sizeBytes", (double) d->parts[k].size_bytes);
                add_fs(p, &d->parts[k].fs);
                json_append(parts, p);
        }
        mounts = cJSON_AddArrayToObject(o, "mountpoints");
        for (unsigned k = 0; mounts && k < d->n_mounts; k++)
                json_append(mounts, cJSON_CreateString(disk_mount(h, d, k)));
        if (d->mounts_omitted)
                cJSON_AddNumberToObject(o, "mountpointsOmitted", d->mounts_omitted);
        cJSON_AddBoolToObject(o, "holdsRoot", d->holds_root);
        if (d->error[0])
                ADD_STR(o, "error", d->error);
        return o;
}

cJSON *disks_to_json(const struct host_facts *h)
{
        cJSON *arr = cJSON_CreateArray();

        for (unsigned i = 0; arr && i < h->n_disks; i++)
                json_append(arr, disk_to_json(h, &h->disks[i]));
        return arr;
}

/* ---- reading back ------------------------------------------------------- */

static void imds_disk_from_json(struct jread *j, const cJSON *o, const char *where, bool data,
                                struct imds_disk *d)
{
        if (data)
                jr_imds(j, o, where, "lun", &d->lun);
        for (size_t i = 0; i < N_DISK_FIELDS; i++)
                jr_imds(j, o, where, disk_fields[i].key,
                        (struct imds_str *) ((char *) d + disk_fields[i].offset));
}

static void digest_from_hex(struct jread *j, const cJSON *o, uint8_t out[32])
{
        char hex[65];

        jr_opt_str(j, o, "vm", "computeSha256", hex, sizeof(hex));
        memset(out, 0, 32);
        if (hex[0] && hex_decode(hex, out, 32) < 0)
                jr_fail(j, "vm", "computeSha256", "is not 64 hex digits");
}

static void compute_from_json(struct jread *j, const cJSON *vm, struct imds_compute *m)
{
        const cJSON *os, *dd, *d;

        for (size_t i = 0; i < N_VM_FIELDS; i++)
                jr_imds(j, vm, "vm", vm_fields[i].key, (struct imds_str *) ((char *) m + vm_fields[i].offset));
        os = jr_obj(j, vm, "vm", "osDisk");
        imds_disk_from_json(j, os, "vm.osDisk", false, &m->os_disk);
        jr_imds(j, os, "vm.osDisk", "diffDiskOption", &m->diff_disk_option);
        dd = jr_arr(j, vm, "vm", "dataDisks", IMDS_MAX_DATA_DISKS, true);
        m->data_disks_present = dd != NULL;
        cJSON_ArrayForEach(d, dd) {
                if (!cJSON_IsObject(d)) {
                        jr_fail(j, "vm", "dataDisks[]", "is not an object");
                        return;
                }
                memset(&m->data_disks[m->n_data_disks], 0, sizeof(m->data_disks[0]));
                imds_disk_from_json(j, d, "vm.dataDisks[]", true, &m->data_disks[m->n_data_disks++]);
        }
}

int imds_facts_from_json(const cJSON *vm, struct imds_facts *ret, char *err, size_t errsz)
{
        struct jread j = { 0 };

        imds_facts_reset(ret);
        if (!cJSON_IsObject(vm)) {
                snprintf(err, errsz, "vm is not an object");
                return -EBADMSG;
        }
        ret->state = jr_enum(&j, vm, "vm", "imdsState", imds_state_names, IMDS_STATE_COUNT);
        jr_opt_str(&j, vm, "vm", "imdsError", ret->error, sizeof(ret->error));
        jr_str(&j, vm, "vm", "imdsApiVersion", ret->api_version, sizeof(ret->api_version));
        digest_from_hex(&j, vm, ret->compute_sha256);
        if (ret->state == IMDS_OK)
                compute_from_json(&j, vm, &ret->compute);
        snprintf(err, errsz, "%s", j.err);
        return j.r;
}

static void fs_from_json(struct jread *j, const cJSON *o, const char *where, struct fs_facts *fs)
{
        jr_str(j, o, where, "fsType", fs->type, sizeof(fs->type));
        jr_str(j, o, where, "label", fs->label, sizeof(fs->label));
        jr_str(j, o, where, "ptType", fs->pttype, sizeof(fs->pttype));
        fs->source = jr_enum(j, o, where, "fsSource", fs_source_names, FS_SOURCE_COUNT);
}

static void disk_parts_from_json(struct jread *j, const cJSON *o, struct host_facts *h, struct disk_facts *d)
{
        const cJSON *parts = jr_arr(j, o, "disks[]", "partitions", DISK_MAX_PARTS, false), *p, *m;
        const cJSON *mounts = jr_arr(j, o, "disks[]", "mountpoints", DISK_MAX_MOUNTS, false);

        cJSON_ArrayForEach(p, parts) {
                struct part_facts *pf = &d->parts[d->n_parts++];

                jr_str(j, p, "disks[].partitions[]", "device", pf->name, sizeof(pf->name));
                pf->size_bytes = jr_u64(j, p, "disks[].partitions[]", "sizeBytes");
                fs_from_json(j, p, "disks[].partitions[]", &pf->fs);
        }
        cJSON_ArrayForEach(m, mounts) {
                unsigned before = d->n_mounts;

                if (cJSON_IsString(m))
                        disk_add_mount(h, d, m->valuestring);
                if (d->n_mounts != before + 1) {
                        jr_fail(j, "disks[]", "mountpoints[]", "is not a distinct string that fits");
                        return;
                }
        }
}

static void disk_from_json(struct jread *j, const cJSON *o, struct host_facts *h, struct disk_facts *d)
{
        const cJSON *lun = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "lun") : NULL;

        memset(d, 0, sizeof(*d));
        if (!cJSON_IsObject(o)) {
                jr_fail(j, "disks", "[]", "is not an object");
                return;
        }
        jr_str(j, o, "disks[]", "device", d->name, sizeof(d->name));
        d->role = jr_enum(j, o, "disks[]", "role", disk_role_names, ROLE_COUNT);
        d->bus = jr_enum(j, o, "disks[]", "bus", disk_bus_names, BUS_COUNT);
        d->lun = -1;
        if (lun && !cJSON_IsNull(lun))
                d->lun = (int) (jr_u64(j, o, "disks[]", "lun") & 0xffff);
        jr_str(j, o, "disks[]", "address", d->address, sizeof(d->address));
        jr_str(j, o, "disks[]", "vendor", d->vendor, sizeof(d->vendor));
        jr_str(j, o, "disks[]", "model", d->model, sizeof(d->model));
        d->size_bytes = jr_u64(j, o, "disks[]", "sizeBytes");
        fs_from_json(j, o, "disks[]", &d->fs);
        disk_parts_from_json(j, o, h, d);
        if (cJSON_GetObjectItemCaseSensitive(o, "mountpointsOmitted"))
                d->mounts_omitted = (unsigned) (jr_u64(j, o, "disks[]", "mountpointsOmitted") & 0xffff);
        d->holds_root = jr_bool(j, o, "disks[]", "holdsRoot");
        jr_opt_str(j, o, "disks[]", "error", d->error, sizeof(d->error));
}

int host_facts_from_json(const cJSON *host, const cJSON *disks, struct host_facts *ret, char *err,
                         size_t errsz)
{
        struct jread j = { 0 };
        const cJSON *root, *d;

        host_facts_reset(ret);
        if (!cJSON_IsObject(host) || !cJSON_IsArray(disks) || cJSON_GetArraySize(disks) > HOST_MAX_DISKS) {
                snprintf(err, errsz, "host is not an object or disks not an array of at most %d", HOST_MAX_DISKS);
                return -EBADMSG;
        }
        ret->state = jr_enum(&j, host, "host", "state", host_state_names, HOST_STATE_COUNT);
        jr_opt_str(&j, host, "host", "error", ret->error, sizeof(ret->error));
        root = jr_obj(&j, host, "host", "root");
        ret->root_resolved = jr_bool(&j, root, "host.root", "resolved");
        jr_str(&j, root, "host.root", "source", ret->root_source, sizeof(ret->root_source));
        jr_opt_str(&j, root, "host.root", "error", ret->root_error, sizeof(ret->root_error));
        cJSON_ArrayForEach(d, disks)
                disk_from_json(&j, d, ret, &ret->disks[ret->n_disks++]);
        snprintf(err, errsz, "%s", j.err);
        return j.r;
}
