/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#include "blkprobe.h"

static void test_parse(void **state)
{
        const char *text = "S:disk/azure/resource-part1\n"
                           "I:123\n"
                           "E:ID_FS_TYPE=ntfs\n"
                           "E:ID_FS_LABEL=Temporary_Storage\n"
                           "E:ID_FS_LABEL_ENC=Temporary\\x20Storage\n"
                           "E:ID_PART_TABLE_TYPE=dos\n";
        struct fs_facts fs;

        assert_int_equal(udevdb_parse_fs(text, &fs), 0);
        assert_int_equal(fs.source, FS_SOURCE_UDEV);
        assert_string_equal(fs.type, "ntfs");
        assert_string_equal(fs.label, "Temporary Storage");
        assert_string_equal(fs.pttype, "dos");
}

static void test_nothing(void **state)
{
        struct fs_facts fs;

        assert_int_equal(udevdb_parse_fs("S:disk/by-id/x\nE:DEVTYPE=disk\n", &fs), 1);
        assert_string_equal(fs.type, "");
        /* \x00 must not cut the label short or smuggle a NUL. */
        assert_int_equal(udevdb_parse_fs("E:ID_FS_TYPE=vfat\nE:ID_FS_LABEL_ENC=a\\x00b\n", &fs), 0);
        assert_string_equal(fs.label, "a\\x00b");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_nothing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
