/* SPDX-License-Identifier: Apache-2.0 */
/* The IMDS compute parser (untrusted: any process on the node, or whoever
 * answers on 169.254.169.254, chooses these bytes).
 *
 * Properties beyond "no crash, no sanitizer report":
 *  - a parsed document survives the evidence JSON round trip
 *    (facts_json.c), and the policy gives the same checks and verdict on
 *    both copies: `hostenc verify` re-appraises exactly that way;
 *  - the verdict is never compliant unless encryptionAtHost is exactly
 *    the string "true". */
#include "fuzz.h"

#include <cjson/cJSON.h>

#include "facts_json.h"
#include "imds.h"
#include "policy.h"

#define GIB (UINT64_C(1) << 30)

/* A plausible node: OS disk at SCSI0 LUN 0 holding /, resource disk at
 * LUN 1, the signed identity matching the parsed vmId. Everything the
 * policy then decides comes from the fuzzed compute document. */
static void plausible_node(struct node_facts *f)
{
        struct host_facts *h = &f->host;
        struct disk_facts *os = &h->disks[0], *res = &h->disks[1];

        h->state = HOST_OK;
        h->n_disks = 2;
        h->root_resolved = true;
        strcpy(h->root_source, "8:1 /dev/sda1");
        *os = (struct disk_facts){ .major = 8, .minor = 0, .bus = BUS_SCSI, .role = ROLE_OS, .lun = -1,
                                   .size_bytes = 30 * GIB, .holds_root = true, .n_parts = 1 };
        strcpy(os->name, "sda");
        strcpy(os->address, "vmbus:f8b3781a-1e82-4818-a1c3-63d806ec15bb/0:0:0:0");
        strcpy(os->vendor, "Msft");
        strcpy(os->model, "Virtual Disk");
        strcpy(os->fs.pttype, "gpt");
        os->parts[0] = (struct part_facts){ .major = 8, .minor = 1, .size_bytes = 29 * GIB };
        strcpy(os->parts[0].name, "sda1");
        strcpy(os->parts[0].fs.type, "ext4");
        *res = (struct disk_facts){ .major = 8, .minor = 16, .bus = BUS_SCSI, .role = ROLE_RESOURCE, .lun = -1,
                                    .size_bytes = 16 * GIB };
        strcpy(res->name, "sdb");
        strcpy(res->address, "vmbus:f8b3781a-1e82-4818-a1c3-63d806ec15bb/0:0:0:1");
        strcpy(res->vendor, "Msft");
        strcpy(res->model, "Virtual Disk");

        f->attested.state = ATTESTED_OK;
        strcpy(f->attested.nonce, "0123456789abcdef0123456789abcdef");
        strcpy(f->attested.nonce_requested, f->attested.nonce);
        f->attested.expires_at = 2000000000;
        f->attested.created_at = 1999990000;
        (void) snprintf(f->attested.vm_id, sizeof(f->attested.vm_id), "%.*s", (int) sizeof(f->attested.vm_id) - 1,
                       f->imds.compute.vm_id.value);
}

static void same_str(const struct imds_str *a, const struct imds_str *b)
{
        FUZZ_ASSERT(a->present == b->present);
        FUZZ_ASSERT(strcmp(a->value, b->value) == 0);
}

static void same_disk(const struct imds_disk *a, const struct imds_disk *b, int data)
{
        if (data)
                same_str(&a->lun, &b->lun);
        same_str(&a->disk_size_gb, &b->disk_size_gb);
        same_str(&a->caching, &b->caching);
        same_str(&a->storage_account_type, &b->storage_account_type);
        same_str(&a->is_ultra_disk, &b->is_ultra_disk);
        same_str(&a->ade_enabled, &b->ade_enabled);
}

static void same_compute(const struct imds_compute *a, const struct imds_compute *b)
{
        same_str(&a->vm_id, &b->vm_id);
        same_str(&a->subscription_id, &b->subscription_id);
        same_str(&a->name, &b->name);
        same_str(&a->vm_size, &b->vm_size);
        same_str(&a->location, &b->location);
        same_str(&a->resource_id, &b->resource_id);
        same_str(&a->vm_scale_set_name, &b->vm_scale_set_name);
        same_str(&a->encryption_at_host, &b->encryption_at_host);
        same_str(&a->security_type, &b->security_type);
        same_str(&a->resource_disk_size, &b->resource_disk_size);
        same_str(&a->diff_disk_option, &b->diff_disk_option);
        same_disk(&a->os_disk, &b->os_disk, 0);
        FUZZ_ASSERT(a->data_disks_present == b->data_disks_present);
        FUZZ_ASSERT(a->n_data_disks == b->n_data_disks);
        for (unsigned i = 0; i < a->n_data_disks; i++)
                same_disk(&a->data_disks[i], &b->data_disks[i], 1);
}

static void same_report(const struct report *a, const struct report *b)
{
        FUZZ_ASSERT(a->verdict == b->verdict);
        FUZZ_ASSERT(a->n_checks == b->n_checks);
        for (unsigned i = 0; i < a->n_checks; i++) {
                FUZZ_ASSERT(a->checks[i].status == b->checks[i].status);
                FUZZ_ASSERT(strcmp(a->checks[i].reason, b->checks[i].reason) == 0);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const struct policy_opts po = { .now = 1999995000, .resource_tolerance_mib = 1024,
                                        .data_disk_grace_s = 120 };
        /* Static, not calloc'ed: two node_facts are ~1 MiB, and a fresh
         * mapping per input would dominate the run time under ASan. */
        static struct node_facts facts[2];
        struct node_facts *f = &facts[0], *g = &facts[1];
        char *json = fuzz_copy(data, size), err[256] = "", *text;
        struct report r1, r2;
        cJSON *o, *back;
        int k;

        memset(facts, 0, sizeof(facts));
        k = imds_compute_parse(json, size, &f->imds.compute, err, sizeof(err));
        free(json);
        FUZZ_ASSERT(strlen(err) < sizeof(err));
        if (k < 0) {
                FUZZ_ASSERT(err[0] != '\0');
                return 0;
        }
        FUZZ_ASSERT(f->imds.compute.vm_id.present && f->imds.compute.vm_id.value[0]);
        FUZZ_ASSERT(f->imds.compute.n_data_disks <= IMDS_MAX_DATA_DISKS);
        f->imds.state = IMDS_OK;
        strcpy(f->imds.api_version, "2023-07-01");
        plausible_node(f);

        policy_evaluate(f, &po, &r1);
        if (r1.verdict == VERDICT_COMPLIANT)
                FUZZ_ASSERT(f->imds.compute.encryption_at_host.present &&
                            strcmp(f->imds.compute.encryption_at_host.value, "true") == 0);

        /* The evidence round trip: to JSON text, parsed back, read back. */
        o = imds_facts_to_json(&f->imds);
        FUZZ_ASSERT(o != NULL);
        text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        FUZZ_ASSERT(text != NULL);
        back = cJSON_Parse(text);
        cJSON_free(text);
        FUZZ_ASSERT(back != NULL);
        k = imds_facts_from_json(back, &g->imds, err, sizeof(err));
        cJSON_Delete(back);
        if (k < 0)
                fprintf(stderr, "round trip failed: %s\n", err);
        FUZZ_ASSERT(k == 0);
        FUZZ_ASSERT(g->imds.state == IMDS_OK);
        same_compute(&f->imds.compute, &g->imds.compute);
        g->host = f->host;
        g->attested = f->attested;
        policy_evaluate(g, &po, &r2);
        same_report(&r1, &r2);
        return 0;
}
