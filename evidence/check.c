/* SPDX-License-Identifier: Apache-2.0 */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *const check_status_names[N_CHECK_STATUSES] = { "pass", "fail", "unknown", "not-applicable" };
const char *const check_severity_names[N_SEVERITIES] = { "fail", "warn", "info" };

const char *check_status_to_string(enum check_status s)
{
        return (unsigned) s < N_CHECK_STATUSES ? check_status_names[s] : "unknown";
}

const char *check_severity_to_string(enum check_severity s)
{
        return (unsigned) s < N_SEVERITIES ? check_severity_names[s] : "fail";
}

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
