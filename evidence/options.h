/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What every command shares: exit codes, --output, the IMDS trust store. */

#include <stdbool.h>

#include "log.h"

/* Exit codes, documented in README.md. */
enum {
        EXIT_COMPLIANT = 0,
        EXIT_NONCOMPLIANT = 1,
        EXIT_UNKNOWN = 2,
        EXIT_USAGE = 64,        /* EX_USAGE: bad command line */
        EXIT_SOFTWARE = 70,     /* EX_SOFTWARE: internal error, e.g. out of memory */
        EXIT_CONFIG = 78,       /* EX_CONFIG: unusable configuration (trust file, host root) */
};

struct trust_store;

/* "text" or "json"; logs "<cmd>: invalid value ... for --output" otherwise. */
int parse_output_format(const char *cmd, const char *value, bool *ret_json);

/* The built-in trust bundle, or the PEM bundle in file; logs its error. */
int trust_load(const char *file, struct trust_store **ret);
