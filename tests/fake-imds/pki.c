/*
 * pki.c - in-memory test PKI for fake-imds: key generation, certificates,
 * trust-anchor PEM export and PKCS#7 signing of attested documents.
 *
 * TEST-ONLY: never built into, or shipped with, the hostenc agent.
 * Uses only non-deprecated OpenSSL 3 APIs.
 */
#include "pki.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#define DAY  (24L * 60L * 60L)
#define HOUR (60L * 60L)

#define ROOT_CN  "hostenc fake IMDS test root"
#define INTER_CN "hostenc fake IMDS test intermediate"

struct ext_spec {
    int nid;
    const char *value;
};

struct cert_spec {
    const char *const *name;      /* field, value, field, value, ..., NULL */
    long not_before;              /* seconds relative to now */
    long not_after;
    const struct ext_spec *exts;  /* terminated by nid == NID_undef */
};

static const struct ext_spec root_exts[] = {
    { NID_basic_constraints, "critical,CA:TRUE" },
    { NID_key_usage, "critical,keyCertSign,cRLSign" },
    { NID_subject_key_identifier, "hash" },
    { NID_undef, NULL },
};

static const struct ext_spec inter_exts[] = {
    { NID_basic_constraints, "critical,CA:TRUE,pathlen:0" },
    { NID_key_usage, "critical,keyCertSign,cRLSign" },
    { NID_subject_key_identifier, "hash" },
    { NID_authority_key_identifier, "keyid:always" },
    { NID_undef, NULL },
};

static int set_random_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    int ok;

    if (bn == NULL)
        return -1;
    ok = BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 &&
         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

static int set_name(X509_NAME *name, const char *const *fields)
{
    for (size_t i = 0; fields[i] != NULL; i += 2) {
        if (X509_NAME_add_entry_by_txt(name, fields[i], MBSTRING_ASC,
                                       (const unsigned char *)fields[i + 1],
                                       -1, -1, 0) != 1)
            return -1;
    }
    return 0;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static int add_exts(X509 *cert, X509 *issuer, const struct ext_spec *exts)
{
    for (size_t i = 0; exts[i].nid != NID_undef; i++) {
        if (add_ext(cert, issuer, exts[i].nid, exts[i].value) != 0)
            return -1;
    }
    return 0;
}

/* issuer == NULL: self-signed with `key`. */
static X509 *make_cert(EVP_PKEY *key, const struct cert_spec *spec,
                       const struct pki_cert *issuer)
{
    X509 *x = X509_new();
    X509 *icert;
    EVP_PKEY *ikey;

    if (x == NULL)
        return NULL;
    icert = issuer != NULL ? issuer->cert : x;
    ikey = issuer != NULL ? issuer->key : key;
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        set_random_serial(x) != 0 ||
        set_name(X509_get_subject_name(x), spec->name) != 0 ||
        X509_set_issuer_name(x, X509_get_subject_name(icert)) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), spec->not_before) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), spec->not_after) == NULL ||
        X509_set_pubkey(x, key) != 1 ||
        add_exts(x, icert, spec->exts) != 0 ||
        X509_sign(x, ikey, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int make_pair(struct pki_cert *out, const struct cert_spec *spec,
                     const struct pki_cert *issuer)
{
    out->cert = NULL;
    out->key = EVP_RSA_gen(2048);
    if (out->key == NULL)
        return -1;
    out->cert = make_cert(out->key, spec, issuer);
    if (out->cert == NULL) {
        pki_cert_free(out);
        return -1;
    }
    return 0;
}

const char *pki_make_leaf(struct pki_cert *leaf, const struct pki_cert *issuer,
                          const char *cn, const char *san)
{
    const char *const name[] = { "C", "US", "O", "hostenc test", "CN", cn, NULL };
    const struct ext_spec exts[] = {
        { NID_basic_constraints, "CA:FALSE" },
        { NID_key_usage, "critical,digitalSignature,keyEncipherment" },
        { NID_ext_key_usage, "serverAuth" },
        { NID_subject_alt_name, san },
        { NID_subject_key_identifier, "hash" },
        { NID_authority_key_identifier, "keyid:always" },
        { NID_undef, NULL },
    };
    const struct cert_spec spec = { name, -HOUR, 7 * DAY, exts };

    return make_pair(leaf, &spec, issuer) == 0
               ? NULL : "cannot create leaf certificate";
}

const char *pki_make_chain(struct pki_chain *chain)
{
    static const char *const root_name[] = { "CN", ROOT_CN, NULL };
    static const char *const inter_name[] = { "CN", INTER_CN, NULL };
    const struct cert_spec root = { root_name, -DAY, 30 * DAY, root_exts };
    const struct cert_spec inter = { inter_name, -DAY, 30 * DAY, inter_exts };
    const char *err;

    memset(chain, 0, sizeof(*chain));
    if (make_pair(&chain->root, &root, NULL) != 0)
        return "cannot create root CA certificate";
    if (make_pair(&chain->inter, &inter, &chain->root) != 0) {
        pki_chain_free(chain);
        return "cannot create intermediate CA certificate";
    }
    err = pki_make_leaf(&chain->leaf, &chain->inter, "metadata.azure.com",
                        "DNS:eastus.metadata.azure.com, DNS:metadata.azure.com");
    if (err != NULL)
        pki_chain_free(chain);
    return err;
}

/* Copy the contents of a memory BIO into a malloc'd NUL-terminated string. */
static char *bio_to_string(BIO *bio, size_t *len)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *out;

    if (n < 0 || data == NULL)
        return NULL;
    out = malloc((size_t)n + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    if (len != NULL)
        *len = (size_t)n;
    return out;
}

char *pki_trust_pem(const struct pki_chain *chain, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL;

    if (bio == NULL)
        return NULL;
    if (PEM_write_bio_X509(bio, chain->root.cert) == 1 &&
        PEM_write_bio_X509(bio, chain->inter.cert) == 1)
        out = bio_to_string(bio, len);
    BIO_free(bio);
    return out;
}

static char *base64(const unsigned char *der, int len)
{
    char *out = malloc(4 * (((size_t)len + 2) / 3) + 1);

    if (out == NULL)
        return NULL;
    if (EVP_EncodeBlock((unsigned char *)out, der, len) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

char *pki_sign_b64(const struct pki_cert *signer, const char *data, size_t len)
{
    BIO *in;
    PKCS7 *p7 = NULL;
    unsigned char *der = NULL;
    int der_len = -1;
    char *out = NULL;

    if (len > INT_MAX)
        return NULL;
    in = BIO_new_mem_buf(data, (int)len);
    if (in == NULL)
        return NULL;
    p7 = PKCS7_sign(signer->cert, signer->key, NULL, in,
                    PKCS7_BINARY | PKCS7_NOATTR);
    if (p7 != NULL)
        der_len = i2d_PKCS7(p7, &der);
    if (der_len > 0)
        out = base64(der, der_len);
    OPENSSL_free(der);
    PKCS7_free(p7);
    BIO_free(in);
    return out;
}

void pki_cert_free(struct pki_cert *cert)
{
    X509_free(cert->cert);
    EVP_PKEY_free(cert->key);
    cert->cert = NULL;
    cert->key = NULL;
}

void pki_chain_free(struct pki_chain *chain)
{
    pki_cert_free(&chain->leaf);
    pki_cert_free(&chain->inter);
    pki_cert_free(&chain->root);
}
