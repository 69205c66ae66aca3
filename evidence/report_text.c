/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "report.h"

static const char *status_color(enum check_status s, enum check_severity sev)
{
        switch (s) {
        case CHECK_PASS:
                return "\033[32m";
        case CHECK_FAIL:
                return sev == SEVERITY_FAIL ? "\033[31m" : "\033[33m";
        case CHECK_UNKNOWN:
                return "\033[33m";
        case CHECK_NOT_APPLICABLE:
        default:
                return "\033[2m";
        }
}

static const char *verdict_color(enum verdict v)
{
        return v == VERDICT_COMPLIANT ? "\033[1;32m" : v == VERDICT_NONCOMPLIANT ? "\033[1;31m" : "\033[1;33m";
}

void report_print_text(FILE *out, const struct node_facts *f, const struct report *r, bool color)
{
        const char *reset = color ? "\033[0m" : "";
        const struct imds_compute *m = &f->imds.compute;

        if (f->imds.state == IMDS_OK)
                fprintf(out, "VM %s (%s, %s)\n", m->name.value, m->vm_size.value, m->vm_id.value);
        fprintf(out, "%-20s %-8s %-15s %-34s %s\n", "CHECK", "SEVERITY", "STATUS", "REASON", "DETAIL");
        for (unsigned i = 0; i < r->n_checks; i++) {
                const struct check_result *c = &r->checks[i];

                fprintf(out, "%-20s %-8s %s%-15s%s %-34s %s\n", c->id, check_severity_to_string(c->severity),
                        color ? status_color(c->status, c->severity) : "", check_status_to_string(c->status),
                        reset, c->reason, c->message);
        }
        fprintf(out, "verdict: %s%s%s\n", color ? verdict_color(r->verdict) : "",
                verdict_to_string(r->verdict), reset);
}
