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
        json_add_item(s, "digest", digest);
        json_append(arr, s);
        return arr;
}

static bool passed(enum binding b)
{
        return b != BINDING_MISATTRIBUTED && b != BINDING_FOREIGN;
}

/* VSA v1 predicate. inputAttestations[] has no uri: the envelope's place
 * (STORE/objects/<aa>/<sha256>.json) is not a URI anyone can fetch; the
 * spec makes uri a SHOULD and digest a MUST. */
static cJSON *predicate(const struct summary_input *in)
{
        cJSON *p = cJSON_CreateObject(), *verifier = cJSON_CreateObject(), *version = cJSON_CreateObject();
        cJSON *policy = cJSON_CreateObject(), *pdigest = cJSON_CreateObject(), *inputs = cJSON_CreateArray();
        cJSON *att = cJSON_CreateObject(), *digest = cJSON_CreateObject(), *levels = cJSON_CreateArray();
        cJSON *bind = cJSON_CreateObject();
        char when[32], res[96];

        if (!p || !verifier || !version || !policy || !pdigest || !inputs || !att || !digest || !levels || !bind) {
                cJSON *all[] = { p, verifier, version, policy, pdigest, inputs, att, digest, levels, bind };

                for (size_t i = 0; i < ARRAY_SIZE(all); i++)
                        cJSON_Delete(all[i]);
                return NULL;
        }
        format_rfc3339(in->verified_at, when);
        snprintf(res, sizeof(res), "azure-vmid:%s", in->vm_id);
        cJSON_AddStringToObject(verifier, "id", COLLECT_VERIFIER_ID);
        cJSON_AddStringToObject(version, "hostenc", HOSTENC_VERSION);
        json_add_item(verifier, "version", version);
        json_add_item(p, "verifier", verifier);
        cJSON_AddStringToObject(p, "timeVerified", when);
        cJSON_AddStringToObject(p, "resourceUri", res);
        cJSON_AddStringToObject(policy, "uri", COLLECT_POLICY_URI);
        cJSON_AddStringToObject(pdigest, "sha256", in->policy_sha256);
        json_add_item(policy, "digest", pdigest);
        json_add_item(p, "policy", policy);
        cJSON_AddStringToObject(digest, "sha256", in->sha256);
        json_add_item(att, "digest", digest);
        json_append(inputs, att);
        json_add_item(p, "inputAttestations", inputs);
        cJSON_AddStringToObject(p, "verificationResult", passed(in->binding) ? "PASSED" : "FAILED");
        if (!passed(in->binding))
                json_append(levels, cJSON_CreateString("FAILED"));
        else {
                json_append(levels, cJSON_CreateString(VSA_LEVEL));
                if (in->binding == BINDING_BOUND)
                        json_append(levels, cJSON_CreateString(VSA_LEVEL_BOUND));
        }
        json_add_item(p, "verifiedLevels", levels);
        cJSON_AddStringToObject(p, "slsaVersion", "1.0");
        /* An extension field, named by a URI as the VSA parsing rules ask. */
        cJSON_AddStringToObject(bind, "state", binding_names[in->binding]);
        cJSON_AddStringToObject(bind, "node", in->node ? in->node : "");
        if (in->why && *in->why)
                cJSON_AddStringToObject(bind, "detail", in->why);
        json_add_item(p, VSA_BINDING_FIELD, bind);
        return p;
}

int collect_summary_sign(const struct signing_key *k, const struct summary_input *in, char **ret, size_t *ret_len)
{
        unsigned long failures = json_alloc_failures();
        _cleanup_(cjson_deletep) cJSON *st = cJSON_CreateObject();
        _cleanup_free_ char *payload = NULL;
        cJSON *subj, *pred;
        char key_id[64];
        int r;

        subj = subject(in->vm_id);
        pred = predicate(in);
        if (!st || !subj || !pred) {
                cJSON_Delete(subj);
                cJSON_Delete(pred);
                return -ENOMEM;
        }
        cJSON_AddStringToObject(st, "_type", STATEMENT_TYPE);
        json_add_item(st, "subject", subj);
        cJSON_AddStringToObject(st, "predicateType", VSA_PREDICATE_TYPE);
        json_add_item(st, "predicate", pred);
        if (json_alloc_failures() != failures)
                return -ENOMEM;
        /* As for the node's evidence: printed once, and those bytes signed. */
        payload = json_print(st, true);
        if (!payload)
                return -ENOMEM;
        r = public_key_openssh_fingerprint(signing_key_public(k), key_id);
        if (r < 0)
                return r;
        return evidence_sign_payload(k, key_id, payload, strlen(payload), ret, ret_len);
}
