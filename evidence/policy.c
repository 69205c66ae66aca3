/* SPDX-License-Identifier: Apache-2.0 */
#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum check_status check_set(struct check_result *c, enum check_status s, const char *reason, const char *fmt, ...)
{
        va_list ap;

        c->status = s;
        c->reason = reason;
        va_start(ap, fmt);
        vsnprintf(c->message, sizeof(c->message), fmt, ap);
        va_end(ap);
        return s;
}

void msg_append(char *msg, size_t sz, const char *fmt, ...)
{
        size_t n = strlen(msg);
        va_list ap;

        if (n + 1 >= sz)
                return;
        va_start(ap, fmt);
        vsnprintf(msg + n, sz - n, fmt, ap);
        va_end(ap);
}

bool imds_is_true(const struct imds_str *s)
{
        /* IMDS booleans are strings; only the exact "true" counts. */
        return s->present && strcmp(s->value, "true") == 0;
}

bool check_imds_unusable(const struct node_facts *f, struct check_result *c)
{
        switch (f->imds.state) {
        case IMDS_OK:
                return false;
        case IMDS_OVERSIZED:
                check_set(c, CHECK_UNKNOWN, "ImdsResponseTooLarge", "%s", f->imds.error);
                return true;
        case IMDS_MALFORMED:
                check_set(c, CHECK_UNKNOWN, "ImdsMalformed", "%s", f->imds.error);
                return true;
        case IMDS_UNAVAILABLE:
                check_set(c, CHECK_UNKNOWN, "ImdsUnavailable", "%s", f->imds.error);
                return true;
        case IMDS_NOT_RUN:
        default:
                check_set(c, CHECK_UNKNOWN, "ImdsNotQueried", "compute metadata was not collected");
                return true;
        }
}

bool check_host_unusable(const struct node_facts *f, struct check_result *c)
{
        if (f->host.state != HOST_OK) {
                check_set(c, CHECK_UNKNOWN, "BlockDevicesUnreadable", "%s",
                          f->host.error[0] ? f->host.error : "block devices were not collected");
                return true;
        }
        /* A running node always has an OS disk: an empty list means we
         * are not looking at the host's sysfs. */
        if (f->host.n_disks == 0) {
                check_set(c, CHECK_UNKNOWN, "NoDisksFound", "sys/block lists no physical disk");
                return true;
        }
        return false;
}

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

static struct check_result *add(struct report *r, const char *id, enum check_severity sev)
{
        struct check_result *c = &r->checks[r->n_checks++];

        *c = (struct check_result){ .id = id, .severity = sev, .status = CHECK_UNKNOWN,
                                    .reason = "NotEvaluated" };
        return c;
}

void policy_evaluate(const struct node_facts *f, const struct policy_opts *o, struct report *ret)
{
        struct report r = { 0 };

        check_encryption_at_host(f, add(&r, "encryption-at-host", SEVERITY_FAIL));
        check_attested_identity(f, o->now, add(&r, "attested-identity", SEVERITY_FAIL));
        check_disk_inventory(f, add(&r, "disk-inventory", SEVERITY_FAIL));
        check_os_disk(f, add(&r, "os-disk", SEVERITY_FAIL));
        check_data_disks(f, o, add(&r, "data-disks", SEVERITY_FAIL));
        check_resource_disk(f, o->resource_tolerance_mib, add(&r, "resource-disk", SEVERITY_FAIL));
        check_ade_conflict(f, add(&r, "ade-conflict", SEVERITY_FAIL));
        check_local_nvme(f, add(&r, "local-nvme", SEVERITY_WARN));
        check_cache_settings(f, add(&r, "cache-settings", SEVERITY_WARN));
        check_temp_disk_usage(f, add(&r, "temp-disk-usage", SEVERITY_INFO));
        r.verdict = policy_verdict(r.checks, r.n_checks);
        *ret = r;
}

const char *const check_status_names[N_CHECK_STATUSES] = { "pass", "fail", "unknown", "not-applicable" };
const char *const check_severity_names[N_SEVERITIES] = { "fail", "warn", "info" };
const char *const verdict_names[N_VERDICTS] = { "compliant", "noncompliant", "unknown" };

const char *check_status_to_string(enum check_status s)
{
        return (unsigned) s < N_CHECK_STATUSES ? check_status_names[s] : "unknown";
}

const char *check_severity_to_string(enum check_severity s)
{
        return (unsigned) s < N_SEVERITIES ? check_severity_names[s] : "fail";
}

const char *verdict_to_string(enum verdict v)
{
        return (unsigned) v < N_VERDICTS ? verdict_names[v] : "unknown";
}
