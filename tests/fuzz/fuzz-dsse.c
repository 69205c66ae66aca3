/* SPDX-License-Identifier: Apache-2.0 */
/* `hostenc verify` on one envelope: DSSE JSON and base64, the PAE and the
 * ECDSA signature, the in-toto statement, the predicate's shape, the signer
 * key in three forms, the attested document inside it (PKCS#7 at its own
 * createdOn), subject, time window, and the re-appraisal of the facts the
 * statement carries (facts_json.c + policy). An auditor runs this on
 * envelopes from nodes it does not trust.
 *
 * The trust store is the built-in bundle plus the root of the fake IMDS
 * test PKI that signed the seed envelopes (dsse-fake-imds-trust.pem), so
 * the seeds reach every step. The clock is fixed, so a run is reproducible.
 *
 * Properties: each answer is a known reason with a detail on rejection;
 * a valid envelope has a verdict, a vmId and a sequence >= 1; verifying
 * again (attested-document cache warm) gives the same answer; the same
 * bytes as a previous-envelope file never crash the chain reader. */
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

#include "crypto.h"
#include "evidence.h"
#include "verify.h"

extern const char hostenc_trust_bundle[];
extern const size_t hostenc_trust_bundle_len;
extern const char fuzz_dsse_trust[];
extern const size_t fuzz_dsse_trust_len;

/* Seeds were signed on 2026-11-27; a fixed "now" a week later keeps them
 * fresh (no --max-age) and the run deterministic. */
#define FUZZ_NOW ((time_t) 1796342400)  /* 2026-12-04T00:00:00Z */

static struct trust_store *trust;
static const char *const domains[] = { "metadata.azure.com", NULL };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        size_t n = hostenc_trust_bundle_len + fuzz_dsse_trust_len;
        char *pem = malloc(n + 2);

        if (!pem)
                abort();
        memcpy(pem, hostenc_trust_bundle, hostenc_trust_bundle_len);
        pem[hostenc_trust_bundle_len] = '\n';
        memcpy(pem + hostenc_trust_bundle_len + 1, fuzz_dsse_trust, fuzz_dsse_trust_len);
        if (trust_store_from_pem(pem, n + 1, &trust) < 0)
                abort();
        free(pem);
        return 0;
}

static void check_result(const struct verify_result *r)
{
        FUZZ_ASSERT(r->reason < VERIFY_REASON_COUNT);
        FUZZ_ASSERT(strlen(r->detail) < sizeof(r->detail));
        if (r->reason == VERIFY_VALID) {
                FUZZ_ASSERT(!strcmp(r->verdict, "compliant") || !strcmp(r->verdict, "noncompliant") ||
                            !strcmp(r->verdict, "unknown"));
                FUZZ_ASSERT(r->vm_id[0] != '\0');
                FUZZ_ASSERT(r->sequence >= 1);
        } else
                FUZZ_ASSERT(r->detail[0] != '\0');
}

/* evidence_previous() reads the last envelope of a chain from a file. */
static void previous_chain(const uint8_t *data, size_t size)
{
        char path[64], hex[65];
        uint64_t seq = 0;
        int fd = memfd_create("fuzz-previous", MFD_CLOEXEC);

        if (fd < 0)
                return;
        if (size == 0 || write(fd, data, size) == (ssize_t) size) {
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                if (evidence_previous(path, "SHA256:any", &seq, hex) == 0)
                        FUZZ_ASSERT(seq >= 1 && strlen(hex) == 64);
        }
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct verifier v = { .domains = domains, .now = FUZZ_NOW };
        struct verify_result *r = calloc(3, sizeof(*r));
        char *text = fuzz_copy(data, size);

        if (!r)
                abort();
        if (!trust)
                LLVMFuzzerInitialize(NULL, NULL);
        v.trust = trust;
        if (verifier_init(&v) < 0)
                abort();
        verify_envelope(&v, text, size, &r[0]);
        check_result(&r[0]);
        /* Again, with the document cache warm: the same answer. */
        verify_envelope(&v, text, size, &r[1]);
        FUZZ_ASSERT(r[0].reason == r[1].reason);
        FUZZ_ASSERT(strcmp(r[0].detail, r[1].detail) == 0);
        /* With a freshness limit the answer may only get stricter. */
        v.max_age_s = 3600;
        verify_envelope(&v, text, size, &r[2]);
        check_result(&r[2]);
        if (verify_result_valid(&r[2]))
                FUZZ_ASSERT(verify_result_valid(&r[0]));
        verifier_done(&v);
        free(text);
        free(r);
        previous_chain(data, size);
        return 0;
}
