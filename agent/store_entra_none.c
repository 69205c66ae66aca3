/* SPDX-License-Identifier: Apache-2.0 */
/* Built without aztoken.c: Blob Storage takes Shared Key or SAS only. */
#include "store_entra.h"

#include <errno.h>

int store_entra_new(const struct http_transport *t, struct azblob_bearer **ret)
{
        (void) t;
        (void) ret;
        return -EOPNOTSUPP;
}

void store_entra_free(struct azblob_bearer *b)
{
        (void) b;
}
