/* SPDX-License-Identifier: Apache-2.0 */
/* The compute parser on real-shaped IMDS JSON: every value a string, ""
 * for unused values, keys missing on old api-versions, wrong types. */
#include "testutil.h"

#include <errno.h>

#include "imds.h"

static struct imds_compute c;
static char err[256];

static int parse(const char *json)
{
        memset(&c, 0x5a, sizeof(c));    /* out-parameters must stay untouched on failure */
        err[0] = '\0';
        return imds_compute_parse(json, strlen(json), &c, err, sizeof(err));
}

static void test_fixture_ds2v2(void **state)
{
        size_t n;
        char *json = test_read("IMDS_FIXTURES", "ds2v2-gen1.json", &n);

        assert_int_equal(imds_compute_parse(json, n, &c, err, sizeof(err)), 0);
        assert_string_equal(c.vm_size.value, "Standard_DS2_v2");
        assert_true(c.encryption_at_host.present);
        assert_string_equal(c.encryption_at_host.value, "true");
        assert_string_equal(c.resource_disk_size.value, "14336");
        assert_true(c.data_disks_present);
        assert_int_equal(c.n_data_disks, 1);
        assert_string_equal(c.data_disks[0].lun.value, "0");
        assert_string_equal(c.data_disks[0].disk_size_gb.value, "32");
        assert_string_equal(c.os_disk.caching.value, "ReadWrite");
        assert_string_equal(c.os_disk.ade_enabled.value, "false");
        assert_true(c.diff_disk_option.present);
        assert_string_equal(c.diff_disk_option.value, "");
        free(json);
}

static void test_fixture_missing_eah(void **state)
{
        size_t n;
        char *json = test_read("IMDS_FIXTURES", "eah-missing.json", &n);

        assert_int_equal(imds_compute_parse(json, n, &c, err, sizeof(err)), 0);
        assert_false(c.encryption_at_host.present);
        assert_true(c.security_type.present);
        free(json);
}

static void test_empty_values_and_absent_keys(void **state)
{
        assert_int_equal(parse("{\"vmId\":\"v\",\"securityProfile\":{\"encryptionAtHost\":\"\"}}"), 0);
        assert_true(c.encryption_at_host.present);
        assert_string_equal(c.encryption_at_host.value, "");
        assert_false(c.data_disks_present);
        assert_false(c.resource_disk_size.present);
        assert_false(c.os_disk.caching.present);
}

static void test_wrong_types_are_malformed(void **state)
{
        assert_int_equal(parse("{\"vmId\":\"v\",\"securityProfile\":{\"encryptionAtHost\":true}}"), -EBADMSG);
        assert_string_equal(err, "compute.securityProfile.encryptionAtHost is not a string");
        assert_int_equal(parse("{\"vmId\":\"v\",\"securityProfile\":\"x\"}"), -EBADMSG);
        assert_int_equal(parse("{\"vmId\":\"v\",\"storageProfile\":{\"dataDisks\":{}}}"), -EBADMSG);
        assert_int_equal(parse("{\"vmId\":\"v\",\"storageProfile\":{\"dataDisks\":[1]}}"), -EBADMSG);
        assert_int_equal(parse("{\"vmId\":\"v\",\"storageProfile\":{\"dataDisks\":[{\"lun\":0}]}}"), -EBADMSG);
        assert_string_equal(err, "compute.storageProfile.dataDisks[0].lun is not a string");
        assert_int_equal(parse("{\"vmId\":\"v\",\"storageProfile\":{\"resourceDisk\":{\"size\":14336}}}"), -EBADMSG);
        assert_int_equal(parse("{\"vmId\":null}"), -EBADMSG);
}

static void test_not_an_object_or_no_vmid(void **state)
{
        assert_int_equal(parse(""), -EBADMSG);
        assert_int_equal(parse("[]"), -EBADMSG);
        assert_int_equal(parse("{\"compute\": not json"), -EBADMSG);
        assert_int_equal(parse("{}"), -EBADMSG);
        assert_string_equal(err, "compute.vmId is missing or empty");
        assert_int_equal(parse("{\"vmId\":\"\"}"), -EBADMSG);
}

static void test_limits(void **state)
{
        char big[600], json[8192];
        size_t o;

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        snprintf(json, sizeof(json), "{\"vmId\":\"v\",\"name\":\"%s\"}", big);
        assert_int_equal(parse(json), -E2BIG);
        o = (size_t) snprintf(json, sizeof(json), "{\"vmId\":\"v\",\"storageProfile\":{\"dataDisks\":[");
        for (int i = 0; i < 65; i++)
                o += (size_t) snprintf(json + o, sizeof(json) - o, "%s{\"lun\":\"%d\"}", i ? "," : "", i);
        snprintf(json + o, sizeof(json) - o, "]}}");
        assert_int_equal(parse(json), -E2BIG);
}

static void test_key_case_matters(void **state)
{
        /* cJSON's plain getter ignores case; IMDS keys are exact. */
        assert_int_equal(parse("{\"vmId\":\"v\",\"securityProfile\":{\"EncryptionAtHost\":\"true\"}}"), 0);
        assert_false(c.encryption_at_host.present);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixture_ds2v2),
                cmocka_unit_test(test_fixture_missing_eah),
                cmocka_unit_test(test_empty_values_and_absent_keys),
                cmocka_unit_test(test_wrong_types_are_malformed),
                cmocka_unit_test(test_not_an_object_or_no_vmid),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_key_case_matters),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
