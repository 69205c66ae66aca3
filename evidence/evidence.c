/* SPDX-License-Identifier: Apache-2.0 */
#include "evidence.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binding.h"
#include "dsse.h"
#include "fileio.h"
#include "json.h"
#include "macro.h"
#include "strparse.h"

int key_names_of(const struct public_key *k, struct key_names *ret)
{
        _cleanup_free_ uint8_t *spki = NULL;
        struct key_names names;
        uint8_t d[32];
        size_t n;
        int r;

        r = public_key_spki(k, &spki, &n);
        if (r < 0)
                return r;
        sha256(spki, n, d);
        hex_encode(d, sizeof(d), names.spki_sha256);
        r = public_key_openssh_fingerprint(k, names.key_id);
        if (r < 0)
                return r;
        r = binding_nonce(k, names.nonce);
        if (r < 0)
                return r;
        *ret = names;
        return 0;
}

int signer_info_init(const struct signing_key *k, struct signer_info *ret)
{
        const struct public_key *pub = signing_key_public(k);
        struct signer_info s = { .public_key_pem = NULL };
        struct key_names names;
        int r;

        r = key_names_of(pub, &names);
        if (r < 0)
                return r;
        memcpy(s.key_id, names.key_id, sizeof(s.key_id));
        memcpy(s.spki_sha256, names.spki_sha256, sizeof(s.spki_sha256));
        memcpy(s.nonce, names.nonce, sizeof(s.nonce));
        r = public_key_pem(pub, &s.public_key_pem);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

void signer_info_done(struct signer_info *s)
{
        free(s->public_key_pem);
        s->public_key_pem = NULL;
}

int evidence_sign_payload(const struct signing_key *k, const char *key_id, const char *payload, size_t len,
                          char **ret, size_t *ret_len)
{
        _cleanup_free_ char *env = NULL;
        _cleanup_free_ uint8_t *sig = NULL;
        _cleanup_(buf_done) struct buf pae = BUF_INIT(2 * DSSE_MAX_ENVELOPE);
        size_t siglen, n;
        char *out;
        int r;

        r = dsse_pae(DSSE_PAYLOAD_TYPE, payload, len, &pae);
        if (r < 0)
                return r;
        r = signing_key_sign(k, pae.data, pae.len, &sig, &siglen);
        if (r < 0)
                return r;
        r = dsse_envelope_build(DSSE_PAYLOAD_TYPE, payload, len, sig, siglen, key_id, &env);
        if (r < 0)
                return r;
        n = strlen(env);
        out = realloc(env, n + 2);
        if (!out)
                return -ENOMEM;
        env = NULL;
        out[n] = '\n';
        out[n + 1] = '\0';
        *ret = out;
        *ret_len = n + 1;
        return 0;
}

int evidence_sign(const struct signing_key *k, const struct signer_info *si,
                  struct statement_input *in, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *payload = NULL;
        size_t len;
        int r;

        in->signer = (struct statement_signer){ si->key_id, si->public_key_pem, si->spki_sha256 };
        r = statement_build(in, &payload, &len);
        if (r < 0)
                return r;
        return evidence_sign_payload(k, si->key_id, payload, len, ret, ret_len);
}

/* The sequence of a previous envelope: read its payload without trusting
 * it; it only decides whether to continue a chain, never a verdict. */
static int previous_sequence(const char *text, size_t len, const char *key_id, uint64_t *ret)
{
        _cleanup_(cjson_deletep) cJSON *st = NULL;
        struct dsse_envelope e;
        const cJSON *p, *seq, *signer, *kid;
        char err[128];
        int r;

        r = dsse_envelope_parse(text, len, &e, err, sizeof(err));
        if (r < 0)
                return -ENOENT;
        st = cJSON_ParseWithLength((const char *) e.payload, e.payload_len);
        dsse_envelope_done(&e);
        p = cJSON_GetObjectItemCaseSensitive(st, "predicate");
        seq = cJSON_GetObjectItemCaseSensitive(p, "sequence");
        signer = cJSON_GetObjectItemCaseSensitive(p, "signer");
        kid = cJSON_GetObjectItemCaseSensitive(signer, "keyId");
        if (!cJSON_IsNumber(seq) || !cJSON_IsString(kid) || strcmp(kid->valuestring, key_id) != 0 ||
            !(seq->valuedouble >= 1 && seq->valuedouble < 9007199254740992.0))
                return -ENOENT;
        *ret = (uint64_t) seq->valuedouble;
        return 0;
}

int evidence_previous(const char *path, const char *key_id, uint64_t *ret_seq, char ret_sha256[65])
{
        _cleanup_free_ char *text = NULL;
        uint8_t d[32];
        uint64_t seq;
        size_t len;
        int r;

        r = read_file_bounded(path, DSSE_MAX_ENVELOPE, &text, &len);
        if (r < 0)
                return -ENOENT;
        r = previous_sequence(text, len, key_id, &seq);
        if (r < 0)
                return r;
        sha256(text, len, d);
        hex_encode(d, sizeof(d), ret_sha256);
        *ret_seq = seq;
        return 0;
}
