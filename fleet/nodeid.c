/* SPDX-License-Identifier: Apache-2.0 */
#include "nodeid.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "macro.h"
#include "strparse.h"

#define FLEET_MAX 200000

const char *const binding_names[BINDING_COUNT] = {
        [BINDING_UNCHECKED] = "unchecked", [BINDING_BOUND] = "bound", [BINDING_OUTSIDE] = "outside-cluster",
        [BINDING_MISATTRIBUTED] = "misattributed", [BINDING_FOREIGN] = "foreign",
};

void fleet_view_done(struct fleet_view *v)
{
        free(v->nodes);
        free(v->arm);
        *v = (struct fleet_view){ 0 };
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
        size_t c = *cap ? *cap * 2 : 64;
        void *q;

        if (n < *cap)
                return p;
        if (n >= FLEET_MAX)
                return NULL;
        q = realloc(p, c * size);
        if (q)
                *cap = c;
        return q;
}

/* 8-4-4-4-12 hex digits, copied in lower case; false for anything else. */
static bool uuid_norm(const char *s, char out[37])
{
        if (!s || strlen(s) != 36)
                return false;
        for (unsigned i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? s[i] != '-' : !isxdigit((unsigned char) s[i]))
                        return false;
                out[i] = (char) tolower((unsigned char) s[i]);
        }
        out[36] = '\0';
        return true;
}

/* SMBIOS 2.6 stores the first three fields little-endian; readers that
 * ignore this (and Gen1 VMs' firmware) show them byte-reversed. */
static void uuid_swap(const char in[37], char out[37])
{
        static const unsigned groups[3][2] = { { 0, 8 }, { 9, 4 }, { 14, 4 } };

        memcpy(out, in, 37);
        for (unsigned g = 0; g < 3; g++)
                for (unsigned k = 0; k < groups[g][1]; k += 2) {
                        unsigned from = groups[g][0] + groups[g][1] - 2 - k;

                        out[groups[g][0] + k] = in[from];
                        out[groups[g][0] + k + 1] = in[from + 1];
                }
}

enum nodeid_match nodeid_uuid_match(const char *system_uuid, const char *vm_id)
{
        char a[37], b[37], swapped[37];

        if (!uuid_norm(system_uuid, a) || !uuid_norm(vm_id, b))
                return NODEID_NONE;
        if (!strcmp(a, b))
                return NODEID_EXACT;
        uuid_swap(a, swapped);
        return strcmp(swapped, b) ? NODEID_NONE : NODEID_SWAPPED;
}

const char *nodeid_match_name(enum nodeid_match m)
{
        static const char *const names[] = { "none", "systemUUID", "systemUUID-byte-swapped", "providerID" };

        return (unsigned) m < 4 ? names[m] : "none";
}

/* "/subscriptions/<id>/…" (any case) → the id in lower case. */
static void subscription_of(const char *resource_id, char out[40])
{
        const char *p = resource_id ? strcasestr(resource_id, "/subscriptions/") : NULL;
        size_t n;

        out[0] = '\0';
        if (!p)
                return;
        p += strlen("/subscriptions/");
        n = strcspn(p, "/");
        if (n == 0 || n >= 40)
                return;
        for (size_t i = 0; i < n; i++)
                out[i] = (char) tolower((unsigned char) p[i]);
        out[n] = '\0';
}

/* providerID "azure:///subscriptions/…" → the ARM resource ID it names. */
static const char *resource_of_provider(const char *provider_id)
{
        static const char scheme[] = "azure://";

        if (!provider_id || strncmp(provider_id, scheme, sizeof(scheme) - 1) != 0)
                return NULL;
        provider_id += sizeof(scheme) - 1;
        return *provider_id == '/' ? provider_id : NULL;
}

static const cJSON *get(const cJSON *o, const char *k)
{
        return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void copy(const cJSON *v, char *dst, size_t sz)
{
        if (cJSON_IsString(v))
                (void) strcpy_bounded(dst, sz, v->valuestring);
}

static int cluster_node(struct fleet_view *v, const cJSON *item)
{
        const cJSON *md = get(item, "metadata"), *labels = get(md, "labels");
        const char *name = cJSON_GetStringValue(get(md, "name"));
        struct cluster_node *n, *q;
        char uuid[37];

        if (!name)
                return 0;
        q = grow(v->nodes, &v->cap_nodes, v->n_nodes, sizeof(*v->nodes));
        if (!q)
                return -ENOMEM;
        v->nodes = q;
        n = &v->nodes[v->n_nodes++];
        *n = (struct cluster_node){ 0 };
        (void) strcpy_bounded(n->name, sizeof(n->name), name);
        if (uuid_norm(cJSON_GetStringValue(get(get(get(item, "status"), "nodeInfo"), "systemUUID")), uuid))
                memcpy(n->system_uuid, uuid, sizeof(uuid));
        copy(get(get(item, "spec"), "providerID"), n->provider_id, sizeof(n->provider_id));
        subscription_of(resource_of_provider(n->provider_id), n->subscription);
        copy(get(labels, "kubernetes.azure.com/agentpool"), n->pool, sizeof(n->pool));
        copy(get(labels, "node.kubernetes.io/instance-type"), n->vm_size, sizeof(n->vm_size));
        return 0;
}

int fleet_load_nodes(struct fleet_view *v, const char *json, size_t len, char *err, size_t errsz)
{
        _cleanup_(cjson_deletep) cJSON *root = cJSON_ParseWithLength(json, len);
        const cJSON *items = get(root, "items"), *item;

        if (!cJSON_IsArray(items)) {
                snprintf(err, errsz, "not a Kubernetes list with items[] (kubectl get nodes -o json)");
                return -EBADMSG;
        }
        cJSON_ArrayForEach(item, items)
                if (cluster_node(v, item) < 0) {
                        snprintf(err, errsz, "too many nodes or out of memory");
                        return -ENOMEM;
                }
        v->have_cluster = true;
        return 0;
}

static const cJSON *member(const cJSON *o, const char *key)
{
        const cJSON *m = cJSON_GetObjectItem(o, key);     /* ARM casing varies between tools */

        return m ? m : cJSON_GetObjectItem(cJSON_GetObjectItem(o, "properties"), key);
}

static int arm_object(struct fleet_view *v, const cJSON *o)
{
        const cJSON *eah = cJSON_GetObjectItem(member(o, "securityProfile"), "encryptionAtHost");
        struct arm_vm *a, *q;
        char uuid[37];

        if (!uuid_norm(cJSON_GetStringValue(member(o, "vmId")), uuid))
                return 0;
        q = grow(v->arm, &v->cap_arm, v->n_arm, sizeof(*v->arm));
        if (!q)
                return -ENOMEM;
        v->arm = q;
        a = &v->arm[v->n_arm++];
        *a = (struct arm_vm){ .eah = ARM_ABSENT };
        memcpy(a->vm_id, uuid, sizeof(uuid));
        copy(cJSON_GetObjectItem(o, "id"), a->resource_id, sizeof(a->resource_id));
        subscription_of(a->resource_id, a->subscription);
        /* ARM writes a boolean; some exports stringify it. */
        if (cJSON_IsTrue(eah) || (cJSON_IsString(eah) && !strcasecmp(eah->valuestring, "true")))
                a->eah = ARM_TRUE;
        else if (cJSON_IsFalse(eah) || cJSON_IsString(eah) || cJSON_IsNull(eah) || !eah)
                a->eah = ARM_FALSE;
        return 0;
}

static int arm_walk(struct fleet_view *v, const cJSON *o, unsigned depth)
{
        const cJSON *c;

        if (depth > 8)
                return 0;
        /* A VM object is taken whole: its "properties" would count it twice. */
        if (cJSON_IsObject(o) && member(o, "vmId"))
                return arm_object(v, o);
        cJSON_ArrayForEach(c, o)
                if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && arm_walk(v, c, depth + 1) < 0)
                        return -ENOMEM;
        return 0;
}

int fleet_load_arm(struct fleet_view *v, const char *json, size_t len, char *err, size_t errsz)
{
        _cleanup_(cjson_deletep) cJSON *root = cJSON_ParseWithLength(json, len);

        if (!cJSON_IsObject(root) && !cJSON_IsArray(root)) {
                snprintf(err, errsz, "not JSON (az vmss list-instances / az vm show / Resource Graph output)");
                return -EBADMSG;
        }
        if (arm_walk(v, root, 0) < 0) {
                snprintf(err, errsz, "too many VMs or out of memory");
                return -ENOMEM;
        }
        v->have_arm = true;
        return 0;
}

void fleet_link(struct fleet_view *v)
{
        for (size_t i = 0; i < v->n_nodes; i++) {
                struct cluster_node *n = &v->nodes[i];
                const char *res = resource_of_provider(n->provider_id);

                n->arm_vm_id[0] = '\0';
                /* ARM resource IDs are case-insensitive (AKS lower-cases the
                 * resource group in providerIDs; az keeps ARM's casing). */
                for (size_t k = 0; res && k < v->n_arm; k++)
                        if (*v->arm[k].resource_id && !strcasecmp(v->arm[k].resource_id, res)) {
                                memcpy(n->arm_vm_id, v->arm[k].vm_id, sizeof(n->arm_vm_id));
                                break;
                        }
        }
}

enum nodeid_match fleet_node_is_vm(const struct cluster_node *n, const char *vm_id)
{
        enum nodeid_match m = *n->system_uuid ? nodeid_uuid_match(n->system_uuid, vm_id) : NODEID_NONE;

        /* Two identities that disagree (systemUUID says one VM, providerID
         * another) bind to neither: the Node object is not to be trusted. */
        if (*n->system_uuid && *n->arm_vm_id && !nodeid_uuid_match(n->system_uuid, n->arm_vm_id))
                return NODEID_NONE;
        if (m == NODEID_NONE && *n->arm_vm_id && nodeid_uuid_match(n->arm_vm_id, vm_id) == NODEID_EXACT)
                m = NODEID_PROVIDER_ID;
        return m;
}

const struct arm_vm *fleet_arm_vm(const struct fleet_view *v, const char *vm_id)
{
        for (size_t k = 0; k < v->n_arm; k++)
                if (nodeid_uuid_match(v->arm[k].vm_id, vm_id) == NODEID_EXACT)
                        return &v->arm[k];
        return NULL;
}

const struct cluster_node *fleet_node_named(const struct fleet_view *v, const char *name)
{
        for (size_t i = 0; name && *name && i < v->n_nodes; i++)
                if (!strcmp(v->nodes[i].name, name))
                        return &v->nodes[i];
        return NULL;
}

bool fleet_subscription_known(const struct fleet_view *v, const char *subscription)
{
        bool any = false;

        for (size_t i = 0; i < v->n_nodes; i++)
                if (*v->nodes[i].subscription) {
                        any = true;
                        if (subscription && !strcasecmp(v->nodes[i].subscription, subscription))
                                return true;
                }
        for (size_t k = 0; k < v->n_arm; k++)
                if (*v->arm[k].subscription) {
                        any = true;
                        if (subscription && !strcasecmp(v->arm[k].subscription, subscription))
                                return true;
                }
        return !any;
}

static const char *identity_of(const struct cluster_node *n)
{
        return *n->system_uuid ? n->system_uuid : *n->arm_vm_id ? n->arm_vm_id : "none";
}

enum binding fleet_check_claim(const struct cluster_node *n, const struct binding_claim *c, char *why, size_t whysz)
{
        const char *claimed = c->node_name ? c->node_name : "";

        if (strcmp(claimed, n->name) != 0) {
                snprintf(why, whysz, "evidence of vmId %s claims node \"%s\"; the Node with this identity is \"%s\"",
                         c->vm_id, claimed, n->name);
                return BINDING_MISATTRIBUTED;
        }
        if (c->provider_id && *c->provider_id && *n->provider_id && strcasecmp(c->provider_id, n->provider_id)) {
                snprintf(why, whysz, "evidence of vmId %s claims providerID \"%s\"; the Node's is \"%s\"", c->vm_id,
                         c->provider_id, n->provider_id);
                return BINDING_MISATTRIBUTED;
        }
        if (c->subscription && *n->subscription && strcasecmp(c->subscription, n->subscription)) {
                snprintf(why, whysz, "evidence of vmId %s is signed for subscription %s; the Node's providerID names %s",
                         c->vm_id, c->subscription, n->subscription);
                return BINDING_MISATTRIBUTED;
        }
        why[0] = '\0';
        return BINDING_BOUND;
}

enum binding fleet_bind(const struct fleet_view *v, const struct binding_claim *c, const struct cluster_node **node,
                        char *why, size_t whysz)
{
        const struct cluster_node *named;
        const struct arm_vm *arm;

        *node = NULL;
        why[0] = '\0';
        if (!v->have_cluster && !v->have_arm)
                return BINDING_UNCHECKED;
        if (!fleet_subscription_known(v, c->subscription)) {
                snprintf(why, whysz, "subscription %s of vmId %s is in neither the cluster nor the ARM export",
                         c->subscription ? c->subscription : "", c->vm_id);
                return BINDING_FOREIGN;
        }
        for (size_t i = 0; i < v->n_nodes; i++)
                if (fleet_node_is_vm(&v->nodes[i], c->vm_id) != NODEID_NONE) {
                        *node = &v->nodes[i];
                        return fleet_check_claim(*node, c, why, whysz);
                }
        named = v->have_cluster ? fleet_node_named(v, c->node_name) : NULL;
        if (named) {
                snprintf(why, whysz, "evidence of vmId %s claims node \"%s\", whose identity is %s", c->vm_id,
                         named->name, identity_of(named));
                return BINDING_MISATTRIBUTED;
        }
        arm = fleet_arm_vm(v, c->vm_id);
        if (!arm) {
                snprintf(why, whysz, "vmId %s is in neither the cluster nor the ARM export", c->vm_id);
                return BINDING_FOREIGN;
        }
        if (*arm->subscription && c->subscription && strcasecmp(arm->subscription, c->subscription)) {
                snprintf(why, whysz, "vmId %s is signed for subscription %s; the ARM export puts it in %s", c->vm_id,
                         c->subscription, arm->subscription);
                return BINDING_FOREIGN;
        }
        if (v->have_cluster)
                snprintf(why, whysz, "vmId %s is in the ARM export but no Node of the cluster has its identity",
                         c->vm_id);
        return BINDING_OUTSIDE;
}
