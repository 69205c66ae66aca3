/* SPDX-License-Identifier: Apache-2.0 */
/* Entra tokens (aztoken.c) behind azblob's bearer seam. */
#include "store_entra.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "aztoken.h"

static int entra_get(void *userdata, char *out, size_t outsz)
{
        return aztoken_get(userdata, STORE_ENTRA_SCOPE, time(NULL), out, outsz);
}

static void entra_invalidate(void *userdata)
{
        aztoken_invalidate(userdata);
}

int store_entra_new(const struct http_transport *t, struct azblob_bearer **ret)
{
        struct azblob_bearer *b = calloc(1, sizeof(*b));
        struct aztoken *a;
        const char *imds;
        int r;

        if (!b)
                return -ENOMEM;
        /* HOSTENC_IMDS_URL: the tests' fake IMDS (a runtime seam, as --imds-url is for the agent). */
        imds = getenv("HOSTENC_IMDS_URL");
        r = aztoken_new(t, imds && *imds ? imds : STORE_ENTRA_IMDS, &a);
        if (r < 0) {
                free(b);
                return r;
        }
        *b = (struct azblob_bearer){ .get = entra_get, .invalidate = entra_invalidate, .userdata = a };
        *ret = b;
        return 0;
}

void store_entra_free(struct azblob_bearer *b)
{
        if (!b)
                return;
        aztoken_free(b->userdata);
        free(b);
}
