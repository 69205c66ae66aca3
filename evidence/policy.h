/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Pure: facts in, checks and a verdict out. The catalogue is a table of
 * {id, severity, check} in policy.c; the checks are in check.h. */

#include "check.h"

enum verdict { VERDICT_COMPLIANT, VERDICT_NONCOMPLIANT, VERDICT_UNKNOWN };
#define N_VERDICTS 3
extern const char *const verdict_names[N_VERDICTS];
const char *verdict_to_string(enum verdict v);

#define POLICY_N_CHECKS 10

struct report {
        enum verdict verdict;
        unsigned n_checks;
        struct check_result checks[POLICY_N_CHECKS];
};

void policy_evaluate(const struct node_facts *f, const struct policy_opts *o, struct report *ret);
enum verdict policy_verdict(const struct check_result *checks, unsigned n);
