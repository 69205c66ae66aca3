/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The only module that touches OpenSSL. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct trust_store;

/* Loads a PEM bundle: self-signed certificates become trust anchors, the
 * others untrusted intermediates that may help build a chain.
 * -EBADMSG if the bundle holds no certificate or no anchor. */
int trust_store_from_pem(const char *pem, size_t len, struct trust_store **ret);
struct trust_store *trust_store_free(struct trust_store *t);
unsigned trust_store_anchor_count(const struct trust_store *t);

void sha256(const void *p, size_t n, uint8_t out[32]);
/* HMAC-SHA256 (Azure Storage Shared Key and SAS signatures). */
int hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n, uint8_t out[32]);
void hex_encode(const uint8_t *p, size_t n, char *out); /* out: 2n+1 bytes */

/* Standard base64, whitespace ignored. Returns newly allocated bytes. */
int base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len);

enum pkcs7_verdict {
        PKCS7_VERIFIED,
        PKCS7_MALFORMED,
        PKCS7_BAD_SIGNATURE,
        PKCS7_SIGNER_NAME_MISMATCH,
        PKCS7_UNTRUSTED_CHAIN,
};

struct pkcs7_result {
        enum pkcs7_verdict verdict;
        char error[160];
        char subject[256];
        char issuer[256];
        char matched_dns[256];
        time_t signer_not_before, signer_not_after;     /* the leaf's validity; 0 unknown */
        uint8_t *content;       /* owned; NUL-terminated */
        size_t content_len;
};

/* When to check the chain: at a fixed time (0 = now), or at a time the
 * caller reads from the signed content (0 from the callback = unusable). */
struct pkcs7_time {
        time_t at;
        time_t (*from_content)(const uint8_t *content, size_t len);
};

/* Verifies a DER PKCS#7 SignedData with embedded content: exactly one signer
 * whose signature verifies; a SAN dNSName equal to one of `domains` or a
 * subdomain of it; a chain to an anchor of `trust` with purpose "any" at the
 * given time. Returns 0 when a verdict was reached (see ret->verdict),
 * negative errno on internal failure. Content is returned whenever the
 * signature verified, even if a later step failed. */
int pkcs7_verify_signed(const uint8_t *der, size_t len, const struct trust_store *trust,
                        const char *const *domains, const struct pkcs7_time *when,
                        struct pkcs7_result *ret);
void pkcs7_result_done(struct pkcs7_result *r);

/* ---- Signing keys (ECDSA P-256) ---------------------------------------- */

struct signing_key;
struct public_key;

int signing_key_generate(struct signing_key **ret);
/* PEM PKCS#8 private key; -EINVAL unless it is an EC P-256 key. */
int signing_key_from_pem(const char *pem, size_t len, struct signing_key **ret);
struct signing_key *signing_key_free(struct signing_key *k);
const struct public_key *signing_key_public(const struct signing_key *k);

/* ECDSA P-256 over SHA-256 of msg: ASN.1 DER, normalised to low-S.
 * Returns newly allocated bytes. */
int signing_key_sign(const struct signing_key *k, const void *msg, size_t len,
                     uint8_t **ret_sig, size_t *ret_len);

/* PEM SubjectPublicKeyInfo; -EINVAL unless EC P-256. */
int public_key_from_pem(const char *pem, size_t len, struct public_key **ret);
struct public_key *public_key_free(struct public_key *k);
void public_key_freep(struct public_key **k);
/* 0 when the DER signature verifies, -EBADMSG when it does not. High-S
 * signatures are valid ECDSA and are accepted here; the envelope rules
 * (ecdsa_sig_check_canonical) refuse them. */
int public_key_verify(const struct public_key *k, const void *msg, size_t len,
                      const uint8_t *sig, size_t siglen);
/* The one encoding of an ECDSA P-256 signature: 0 for strict DER with
 * s <= n/2; -EBADMSG not an ECDSA-Sig-Value at all, -EDOM DER that is not
 * the canonical encoding (long lengths, padding, trailing bytes), -ERANGE
 * high S (n - s of a valid signature verifies too). */
int ecdsa_sig_check_canonical(const uint8_t *sig, size_t len);
/* DER SubjectPublicKeyInfo, newly allocated. */
int public_key_spki(const struct public_key *k, uint8_t **ret, size_t *ret_len);
/* PEM SubjectPublicKeyInfo, newly allocated and NUL-terminated. */
int public_key_pem(const struct public_key *k, char **ret);
/* OpenSSH "SHA256:<base64, no padding>" of the ecdsa-sha2-nistp256 key. */
int public_key_openssh_fingerprint(const struct public_key *k, char out[64]);
bool public_key_equal(const struct public_key *a, const struct public_key *b);

/* Standard base64 with padding, newly allocated and NUL-terminated. */
int base64_encode(const void *p, size_t n, char **ret);
/* SHA-256 of two parts concatenated. */
void sha256_two(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32]);
