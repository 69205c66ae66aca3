/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Microsoft Entra bearer tokens for Blob Storage (workload identity or
 * managed identity, aztoken.h) as an azblob_bearer. */

#include "azblob.h"
#include "http.h"

#define STORE_ENTRA_SCOPE "https://storage.azure.com/.default"
#define STORE_ENTRA_IMDS "http://169.254.169.254"

/* -ENOENT when no identity applies. */
int store_entra_new(const struct http_transport *t, struct azblob_bearer **ret);
void store_entra_free(struct azblob_bearer *b);
