/* SPDX-License-Identifier: Apache-2.0 */
/* The collector's own attestation result: an in-toto Statement with a SLSA
 * verification summary (VSA v1) predicate, about the VM, naming the node's
 * envelope by digest; DSSE-signed like the agent's evidence. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "dsse.h"
#include "evidence.h"
#include "json.h"
#include "macro.h"
#include "report.h"
#include "statement.h"
#include "timeutil.h"

static cJSON *subject(const char *vm_id)
{
        cJSON *arr = cJSON_CreateArray(), *s = cJSON_CreateObject(), *digest = cJSON_CreateObject();
        char name[96], hex[65];
        uint8_t d[32];

        if (!arr || !s || !digest) {
                cJSON_Delete(arr);
                cJSON_Delete(s);
                cJSON_Delete(digest);
                return NULL;
        }
        /* As in the node's statement (docs/evidence.md): the lower-case vmId. */
        sha256(vm_id, strlen(vm_id), d);
        hex_encode(d, sizeof(d), hex);
        snprintf(name, sizeof(name), "azure-vmid:%s", vm_id);
        cJSON_AddStringToObject(s, "name", name);
        cJSON_AddStringToObject(digest, "sha256", hex);
        cJSON_AddItemToObject(s, "digest", digest);
        cJSON_AddItemToArray(arr, s);
        return arr;
}

static cJSON *predicate(const char *vm_id, const char *sha256_hex, time_t verified_at)
{
        cJSON *p = cJSON_CreateObject(), *verifier = cJSON_CreateObject(), *version = cJSON_CreateObject();
        cJSON *policy = cJSON_CreateObject(), *inputs = cJSON_CreateArray(), *in = cJSON_CreateObject();
        cJSON *digest = cJSON_CreateObject(), *levels = cJSON_CreateArray();
        char when[32], uri[96], res[96];

        if (!p || !verifier || !version || !policy || !inputs || !in || !digest || !levels) {
                cJSON_Delete(p);
                cJSON_Delete(verifier);
                cJSON_Delete(version);
                cJSON_Delete(policy);
                cJSON_Delete(inputs);
                cJSON_Delete(in);
                cJSON_Delete(digest);
                cJSON_Delete(levels);
                return NULL;
        }
        format_rfc3339(verified_at, when);
        snprintf(uri, sizeof(uri), "sha256:%s", sha256_hex);
        snprintf(res, sizeof(res), "azure-vmid:%s", vm_id);
        cJSON_AddStringToObject(verifier, "id", COLLECT_VERIFIER_ID);
        cJSON_AddStringToObject(version, "hostenc", HOSTENC_VERSION);
        cJSON_AddItemToObject(verifier, "version", version);
        cJSON_AddItemToObject(p, "verifier", verifier);
        cJSON_AddStringToObject(p, "timeVerified", when);
        cJSON_AddStringToObject(p, "resourceUri", res);
        cJSON_AddStringToObject(policy, "uri", PREDICATE_TYPE);
        cJSON_AddItemToObject(p, "policy", policy);
        cJSON_AddStringToObject(in, "uri", uri);
        cJSON_AddStringToObject(digest, "sha256", sha256_hex);
        cJSON_AddItemToObject(in, "digest", digest);
        cJSON_AddItemToArray(inputs, in);
        cJSON_AddItemToObject(p, "inputAttestations", inputs);
        cJSON_AddStringToObject(p, "verificationResult", "PASSED");
        cJSON_AddItemToArray(levels, cJSON_CreateString(VSA_LEVEL));
        cJSON_AddItemToObject(p, "verifiedLevels", levels);
        return p;
}

int collect_summary_sign(const struct signing_key *k, const char *vm_id, const char *sha256_hex, time_t verified_at,
                         char **ret, size_t *ret_len)
{
        _cleanup_(cjson_deletep) cJSON *st = cJSON_CreateObject();
        _cleanup_free_ char *payload = NULL;
        cJSON *subj, *pred;
        char key_id[64];
        int r;

        subj = subject(vm_id);
        pred = predicate(vm_id, sha256_hex, verified_at);
        if (!st || !subj || !pred) {
                cJSON_Delete(subj);
                cJSON_Delete(pred);
                return -ENOMEM;
        }
        cJSON_AddStringToObject(st, "_type", STATEMENT_TYPE);
        cJSON_AddItemToObject(st, "subject", subj);
        cJSON_AddStringToObject(st, "predicateType", VSA_PREDICATE_TYPE);
        cJSON_AddItemToObject(st, "predicate", pred);
        /* As for the node's evidence: printed once, and those bytes signed. */
        payload = json_print(st, true);
        if (!payload)
                return -ENOMEM;
        r = public_key_openssh_fingerprint(signing_key_public(k), key_id);
        if (r < 0)
                return r;
        return evidence_sign_payload(k, key_id, payload, strlen(payload), ret, ret_len);
}
