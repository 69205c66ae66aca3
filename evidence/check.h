/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* One check of the catalogue (policy.c): a pure function from the facts
 * and the policy's inputs to a status, a stable reason and a message. No
 * I/O, no clock: `now` is an input. The checks and their helpers live here,
 * below the catalogue, so that neither includes the other. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "facts.h"

enum check_status { CHECK_PASS, CHECK_FAIL, CHECK_UNKNOWN, CHECK_NOT_APPLICABLE };
enum check_severity { SEVERITY_FAIL, SEVERITY_WARN, SEVERITY_INFO };
#define N_CHECK_STATUSES 4
#define N_SEVERITIES 3

/* The one spelling of each value, in reports, statements and metrics. */
extern const char *const check_status_names[N_CHECK_STATUSES];
extern const char *const check_severity_names[N_SEVERITIES];
const char *check_status_to_string(enum check_status s);
const char *check_severity_to_string(enum check_severity s);

struct check_result {
        const char *id;
        enum check_severity severity;
        enum check_status status;
        const char *reason;     /* stable CamelCase */
        char message[384];
};

/* How far the node clock may lag the attested document's createdOn; the
 * same allowance verify gives observedAt (VERIFY_CLOCK_SKEW_S). */
#define POLICY_CLOCK_SKEW_S 300
#define POLICY_DEFAULT_RESOURCE_TOLERANCE_MIB 1024

/* The inputs of a judgement besides the facts. */
struct policy_opts {
        time_t now;
        uint64_t resource_tolerance_mib;
        /* IMDS lags hot-attach: in daemon mode a data-disk mismatch fails only
         * once it has persisted this long (0 = fail at once, as check does). */
        uint64_t data_disk_grace_s;
        time_t data_disk_mismatch_since;        /* when first seen; 0 = not before now */
};

/* Every check has this shape; each fills one result. */
typedef enum check_status (*check_fn)(const struct node_facts *f, const struct policy_opts *o,
                                      struct check_result *c);

/* The checks (checks_imds.c, checks_disks.c). */
enum check_status check_encryption_at_host(const struct node_facts *f, const struct policy_opts *o, struct check_result *c);
enum check_status check_attested_identity(const struct node_facts *f, const struct policy_opts *o, struct check_result *c);
enum check_status check_ade_conflict(const struct node_facts *f, const struct policy_opts *o, struct check_result *c);
enum check_status check_cache_settings(const struct node_facts *f, const struct policy_opts *o, struct check_result *c);
enum check_status check_disk_inventory(const struct node_facts *f, const struct policy_opts *o, struct check_result *c);
enum check_status check_os_disk(const struct node_facts *f, const struct policy_opts *o, struct check_result *c);
enum check_status check_data_disks(const struct node_facts *f, const struct policy_opts *o, struct check_result *c);
enum check_status check_resource_disk(const struct node_facts *f, const struct policy_opts *o, struct check_result *c);
enum check_status check_local_nvme(const struct node_facts *f, const struct policy_opts *o, struct check_result *c);
enum check_status check_temp_disk_usage(const struct node_facts *f, const struct policy_opts *o, struct check_result *c);

/* Helpers shared by the checks (check.c). */
enum check_status check_set(struct check_result *c, enum check_status s, const char *reason, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Sets unknown with the IMDS reason when compute metadata is not usable;
 * returns true if it did. */
bool check_imds_unusable(const struct node_facts *f, struct check_result *c);
bool check_host_unusable(const struct node_facts *f, struct check_result *c);
bool imds_is_true(const struct imds_str *s);
/* Appends to a message, silently stopping at its end. */
void msg_append(char *msg, size_t sz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
