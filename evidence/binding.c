/* SPDX-License-Identifier: Apache-2.0 */
#include "binding.h"

#include <stdlib.h>
#include <string.h>

#include "macro.h"

int binding_nonce(const struct public_key *k, char out[33])
{
        _cleanup_free_ uint8_t *spki = NULL;
        uint8_t digest[32];
        size_t n;
        int r;

        r = public_key_spki(k, &spki, &n);
        if (r < 0)
                return r;
        sha256_two(BINDING_CONTEXT, strlen(BINDING_CONTEXT), spki, n, digest);
        hex_encode(digest, 16, out);
        return 0;
}

bool binding_needs_refresh(const struct attested_facts *a, const char *nonce, time_t now)
{
        return a->state != ATTESTED_OK || strcmp(a->nonce, nonce) != 0 ||
               now >= a->expires_at - BINDING_REFRESH_MARGIN_S;
}
