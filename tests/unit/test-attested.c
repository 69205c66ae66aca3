/* SPDX-License-Identifier: Apache-2.0 */
/* Real Microsoft-signed attested documents (tests/data/vectors/imds), verified
 * at their own time against the bundled trust anchors. */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <errno.h>

#include "attested.h"
#include "crypto.h"

extern const char hostenc_trust_bundle[];
extern const size_t hostenc_trust_bundle_len;

static const char *const azure[] = { "metadata.azure.com", NULL };
static struct trust_store *bundle;

/* The base64 PKCS#7 of a test vector: bare .b64, PEM, or [{document}] JSON. */
static char *vector_b64(const char *name)
{
        char *raw = test_read("IMDS_TESTDATA", name, NULL), *out;
        cJSON *j;

        if (strstr(name, ".json")) {
                j = cJSON_Parse(raw);
                assert_non_null(j);
                out = strdup(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "document")->valuestring);
                cJSON_Delete(j);
        } else if (strstr(raw, "-----BEGIN PKCS7-----")) {
                char *b = strchr(raw, '\n') + 1;

                *strstr(b, "-----END") = '\0';
                out = strdup(b);
        } else
                out = strdup(raw);
        free(raw);
        return out;
}

static void verify_vector(const char *name, time_t at, struct attested_facts *f)
{
        char *b64 = vector_b64(name);
        size_t n = strlen(b64) + 64;
        char *body = malloc(n);

        snprintf(body, n, "{\"encoding\":\"pkcs7\",\"signature\":\"%s\"}", b64);
        /* JSON strings cannot hold raw newlines; the wrapped vectors need them gone. */
        for (char *p = body; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        memset(f, 0, sizeof(*f));
        attested_verify_response(body, strlen(body), bundle, azure, at, f);
        free(body);
        free(b64);
}

/* The chain is checked at the document's own createdOn, as verify does. */
static void verify_at_own_time(const char *name, struct attested_facts *f)
{
        verify_vector(name, ATTESTED_AT_CREATED_ON, f);
        assert_true(f->created_at > 0);
}

static void test_good_2026_07_g2_hierarchy(void **state)
{
        struct attested_facts f;

        verify_at_own_time("tc_good_2026-07-28_eastus_tls-g2-rsa-ca-ocsp-02.json", &f);
        assert_int_equal(f.state, ATTESTED_OK);
        assert_string_equal(f.vm_id, "b1310a36-d400-46f6-82cb-6217df846586");
        assert_string_equal(f.created_on, "07/28/26 13:24:00 -0000");
        assert_string_equal(f.expires_on, "07/28/26 19:24:00 -0000");
        assert_int_equal(f.expires_at - f.created_at, 6 * 3600);
        assert_non_null(strstr(f.signer_issuer, "Microsoft TLS G2 RSA CA OCSP 02"));
        assert_non_null(strstr(f.signer_dns, "metadata.azure.com"));
}

static void test_good_2026_04_and_2024(void **state)
{
        struct attested_facts f;

        verify_at_own_time("tc_good_2026-04-23_eastus_azure-rsa-tls-issuing-ca-04.json", &f);
        assert_int_equal(f.state, ATTESTED_OK);
        assert_non_null(strstr(f.signer_issuer, "Issuing CA 04"));
        verify_at_own_time("tc_good_2024-06-28_southcentralus_azure-rsa-tls-issuing-ca-07.b64", &f);
        assert_int_equal(f.state, ATTESTED_OK);
        assert_non_null(strstr(f.signer_issuer, "Issuing CA 07"));
}

/* The real documents, at their own times: a 6 h life within the cap, and a
 * leaf valid at createdOn and through expiresOn (so an envelope observed in
 * the window passes verify's leaf-at-observedAt rule), though expired now. */
static void test_real_documents_lifetime_and_leaf_validity(void **state)
{
        static const char *const names[] = {
                "tc_good_2026-07-28_eastus_tls-g2-rsa-ca-ocsp-02.json",
                "tc_good_2026-04-23_eastus_azure-rsa-tls-issuing-ca-04.json",
                "tc_good_2024-06-28_southcentralus_azure-rsa-tls-issuing-ca-07.b64",
        };
        struct attested_facts f;

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                verify_at_own_time(names[i], &f);
                assert_int_equal(f.state, ATTESTED_OK);
                assert_true(f.expires_at - f.created_at <= ATTESTED_MAX_LIFETIME_S);
                assert_true(f.signer_not_before > 0 && f.signer_not_before <= f.created_at);
                assert_true(f.signer_not_after >= f.expires_at);
        }
}

static void test_expired_leaf_is_untrusted_now(void **state)
{
        struct attested_facts f;

        /* 0 = the current time, after the leaf expired on 2026-11-11. */
        verify_vector("tc_good_2026-07-28_eastus_tls-g2-rsa-ca-ocsp-02.json", 0, &f);
        assert_int_equal(f.state, ATTESTED_UNTRUSTED);
        assert_non_null(strstr(f.error, "expired"));
}

static void test_old_hierarchies_verify_signature_but_not_chain(void **state)
{
        /* Their issuing CAs (Baltimore era, Azure TLS Issuing CA 05) are not
         * in the bundle: the signature holds, the chain must not. */
        static const char *const old[] = {
                "tc_good_2023-10-31_westeurope_azure-tls-issuing-ca-05.b64",
                "tc_good_2022-03-10_eastus_microsoft-rsa-tls-ca-01.b64",
                "tc_good_2019-12-13_westus_microsoft-it-tls-ca-4_nonce1234567890.b64",
        };
        struct attested_facts f;

        for (size_t i = 0; i < 3; i++) {
                verify_at_own_time(old[i], &f);
                assert_int_equal(f.state, ATTESTED_UNTRUSTED);
                assert_true(f.vm_id[0] != '\0');
        }
        assert_string_equal(f.nonce, "1234567890");
}

static void test_negative_vectors(void **state)
{
        struct attested_facts f;

        verify_vector("tc_bad_signature_2019.b64", 1, &f);
        assert_int_equal(f.state, ATTESTED_BAD_SIGNATURE);
        verify_vector("tc_wrong_subject_selfsigned.pkcs7.pem", 1, &f);
        assert_int_equal(f.state, ATTESTED_SIGNER_NOT_AZURE);
}

/* This vector carries one stray byte after its DER: strict parsing rejects
 * it before any signature check, and without the byte the altered content
 * fails the signature itself. */
static void test_bad_message_vector(void **state)
{
        char *b64 = vector_b64("tc_bad_message_2019.b64");
        struct pkcs7_result res = { 0 };
        struct attested_facts f;
        uint8_t *der = NULL;
        size_t len;

        verify_vector("tc_bad_message_2019.b64", 1, &f);
        assert_int_equal(f.state, ATTESTED_MALFORMED);
        assert_non_null(strstr(f.error, "not a DER PKCS#7"));
        assert_int_equal(base64_decode(b64, strlen(b64), &der, &len), 0);
        assert_int_equal(len, 2875);
        assert_int_equal(pkcs7_verify_signed(der, 2874, bundle, azure, &(struct pkcs7_time){ .at = 1 }, &res), 0);
        assert_int_equal(res.verdict, PKCS7_BAD_SIGNATURE);
        pkcs7_result_done(&res);
        free(der);
        free(b64);
}

static void test_other_cloud_domain_rejects_public_signer(void **state)
{
        static const char *const gov[] = { "metadata.azure.us", NULL };
        char *b64 = vector_b64("tc_good_2024-06-28_southcentralus_azure-rsa-tls-issuing-ca-07.b64");
        char body[8192];
        struct attested_facts f = { 0 };

        snprintf(body, sizeof(body), "{\"encoding\":\"pkcs7\",\"signature\":\"%s\"}", b64);
        attested_verify_response(body, strlen(body), bundle, gov, 1, &f);
        assert_int_equal(f.state, ATTESTED_SIGNER_NOT_AZURE);
        free(b64);
}

static void test_malformed_envelopes(void **state)
{
        static const char *const bad[] = {
                "", "{", "[]", "{\"encoding\":\"pkcs7\"}",
                "{\"encoding\":\"cms\",\"signature\":\"AAAA\"}",
                "{\"encoding\":\"pkcs7\",\"signature\":\"!!!!\"}",
                "{\"encoding\":\"pkcs7\",\"signature\":\"AAAA\"}",
                "{\"encoding\":\"pkcs7\",\"signature\":7}",
        };
        struct attested_facts f;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                memset(&f, 0, sizeof(f));
                attested_verify_response(bad[i], strlen(bad[i]), bundle, azure, 1, &f);
                assert_int_equal(f.state, ATTESTED_MALFORMED);
        }
}

static void test_truncated_document(void **state)
{
        char *b64 = vector_b64("tc_good_2024-06-28_southcentralus_azure-rsa-tls-issuing-ca-07.b64");
        char body[8192];
        struct attested_facts f = { 0 };

        /* Cut at a multiple of 4 so the base64 stays valid and the DER does not. */
        b64[2000] = '\0';
        snprintf(body, sizeof(body), "{\"encoding\":\"pkcs7\",\"signature\":\"%s\"}", b64);
        attested_verify_response(body, strlen(body), bundle, azure, 1, &f);
        assert_int_equal(f.state, ATTESTED_MALFORMED);
        free(b64);
}

static void test_parse_time(void **state)
{
        time_t t;

        assert_int_equal(attested_parse_time("07/28/26 13:24:00 -0000", &t), 0);
        assert_int_equal((long long) t, 1785245040LL);
        assert_int_equal(attested_parse_time("07/28/26 13:24:00 +0100", &t), -EINVAL);
        assert_int_equal(attested_parse_time("13/28/26 13:24:00 -0000", &t), -EINVAL);
        assert_int_equal(attested_parse_time("07/28/2026 13:24:00 -0000", &t), -EINVAL);
        assert_int_equal(attested_parse_time("", &t), -EINVAL);
}

static void test_bundle_has_anchors(void **state)
{
        struct trust_store *t = NULL;

        assert_int_equal(trust_store_anchor_count(bundle), 4);
        assert_int_equal(trust_store_from_pem("no certs", 8, &t), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_2026_07_g2_hierarchy),
                cmocka_unit_test(test_good_2026_04_and_2024),
                cmocka_unit_test(test_real_documents_lifetime_and_leaf_validity),
                cmocka_unit_test(test_expired_leaf_is_untrusted_now),
                cmocka_unit_test(test_old_hierarchies_verify_signature_but_not_chain),
                cmocka_unit_test(test_negative_vectors),
                cmocka_unit_test(test_bad_message_vector),
                cmocka_unit_test(test_other_cloud_domain_rejects_public_signer),
                cmocka_unit_test(test_malformed_envelopes),
                cmocka_unit_test(test_truncated_document),
                cmocka_unit_test(test_parse_time),
                cmocka_unit_test(test_bundle_has_anchors),
        };

        if (trust_store_from_pem(hostenc_trust_bundle, hostenc_trust_bundle_len, &bundle) < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
