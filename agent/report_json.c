/* SPDX-License-Identifier: Apache-2.0 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "report.h"

void format_rfc3339(time_t t, char out[32])
{
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                strcpy(out, "1970-01-01T00:00:00Z");
}

/* Adds an IMDS string as received, or null when the key was absent. */
static void add_imds(cJSON *o, const char *key, const struct imds_str *s)
{
        if (s->present)
                cJSON_AddStringToObject(o, key, s->value);
        else
                cJSON_AddNullToObject(o, key);
}

static cJSON *imds_disk_json(const struct imds_disk *d, bool with_lun)
{
        cJSON *o = cJSON_CreateObject();

        if (with_lun)
                add_imds(o, "lun", &d->lun);
        add_imds(o, "diskSizeGB", &d->disk_size_gb);
        add_imds(o, "caching", &d->caching);
        add_imds(o, "storageAccountType", &d->storage_account_type);
        add_imds(o, "isUltraDisk", &d->is_ultra_disk);
        add_imds(o, "encryptionSettingsEnabled", &d->ade_enabled);
        return o;
}

static const char *imds_state_name(enum imds_state s)
{
        static const char *const n[] = { "not-run", "ok", "unavailable", "oversized", "malformed" };

        return (unsigned) s < 5 ? n[s] : "unknown";
}

static cJSON *vm_json(const struct imds_facts *i)
{
        const struct imds_compute *m = &i->compute;
        cJSON *o = cJSON_CreateObject(), *os, *dd;
        char hex[65];

        cJSON_AddStringToObject(o, "imdsState", imds_state_name(i->state));
        if (i->error[0])
                cJSON_AddStringToObject(o, "imdsError", i->error);
        cJSON_AddStringToObject(o, "imdsApiVersion", i->api_version);
        if (i->state == IMDS_OK || i->state == IMDS_MALFORMED) {
                hex_encode(i->compute_sha256, 32, hex);
                cJSON_AddStringToObject(o, "computeSha256", hex);
        }
        if (i->state != IMDS_OK)
                return o;
        add_imds(o, "vmId", &m->vm_id);
        add_imds(o, "subscriptionId", &m->subscription_id);
        add_imds(o, "name", &m->name);
        add_imds(o, "vmSize", &m->vm_size);
        add_imds(o, "location", &m->location);
        add_imds(o, "resourceId", &m->resource_id);
        add_imds(o, "vmScaleSetName", &m->vm_scale_set_name);
        add_imds(o, "encryptionAtHost", &m->encryption_at_host);
        add_imds(o, "securityType", &m->security_type);
        os = imds_disk_json(&m->os_disk, false);
        add_imds(os, "diffDiskOption", &m->diff_disk_option);
        cJSON_AddItemToObject(o, "osDisk", os);
        dd = cJSON_AddArrayToObject(o, "dataDisks");
        for (unsigned k = 0; dd && k < m->n_data_disks; k++)
                cJSON_AddItemToArray(dd, imds_disk_json(&m->data_disks[k], true));
        add_imds(o, "resourceDiskSize", &m->resource_disk_size);
        return o;
}

static const char *attested_state_name(enum attested_state s)
{
        static const char *const n[] = { "not-run", "verified", "unavailable", "malformed",
                                         "bad-signature", "signer-not-azure", "untrusted" };

        return (unsigned) s < 7 ? n[s] : "unknown";
}

static cJSON *attested_json(const struct attested_facts *a)
{
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "state", attested_state_name(a->state));
        if (a->error[0])
                cJSON_AddStringToObject(o, "error", a->error);
        cJSON_AddStringToObject(o, "nonceRequested", a->nonce_requested);
        cJSON_AddStringToObject(o, "nonce", a->nonce);
        cJSON_AddStringToObject(o, "vmId", a->vm_id);
        cJSON_AddStringToObject(o, "subscriptionId", a->subscription_id);
        cJSON_AddStringToObject(o, "createdOn", a->created_on);
        cJSON_AddStringToObject(o, "expiresOn", a->expires_on);
        cJSON_AddStringToObject(o, "signerSubject", a->signer_subject);
        cJSON_AddStringToObject(o, "signerIssuer", a->signer_issuer);
        cJSON_AddStringToObject(o, "signerDnsName", a->signer_dns);
        return o;
}

static void add_fs(cJSON *o, const struct fs_facts *fs)
{
        cJSON_AddStringToObject(o, "fsType", fs->type);
        cJSON_AddStringToObject(o, "label", fs->label);
        cJSON_AddStringToObject(o, "ptType", fs->pttype);
        cJSON_AddStringToObject(o, "fsSource", fs_source_to_string(fs->source));
}

static cJSON *disk_json(const struct disk_facts *d)
{
        cJSON *o = cJSON_CreateObject(), *parts, *mounts;

        cJSON_AddStringToObject(o, "device", d->name);
        cJSON_AddStringToObject(o, "role", disk_role_to_string(d->role));
        if (d->lun >= 0)
                cJSON_AddNumberToObject(o, "lun", d->lun);
        else
                cJSON_AddNullToObject(o, "lun");
        cJSON_AddStringToObject(o, "bus", disk_bus_to_string(d->bus));
        cJSON_AddStringToObject(o, "address", d->address);
        cJSON_AddStringToObject(o, "vendor", d->vendor);
        cJSON_AddStringToObject(o, "model", d->model);
        cJSON_AddNumberToObject(o, "sizeBytes", (double) d->size_bytes);
        add_fs(o, &d->fs);
        parts = cJSON_AddArrayToObject(o, "partitions");
        for (unsigned k = 0; parts && k < d->n_parts; k++) {
                cJSON *p = cJSON_CreateObject();

                cJSON_AddStringToObject(p, "device", d->parts[k].name);
                cJSON_AddNumberToObject(p, "sizeBytes", (double) d->parts[k].size_bytes);
                add_fs(p, &d->parts[k].fs);
                cJSON_AddItemToArray(parts, p);
        }
        mounts = cJSON_AddArrayToObject(o, "mountpoints");
        for (unsigned k = 0; mounts && k < d->n_mounts; k++)
                cJSON_AddItemToArray(mounts, cJSON_CreateString(d->mounts[k]));
        cJSON_AddBoolToObject(o, "holdsRoot", d->holds_root);
        return o;
}

static cJSON *checks_json(const struct report *r)
{
        cJSON *arr = cJSON_CreateArray();

        for (unsigned i = 0; arr && i < r->n_checks; i++) {
                const struct check_result *c = &r->checks[i];
                cJSON *o = cJSON_CreateObject();

                cJSON_AddStringToObject(o, "id", c->id);
                cJSON_AddStringToObject(o, "status", check_status_to_string(c->status));
                cJSON_AddStringToObject(o, "severity", check_severity_to_string(c->severity));
                cJSON_AddStringToObject(o, "reason", c->reason);
                cJSON_AddStringToObject(o, "message", c->message);
                cJSON_AddItemToArray(arr, o);
        }
        return arr;
}

static cJSON *host_json(const struct host_facts *h)
{
        cJSON *o = cJSON_CreateObject(), *root = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "state", h->state == HOST_OK ? "ok" : "unreadable");
        if (h->error[0])
                cJSON_AddStringToObject(o, "error", h->error);
        cJSON_AddBoolToObject(root, "resolved", h->root_resolved);
        cJSON_AddStringToObject(root, "source", h->root_source);
        if (h->root_error[0])
                cJSON_AddStringToObject(root, "error", h->root_error);
        cJSON_AddItemToObject(o, "root", root);
        return o;
}

char *report_to_json(const struct node_facts *f, const struct report *r, time_t observed_at)
{
        cJSON *o = cJSON_CreateObject(), *disks;
        char when[32], *text, *copy;

        if (!o)
                return NULL;
        format_rfc3339(observed_at, when);
        cJSON_AddStringToObject(o, "schema", REPORT_SCHEMA);
        cJSON_AddStringToObject(o, "hostencVersion", HOSTENC_VERSION);
        cJSON_AddStringToObject(o, "observedAt", when);
        cJSON_AddStringToObject(o, "verdict", verdict_to_string(r->verdict));
        cJSON_AddItemToObject(o, "checks", checks_json(r));
        cJSON_AddItemToObject(o, "vm", vm_json(&f->imds));
        cJSON_AddItemToObject(o, "attestedDocument", attested_json(&f->attested));
        cJSON_AddItemToObject(o, "host", host_json(&f->host));
        disks = cJSON_AddArrayToObject(o, "disks");
        for (unsigned i = 0; disks && i < f->host.n_disks; i++)
                cJSON_AddItemToArray(disks, disk_json(&f->host.disks[i]));
        text = cJSON_Print(o);
        cJSON_Delete(o);
        if (!text)
                return NULL;
        /* Memory handed out must come from our allocator. */
        copy = strdup(text);
        cJSON_free(text);
        return copy;
}
