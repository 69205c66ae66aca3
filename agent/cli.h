/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Exit codes, documented in README.md. */
enum {
        EXIT_COMPLIANT = 0,
        EXIT_NONCOMPLIANT = 1,
        EXIT_UNKNOWN = 2,
        EXIT_USAGE = 64,        /* EX_USAGE: bad command line */
        EXIT_SOFTWARE = 70,     /* EX_SOFTWARE: internal error, e.g. out of memory */
        EXIT_CONFIG = 78,       /* EX_CONFIG: unusable configuration (trust file, host root) */
};

#include <stdbool.h>

struct trust_store;

int cmd_check(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_audit(int argc, char **argv);

/* "hostenc: " + message + newline on stderr: one line per error. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "text" or "json"; logs "<cmd>: invalid value ... for --output" otherwise. */
int parse_output_format(const char *cmd, const char *value, bool *ret_json);

/* The built-in trust bundle, or the PEM bundle in file; logs its error. */
int trust_load(const char *file, struct trust_store **ret);
/* The same, and the hex SHA-256 of the bundle's bytes (65 bytes). */
int trust_load_digest(const char *file, struct trust_store **ret, char *sha256_hex);
