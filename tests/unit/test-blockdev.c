/* SPDX-License-Identifier: Apache-2.0 */
/* The block-device collector on fixture host roots (tests/fixtures): real
 * sysfs symlink layouts, real mkfs images probed by libblkid, udev database
 * entries, and proc/1/mountinfo. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev.h"
#include "policy.h"
#include "sysroot.h"

#define GIB (UINT64_C(1) << 30)

static struct host_facts *h;

static void collect(const char *fixture)
{
        char path[PATH_MAX];
        struct sysroot sr;

        snprintf(path, sizeof(path), "%s/%s", test_dir("HOSTROOTS"), fixture);
        assert_int_equal(sysroot_open(path, &sr), 0);
        blockdev_collect(&sr, h);
        sysroot_close(&sr);
        assert_int_equal(h->state, HOST_OK);
}

static const struct disk_facts *dev(const char *name)
{
        for (unsigned i = 0; i < h->n_disks; i++)
                if (!strcmp(h->disks[i].name, name))
                        return &h->disks[i];
        fail_msg("no disk %s", name);
        return NULL;
}

static const struct part_facts *part(const struct disk_facts *d, const char *name)
{
        for (unsigned i = 0; i < d->n_parts; i++)
                if (!strcmp(d->parts[i].name, name))
                        return &d->parts[i];
        fail_msg("no partition %s on %s", name, d->name);
        return NULL;
}

static bool mounted_at(const struct disk_facts *d, const char *mp)
{
        for (unsigned i = 0; i < d->n_mounts; i++)
                if (!strcmp(disk_mount(h, d, i), mp))
                        return true;
        return false;
}

static void test_gen1_temp_is_sda_os_is_sdb(void **state)
{
        const struct disk_facts *sda, *sdb, *sdc;

        collect("ds2v2-gen1");
        assert_int_equal(h->n_disks, 3);        /* sr0 is a DVD and not counted */
        sda = dev("sda");
        sdb = dev("sdb");
        sdc = dev("sdc");
        assert_int_equal(sda->role, ROLE_RESOURCE);
        assert_non_null(strstr(sda->address, "00000000-0001-8899-0000-000000000000/3:0:1:0"));
        assert_int_equal(sdb->role, ROLE_OS);
        assert_int_equal(sdc->role, ROLE_DATA);
        assert_int_equal(sdc->lun, 0);
        assert_int_equal(sda->size_bytes, 14 * GIB);
        assert_int_equal(sdc->size_bytes, 32 * GIB);
        assert_true(sdb->holds_root);
        assert_false(sda->holds_root);
        assert_true(mounted_at(sda, "/mnt"));
        assert_true(mounted_at(sdb, "/boot/efi"));
        assert_true(h->root_resolved);
        assert_string_equal(part(sdb, "sdb1")->fs.type, "ext4");
        assert_string_equal(part(sdb, "sdb1")->fs.label, "cloudimg-rootfs");
        assert_int_equal(part(sdb, "sdb1")->fs.source, FS_SOURCE_BLKID);
        assert_string_equal(part(sdb, "sdb15")->fs.type, "vfat");
        assert_string_equal(part(sdb, "sdb15")->fs.label, "UEFI");
        assert_string_equal(sdc->fs.type, "ext4");
}

static void test_gen2_no_temp_and_udev_fallback(void **state)
{
        const struct disk_facts *sda;
        const struct part_facts *efi;

        collect("d4sv5");
        assert_int_equal(h->n_disks, 1);        /* loop0 and sr0 skipped */
        sda = dev("sda");
        assert_int_equal(sda->role, ROLE_OS);
        assert_non_null(strstr(sda->address, "f8b3781a-1e82-4818-a1c3-63d806ec15bb/0:0:0:0"));
        assert_int_equal(sda->size_bytes, 128 * GIB);
        assert_true(sda->holds_root);
        /* dev/sda15 is absent: the udev database answers, and says so. */
        efi = part(sda, "sda15");
        assert_int_equal(efi->fs.source, FS_SOURCE_UDEV);
        assert_string_equal(efi->fs.type, "vfat");
        assert_string_equal(efi->fs.label, "UEFI");
}

static void test_untouched_ntfs_temp_disk(void **state)
{
        const struct disk_facts *sdb;

        collect("d4dsv5-ephemeral");
        sdb = dev("sdb");
        assert_int_equal(sdb->role, ROLE_RESOURCE);
        assert_int_equal(sdb->size_bytes, 120 * GIB);
        assert_string_equal(part(sdb, "sdb1")->fs.type, "ntfs");
        assert_string_equal(part(sdb, "sdb1")->fs.label, "Temporary Storage");
        assert_int_equal(sdb->n_mounts, 0);
        collect("d4dsv5-ephemeral-full");
        assert_int_equal(h->n_disks, 1);
        assert_int_equal(dev("sda")->size_bytes, 150 * GIB);
}

static void test_nvme_v6(void **state)
{
        const struct disk_facts *os, *data, *local;

        collect("d4dsv6-nvme");
        assert_int_equal(h->n_disks, 3);
        os = dev("nvme0n1");
        data = dev("nvme0n2");
        local = dev("nvme1n1");
        assert_int_equal(os->bus, BUS_NVME);
        assert_int_equal(os->role, ROLE_OS);
        assert_true(os->holds_root);
        assert_int_equal(data->role, ROLE_DATA);
        assert_int_equal(data->lun, 0);
        assert_int_equal(data->size_bytes, 64 * GIB);
        assert_int_equal(local->role, ROLE_LOCAL_NVME);
        assert_int_equal(local->size_bytes, 220 * GIB);
        /* A raw disk: libblkid looked and found nothing. */
        assert_int_equal(local->fs.source, FS_SOURCE_BLKID);
        assert_string_equal(local->fs.type, "");
        assert_string_equal(os->vendor, "0x1414");
        assert_non_null(strstr(os->address, "MSFT NVMe Accelerator v1.0/nsid=1"));
}

static void test_iscsi_disk_is_unknown(void **state)
{
        const struct disk_facts *sdb;

        collect("extra-disk");
        sdb = dev("sdb");
        assert_int_equal(sdb->role, ROLE_UNKNOWN);
        assert_string_equal(sdb->vendor, "LIO-ORG");
        assert_true(mounted_at(sdb, "/srv/iscsi"));
}

static void test_lun_read_from_address(void **state)
{
        collect("lun-mismatch");
        assert_int_equal(dev("sdc")->role, ROLE_DATA);
        assert_int_equal(dev("sdc")->lun, 1);
}

static void test_root_through_dm_slaves(void **state)
{
        collect("root-on-dm");
        assert_true(h->root_resolved);
        assert_true(dev("sda")->holds_root);
        assert_non_null(strstr(h->root_source, "253:0"));
}

static void test_root_on_data_disk(void **state)
{
        collect("root-not-os");
        assert_true(dev("sdc")->holds_root);
        assert_false(dev("sda")->holds_root);
        assert_true(mounted_at(dev("sda"), "/oldroot"));
}

static void test_bek_volume(void **state)
{
        const struct disk_facts *sdd;

        collect("ade");
        sdd = dev("sdd");
        assert_int_equal(sdd->role, ROLE_BEK);
        assert_string_equal(part(sdd, "sdd1")->fs.label, "BEK VOLUME");
}

/* disk-inventory on the collected facts alone (no IMDS needed). */
static enum check_status inventory(struct check_result *c)
{
        struct node_facts *f = calloc(1, sizeof(*f));
        enum check_status st;

        assert_non_null(f);
        memcpy(&f->host, h, sizeof(*h));
        memset(c, 0, sizeof(*c));
        st = check_disk_inventory(f, &(struct policy_opts){ 0 }, c);
        free(f);
        return st;
}

/* 64 data disks + OS + temp + 8 local NVMe: more than the old 64-disk cap,
 * all classified, inventory judged. */
static void test_max_disks(void **state)
{
        unsigned roles[ROLE_COUNT] = { 0 };
        uint64_t luns = 0;
        struct check_result c;

        collect("max-disks");
        assert_int_equal(h->n_disks, 74);
        for (unsigned i = 0; i < h->n_disks; i++) {
                roles[h->disks[i].role]++;
                assert_string_equal(h->disks[i].error, "");
                if (h->disks[i].role == ROLE_DATA)
                        luns |= UINT64_C(1) << h->disks[i].lun;
        }
        assert_int_equal(roles[ROLE_OS], 1);
        assert_int_equal(roles[ROLE_RESOURCE], 1);
        assert_int_equal(roles[ROLE_DATA], 64);
        assert_int_equal(roles[ROLE_LOCAL_NVME], 8);
        assert_int_equal(roles[ROLE_UNKNOWN], 0);
        assert_true(luns == UINT64_MAX);
        assert_string_equal(dev("sdbn")->name, "sdbn");    /* LUN 63 */
        assert_int_equal(dev("sdbn")->lun, 63);
        assert_int_equal(inventory(&c), CHECK_PASS);
}

/* Gen1: the empty legacy floppy and the ata_piix DVD are not disks. */
static void test_gen1_floppy_and_dvd(void **state)
{
        struct check_result c;

        collect("gen1-floppy");
        assert_int_equal(h->n_disks, 3);
        for (unsigned i = 0; i < h->n_disks; i++)
                assert_true(strcmp(h->disks[i].name, "fd0") && strcmp(h->disks[i].name, "sr0"));
        assert_int_equal(inventory(&c), CHECK_PASS);
        assert_string_equal(c.reason, "AllDisksRecognised");
}

/* A disk detached mid-scan is reported on that disk; the others are read
 * whole, and a 204-byte mount point is kept. */
static void test_vanished_disk_and_long_mount(void **state)
{
        const struct disk_facts *sdd, *sdc;
        struct check_result c;
        bool long_kept = false;

        collect("csi-detach");
        assert_int_equal(h->n_disks, 4);
        sdd = dev("sdd");
        assert_int_equal(sdd->role, ROLE_UNKNOWN);
        assert_non_null(strstr(sdd->error, "No such file"));
        sdc = dev("sdc");
        assert_int_equal(sdc->role, ROLE_DATA);
        assert_true(dev("sdb")->holds_root);
        assert_true(h->root_resolved);
        for (unsigned i = 0; i < sdc->n_mounts; i++)
                long_kept |= strlen(disk_mount(h, sdc, i)) >= 200 && strstr(disk_mount(h, sdc, i), "/volume-subpaths/");
        assert_true(long_kept);
        /* globalmount (125 bytes), the pod's publish mount (131) and the
         * subPath bind (204): all three were cut at 128 bytes before. */
        assert_int_equal(sdc->n_mounts, 3);
        for (unsigned i = 0; i < sdc->n_mounts; i++)
                assert_true(strlen(disk_mount(h, sdc, i)) > 120);
        assert_int_equal(sdc->mounts_omitted, 0);
        assert_int_equal(inventory(&c), CHECK_UNKNOWN);
        assert_string_equal(c.reason, "DiskUnreadable");
        assert_non_null(strstr(c.message, "sdd: "));
}

static void test_resolve_stays_inside_root(void **state)
{
        char tmpl[] = "/tmp/hostenc-sysroot-XXXXXX", real[PATH_MAX], link[PATH_MAX];
        struct sysroot sr;

        assert_non_null(mkdtemp(tmpl));
        snprintf(link, sizeof(link), "%s/up", tmpl);
        assert_int_equal(symlink("../../../../etc", link), 0);
        snprintf(link, sizeof(link), "%s/abs", tmpl);
        assert_int_equal(symlink("/etc", link), 0);
        assert_int_equal(sysroot_open(tmpl, &sr), 0);
        assert_int_equal(sysroot_resolve(&sr, "up/passwd", real, sizeof(real)), 0);
        assert_string_equal(real, "etc/passwd");
        assert_int_equal(sysroot_resolve(&sr, "abs/passwd", real, sizeof(real)), 0);
        assert_string_equal(real, "etc/passwd");
        assert_true(sysroot_open_file(&sr, "up/passwd", O_RDONLY) < 0);
        snprintf(link, sizeof(link), "%s/loop", tmpl);
        assert_int_equal(symlink("loop", link), 0);
        assert_int_equal(sysroot_resolve(&sr, "loop", real, sizeof(real)), -ELOOP);
        sysroot_close(&sr);
        (void) unlink(link);
        snprintf(link, sizeof(link), "%s/up", tmpl);
        (void) unlink(link);
        snprintf(link, sizeof(link), "%s/abs", tmpl);
        (void) unlink(link);
        (void) rmdir(tmpl);
}

static void test_missing_sys_block(void **state)
{
        char tmpl[] = "/tmp/hostenc-empty-XXXXXX";
        struct sysroot sr;

        assert_non_null(mkdtemp(tmpl));
        assert_int_equal(sysroot_open(tmpl, &sr), 0);
        blockdev_collect(&sr, h);
        sysroot_close(&sr);
        (void) rmdir(tmpl);
        assert_int_equal(h->state, HOST_UNREADABLE);
        assert_non_null(strstr(h->error, "sys/block"));
}

static int setup(void **state)
{
        h = calloc(1, sizeof(*h));
        return h ? 0 : -1;
}

static int teardown(void **state)
{
        free(h);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_gen1_temp_is_sda_os_is_sdb),
                cmocka_unit_test(test_gen2_no_temp_and_udev_fallback),
                cmocka_unit_test(test_untouched_ntfs_temp_disk),
                cmocka_unit_test(test_nvme_v6),
                cmocka_unit_test(test_iscsi_disk_is_unknown),
                cmocka_unit_test(test_lun_read_from_address),
                cmocka_unit_test(test_root_through_dm_slaves),
                cmocka_unit_test(test_root_on_data_disk),
                cmocka_unit_test(test_bek_volume),
                cmocka_unit_test(test_max_disks),
                cmocka_unit_test(test_gen1_floppy_and_dvd),
                cmocka_unit_test(test_vanished_disk_and_long_mount),
                cmocka_unit_test(test_resolve_stays_inside_root),
                cmocka_unit_test(test_missing_sys_block),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
