/* SPDX-License-Identifier: Apache-2.0 */
/* DSSE, keys and the key binding, against the DSSE vectors and example
 * files in tests/data/vectors/dsse; expected values were computed with the
 * openssl and ssh-keygen command-line tools, not with this code. */
#include "testutil.h"

#include <errno.h>

#include "binding.h"
#include "collect_binding.h"
#include "crypto.h"
#include "dsse.h"
#include "json.h"
#include "policy.h"
#include "statement.h"
#include "verify_keys.h"

static char *dsse_file(const char *name, size_t *len)
{
        return test_read("DSSE_TESTDATA", name, len);
}

static struct public_key *pub(const char *name)
{
        size_t n;
        char *pem = dsse_file(name, &n);
        struct public_key *k = NULL;

        assert_int_equal(public_key_from_pem(pem, n, &k), 0);
        free(pem);
        return k;
}

static void test_pae_official_vector(void **state)
{
        struct buf pae = BUF_INIT(4096);
        size_t n;
        char *want = dsse_file("spec-derived/pae.bin", &n);

        assert_int_equal(dsse_pae("http://example.com/HelloWorld", "hello world", 11, &pae), 0);
        assert_int_equal(pae.len, 54);
        assert_int_equal(n, 54);
        assert_memory_equal(pae.data, want, n);
        buf_done(&pae);
        free(want);
}

static void test_pae_intoto_example(void **state)
{
        struct buf pae = BUF_INIT(1 << 20);
        size_t n, m;
        char *payload = dsse_file("intoto-node-example/payload.bin", &n);
        char *want = dsse_file("intoto-node-example/pae.bin", &m);

        assert_int_equal(dsse_pae(DSSE_PAYLOAD_TYPE, payload, n, &pae), 0);
        assert_int_equal(pae.len, m);
        assert_memory_equal(pae.data, want, m);
        buf_done(&pae);
        free(payload);
        free(want);
}

static void test_verify_official_signature(void **state)
{
        struct public_key *k = pub("spec-derived/pub.pem");
        size_t n, sn, rn;
        char *pae = dsse_file("spec-derived/pae.bin", &n);
        char *der = dsse_file("spec-derived/sig.der", &sn);
        char *raw = dsse_file("spec-derived/sig.raw", &rn);

        assert_int_equal(public_key_verify(k, pae, n, (uint8_t *) der, sn), 0);
        /* The spec's raw r||s form is not DER: a DER verifier must refuse it. */
        assert_int_equal(public_key_verify(k, pae, n, (uint8_t *) raw, rn), -EBADMSG);
        pae[n - 1] ^= 1;
        assert_int_equal(public_key_verify(k, pae, n, (uint8_t *) der, sn), -EBADMSG);
        public_key_free(k);
        free(pae);
        free(der);
        free(raw);
}

static void test_fingerprints_and_nonce(void **state)
{
        struct public_key *spec = pub("spec-derived/pub.pem"), *ex = pub("intoto-node-example/p256.pub.pem");
        char fp[64], nonce[33];

        assert_int_equal(public_key_openssh_fingerprint(spec, fp), 0);
        assert_string_equal(fp, "SHA256:f4AuBLdH4Lj/dIuwAUXXebzoI9B/cJ4iSQ3/qByIl4M");
        assert_int_equal(public_key_openssh_fingerprint(ex, fp), 0);
        assert_string_equal(fp, "SHA256:k1Lhoap0aHxy7qyyAl+DyPXO58NAnZd3oa/OsEtZQmM");
        /* { printf 'hostenc/key-binding/v1'; openssl pkey -pubin -outform DER; } | sha256sum | cut -c1-32 */
        assert_int_equal(binding_nonce(spec, nonce), 0);
        assert_string_equal(nonce, "07a9904d98a34988eca68bf40ab1ef63");
        assert_int_equal(binding_nonce(ex, nonce), 0);
        assert_string_equal(nonce, "4b742664a2cf66e737a73a857670f628");
        public_key_free(spec);
        public_key_free(ex);
}

/* verify's signer-key cache: decoded once, named as the CLIs name them
 * (spkiSha256: openssl pkey -pubin -outform DER | sha256sum). */
static void test_signer_key_cache(void **state)
{
        struct key_cache *c = key_cache_new();
        const struct signer_key *a, *again, *b;
        size_t na, nb;
        char *spec = dsse_file("spec-derived/pub.pem", &na), *ex = dsse_file("intoto-node-example/p256.pub.pem", &nb);

        assert_non_null(c);
        assert_int_equal(key_cache_get(c, spec, na, &a), 0);
        assert_string_equal(a->names.key_id, "SHA256:f4AuBLdH4Lj/dIuwAUXXebzoI9B/cJ4iSQ3/qByIl4M");
        assert_string_equal(a->names.spki_sha256, "f793580060562d6ff075d814ea698c282fcc779b0cde64d79ffc6301df00d14b");
        assert_string_equal(a->names.nonce, "07a9904d98a34988eca68bf40ab1ef63");
        assert_int_equal(key_cache_get(c, spec, na, &again), 0);
        assert_ptr_equal(again, a);             /* a hit, not a second decode */
        assert_ptr_equal(again->key, a->key);
        assert_int_equal(key_cache_get(c, ex, nb, &b), 0);
        assert_string_equal(b->names.key_id, "SHA256:k1Lhoap0aHxy7qyyAl+DyPXO58NAnZd3oa/OsEtZQmM");
        assert_string_equal(b->names.spki_sha256, "860ac4a6987e534aef6c38403a325400412e6d364d92956b0f6401cbcbd208db");
        assert_false(public_key_equal(b->key, a->key));
        static const char not_a_key[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";

        assert_int_equal(key_cache_get(c, not_a_key, strlen(not_a_key), &a), -EINVAL);
        assert_int_equal(key_cache_get(c, spec, na, &a), 0);
        assert_string_equal(a->names.key_id, "SHA256:f4AuBLdH4Lj/dIuwAUXXebzoI9B/cJ4iSQ3/qByIl4M");
        free(spec);
        free(ex);
        key_cache_free(c);
}

/* s from a DER ECDSA-Sig-Value, left-padded to 32 bytes. */
static void der_s(const uint8_t *sig, size_t len, uint8_t s[32])
{
        size_t off = 2, rlen, slen;

        assert_true(len > 8 && sig[0] == 0x30 && sig[2] == 0x02);
        rlen = sig[3];
        off = 4 + rlen;
        assert_int_equal(sig[off], 0x02);
        slen = sig[off + 1];
        off += 2;
        while (slen > 32) {
                assert_int_equal(sig[off], 0);
                off++;
                slen--;
        }
        memset(s, 0, 32);
        memcpy(s + 32 - slen, sig + off, slen);
}

static void test_signatures_are_low_s(void **state)
{
        /* (n - 1) / 2 for P-256, big-endian. */
        static const uint8_t half[32] = {
                0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
        };
        struct signing_key *k = NULL;
        uint8_t s[32];

        assert_int_equal(signing_key_generate(&k), 0);
        /* Half of raw ECDSA outputs are high-S; 64 tries all but guarantee some were normalised. */
        for (int i = 0; i < 64; i++) {
                uint8_t *sig = NULL;
                size_t n;
                char msg[16];

                snprintf(msg, sizeof(msg), "message %d", i);
                assert_int_equal(signing_key_sign(k, msg, strlen(msg), &sig, &n), 0);
                assert_int_equal(public_key_verify(signing_key_public(k), msg, strlen(msg), sig, n), 0);
                der_s(sig, n, s);
                assert_true(memcmp(s, half, 32) <= 0);
                free(sig);
        }
        signing_key_free(k);
}

static void test_key_kinds(void **state)
{
        struct signing_key *k = NULL;
        struct public_key *pk = NULL;
        size_t n;
        char *p256 = dsse_file("intoto-node-example/TEST-ONLY-p256.key.pem", &n);
        char *ed, *edpub;

        assert_int_equal(signing_key_from_pem(p256, n, &k), 0);
        signing_key_free(k);
        free(p256);
        ed = dsse_file("intoto-node-example/TEST-ONLY-ed25519.key.pem", &n);
        assert_int_equal(signing_key_from_pem(ed, n, &k), -EINVAL);
        free(ed);
        edpub = dsse_file("intoto-node-example/ed25519.pub.pem", &n);
        assert_int_equal(public_key_from_pem(edpub, n, &pk), -EINVAL);
        free(edpub);
        assert_int_equal(signing_key_from_pem("garbage", 7, &k), -EINVAL);
}

static void test_envelope_parse(void **state)
{
        struct dsse_envelope e;
        char err[128];
        /* "hi?" in standard, padded base64 is "aGk/". */
        const char *ok = "{\"payloadType\":\"t\",\"payload\":\"aGk/\",\"signatures\":[{\"sig\":\"AAE=\"}],\"x\":1}";
        static const char *const bad[] = {
                "", "[]", "{\"payload\":\"\",\"signatures\":[{\"sig\":\"\"}]}",
                "{\"payloadType\":1,\"payload\":\"\",\"signatures\":[{\"sig\":\"\"}]}",
                "{\"payloadType\":\"t\",\"payload\":\"!!\",\"signatures\":[{\"sig\":\"\"}]}",
                "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[]}",
                "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[{\"sig\":5}]}",
                "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[{\"sig\":\"\",\"keyid\":[]}]}",
                "{\"payloadType\":\"t\",\"payload\":\"\"}",
        };
        /* One base64 form only: URL-safe, unpadded, whitespace, non-zero
         * unused bits are each refused as non-canonical; "!!" is no base64. */
        static const char *const noncanonical[] = { "aGk_", "aGk", "aGk/\\n", " aGk/", "aGl=" };

        assert_int_equal(dsse_envelope_parse(ok, strlen(ok), &e, err, sizeof(err)), 0);
        assert_int_equal(e.payload_len, 3);
        assert_memory_equal(e.payload, "hi?", 3);
        assert_int_equal(e.n_sigs, 1);
        assert_int_equal(e.sigs[0].len, 2);
        dsse_envelope_done(&e);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(dsse_envelope_parse(bad[i], strlen(bad[i]), &e, err, sizeof(err)), -EBADMSG);
        for (size_t i = 0; i < sizeof(noncanonical) / sizeof(noncanonical[0]); i++) {
                char json[160];

                snprintf(json, sizeof(json), "{\"payloadType\":\"t\",\"payload\":\"%s\",\"signatures\":[{\"sig\":\"AAE=\"}]}",
                         noncanonical[i]);
                assert_int_equal(dsse_envelope_parse(json, strlen(json), &e, err, sizeof(err)), -EDOM);
                snprintf(json, sizeof(json), "{\"payloadType\":\"t\",\"payload\":\"aGk/\",\"signatures\":[{\"sig\":\"%s\"}]}",
                         noncanonical[i]);
                assert_int_equal(dsse_envelope_parse(json, strlen(json), &e, err, sizeof(err)), -EDOM);
        }
}

static void test_example_envelope_verifies(void **state)
{
        struct public_key *k = pub("intoto-node-example/p256.pub.pem");
        struct buf pae = BUF_INIT(1 << 20);
        struct dsse_envelope e;
        size_t n;
        char *json = dsse_file("intoto-node-example/envelope.p256.json", &n), err[128];

        assert_int_equal(dsse_envelope_parse(json, n, &e, err, sizeof(err)), 0);
        assert_string_equal(e.sigs[0].keyid, "SHA256:k1Lhoap0aHxy7qyyAl+DyPXO58NAnZd3oa/OsEtZQmM");
        assert_int_equal(dsse_pae(e.payload_type, e.payload, e.payload_len, &pae), 0);
        assert_int_equal(public_key_verify(k, pae.data, pae.len, e.sigs[0].sig, e.sigs[0].len), 0);
        dsse_envelope_done(&e);
        buf_done(&pae);
        public_key_free(k);
        free(json);
}

/* An allocator that fails its n-th call, counting from 1 (0: never). */
static unsigned long fail_at, calls;

static void *failing_malloc(size_t n)
{
        return ++calls == fail_at ? NULL : malloc(n);
}

/* Every cJSON allocation of a statement or an envelope can fail; each
 * failure must give -ENOMEM, never a statement or envelope that lacks a
 * member, so that nothing incomplete is ever signed. */
static void test_no_incomplete_statement(void **state)
{
        struct node_facts *f = calloc(1, sizeof(*f));
        struct policy_opts po = { .now = 1764000000 };
        struct report rep;
        char *reference, *text, *env_ref, *env;
        size_t len, ref_len;
        unsigned long n;
        int r;

        assert_non_null(f);
        f->imds.state = IMDS_OK;
        snprintf(f->imds.compute.vm_id.value, sizeof(f->imds.compute.vm_id.value), "%s",
                 "3b5c3d2e-7a1f-4c6e-9d2b-0a1b2c3d4e5f");
        f->imds.compute.vm_id.present = true;
        policy_evaluate(f, &po, &rep);
        struct statement_input in = { .facts = f, .report = &rep, .policy = &po, .observed_at = po.now,
                                      .node_name = "aks-nodepool1-0", .provider_id = "azure:///x", .sequence = 1,
                                      .signer = { "SHA256:k", "PEM", "00" } };
        static const uint8_t sig[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

        assert_int_equal(statement_build(&in, &reference, &ref_len), 0);
        assert_int_equal(dsse_envelope_build("application/vnd.in-toto+json", reference, ref_len, sig, sizeof(sig),
                                             "SHA256:k", &env_ref), 0);
        json_set_allocator(failing_malloc);
        for (n = 1;; n++) {
                calls = 0;
                fail_at = n;
                r = statement_build(&in, &text, &len);
                if (r == 0) {
                        /* Past the last allocation: the same bytes as without failures. */
                        assert_true(calls < n);
                        assert_int_equal(len, ref_len);
                        assert_memory_equal(text, reference, len);
                        free(text);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
        }
        assert_true(n > 20);    /* the statement did allocate, so the loop tested something */
        for (n = 1;; n++) {
                calls = 0;
                fail_at = n;
                r = dsse_envelope_build("application/vnd.in-toto+json", reference, ref_len, sig, sizeof(sig),
                                        "SHA256:k", &env);
                if (r == 0) {
                        assert_string_equal(env, env_ref);
                        free(env);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
        }
        json_set_allocator(NULL);
        free(env_ref);
        free(reference);
        free(f);
}

/* The collector's policy description, whose digest names the policy in
 * every verification summary: all or nothing too, and nothing touched
 * after an attach failed (ASan and valgrind run this). */
static void test_no_partial_policy(void **state)
{
        static const char *const domains[] = { "metadata.azure.com", "metadata.azure.us", NULL };
        char *reference = collect_policy_describe(3600, domains, "ab", NULL, "cd"), *text;
        unsigned long n;

        assert_non_null(reference);
        json_set_allocator(failing_malloc);
        for (n = 1;; n++) {
                calls = 0;
                fail_at = n;
                text = collect_policy_describe(3600, domains, "ab", NULL, "cd");
                if (text && calls < n) {
                        assert_string_equal(text, reference);
                        free(text);
                        break;
                }
                assert_null(text);
        }
        json_set_allocator(NULL);
        assert_true(n > 10);
        free(reference);
}

static void test_binding_refresh(void **state)
{
        struct attested_facts a = { .state = ATTESTED_OK, .expires_at = 100000 };

        strcpy(a.nonce, "4b742664a2cf66e737a73a857670f628");
        assert_false(binding_needs_refresh(&a, a.nonce, 100000 - BINDING_REFRESH_MARGIN_S - 1));
        assert_true(binding_needs_refresh(&a, a.nonce, 100000 - BINDING_REFRESH_MARGIN_S));
        assert_true(binding_needs_refresh(&a, "07a9904d98a34988eca68bf40ab1ef63", 0));
        a.state = ATTESTED_UNTRUSTED;
        assert_true(binding_needs_refresh(&a, a.nonce, 0));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pae_official_vector),
                cmocka_unit_test(test_pae_intoto_example),
                cmocka_unit_test(test_verify_official_signature),
                cmocka_unit_test(test_fingerprints_and_nonce),
                cmocka_unit_test(test_signer_key_cache),
                cmocka_unit_test(test_signatures_are_low_s),
                cmocka_unit_test(test_key_kinds),
                cmocka_unit_test(test_envelope_parse),
                cmocka_unit_test(test_example_envelope_verifies),
                cmocka_unit_test(test_binding_refresh),
                cmocka_unit_test(test_no_incomplete_statement),
                cmocka_unit_test(test_no_partial_policy),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
