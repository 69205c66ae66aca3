/* SPDX-License-Identifier: Apache-2.0 */
/* Every check and its reasons, from synthetic facts. Each test changes one
 * fact of a compliant baseline and asserts what that fact must do. */
#include "testutil.h"

#include <errno.h>

#include "policy.h"
#include "vmsizes.h"

#define GIB (UINT64_C(1) << 30)
#define NOW 1800000000

static struct node_facts *f;
static struct report rep;

static void str(struct imds_str *s, const char *v)
{
        s->present = true;
        snprintf(s->value, sizeof(s->value), "%s", v);
}

static struct disk_facts *disk(const char *name, enum disk_role role, int lun, uint64_t gib)
{
        struct disk_facts *d = &f->host.disks[f->host.n_disks++];

        memset(d, 0, sizeof(*d));
        snprintf(d->name, sizeof(d->name), "%s", name);
        snprintf(d->address, sizeof(d->address), "vmbus:test/%s", name);
        d->role = role;
        d->lun = lun;
        d->size_bytes = gib * GIB;
        return d;
}

/* Standard_DS2_v2-like node: EAH on, OS + 14 GiB temp + data LUN 0 (32 GiB). */
static int setup(void **state)
{
        struct imds_compute *m;

        f = calloc(1, sizeof(*f));
        m = &f->imds.compute;
        f->imds.state = IMDS_OK;
        strcpy(f->imds.api_version, "2023-07-01");
        str(&m->vm_id, "11111111-2222-3333-4444-555555555555");
        str(&m->vm_size, "Standard_DS2_v2");
        str(&m->encryption_at_host, "true");
        str(&m->diff_disk_option, "");
        str(&m->resource_disk_size, "14336");
        str(&m->os_disk.caching, "ReadWrite");
        str(&m->os_disk.disk_size_gb, "30");
        str(&m->os_disk.ade_enabled, "false");
        m->data_disks_present = true;
        m->n_data_disks = 1;
        str(&m->data_disks[0].lun, "0");
        str(&m->data_disks[0].disk_size_gb, "32");
        str(&m->data_disks[0].caching, "ReadOnly");
        str(&m->data_disks[0].storage_account_type, "Premium_LRS");
        str(&m->data_disks[0].is_ultra_disk, "false");

        f->attested.state = ATTESTED_OK;
        strcpy(f->attested.nonce, "abc");
        strcpy(f->attested.nonce_requested, "abc");
        strcpy(f->attested.vm_id, "11111111-2222-3333-4444-555555555555");
        f->attested.expires_at = NOW + 3600;

        f->host.state = HOST_OK;
        disk("sda", ROLE_RESOURCE, -1, 14);
        disk("sdb", ROLE_OS, -1, 30)->holds_root = true;
        disk("sdc", ROLE_DATA, 0, 32);
        f->host.root_resolved = true;
        return 0;
}

static int teardown(void **state)
{
        free(f);
        return 0;
}

static const struct check_result *eval(const char *id)
{
        struct policy_opts o = { .now = NOW, .resource_tolerance_mib = 1024 };

        policy_evaluate(f, &o, &rep);
        for (unsigned i = 0; i < rep.n_checks; i++)
                if (!strcmp(rep.checks[i].id, id))
                        return &rep.checks[i];
        fail_msg("no check %s", id);
        return NULL;
}

#define expect(id, st, rsn, v)                                      \
        do {                                                        \
                const struct check_result *c_ = eval(id);           \
                assert_string_equal(check_status_to_string(c_->status), st); \
                assert_string_equal(c_->reason, rsn);               \
                assert_string_equal(verdict_to_string(rep.verdict), v); \
        } while (0)

static void test_baseline_compliant(void **state)
{
        expect("encryption-at-host", "pass", "EncryptionAtHostEnabled", "compliant");
        assert_int_equal(rep.n_checks, POLICY_N_CHECKS);
        for (unsigned i = 0; i < rep.n_checks; i++)
                if (rep.checks[i].severity == SEVERITY_FAIL)
                        assert_int_equal(rep.checks[i].status, CHECK_PASS);
        expect("temp-disk-usage", "pass", "LocalStorageUnused", "compliant");
        expect("local-nvme", "not-applicable", "NoLocalNvme", "compliant");
}

static void test_eah_values(void **state)
{
        str(&f->imds.compute.encryption_at_host, "false");
        expect("encryption-at-host", "fail", "EncryptionAtHostDisabled", "noncompliant");
        str(&f->imds.compute.encryption_at_host, "");
        expect("encryption-at-host", "fail", "EncryptionAtHostDisabled", "noncompliant");
        str(&f->imds.compute.encryption_at_host, "True");
        expect("encryption-at-host", "fail", "EncryptionAtHostDisabled", "noncompliant");
        f->imds.compute.encryption_at_host.present = false;
        expect("encryption-at-host", "unknown", "EncryptionAtHostNotReported", "unknown");
}

static void test_imds_states(void **state)
{
        f->imds.state = IMDS_UNAVAILABLE;
        strcpy(f->imds.error, "GET x: HTTP 500 after 9 attempts in 70.0 s");
        expect("encryption-at-host", "unknown", "ImdsUnavailable", "unknown");
        expect("data-disks", "unknown", "ImdsUnavailable", "unknown");
        expect("resource-disk", "unknown", "ImdsUnavailable", "unknown");
        expect("attested-identity", "unknown", "ImdsUnavailable", "unknown");
        f->imds.state = IMDS_MALFORMED;
        expect("encryption-at-host", "unknown", "ImdsMalformed", "unknown");
        f->imds.state = IMDS_OVERSIZED;
        expect("encryption-at-host", "unknown", "ImdsResponseTooLarge", "unknown");
        f->imds.state = IMDS_NOT_RUN;
        expect("ade-conflict", "unknown", "ImdsNotQueried", "unknown");
}

static void test_attested(void **state)
{
        static const struct { enum attested_state s; const char *st, *reason, *verdict; } cases[] = {
                { ATTESTED_NOT_RUN, "unknown", "AttestedDocumentNotQueried", "unknown" },
                { ATTESTED_UNAVAILABLE, "unknown", "AttestedDocumentUnavailable", "unknown" },
                { ATTESTED_MALFORMED, "unknown", "AttestedDocumentMalformed", "unknown" },
                { ATTESTED_BAD_SIGNATURE, "fail", "AttestedSignatureInvalid", "noncompliant" },
                { ATTESTED_SIGNER_NOT_AZURE, "fail", "AttestedSignerNotAzure", "noncompliant" },
                { ATTESTED_UNTRUSTED, "fail", "AttestedDocumentUntrusted", "noncompliant" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                f->attested.state = cases[i].s;
                expect("attested-identity", cases[i].st, cases[i].reason, cases[i].verdict);
        }
        f->attested.state = ATTESTED_OK;
        strcpy(f->attested.nonce, "other");
        expect("attested-identity", "fail", "AttestedNonceMismatch", "noncompliant");
        strcpy(f->attested.nonce, "abc");
        /* A document signed after the node's "now": the clock is behind. */
        f->attested.created_at = NOW + POLICY_CLOCK_SKEW_S + 1;
        expect("attested-identity", "unknown", "NodeClockBehind", "unknown");
        f->attested.created_at = NOW + POLICY_CLOCK_SKEW_S;
        expect("attested-identity", "pass", "AttestedIdentityVerified", "compliant");
        f->attested.created_at = 0;
        f->attested.expires_at = NOW;
        expect("attested-identity", "unknown", "AttestedDocumentExpired", "unknown");
        f->attested.expires_at = NOW + 1;
        strcpy(f->attested.vm_id, "00000000-dead-beef-0000-000000000000");
        expect("attested-identity", "fail", "AttestedVmIdMismatch", "noncompliant");
        strcpy(f->attested.vm_id, "11111111-2222-3333-4444-555555555555");
        expect("attested-identity", "pass", "AttestedIdentityVerified", "compliant");
}

static void test_inventory(void **state)
{
        struct disk_facts *d = disk("sdd", ROLE_UNKNOWN, -1, 10);

        strcpy(d->vendor, "LIO-ORG");
        expect("disk-inventory", "fail", "UnrecognisedDisk", "noncompliant");
        assert_non_null(strstr(eval("disk-inventory")->message, "sdd"));
        f->host.n_disks = 0;
        expect("disk-inventory", "unknown", "NoDisksFound", "unknown");
        expect("os-disk", "unknown", "NoDisksFound", "unknown");
        expect("temp-disk-usage", "unknown", "NoDisksFound", "unknown");
        f->host.state = HOST_UNREADABLE;
        expect("disk-inventory", "unknown", "BlockDevicesUnreadable", "unknown");
}

/* A disk that vanished mid-scan is reported on that disk: the inventory is
 * unknown (never pass), the checks about the other disks are still judged,
 * and a foreign disk still fails. */
static void test_inventory_unreadable_disk(void **state)
{
        struct disk_facts *d = disk("sdd", ROLE_UNKNOWN, -1, 0);

        strcpy(d->error, "dev or size: No such file or directory");
        expect("disk-inventory", "unknown", "DiskUnreadable", "unknown");
        assert_non_null(strstr(eval("disk-inventory")->message, "sdd: dev or size: No such file"));
        expect("os-disk", "pass", "RootOnOsDisk", "unknown");
        expect("data-disks", "pass", "DataDisksMatch", "unknown");
        expect("resource-disk", "pass", "ResourceDiskMatches", "unknown");
        /* The OS disk itself unreadable: its absence is not proved. */
        f->host.disks[1].role = ROLE_UNKNOWN;
        strcpy(f->host.disks[1].error, "dev or size: Invalid argument");
        f->host.disks[1].holds_root = false;
        expect("os-disk", "unknown", "DiskUnreadable", "unknown");
        strcpy(disk("sde", ROLE_UNKNOWN, -1, 10)->vendor, "LIO-ORG");
        expect("disk-inventory", "fail", "UnrecognisedDisk", "noncompliant");
}

static void test_os_disk(void **state)
{
        f->host.disks[1].holds_root = false;
        f->host.disks[2].holds_root = true;
        expect("os-disk", "fail", "RootNotOnOsDisk", "noncompliant");
        f->host.root_resolved = false;
        expect("os-disk", "unknown", "RootDeviceUnresolved", "unknown");
        f->host.disks[1].role = ROLE_DATA;
        expect("os-disk", "fail", "NoOsDisk", "noncompliant");
        f->host.disks[1].role = ROLE_OS;
        disk("sde", ROLE_OS, -1, 30);
        expect("os-disk", "fail", "MultipleOsDisks", "noncompliant");
}

static void test_data_disks(void **state)
{
        f->host.disks[2].lun = 1;
        expect("data-disks", "fail", "DataDiskLunMismatch", "noncompliant");
        assert_string_equal(eval("data-disks")->message, "IMDS LUNs {0}, guest LUNs {1}");
        f->host.disks[2].lun = 0;
        f->host.disks[2].size_bytes = 64 * GIB;
        expect("data-disks", "fail", "DataDiskSizeMismatch", "noncompliant");
        f->host.disks[2].size_bytes = 32 * GIB;
        disk("sdd", ROLE_DATA, 0, 32);
        expect("data-disks", "fail", "DataDiskLunMismatch", "noncompliant");
        f->host.n_disks--;
        str(&f->imds.compute.data_disks[0].lun, "zero");
        expect("data-disks", "unknown", "ImdsValueMalformed", "unknown");
        f->imds.compute.data_disks_present = false;
        expect("data-disks", "unknown", "DataDisksNotReported", "unknown");
}

static void test_data_disk_grace(void **state)
{
        struct policy_opts o = { .now = NOW, .resource_tolerance_mib = 1024, .data_disk_grace_s = 120 };
        const struct check_result *c;

        f->host.disks[2].lun = 1;
        policy_evaluate(f, &o, &rep);
        c = &rep.checks[4];
        assert_string_equal(c->id, "data-disks");
        assert_string_equal(c->reason, "DataDiskMismatchPending");
        assert_int_equal(c->status, CHECK_UNKNOWN);
        o.data_disk_mismatch_since = NOW - 119;
        policy_evaluate(f, &o, &rep);
        assert_string_equal(rep.checks[4].reason, "DataDiskMismatchPending");
        o.data_disk_mismatch_since = NOW - 120;
        policy_evaluate(f, &o, &rep);
        assert_string_equal(rep.checks[4].reason, "DataDiskLunMismatch");
        assert_int_equal(rep.verdict, VERDICT_NONCOMPLIANT);
}

static void test_resource_disk(void **state)
{
        struct imds_compute *m = &f->imds.compute;

        f->host.disks[0].size_bytes = 20 * GIB;
        expect("resource-disk", "fail", "ResourceDiskSizeMismatch", "noncompliant");
        str(&m->vm_size, "Standard_B2ms");      /* IMDS 14336 MiB, documented 16 GiB */
        expect("resource-disk", "unknown", "ResourceDiskSizeUnverified", "unknown");
        f->host.disks[0].size_bytes = 16 * GIB;
        expect("resource-disk", "pass", "ResourceDiskMatchesSizeTable", "compliant");
        str(&m->vm_size, "Standard_B2ts_v2");   /* listed, but without a temp disk */
        expect("resource-disk", "unknown", "ResourceDiskSizeUnverified", "unknown");
        str(&m->vm_size, "Standard_B2ms");
        str(&m->diff_disk_option, "Local");
        str(&m->os_disk.caching, "ReadOnly");
        f->host.disks[0].size_bytes = 10 * GIB;
        expect("resource-disk", "pass", "ResourceDiskShrunkByEphemeralOs", "compliant");
        f->host.disks[0].role = ROLE_DATA;
        f->host.disks[0].lun = 9;
        m->n_data_disks = 0;
        f->host.disks[2].role = ROLE_OS;        /* keep inventory consistent; os check not under test */
        str(&m->diff_disk_option, "");
        expect("resource-disk", "fail", "ResourceDiskMissing", "noncompliant");
        str(&m->diff_disk_option, "Local");
        expect("resource-disk", "pass", "ResourceDiskConsumedByEphemeralOs", "noncompliant");
        str(&m->resource_disk_size, "0");
        expect("resource-disk", "pass", "NoResourceDisk", "noncompliant");
        str(&m->resource_disk_size, "14 GiB");
        expect("resource-disk", "unknown", "ImdsValueMalformed", "noncompliant");
        m->resource_disk_size.present = false;
        expect("resource-disk", "unknown", "ResourceDiskNotReported", "noncompliant");
}

static void test_resource_disk_unexpected(void **state)
{
        str(&f->imds.compute.resource_disk_size, "0");
        expect("resource-disk", "fail", "UnexpectedResourceDisk", "noncompliant");
        disk("sdd", ROLE_RESOURCE, -1, 14);
        expect("resource-disk", "fail", "MultipleResourceDisks", "noncompliant");
}

static void test_resource_within_tolerance(void **state)
{
        /* Trusted Launch keeps 1 GiB of local storage for VM guest state. */
        f->host.disks[0].size_bytes = 13 * GIB;
        expect("resource-disk", "pass", "ResourceDiskMatches", "compliant");
        f->host.disks[0].size_bytes = 13 * GIB - 1;
        expect("resource-disk", "fail", "ResourceDiskSizeMismatch", "noncompliant");
}

static void test_ade(void **state)
{
        str(&f->imds.compute.os_disk.ade_enabled, "true");
        expect("ade-conflict", "fail", "AzureDiskEncryptionEnabled", "noncompliant");
        str(&f->imds.compute.os_disk.ade_enabled, "false");
        str(&f->imds.compute.data_disks[0].ade_enabled, "true");
        expect("ade-conflict", "fail", "AzureDiskEncryptionEnabled", "noncompliant");
        f->imds.compute.data_disks[0].ade_enabled.present = false;
        f->host.disks[2].n_parts = 1;
        strcpy(f->host.disks[2].parts[0].name, "sdc1");
        strcpy(f->host.disks[2].parts[0].fs.label, "BEK VOLUME");
        expect("ade-conflict", "fail", "BekVolumePresent", "noncompliant");
        /* The BEK volume counts even when IMDS cannot be reached. */
        f->imds.state = IMDS_UNAVAILABLE;
        expect("ade-conflict", "fail", "BekVolumePresent", "noncompliant");
        f->imds.state = IMDS_OK;
        f->host.disks[2].n_parts = 0;
        f->imds.compute.os_disk.ade_enabled.present = false;
        expect("ade-conflict", "unknown", "AdeStatusNotReported", "unknown");
}

static void test_cache_settings_warn_only(void **state)
{
        str(&f->imds.compute.diff_disk_option, "Local");
        str(&f->imds.compute.resource_disk_size, "14336");
        expect("cache-settings", "fail", "EphemeralOsCachingNotReadOnly", "compliant");
        str(&f->imds.compute.diff_disk_option, "");
        str(&f->imds.compute.data_disks[0].storage_account_type, "PremiumV2_LRS");
        expect("cache-settings", "fail", "UncachedDiskHasCaching", "compliant");
        str(&f->imds.compute.data_disks[0].caching, "None");
        expect("cache-settings", "pass", "CachingConsistent", "compliant");
        str(&f->imds.compute.os_disk.caching, "WriteBack");
        expect("cache-settings", "fail", "CachingValueInvalid", "compliant");
}

static void test_local_nvme(void **state)
{
        struct imds_compute *m = &f->imds.compute;

        str(&m->vm_size, "Standard_D4ds_v6");
        str(&m->resource_disk_size, "0");
        f->host.disks[0].role = ROLE_LOCAL_NVME;
        f->host.disks[0].size_bytes = 220 * GIB;
        expect("local-nvme", "pass", "LocalNvmePlausible", "compliant");
        expect("resource-disk", "pass", "NoResourceDisk", "compliant");
        f->host.disks[0].size_bytes = 110 * GIB;
        expect("local-nvme", "fail", "LocalNvmeSizeMismatch", "compliant");
        f->host.disks[0].role = ROLE_DATA;
        f->host.disks[0].lun = 5;
        expect("local-nvme", "fail", "LocalNvmeCountMismatch", "noncompliant");
        str(&m->diff_disk_option, "Local");
        expect("local-nvme", "pass", "LocalNvmePlausible", "noncompliant");
        str(&m->vm_size, "Standard_L8s_v3");    /* 1 x 1920 GB = 1788 GiB */
        f->host.disks[0].role = ROLE_LOCAL_NVME;
        expect("local-nvme", "fail", "LocalNvmeSizeMismatch", "compliant");
        str(&m->vm_size, "Standard_L16s_v4");   /* no row in data/vmsizes.tsv */
        expect("local-nvme", "unknown", "LocalNvmeSizeUnknown", "compliant");
}

/* The size table (data/vmsizes.tsv, generated into evidence/vmsizes_table.h):
 * the largest local NVMe layout, and a size that has none. */
static void test_local_nvme_table(void **state)
{
        struct imds_compute *m = &f->imds.compute;
        const struct vm_local_nvme *l80 = vmsize_local_nvme("standard_l80s_v3");

        assert_non_null(l80);
        assert_int_equal(l80->count, 10);
        assert_int_equal(l80->size_gib, 1788);
        assert_int_equal(l80->temp_gib, 800);
        assert_int_equal(vmsize_local_nvme("Standard_D32ads_v6")->count, 4);
        assert_int_equal(vmsize_local_nvme("Standard_D96pds_v6")->size_gib, 880);
        assert_int_equal(vmsize_local_nvme("Standard_D16ads_v5")->temp_gib, 600);
        assert_null(vmsize_local_nvme("Standard_D4s_v9"));
        str(&m->vm_size, "Standard_D2s_v5");
        expect("local-nvme", "not-applicable", "NoLocalNvme", "compliant");
        disk("nvme1n1", ROLE_LOCAL_NVME, -1, 110);
        expect("local-nvme", "fail", "LocalNvmeCountMismatch", "compliant");
        /* ND H100 v5: eight disks, per-disk size not stated: counted only. */
        str(&m->vm_size, "Standard_ND96isr_H100_v5");
        expect("local-nvme", "fail", "LocalNvmeCountMismatch", "compliant");
        for (int i = 0; i < 7; i++)
                disk("nvmeX", ROLE_LOCAL_NVME, -1, 3576);
        expect("local-nvme", "pass", "LocalNvmePlausible", "compliant");
}

static void test_temp_usage(void **state)
{
        struct disk_facts *d = &f->host.disks[0];

        d->n_parts = 1;
        strcpy(d->parts[0].name, "sda1");
        strcpy(d->parts[0].fs.type, "ext4");
        disk_add_mount(&f->host, d, "/mnt");
        expect("temp-disk-usage", "pass", "LocalStorageInUse", "compliant");
        assert_non_null(strstr(eval("temp-disk-usage")->message, "sda1=ext4 mounted at /mnt"));
        d->role = ROLE_DATA;
        d->lun = 3;
        expect("temp-disk-usage", "not-applicable", "NoLocalStorage", "noncompliant");
}

/* Mount points: kept whole up to 16 per disk and HOST_MOUNT_TEXT per node,
 * the rest counted, never cut. */
static void test_mount_limits(void **state)
{
        struct disk_facts *d = &f->host.disks[0], *e = &f->host.disks[1];
        char mp[4000];
        size_t before;

        for (unsigned i = 0; i < DISK_MAX_MOUNTS + 2; i++) {
                snprintf(mp, sizeof(mp), "/var/lib/kubelet/pods/%u/mount", i);
                disk_add_mount(&f->host, d, mp);
        }
        disk_add_mount(&f->host, d, "/var/lib/kubelet/pods/0/mount");  /* again: no change */
        assert_int_equal(d->n_mounts, DISK_MAX_MOUNTS);
        assert_int_equal(d->mounts_omitted, 2);
        assert_string_equal(disk_mount(&f->host, d, 15), "/var/lib/kubelet/pods/15/mount");
        memset(mp, 'm', sizeof(mp) - 1);
        mp[0] = '/';
        mp[sizeof(mp) - 1] = '\0';
        before = f->host.mount_text_used;
        for (unsigned i = 0; i < 10; i++) {
                mp[1] = (char) ('a' + i);
                disk_add_mount(&f->host, e, mp);
        }
        assert_int_equal(e->n_mounts, (HOST_MOUNT_TEXT - before) / sizeof(mp));
        assert_int_equal(e->n_mounts + e->mounts_omitted, 10);
        assert_int_equal(strlen(disk_mount(&f->host, e, 0)), sizeof(mp) - 1);
        assert_true(f->host.mount_text_used <= HOST_MOUNT_TEXT);
        expect("temp-disk-usage", "pass", "LocalStorageInUse", "compliant");
        assert_non_null(strstr(eval("temp-disk-usage")->message, "mounted at /var/lib/kubelet/pods/0/mount,"));
}

static void test_verdict_rule(void **state)
{
        struct check_result c[3] = {
                { .severity = SEVERITY_FAIL, .status = CHECK_PASS },
                { .severity = SEVERITY_WARN, .status = CHECK_FAIL },
                { .severity = SEVERITY_FAIL, .status = CHECK_NOT_APPLICABLE },
        };

        assert_int_equal(policy_verdict(c, 3), VERDICT_COMPLIANT);
        c[2].status = CHECK_UNKNOWN;
        assert_int_equal(policy_verdict(c, 3), VERDICT_UNKNOWN);
        c[0].status = CHECK_FAIL;
        assert_int_equal(policy_verdict(c, 3), VERDICT_NONCOMPLIANT);
        c[0].status = (enum check_status) 42;   /* never set: fails closed */
        c[2].status = CHECK_PASS;
        assert_int_equal(policy_verdict(c, 3), VERDICT_UNKNOWN);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_baseline_compliant), T(test_eah_values), T(test_imds_states),
                T(test_attested), T(test_inventory), T(test_inventory_unreadable_disk), T(test_os_disk), T(test_data_disks), T(test_data_disk_grace),
                T(test_resource_disk), T(test_resource_disk_unexpected),
                T(test_resource_within_tolerance), T(test_ade), T(test_cache_settings_warn_only),
                T(test_local_nvme), T(test_local_nvme_table), T(test_temp_usage), T(test_mount_limits), T(test_verdict_rule),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
