/* SPDX-License-Identifier: Apache-2.0 */
/* The IMDS attested document: JSON envelope, base64, DER PKCS#7 (OpenSSL),
 * signer SAN, chain at the document's own createdOn, the signed JSON
 * content and its times. Verified against the built-in trust bundle, as
 * `hostenc check` and `hostenc verify` do.
 *
 * Properties: a verified document always carries a vmId, a nonce and
 * parsed, ordered times; a failure always names itself; verifying the same
 * bytes twice gives the same answer (verify caches by digest). */
#include "fuzz.h"

#include "attested.h"
#include "crypto.h"

extern const char hostenc_trust_bundle[];
extern const size_t hostenc_trust_bundle_len;

static struct trust_store *trust;
static const char *const domains[] = { ATTESTED_DEFAULT_DOMAIN, NULL };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        if (trust_store_from_pem(hostenc_trust_bundle, hostenc_trust_bundle_len, &trust) < 0)
                abort();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct attested_facts *f = calloc(2, sizeof(*f));
        char *body = fuzz_copy(data, size);

        if (!f)
                abort();
        if (!trust)
                LLVMFuzzerInitialize(NULL, NULL);
        attested_verify_response(body, size, trust, domains, ATTESTED_AT_CREATED_ON, &f[0]);
        attested_verify_response(body, size, trust, domains, ATTESTED_AT_CREATED_ON, &f[1]);
        free(body);

        FUZZ_ASSERT(f[0].state > ATTESTED_NOT_RUN && f[0].state < ATTESTED_STATE_COUNT);
        FUZZ_ASSERT(f[0].state == f[1].state);
        FUZZ_ASSERT(strcmp(f[0].error, f[1].error) == 0);
        FUZZ_ASSERT(strlen(f[0].error) < sizeof(f[0].error));
        if (f[0].state == ATTESTED_OK) {
                FUZZ_ASSERT(f[0].error[0] == '\0');
                FUZZ_ASSERT(f[0].vm_id[0] && f[0].nonce[0]);
                FUZZ_ASSERT(f[0].created_at != 0 && f[0].expires_at != 0);
                FUZZ_ASSERT(f[0].signer_dns[0] != '\0');
        } else
                FUZZ_ASSERT(f[0].error[0] != '\0');
        free(f);
        return 0;
}
