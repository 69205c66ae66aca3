/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "crypto.h"

#define KEYFILE_MAX (16 * 1024)

/* Loads a PEM PKCS#8 EC P-256 private key from a regular file that neither
 * group nor other may read. -EPERM for loose permissions, -EINVAL for a key
 * of the wrong kind; one error line is logged either way. */
int keyfile_load(const char *path, struct signing_key **ret);

/* Reads a private key file (any kind, e.g. a TLS key) with the same checks:
 * a regular file, no group or other permission, at most KEYFILE_MAX bytes.
 * `opt` names the option in the error line. Free with free_secretp(). */
int keyfile_read_private(const char *opt, const char *path, char **ret, size_t *ret_len);
