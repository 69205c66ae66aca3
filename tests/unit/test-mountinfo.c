/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#include <errno.h>
#include <stdbool.h>

#include "mountinfo.h"

static void test_parse_real_lines(void **state)
{
        const char *text =
                "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,discard\n"
                "23 22 0:21 / /proc rw,nosuid - proc proc rw\n"
                "24 22 8:17 / /mnt/with\\040space rw shared:5 master:2 - ext4 /dev/sdb1 rw\n"
                "25 22 253:0 / / rw - xfs /dev/mapper/vg-root rw\n";
        struct mount_table t;
        const struct mount_entry *root;

        assert_int_equal(mountinfo_parse(text, &t), 0);
        assert_int_equal(t.n, 4);
        assert_string_equal(t.entries[2].mountpoint, "/mnt/with space");
        assert_int_equal(t.entries[2].major, 8);
        assert_int_equal(t.entries[2].minor, 17);
        assert_string_equal(t.entries[2].fstype, "ext4");
        root = mount_table_root(&t);
        assert_non_null(root);
        /* The last mount on / wins: it hides the ones below. */
        assert_int_equal(root->major, 253);
        assert_string_equal(root->source, "/dev/mapper/vg-root");
        mount_table_done(&t);
}

static void test_malformed(void **state)
{
        struct mount_table t;

        assert_int_equal(mountinfo_parse("22 1 8:1 / / rw\n", &t), -EBADMSG);
        assert_int_equal(mountinfo_parse("22 1 x:1 / / rw - ext4 /dev/sda1 rw\n", &t), -EBADMSG);
        assert_int_equal(mountinfo_parse("garbage\n", &t), -EBADMSG);
}

/* Kubelet and CSI paths run past 128 bytes and are kept whole; a mount
 * point beyond PATH_MAX cannot be real and its line is skipped, never
 * truncated. */
static void test_long_lines_kept_overlong_skipped(void **state)
{
        static char text[16384], path[MOUNTINFO_MAX_FIELD + 1];
        const char *csi = "/var/lib/kubelet/plugins/kubernetes.io/csi/disk.csi.azure.com/"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/globalmount";
        struct mount_table t;

        memset(path, 'p', sizeof(path) - 1);
        path[0] = '/';
        path[sizeof(path) - 1] = '\0';
        snprintf(text, sizeof(text),
                 "30 1 0:50 / %s rw - overlay overlay rw\n"
                 "31 1 8:32 / %s rw - ext4 /dev/sdc rw\n"
                 "22 1 8:1 / / rw - ext4 /dev/sda1\n", path, csi);
        assert_int_equal(mountinfo_parse(text, &t), 0);
        assert_int_equal(t.n, 2);
        assert_true(strlen(t.entries[0].mountpoint) > 128);
        assert_string_equal(t.entries[0].mountpoint, csi);
        assert_string_equal(t.entries[0].source, "/dev/sdc");
        assert_string_equal(t.entries[1].mountpoint, "/");
        assert_string_equal(t.entries[1].source, "/dev/sda1");     /* last field, no super options */
        mount_table_done(&t);
}

/* The table grows past its first block and stops at MOUNTINFO_MAX_ENTRIES;
 * lines too long to keep do not count against the cap. */
static char *many_mounts(unsigned n, bool long_tail)
{
        size_t cap = (size_t) n * 80 + MOUNTINFO_MAX_FIELD + 2048, len = 0;
        char *text = malloc(cap);

        assert_non_null(text);
        for (unsigned i = 0; i < n; i++)
                len += (size_t) snprintf(text + len, cap - len, "%u 1 8:%u / /m/%u rw - ext4 /dev/sd%u rw\n",
                                         i + 2, i % 256, i, i);
        if (long_tail) {
                len += (size_t) snprintf(text + len, cap - len, "9 1 8:1 / /");
                for (int i = 0; i < MOUNTINFO_MAX_FIELD; i++)
                        text[len++] = 'x';
                len += (size_t) snprintf(text + len, cap - len, " rw - ext4 /dev/sdz rw\n");
        }
        text[len] = '\0';
        return text;
}

static void test_table_grows_to_the_cap(void **state)
{
        struct mount_table t;
        char *text = many_mounts(1000, false);

        assert_int_equal(mountinfo_parse(text, &t), 0);
        assert_int_equal(t.n, 1000);
        assert_string_equal(t.entries[999].mountpoint, "/m/999");
        assert_int_equal(t.entries[999].minor, 999 % 256);
        mount_table_done(&t);
        free(text);

        text = many_mounts(MOUNTINFO_MAX_ENTRIES, true);
        assert_int_equal(mountinfo_parse(text, &t), 0);
        assert_int_equal(t.n, MOUNTINFO_MAX_ENTRIES);
        mount_table_done(&t);
        free(text);

        text = many_mounts(MOUNTINFO_MAX_ENTRIES + 1, false);
        assert_int_equal(mountinfo_parse(text, &t), -E2BIG);
        free(text);
}

static void test_no_root(void **state)
{
        struct mount_table t;

        assert_int_equal(mountinfo_parse("23 22 0:21 / /proc rw - proc proc rw\n", &t), 0);
        assert_null(mount_table_root(&t));
        mount_table_done(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_real_lines),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_long_lines_kept_overlong_skipped),
                cmocka_unit_test(test_table_grows_to_the_cap),
                cmocka_unit_test(test_no_root),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
