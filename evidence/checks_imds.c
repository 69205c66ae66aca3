/* SPDX-License-Identifier: Apache-2.0 */
/* Checks that rest on what Azure says: the compute metadata and the signed
 * attested document. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"

enum check_status check_encryption_at_host(const struct node_facts *f, const struct policy_opts *o, struct check_result *c)
{
        const struct imds_str *eah = &f->imds.compute.encryption_at_host;

        if (check_imds_unusable(f, c))
                return c->status;
        if (!eah->present)
                return check_set(c, CHECK_UNKNOWN, "EncryptionAtHostNotReported",
                          "compute.securityProfile.encryptionAtHost is absent (api-version %s)",
                          f->imds.api_version);
        if (imds_is_true(eah))
                return check_set(c, CHECK_PASS, "EncryptionAtHostEnabled",
                          "IMDS reports encryptionAtHost \"true\"; this value is not signed by Azure");
        return check_set(c, CHECK_FAIL, "EncryptionAtHostDisabled",
                          "IMDS reports encryptionAtHost \"%s\"", eah->value);
}

static bool attested_failed(const struct attested_facts *a, struct check_result *c)
{
        static const struct {
                enum attested_state state;
                enum check_status status;
                const char *reason;
        } map[] = {
                { ATTESTED_NOT_RUN, CHECK_UNKNOWN, "AttestedDocumentNotQueried" },
                { ATTESTED_UNAVAILABLE, CHECK_UNKNOWN, "AttestedDocumentUnavailable" },
                { ATTESTED_MALFORMED, CHECK_UNKNOWN, "AttestedDocumentMalformed" },
                { ATTESTED_BAD_SIGNATURE, CHECK_FAIL, "AttestedSignatureInvalid" },
                { ATTESTED_SIGNER_NOT_AZURE, CHECK_FAIL, "AttestedSignerNotAzure" },
                { ATTESTED_UNTRUSTED, CHECK_FAIL, "AttestedDocumentUntrusted" },
        };

        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (a->state == map[i].state) {
                        check_set(c, map[i].status, map[i].reason, "%s",
                                  a->error[0] ? a->error : "attested document was not fetched");
                        return true;
                }
        return a->state != ATTESTED_OK;
}

enum check_status check_attested_identity(const struct node_facts *f, const struct policy_opts *o, struct check_result *c)
{
        const time_t now = o->now;
        const struct attested_facts *a = &f->attested;
        const char *vm_id = f->imds.compute.vm_id.value;

        if (attested_failed(a, c))
                return c->status;
        if (strcmp(a->nonce, a->nonce_requested) != 0)
                return check_set(c, CHECK_FAIL, "AttestedNonceMismatch",
                                 "signed nonce \"%s\" is not the nonce we sent (\"%s\") after %u retries",
                                 a->nonce, a->nonce_requested, a->nonce_retries);
        /* Signed after "now": the node's clock is behind. Its observation
         * time would fall outside the document's window, which `verify`
         * rejects, so this is not evidence of anything. */
        if (a->created_at > now + POLICY_CLOCK_SKEW_S)
                return check_set(c, CHECK_UNKNOWN, "NodeClockBehind",
                                 "the attested document was signed at %s (UTC), after this node's clock; "
                                 "is the node clock right?", a->created_on);
        if (a->expires_at <= now)
                return check_set(c, CHECK_UNKNOWN, "AttestedDocumentExpired",
                                 "document expired at %s (UTC); is the node clock right?", a->expires_on);
        if (check_imds_unusable(f, c))
                return c->status;
        /* vmId is a GUID; IMDS has been seen to vary its case. */
        if (strcasecmp(a->vm_id, vm_id) != 0)
                return check_set(c, CHECK_FAIL, "AttestedVmIdMismatch",
                                 "signed vmId %s differs from compute vmId %s", a->vm_id, vm_id);
        return check_set(c, CHECK_PASS, "AttestedIdentityVerified",
                  "vmId %s signed by %s (issuer %s), nonce matched", a->vm_id, a->signer_dns,
                  a->signer_issuer);
}

static bool bek_volume_present(const struct host_facts *h, char *where, size_t wsz)
{
        for (unsigned i = 0; i < h->n_disks; i++) {
                const struct disk_facts *d = &h->disks[i];

                if (d->role == ROLE_BEK || !strcasecmp(d->fs.label, "BEK VOLUME")) {
                        snprintf(where, wsz, "%s (%s)", d->name, d->address);
                        return true;
                }
                for (unsigned k = 0; k < d->n_parts; k++)
                        if (!strcasecmp(d->parts[k].fs.label, "BEK VOLUME")) {
                                snprintf(where, wsz, "%s on %s (%s)", d->parts[k].name, d->name, d->address);
                                return true;
                        }
        }
        return false;
}

static const char *ade_enabled_disk(const struct imds_compute *c)
{
        if (imds_is_true(&c->os_disk.ade_enabled))
                return "osDisk";
        for (unsigned i = 0; i < c->n_data_disks; i++)
                if (imds_is_true(&c->data_disks[i].ade_enabled))
                        return "a data disk";
        return NULL;
}

enum check_status check_ade_conflict(const struct node_facts *f, const struct policy_opts *o, struct check_result *c)
{
        char where[160];
        const char *disk;

        /* The BEK volume is evidence of its own, even when IMDS is down. */
        if (f->host.state == HOST_OK && bek_volume_present(&f->host, where, sizeof(where)))
                return check_set(c, CHECK_FAIL, "BekVolumePresent",
                                 "Azure Disk Encryption key volume found: %s", where);
        if (check_imds_unusable(f, c))
                return c->status;
        disk = ade_enabled_disk(&f->imds.compute);
        if (disk)
                return check_set(c, CHECK_FAIL, "AzureDiskEncryptionEnabled",
                                 "IMDS reports encryptionSettings.enabled \"true\" on %s; "
                                 "encryption at host cannot coexist with Azure Disk Encryption", disk);
        if (!f->imds.compute.os_disk.ade_enabled.present)
                return check_set(c, CHECK_UNKNOWN, "AdeStatusNotReported",
                                 "compute.storageProfile.osDisk.encryptionSettings.enabled is absent");
        if (check_host_unusable(f, c))
                return c->status;
        return check_set(c, CHECK_PASS, "NoAzureDiskEncryption",
                  "no encryptionSettings enabled in IMDS and no BEK volume on the node");
}

static bool caching_valid(const char *v)
{
        return !strcmp(v, "None") || !strcmp(v, "ReadOnly") || !strcmp(v, "ReadWrite");
}

static bool uncached_only(const struct imds_disk *d)
{
        /* Ultra Disks and Premium SSD v2 support only host caching None. */
        return imds_is_true(&d->is_ultra_disk) ||
               !strcmp(d->storage_account_type.value, "PremiumV2_LRS") ||
               !strcmp(d->storage_account_type.value, "UltraSSD_LRS");
}

enum check_status check_cache_settings(const struct node_facts *f, const struct policy_opts *o, struct check_result *c)
{
        const struct imds_compute *m = &f->imds.compute;

        if (check_imds_unusable(f, c))
                return c->status;
        if (!caching_valid(m->os_disk.caching.value))
                return check_set(c, CHECK_FAIL, "CachingValueInvalid", "osDisk.caching is \"%s\"",
                                 m->os_disk.caching.value);
        if (!strcmp(m->diff_disk_option.value, "Local") && strcmp(m->os_disk.caching.value, "ReadOnly"))
                return check_set(c, CHECK_FAIL, "EphemeralOsCachingNotReadOnly",
                                 "ephemeral OS disk has caching \"%s\"; it must be ReadOnly",
                                 m->os_disk.caching.value);
        for (unsigned i = 0; i < m->n_data_disks; i++) {
                const struct imds_disk *d = &m->data_disks[i];

                if (!caching_valid(d->caching.value))
                        return check_set(c, CHECK_FAIL, "CachingValueInvalid",
                                         "data disk lun %s has caching \"%s\"", d->lun.value, d->caching.value);
                if (uncached_only(d) && strcmp(d->caching.value, "None"))
                        return check_set(c, CHECK_FAIL, "UncachedDiskHasCaching",
                                         "data disk lun %s (%s) has caching \"%s\"; it must be None",
                                         d->lun.value, d->storage_account_type.value, d->caching.value);
        }
        check_set(c, CHECK_PASS, "CachingConsistent", "osDisk caching %s", m->os_disk.caching.value);
        for (unsigned i = 0; i < m->n_data_disks; i++)
                msg_append(c->message, sizeof(c->message), "; lun %s %s", m->data_disks[i].lun.value,
                           m->data_disks[i].caching.value);
        return c->status;
}
