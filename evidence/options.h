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
/* The same, and the hex SHA-256 of the bundle's bytes (65 bytes). */
int trust_load_digest(const char *file, struct trust_store **ret, char *sha256_hex);

/* ---- Options several commands share: one definition each -------------- */

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_MAX_DOMAINS 8

enum common_opt {
        COPT_IMDS_TRUST = 1u << 0,
        COPT_METADATA_DOMAIN = 1u << 1,
        COPT_MAX_AGE = 1u << 2,
        COPT_OUTPUT = 1u << 3,
        COPT_ATTESTED_LIFETIME = 1u << 4,
};

struct common_opts {
        const char *trust_file;
        const char *domains[CLI_MAX_DOMAINS + 1];       /* NULL-terminated; default filled in */
        unsigned n_domains;
        uint64_t max_age_s;
        bool max_age_set;
        const char *output;                             /* validated by the command */
        uint64_t attested_lifetime_s;                   /* 0: the built-in cap */
};

/* Fills out[] with own[] (up to its { 0 } terminator) followed by the
 * common options in `which`; out must hold own + 6 entries. */
void common_options(const struct option *own, unsigned which, struct option *out, size_t n);
/* 1 when c was a common option (stored in o), 0 when it is not one,
 * -EINVAL after logging "<cmd>: invalid value ..." for a bad value. */
int common_option(const char *cmd, int c, const char *arg, struct common_opts *o);
/* getopt_long over longopts (from common_options()): stores each common
 * option in o and returns the next of the command's own (its code, 'h' or
 * '?'), 0 at the end, -EINVAL after logging a bad common value. */
int common_getopt(const char *cmd, int argc, char **argv, const struct option *longopts, struct common_opts *o);
/* For a command without operands: -EINVAL after logging one that is left,
 * else the defaults are filled in (common_options_done). */
int common_options_end(const char *cmd, int argc, char **argv, struct common_opts *o);
/* Defaults once the command line is read. */
void common_options_done(struct common_opts *o);
/* A DNS name as an attested-document signer domain: lowercase labels of
 * [a-z0-9-] (no leading or trailing hyphen), 1..63 bytes each, at least
 * two, at most 253 bytes, no trailing dot. */
bool metadata_domain_valid(const char *s);
