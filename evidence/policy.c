/* SPDX-License-Identifier: Apache-2.0 */
#include "policy.h"

enum verdict policy_verdict(const struct check_result *checks, unsigned n)
{
        bool unknown = false;

        for (unsigned i = 0; i < n; i++) {
                if (checks[i].severity != SEVERITY_FAIL)
                        continue;
                if (checks[i].status == CHECK_FAIL)
                        return VERDICT_NONCOMPLIANT;
                /* Fail closed: a fail-severity check that could not pass
                 * (unknown, or never set) blocks "compliant". */
                if (checks[i].status != CHECK_PASS && checks[i].status != CHECK_NOT_APPLICABLE)
                        unknown = true;
        }
        return unknown ? VERDICT_UNKNOWN : VERDICT_COMPLIANT;
}

/* The catalogue: stable ids (README.md), in report order. */
static const struct {
        const char *id;
        enum check_severity severity;
        check_fn run;
} catalogue[POLICY_N_CHECKS] = {
        { "encryption-at-host", SEVERITY_FAIL, check_encryption_at_host },
        { "attested-identity", SEVERITY_FAIL, check_attested_identity },
        { "disk-inventory", SEVERITY_FAIL, check_disk_inventory },
        { "os-disk", SEVERITY_FAIL, check_os_disk },
        { "data-disks", SEVERITY_FAIL, check_data_disks },
        { "resource-disk", SEVERITY_FAIL, check_resource_disk },
        { "ade-conflict", SEVERITY_FAIL, check_ade_conflict },
        { "local-nvme", SEVERITY_WARN, check_local_nvme },
        { "cache-settings", SEVERITY_WARN, check_cache_settings },
        { "temp-disk-usage", SEVERITY_INFO, check_temp_disk_usage },
};

void policy_evaluate(const struct node_facts *f, const struct policy_opts *o, struct report *ret)
{
        struct report r = { .n_checks = POLICY_N_CHECKS };

        for (unsigned i = 0; i < POLICY_N_CHECKS; i++) {
                struct check_result *c = &r.checks[i];

                *c = (struct check_result){ .id = catalogue[i].id, .severity = catalogue[i].severity,
                                            .status = CHECK_UNKNOWN, .reason = "NotEvaluated" };
                catalogue[i].run(f, o, c);
        }
        r.verdict = policy_verdict(r.checks, r.n_checks);
        *ret = r;
}

const char *const verdict_names[N_VERDICTS] = { "compliant", "noncompliant", "unknown" };

const char *verdict_to_string(enum verdict v)
{
        return (unsigned) v < N_VERDICTS ? verdict_names[v] : "unknown";
}
