/* SPDX-License-Identifier: Apache-2.0 */
#include "statement.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "crypto.h"
#include "facts_json.h"
#include "json.h"
#include "macro.h"
#include "report.h"
#include "strparse.h"
#include "timeutil.h"

const char *statement_vm_id(const struct node_facts *f)
{
        if (f->imds.state == IMDS_OK && f->imds.compute.vm_id.value[0])
                return f->imds.compute.vm_id.value;
        if (f->attested.vm_id[0])
                return f->attested.vm_id;
        return NULL;
}

static cJSON *subject(const char *vm_id, const char *provider_id)
{
        cJSON *arr = cJSON_CreateArray(), *s = cJSON_CreateObject(), *digest = cJSON_CreateObject();
        char lower[64], name[80], hex[65];
        uint8_t d[32];
        size_t i;

        for (i = 0; i < sizeof(lower) - 1 && vm_id[i]; i++)
                lower[i] = (char) tolower((unsigned char) vm_id[i]);
        lower[i] = '\0';
        sha256(lower, strlen(lower), d);
        hex_encode(d, sizeof(d), hex);
        snprintf(name, sizeof(name), "azure-vmid:%s", lower);
        cJSON_AddStringToObject(s, "name", name);
        if (provider_id && *provider_id)
                cJSON_AddStringToObject(s, "uri", provider_id);
        cJSON_AddStringToObject(digest, "sha256", hex);
        json_add_item(s, "digest", digest);
        json_append(arr, s);
        return arr;
}

static cJSON *signer_json(const struct statement_signer *s)
{
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "keyId", s->key_id);
        cJSON_AddStringToObject(o, "publicKey", s->public_key_pem);
        cJSON_AddStringToObject(o, "spkiSha256", s->spki_sha256);
        cJSON_AddStringToObject(o, "binding", BINDING_METHOD);
        cJSON_AddStringToObject(o, "bindingContext", BINDING_CONTEXT);
        return o;
}

/* What a verifier needs to re-run the same policy on the same facts. */
static cJSON *policy_json(const struct policy_opts *o)
{
        cJSON *p = cJSON_CreateObject();
        char when[32];

        cJSON_AddNumberToObject(p, "resourceToleranceMiB", (double) o->resource_tolerance_mib);
        cJSON_AddNumberToObject(p, "dataDiskGraceSeconds", (double) o->data_disk_grace_s);
        if (o->data_disk_mismatch_since) {
                format_rfc3339(o->data_disk_mismatch_since, when);
                cJSON_AddStringToObject(p, "dataDiskMismatchSince", when);
        } else
                cJSON_AddNullToObject(p, "dataDiskMismatchSince");
        return p;
}

static cJSON *predicate(const struct statement_input *in)
{
        const struct node_facts *f = in->facts;
        cJSON *p = cJSON_CreateObject(), *node = cJSON_CreateObject(), *agent = cJSON_CreateObject();
        char when[32];

        format_rfc3339(in->observed_at, when);
        cJSON_AddStringToObject(p, "verdict", verdict_to_string(in->report->verdict));
        json_add_item(p, "checks", checks_to_json(in->report));
        json_add_item(p, "policy", policy_json(in->policy));
        cJSON_AddStringToObject(p, "observedAt", when);
        cJSON_AddStringToObject(node, "name", in->node_name ? in->node_name : "");
        if (in->provider_id && *in->provider_id)
                cJSON_AddStringToObject(node, "providerID", in->provider_id);
        json_add_item(p, "node", node);
        cJSON_AddStringToObject(agent, "name", "hostenc");
        cJSON_AddStringToObject(agent, "version", HOSTENC_VERSION);
        json_add_item(p, "agent", agent);
        cJSON_AddNumberToObject(p, "sequence", (double) in->sequence);
        if (in->previous_sha256) {
                cJSON *prev = cJSON_CreateObject();

                cJSON_AddStringToObject(prev, "sha256", in->previous_sha256);
                json_add_item(p, "previous", prev);
        }
        json_add_item(p, "signer", signer_json(&in->signer));
        json_add_item(p, "vm", imds_facts_to_json(&f->imds));
        json_add_item(p, "host", host_facts_to_json(&f->host));
        json_add_item(p, "disks", disks_to_json(&f->host));
        json_add_item(p, "attested", attested_facts_to_json(&f->attested));
        cJSON_AddStringToObject(p, "imdsAttestedDocument", f->attested.raw);
        return p;
}

int statement_build(const struct statement_input *in, char **ret, size_t *ret_len)
{
        unsigned long failures = json_alloc_failures();
        _cleanup_(cjson_deletep) cJSON *st = cJSON_CreateObject();
        const char *vm_id = statement_vm_id(in->facts);
        char *text;

        if (!vm_id)
                return -ENOENT;
        if (!st)
                return -ENOMEM;
        cJSON_AddStringToObject(st, "_type", STATEMENT_TYPE);
        json_add_item(st, "subject", subject(vm_id, in->provider_id));
        cJSON_AddStringToObject(st, "predicateType", PREDICATE_TYPE);
        json_add_item(st, "predicate", predicate(in));
        /* An allocation that failed anywhere above left a member out. */
        if (json_alloc_failures() != failures)
                return -ENOMEM;
        /* The bytes we sign are the bytes we send: printed once, never again. */
        text = json_print(st, true);
        if (!text)
                return -ENOMEM;
        *ret_len = strlen(text);
        *ret = text;
        return 0;
}
