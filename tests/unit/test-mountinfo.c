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

/* The table grows past its first block and stops at MOUNTINFO_MAX_ENTRIES;
 * lines too long to keep do not count against the cap. */
static char *many_mounts(unsigned n, bool long_tail)
{
        size_t cap = (size_t) n * 80 + 2048, len = 0;
        char *text = malloc(cap);

        assert_non_null(text);
        for (unsigned i = 0; i < n; i++)
                len += (size_t) snprintf(text + len, cap - len, "%u 1 8:%u / /m/%u rw - ext4 /dev/sd%u rw\n",
                                         i + 2, i % 256, i, i);
        if (long_tail) {
                len += (size_t) snprintf(text + len, cap - len, "9 1 8:1 / /");
                for (int i = 0; i < 300; i++)
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
                cmocka_unit_test(test_long_lines_skipped_not_truncated),
                cmocka_unit_test(test_table_grows_to_the_cap),
                cmocka_unit_test(test_no_root),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
