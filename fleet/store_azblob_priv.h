/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the Blob store's writer (store_azblob.c) and readers
 * (store_azread.c) share: the connection, and the rules for names. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azblob.h"
#include "http.h"

struct conn {
        struct azblob *blob;
        struct azblob_bearer *bearer;
};

/* Shared Key (AZURE_STORAGE_KEY[_FILE]), else SAS
 * (AZURE_STORAGE_SAS_TOKEN[_FILE]), else Entra; err never holds a secret.
 * timeout_ms: one try of one request, 0 for the default. */
int azconn_open(const char *url, const struct http_transport *http, long timeout_ms, struct conn *c, char *err,
                size_t errsz);
void azconn_done(struct conn *c);

