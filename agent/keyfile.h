/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "crypto.h"

#define KEYFILE_MAX (16 * 1024)

/* Loads a PEM PKCS#8 EC P-256 private key from a regular file that neither
 * group nor other may read. -EPERM for loose permissions, -EINVAL for a key
 * of the wrong kind; one error line is logged either way. */
int keyfile_load(const char *path, struct signing_key **ret);
