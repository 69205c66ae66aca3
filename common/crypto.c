/* SPDX-License-Identifier: Apache-2.0 */
#include "crypto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "macro.h"
#include "strparse.h"

struct trust_store {
        X509_STORE *anchors;
        STACK_OF(X509) *intermediates;
        unsigned n_anchors;
};

static void bio_freep(BIO **b)
{
        BIO_free(*b);
}

static void x509_freep(X509 **x)
{
        X509_free(*x);
}

static void pkcs7_freep(PKCS7 **p)
{
        PKCS7_free(*p);
}

static void store_ctx_freep(X509_STORE_CTX **c)
{
        X509_STORE_CTX_free(*c);
}

static void x509_stack_freep(STACK_OF(X509) **s)
{
        sk_X509_pop_free(*s, X509_free);
}

struct trust_store *trust_store_free(struct trust_store *t)
{
        if (!t)
                return NULL;
        X509_STORE_free(t->anchors);
        sk_X509_pop_free(t->intermediates, X509_free);
        free(t);
        return NULL;
}

static void trust_store_freep(struct trust_store **t)
{
        trust_store_free(*t);
}

static int trust_store_add(struct trust_store *t, X509 *cert)
{
        if (X509_self_signed(cert, 0) == 1) {
                if (X509_STORE_add_cert(t->anchors, cert) != 1)
                        return -EBADMSG;
                t->n_anchors++;
                return 0;
        }
        if (X509_up_ref(cert) != 1 || !sk_X509_push(t->intermediates, cert))
                return -ENOMEM;
        return 0;
}

int trust_store_from_pem(const char *pem, size_t len, struct trust_store **ret)
{
        _cleanup_(trust_store_freep) struct trust_store *t = NULL;
        _cleanup_(bio_freep) BIO *bio = NULL;
        unsigned n = 0;
        int r;

        if (len > INT32_MAX)
                return -E2BIG;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->anchors = X509_STORE_new();
        t->intermediates = sk_X509_new_null();
        bio = BIO_new_mem_buf(pem, (int) len);
        if (!t->anchors || !t->intermediates || !bio)
                return -ENOMEM;

        for (;;) {
                _cleanup_(x509_freep) X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);

                if (!cert)
                        break;
                r = trust_store_add(t, cert);
                if (r < 0)
                        return r;
                n++;
        }
        ERR_clear_error();
        if (n == 0 || t->n_anchors == 0)
                return -EBADMSG;
        *ret = TAKE_PTR(t);
        return 0;
}

unsigned trust_store_anchor_count(const struct trust_store *t)
{
        return t->n_anchors;
}

int hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n, uint8_t out[32])
{
        unsigned int len = 32;

        if (keylen > INT32_MAX)
                return -EINVAL;
        return HMAC(EVP_sha256(), key, (int) keylen, msg, n, out, &len) && len == 32 ? 0 : -EIO;
}

void sha256(const void *p, size_t n, uint8_t out[32])
{
        unsigned len = 32;

        /* EVP_Digest on SHA-256 fails only on allocation failure; fail
         * closed with a digest that matches nothing real. */
        if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
                memset(out, 0, 32);
}

void hex_encode(const uint8_t *p, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";
        size_t i;

        for (i = 0; i < n; i++) {
                out[2 * i] = digits[p[i] >> 4];
                out[2 * i + 1] = digits[p[i] & 0xf];
        }
        out[2 * n] = '\0';
}

int base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len)
{
        _cleanup_free_ char *clean = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        size_t i, n = 0, pad = 0;
        int got;

        clean = malloc(len + 1);
        if (!clean)
                return -ENOMEM;
        for (i = 0; i < len; i++)
                if (in[i] != ' ' && in[i] != '\t' && in[i] != '\r' && in[i] != '\n')
                        clean[n++] = in[i];
        if (n == 0 || n % 4 != 0 || n > INT32_MAX)
                return -EBADMSG;
        out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        /* EVP_DecodeBlock does not reject stray characters reliably on
         * every version, so check the alphabet first. */
        for (i = 0; i < n; i++) {
                char c = clean[i];
                bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '+' || c == '/';

                if (c == '=' && i >= n - 2) {
                        pad++;
                        continue;
                }
                if (!ok || pad)
                        return -EBADMSG;
        }
        got = EVP_DecodeBlock(out, (const unsigned char *) clean, (int) n);
        if (got < 0 || (size_t) got < pad)
                return -EBADMSG;
        *ret_len = (size_t) got - pad;
        *ret = TAKE_PTR(out);
        return 0;
}

static void name_oneline(const X509_NAME *name, char *out, size_t outsz)
{
        _cleanup_(bio_freep) BIO *bio = BIO_new(BIO_s_mem());
        int n;

        out[0] = '\0';
        if (!bio || X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0)
                return;
        n = BIO_read(bio, out, (int) outsz - 1);
        out[n > 0 ? n : 0] = '\0';
}

static bool dns_matches(const char *name, const char *domain)
{
        size_t n = strlen(name), d = strlen(domain);

        if (strcasecmp(name, domain) == 0)
                return true;
        return n > d + 1 && name[n - d - 1] == '.' && strcasecmp(name + n - d, domain) == 0;
}

/* Finds a SAN dNSName equal to a domain or a subdomain of it. Names with an
 * embedded NUL are skipped: they are a known trick against C string checks. */
static bool san_matches(X509 *cert, const char *const *domains, char *matched, size_t matchedsz)
{
        GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
        bool found = false;
        int i;

        for (i = 0; names && !found && i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
                const char *s;
                size_t k;

                if (gn->type != GEN_DNS)
                        continue;
                s = (const char *) ASN1_STRING_get0_data(gn->d.dNSName);
                if ((size_t) ASN1_STRING_length(gn->d.dNSName) != strlen(s))
                        continue;
                for (k = 0; domains[k] && !found; k++)
                        if (dns_matches(s, domains[k]))
                                found = strcpy_bounded(matched, matchedsz, s) == 0;
        }
        GENERAL_NAMES_free(names);
        return found;
}

static int verdict(struct pkcs7_result *r, enum pkcs7_verdict v, const char *why)
{
        r->verdict = v;
        snprintf(r->error, sizeof(r->error), "%s", why);
        return 0;
}

static int chain_verify(X509 *signer, STACK_OF(X509) *embedded, const struct trust_store *trust,
                        time_t at, struct pkcs7_result *r)
{
        _cleanup_(store_ctx_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        _cleanup_(x509_stack_freep) STACK_OF(X509) *pool = sk_X509_dup(trust->intermediates);
        X509_VERIFY_PARAM *param;
        int i;

        if (!ctx || !pool)
                return -ENOMEM;
        /* sk_X509_dup does not take references; hold them so pop_free is right. */
        for (i = 0; i < sk_X509_num(pool); i++)
                if (X509_up_ref(sk_X509_value(pool, i)) != 1)
                        return -ENOMEM;
        for (i = 0; embedded && i < sk_X509_num(embedded); i++) {
                X509 *c = sk_X509_value(embedded, i);

                if (X509_up_ref(c) != 1 || !sk_X509_push(pool, c))
                        return -ENOMEM;
        }
        if (X509_STORE_CTX_init(ctx, trust->anchors, signer, pool) != 1)
                return -ENOMEM;
        param = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY);
        if (at)
                X509_VERIFY_PARAM_set_time(param, at);
        if (X509_verify_cert(ctx) != 1) {
                char why[160];

                snprintf(why, sizeof(why), "certificate chain: %s",
                         X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
                return verdict(r, PKCS7_UNTRUSTED_CHAIN, why);
        }
        return verdict(r, PKCS7_VERIFIED, "");
}

/* Seconds since the epoch, or 0 when OpenSSL cannot read it. */
static time_t asn1_time(const ASN1_TIME *t)
{
        struct tm tm = { 0 };
        time_t v;

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
                return 0;
        v = timegm(&tm);
        return v == (time_t) -1 ? 0 : v;
}

static int content_from_bio(BIO *out, struct pkcs7_result *r)
{
        const char *data;
        long n = BIO_get_mem_data(out, &data);

        if (n < 0)
                return -EIO;
        r->content = malloc((size_t) n + 1);
        if (!r->content)
                return -ENOMEM;
        memcpy(r->content, data, (size_t) n);
        r->content[n] = '\0';
        r->content_len = (size_t) n;
        return 0;
}

int pkcs7_verify_signed(const uint8_t *der, size_t len, const struct trust_store *trust,
                        const char *const *domains, const struct pkcs7_time *when,
                        struct pkcs7_result *ret)
{
        _cleanup_(pkcs7_freep) PKCS7 *p7 = NULL;
        _cleanup_(bio_freep) BIO *out = NULL;
        struct pkcs7_result r = { 0 };
        STACK_OF(X509) *signers;
        const unsigned char *p = der;
        X509 *signer;
        time_t at = when->at;
        int k;

        if (len > INT32_MAX)
                return -E2BIG;
        p7 = d2i_PKCS7(NULL, &p, (long) len);
        if (!p7 || p != der + len || !PKCS7_type_is_signed(p7) || PKCS7_get_detached(p7)) {
                ERR_clear_error();
                *ret = r;
                return verdict(ret, PKCS7_MALFORMED, "not a DER PKCS#7 SignedData with content");
        }
        if (sk_PKCS7_SIGNER_INFO_num(PKCS7_get_signer_info(p7)) != 1) {
                *ret = r;
                return verdict(ret, PKCS7_BAD_SIGNATURE, "PKCS#7 must have exactly one signer");
        }
        out = BIO_new(BIO_s_mem());
        if (!out)
                return -ENOMEM;
        /* Signature only; the chain is built below on the actual signer, with
         * purpose "any" (Azure's leaf is not an S/MIME certificate). */
        if (PKCS7_verify(p7, NULL, NULL, NULL, out, PKCS7_NOVERIFY | PKCS7_BINARY) != 1) {
                ERR_clear_error();
                *ret = r;
                return verdict(ret, PKCS7_BAD_SIGNATURE, "PKCS#7 signature does not verify");
        }
        k = content_from_bio(out, &r);
        if (k < 0)
                return k;

        signers = PKCS7_get0_signers(p7, NULL, 0);
        signer = sk_X509_num(signers) == 1 ? sk_X509_value(signers, 0) : NULL;
        sk_X509_free(signers);
        if (!signer) {
                *ret = r;
                return verdict(ret, PKCS7_BAD_SIGNATURE, "PKCS#7 signer certificate not found");
        }
        name_oneline(X509_get_subject_name(signer), r.subject, sizeof(r.subject));
        r.signer_not_before = asn1_time(X509_get0_notBefore(signer));
        r.signer_not_after = asn1_time(X509_get0_notAfter(signer));
        name_oneline(X509_get_issuer_name(signer), r.issuer, sizeof(r.issuer));
        if (!san_matches(signer, domains, r.matched_dns, sizeof(r.matched_dns))) {
                *ret = r;
                return verdict(ret, PKCS7_SIGNER_NAME_MISMATCH,
                               "signer has no subjectAltName in the allowed metadata domains");
        }
        if (when->from_content) {
                at = when->from_content(r.content, r.content_len);
                if (at == 0) {
                        *ret = r;
                        return verdict(ret, PKCS7_UNTRUSTED_CHAIN, "no usable time in the signed content");
                }
        }
        k = chain_verify(signer, p7->d.sign->cert, trust, at, &r);
        ERR_clear_error();
        if (k < 0) {
                pkcs7_result_done(&r);
                return k;
        }
        *ret = r;
        return 0;
}

void pkcs7_result_done(struct pkcs7_result *r)
{
        free(r->content);
        r->content = NULL;
        r->content_len = 0;
}

/* ---- Signing keys (ECDSA P-256) ---------------------------------------- */

struct public_key {
        EVP_PKEY *pkey;
};

struct signing_key {
        EVP_PKEY *pkey;
        struct public_key pub;  /* shares pkey: verifying needs only the public half */
};

static void pkey_freep(EVP_PKEY **p)
{
        EVP_PKEY_free(*p);
}

static void md_ctx_freep(EVP_MD_CTX **c)
{
        EVP_MD_CTX_free(*c);
}

static void ecdsa_sig_freep(ECDSA_SIG **s)
{
        ECDSA_SIG_free(*s);
}

static void bn_freep(BIGNUM **b)
{
        BN_free(*b);
}

static bool is_p256(EVP_PKEY *p)
{
        char group[32];
        size_t n = 0;

        return EVP_PKEY_is_a(p, "EC") &&
               EVP_PKEY_get_utf8_string_param(p, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &n) == 1 &&
               strcmp(group, "prime256v1") == 0;
}

static int signing_key_wrap(EVP_PKEY *p, struct signing_key **ret)
{
        struct signing_key *k = calloc(1, sizeof(*k));

        if (!k)
                return -ENOMEM;
        k->pkey = p;
        k->pub.pkey = p;
        *ret = k;
        return 0;
}

int signing_key_generate(struct signing_key **ret)
{
        EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        int r;

        if (!p)
                return -ENOMEM;
        r = signing_key_wrap(p, ret);
        if (r < 0)
                EVP_PKEY_free(p);
        return r;
}

int signing_key_from_pem(const char *pem, size_t len, struct signing_key **ret)
{
        _cleanup_(bio_freep) BIO *bio = NULL;
        _cleanup_(pkey_freep) EVP_PKEY *p = NULL;
        int r;

        if (len > INT32_MAX)
                return -E2BIG;
        bio = BIO_new_mem_buf(pem, (int) len);
        if (!bio)
                return -ENOMEM;
        p = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        ERR_clear_error();
        if (!p || !is_p256(p))
                return -EINVAL;
        r = signing_key_wrap(p, ret);
        if (r == 0)
                p = NULL;
        return r;
}

struct signing_key *signing_key_free(struct signing_key *k)
{
        if (k) {
                EVP_PKEY_free(k->pkey);
                free(k);
        }
        return NULL;
}

const struct public_key *signing_key_public(const struct signing_key *k)
{
        return &k->pub;
}

/* 1 when s > n/2 of P-256, 0 when not, negative on error. */
static int is_high_s(const BIGNUM *s, const BIGNUM *order)
{
        _cleanup_(bn_freep) BIGNUM *half = BN_dup(order);

        if (!half || BN_rshift1(half, half) != 1)
                return -ENOMEM;
        return BN_cmp(s, half) > 0;
}

int ecdsa_sig_check_canonical(const uint8_t *sig, size_t len)
{
        _cleanup_(ecdsa_sig_freep) ECDSA_SIG *es = NULL;
        const unsigned char *p = sig;
        unsigned char *out = NULL;
        const BIGNUM *r, *s;
        EC_GROUP *group;
        int n, k;

        if (len > INT32_MAX)
                return -E2BIG;
        es = d2i_ECDSA_SIG(NULL, &p, (long) len);
        ERR_clear_error();
        if (!es)
                return -EBADMSG;
        n = i2d_ECDSA_SIG(es, &out);
        k = n > 0 && (size_t) n == len && p == sig + len && memcmp(out, sig, len) == 0 ? 0 : -EDOM;
        OPENSSL_free(out);
        if (k < 0)
                return k;
        group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
        if (!group)
                return -ENOMEM;
        ECDSA_SIG_get0(es, &r, &s);
        k = is_high_s(s, EC_GROUP_get0_order(group));
        EC_GROUP_free(group);
        return k < 0 ? k : k ? -ERANGE : 0;
}

/* ECDSA (r, s) and (r, n - s) are both valid; some verifiers (noble-curves)
 * accept only s <= n/2, so always emit that one. */
static int normalise_low_s(uint8_t **sig, size_t *len)
{
        _cleanup_(ecdsa_sig_freep) ECDSA_SIG *es = NULL;
        _cleanup_(bn_freep) BIGNUM *s2 = NULL, *r2 = NULL;
        const unsigned char *p = *sig;
        const BIGNUM *r, *s, *order;
        EC_GROUP *group;
        unsigned char *out = NULL;
        int n, high;

        es = d2i_ECDSA_SIG(NULL, &p, (long) *len);
        group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
        if (!es || !group) {
                EC_GROUP_free(group);
                return -EIO;
        }
        order = EC_GROUP_get0_order(group);
        ECDSA_SIG_get0(es, &r, &s);
        high = is_high_s(s, order);
        if (high <= 0) {
                EC_GROUP_free(group);
                return high;
        }
        s2 = BN_new();
        r2 = BN_dup(r);
        if (!s2 || !r2 || BN_sub(s2, order, s) != 1 || ECDSA_SIG_set0(es, r2, s2) != 1) {
                EC_GROUP_free(group);
                return -ENOMEM;
        }
        r2 = s2 = NULL;         /* owned by es now */
        EC_GROUP_free(group);
        n = i2d_ECDSA_SIG(es, &out);
        if (n <= 0)
                return -ENOMEM;
        free(*sig);
        *sig = malloc((size_t) n);
        if (!*sig) {
                OPENSSL_free(out);
                return -ENOMEM;
        }
        memcpy(*sig, out, (size_t) n);
        OPENSSL_free(out);
        *len = (size_t) n;
        return 0;
}

int signing_key_sign(const struct signing_key *k, const void *msg, size_t len,
                     uint8_t **ret_sig, size_t *ret_len)
{
        _cleanup_(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        _cleanup_free_ uint8_t *sig = NULL;
        size_t n = 0;
        int r;

        if (!ctx || EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, k->pkey, NULL) != 1 ||
            EVP_DigestSign(ctx, NULL, &n, msg, len) != 1)
                return -EIO;
        sig = malloc(n);
        if (!sig)
                return -ENOMEM;
        if (EVP_DigestSign(ctx, sig, &n, msg, len) != 1) {
                ERR_clear_error();
                return -EIO;
        }
        r = normalise_low_s(&sig, &n);
        if (r < 0)
                return r;
        *ret_sig = TAKE_PTR(sig);
        *ret_len = n;
        return 0;
}

int public_key_from_pem(const char *pem, size_t len, struct public_key **ret)
{
        _cleanup_(bio_freep) BIO *bio = NULL;
        struct public_key *k;
        EVP_PKEY *p;

        if (len > INT32_MAX)
                return -E2BIG;
        bio = BIO_new_mem_buf(pem, (int) len);
        if (!bio)
                return -ENOMEM;
        p = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        ERR_clear_error();
        if (!p || !is_p256(p)) {
                EVP_PKEY_free(p);
                return -EINVAL;
        }
        k = calloc(1, sizeof(*k));
        if (!k) {
                EVP_PKEY_free(p);
                return -ENOMEM;
        }
        k->pkey = p;
        *ret = k;
        return 0;
}

struct public_key *public_key_free(struct public_key *k)
{
        if (k) {
                EVP_PKEY_free(k->pkey);
                free(k);
        }
        return NULL;
}

void public_key_freep(struct public_key **k)
{
        public_key_free(*k);
}

int public_key_verify(const struct public_key *k, const void *msg, size_t len,
                      const uint8_t *sig, size_t siglen)
{
        _cleanup_(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ok;

        if (!ctx || EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, k->pkey, NULL) != 1)
                return -ENOMEM;
        ok = EVP_DigestVerify(ctx, sig, siglen, msg, len);
        ERR_clear_error();
        return ok == 1 ? 0 : -EBADMSG;
}

int public_key_spki(const struct public_key *k, uint8_t **ret, size_t *ret_len)
{
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(k->pkey, &der);
        uint8_t *copy;

        if (n <= 0)
                return -ENOMEM;
        copy = malloc((size_t) n);
        if (copy)
                memcpy(copy, der, (size_t) n);
        OPENSSL_free(der);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        *ret_len = (size_t) n;
        return 0;
}

int public_key_pem(const struct public_key *k, char **ret)
{
        _cleanup_(bio_freep) BIO *bio = BIO_new(BIO_s_mem());
        const char *data;
        long n;
        char *copy;

        if (!bio || PEM_write_bio_PUBKEY(bio, k->pkey) != 1)
                return -ENOMEM;
        n = BIO_get_mem_data(bio, &data);
        if (n <= 0)
                return -ENOMEM;
        copy = strndup(data, (size_t) n);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

static size_t ssh_string(uint8_t *out, const void *p, size_t n)
{
        out[0] = (uint8_t) (n >> 24);
        out[1] = (uint8_t) (n >> 16);
        out[2] = (uint8_t) (n >> 8);
        out[3] = (uint8_t) n;
        memcpy(out + 4, p, n);
        return n + 4;
}

int public_key_openssh_fingerprint(const struct public_key *k, char out[64])
{
        static const char type[] = "ecdsa-sha2-nistp256", curve[] = "nistp256";
        uint8_t point[65], wire[128], digest[32];
        size_t n = 0, off = 0;
        _cleanup_free_ char *b64 = NULL;
        char *eq;
        int r;

        if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                            sizeof(point), &n) != 1 || n != 65 || point[0] != 0x04)
                return -EINVAL;
        off += ssh_string(wire + off, type, sizeof(type) - 1);
        off += ssh_string(wire + off, curve, sizeof(curve) - 1);
        off += ssh_string(wire + off, point, sizeof(point));
        sha256(wire, off, digest);
        r = base64_encode(digest, sizeof(digest), &b64);
        if (r < 0)
                return r;
        eq = strchr(b64, '=');
        if (eq)
                *eq = '\0';
        snprintf(out, 64, "SHA256:%s", b64);
        return 0;
}

bool public_key_equal(const struct public_key *a, const struct public_key *b)
{
        return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

int base64_encode(const void *p, size_t n, char **ret)
{
        char *out;

        if (n > INT32_MAX / 2)
                return -E2BIG;
        out = malloc(4 * ((n + 2) / 3) + 1);
        if (!out)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *) out, p, (int) n);
        *ret = out;
        return 0;
}

void sha256_two(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
        _cleanup_(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned len = 32;

        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(ctx, a, alen) != 1 || EVP_DigestUpdate(ctx, b, blen) != 1 ||
            EVP_DigestFinal_ex(ctx, out, &len) != 1)
                memset(out, 0, 32);
}
