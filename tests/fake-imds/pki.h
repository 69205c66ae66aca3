/*
 * pki.h - in-memory test PKI for fake-imds.
 *
 * TEST-ONLY: part of the fake Azure IMDS used by the integration tests and
 * the demo. Never built into, or shipped with, the hostenc agent.
 */
#ifndef HOSTENC_FAKE_IMDS_PKI_H
#define HOSTENC_FAKE_IMDS_PKI_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct pki_cert {
    EVP_PKEY *key;
    X509 *cert;
};

/* root CA -> intermediate CA -> leaf "metadata.azure.com" */
struct pki_chain {
    struct pki_cert root;
    struct pki_cert inter;
    struct pki_cert leaf;
};

/*
 * All functions returning "const char *" return NULL on success, or a short
 * static description of what failed (the OpenSSL error queue holds details).
 */

/* Build a fresh chain with new RSA 2048 keys and random serials. */
const char *pki_make_chain(struct pki_chain *chain);

/*
 * Build a leaf certificate for `cn` with subjectAltName `san`
 * (OpenSSL config syntax, e.g. "DNS:a.example, DNS:b.example"),
 * signed by `issuer`.
 */
const char *pki_make_leaf(struct pki_cert *leaf, const struct pki_cert *issuer,
                          const char *cn, const char *san);

/* PEM of root then intermediate; malloc'd, NUL-terminated; NULL on error. */
char *pki_trust_pem(const struct pki_chain *chain, size_t *len);

/*
 * DER PKCS#7 SignedData over `data` (content embedded, only the signer
 * certificate embedded, no signed attributes), encoded as one-line standard
 * base64. malloc'd, NUL-terminated; NULL on error.
 */
char *pki_sign_b64(const struct pki_cert *signer, const char *data, size_t len);

void pki_cert_free(struct pki_cert *cert);
void pki_chain_free(struct pki_chain *chain);

#endif
