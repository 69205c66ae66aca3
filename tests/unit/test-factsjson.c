/* SPDX-License-Identifier: Apache-2.0 */
/* Re-appraisal rests on this: facts written to JSON and read back give the
 * policy exactly the same checks and verdict, on every fixture. */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>

#include "blockdev.h"
#include "facts_json.h"
#include "imds.h"
#include "policy.h"
#include "sysroot.h"

static const struct { const char *root, *compute; } cases[] = {
        { "ds2v2-gen1", "ds2v2-gen1.json" }, { "d4sv5", "d4sv5.json" },
        { "d4dsv5-ephemeral", "d4dsv5-ephemeral.json" },
        { "d4dsv5-ephemeral-full", "d4dsv5-ephemeral-full.json" },
        { "d4dsv6-nvme", "d4dsv6-nvme.json" }, { "extra-disk", "d4sv5.json" },
        { "lun-mismatch", "ds2v2-gen1.json" }, { "root-not-os", "root-not-os.json" },
        { "root-on-dm", "d4sv5.json" }, { "ade", "ade.json" }, { "d4sv5", "eah-missing.json" },
        { "d4sv5", "eah-off.json" },
};

static void collect(const char *root, const char *compute, struct node_facts *f)
{
        char path[PATH_MAX], *json;
        struct sysroot sr;
        size_t n;

        snprintf(path, sizeof(path), "%s/%s", test_dir("HOSTROOTS"), root);
        assert_int_equal(sysroot_open(path, &sr), 0);
        blockdev_collect(&sr, &f->host);
        sysroot_close(&sr);
        json = test_read("IMDS_FIXTURES", compute, &n);
        f->imds.state = IMDS_OK;
        strcpy(f->imds.api_version, "2023-07-01");
        assert_int_equal(imds_compute_parse(json, n, &f->imds.compute, f->imds.error, sizeof(f->imds.error)), 0);
        free(json);
        /* The attested facts travel separately; make them agree. */
        f->attested.state = ATTESTED_OK;
        strcpy(f->attested.vm_id, f->imds.compute.vm_id.value);
        f->attested.expires_at = 2;
}

static void round_trip(struct node_facts *in, struct node_facts *out)
{
        cJSON *vm = imds_facts_to_json(&in->imds), *host = host_facts_to_json(&in->host);
        cJSON *disks = disks_to_json(&in->host);
        char err[256] = "";

        assert_int_equal(imds_facts_from_json(vm, &out->imds, err, sizeof(err)), 0);
        assert_int_equal(host_facts_from_json(host, disks, &out->host, err, sizeof(err)), 0);
        out->attested = in->attested;
        cJSON_Delete(vm);
        cJSON_Delete(host);
        cJSON_Delete(disks);
}

static void test_policy_identical_after_round_trip(void **state)
{
        struct node_facts *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
        struct policy_opts o = { .now = 1, .resource_tolerance_mib = 1024 };
        struct report ra, rb;
        unsigned verdicts[3] = { 0 };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                memset(a, 0, sizeof(*a));
                memset(b, 0, sizeof(*b));
                collect(cases[i].root, cases[i].compute, a);
                round_trip(a, b);
                policy_evaluate(a, &o, &ra);
                policy_evaluate(b, &o, &rb);
                assert_int_equal(ra.verdict, rb.verdict);
                verdicts[ra.verdict]++;
                for (unsigned k = 0; k < ra.n_checks; k++) {
                        assert_int_equal(ra.checks[k].status, rb.checks[k].status);
                        assert_string_equal(ra.checks[k].reason, rb.checks[k].reason);
                        assert_string_equal(ra.checks[k].message, rb.checks[k].message);
                }
        }
        /* The fixtures cover all three verdicts, so the comparison means something. */
        assert_true(verdicts[VERDICT_COMPLIANT] > 0 && verdicts[VERDICT_NONCOMPLIANT] > 0 &&
                    verdicts[VERDICT_UNKNOWN] > 0);
        free(a);
        free(b);
}

static char *facts_text(const struct node_facts *f)
{
        cJSON *o = cJSON_CreateObject();
        char *text;

        cJSON_AddItemToObject(o, "vm", imds_facts_to_json(&f->imds));
        cJSON_AddItemToObject(o, "host", host_facts_to_json(&f->host));
        cJSON_AddItemToObject(o, "disks", disks_to_json(&f->host));
        text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        assert_non_null(text);
        return text;
}

/* The daemon and verify reuse one facts buffer and reset only its headers
 * (facts.h): filled over garbage and over every other fixture, in both
 * orders, the facts must read exactly as when filled into zeroed memory. */
static void test_reused_buffers_hold_no_stale_data(void **state)
{
        const size_t n = sizeof(cases) / sizeof(cases[0]);
        struct node_facts *fresh = calloc(1, sizeof(*fresh)), *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

        assert_non_null(fresh);
        assert_non_null(a);
        assert_non_null(b);
        memset(a, 0xa5, sizeof(*a));
        memset(b, 0x5a, sizeof(*b));
        for (size_t step = 0; step < 2 * n; step++) {
                size_t i = step < n ? n - 1 - step : step - n;
                char *want, *got_a, *got_b;

                memset(fresh, 0, sizeof(*fresh));
                collect(cases[i].root, cases[i].compute, fresh);
                imds_facts_reset(&a->imds);
                memset(&a->attested, 0, sizeof(a->attested));
                collect(cases[i].root, cases[i].compute, a);
                round_trip(a, b);
                want = facts_text(fresh);
                got_a = facts_text(a);
                got_b = facts_text(b);
                assert_string_equal(got_a, want);
                assert_string_equal(got_b, want);
                free(want);
                free(got_a);
                free(got_b);
        }
        free(fresh);
        free(a);
        free(b);
}

static void test_reader_rejects_bad_types(void **state)
{
        struct imds_facts f;
        struct host_facts *h = calloc(1, sizeof(*h));
        char err[256];
        cJSON *vm = cJSON_Parse("{\"imdsState\":\"ok\",\"imdsApiVersion\":\"2023-07-01\",\"vmId\":7}");
        cJSON *host = cJSON_Parse("{\"state\":\"ok\",\"root\":{\"resolved\":true,\"source\":\"8:1\"}}");
        cJSON *disks = cJSON_Parse("[{\"device\":\"sda\",\"role\":\"os\",\"lun\":null,\"bus\":\"scsi\","
                                   "\"address\":\"a\",\"vendor\":\"v\",\"model\":\"m\",\"sizeBytes\":-1,"
                                   "\"fsType\":\"\",\"label\":\"\",\"ptType\":\"\",\"fsSource\":\"none\","
                                   "\"partitions\":[],\"mountpoints\":[],\"holdsRoot\":true}]");

        assert_int_equal(imds_facts_from_json(vm, &f, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, "vm.vmId is not a string");
        assert_int_equal(host_facts_from_json(host, disks, h, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, "disks[].sizeBytes is not a non-negative integer");
        cJSON_Delete(vm);
        cJSON_Delete(host);
        cJSON_Delete(disks);
        free(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_policy_identical_after_round_trip),
                cmocka_unit_test(test_reader_rejects_bad_types),
                cmocka_unit_test(test_reused_buffers_hold_no_stale_data),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
