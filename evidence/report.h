/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "facts.h"
#include "policy.h"

/* The "schema" of each JSON output: the $id of its JSON Schema in docs/schemas/. */
#define REPORT_SCHEMA "https://hostenc.dev/report/v1"
#define VERIFY_SCHEMA "https://hostenc.dev/verify/v1"
#define AUDIT_SCHEMA "https://hostenc.dev/audit/v1"

/* The JSON report documented in README.md. Returns newly allocated,
 * NUL-terminated text (free()), or NULL when out of memory. */
char *report_to_json(const struct node_facts *f, const struct report *r, time_t observed_at);

/* One line per check, then the verdict. Colour only when asked. */
void report_print_text(FILE *out, const struct node_facts *f, const struct report *r, bool color);

/* checks[] as in the report and the statement. */
struct cJSON *checks_to_json(const struct report *r);

