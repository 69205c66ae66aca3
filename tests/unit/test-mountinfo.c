/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#include <errno.h>

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

static void test_long_lines_skipped_not_truncated(void **state)
{
        char text[1024], path[300];
        struct mount_table t;

        memset(path, 'p', sizeof(path) - 1);
        path[0] = '/';
        path[sizeof(path) - 1] = '\0';
        snprintf(text, sizeof(text), "30 1 0:50 / %s rw - overlay overlay rw\n22 1 8:1 / / rw - ext4 /dev/sda1 rw\n", path);
        assert_int_equal(mountinfo_parse(text, &t), 0);
        assert_int_equal(t.n, 1);
        assert_string_equal(t.entries[0].mountpoint, "/");
        mount_table_done(&t);
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
                cmocka_unit_test(test_long_lines_skipped_not_truncated),
                cmocka_unit_test(test_no_root),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
