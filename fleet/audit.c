/* SPDX-License-Identifier: Apache-2.0 */
#include "audit.h"

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

#define AUDIT_MAX_NODES 200000

void audit_done(struct audit *a)
{
        free(a->nodes);
        free(a->invalid);
        a->nodes = NULL;
        a->invalid = NULL;
        a->n_nodes = a->n_invalid = 0;
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
        size_t c = *cap ? *cap * 2 : 64;
        void *q;

        if (n < *cap)
                return 0;
        if (n >= AUDIT_MAX_NODES)
                return -E2BIG;
        q = realloc(*p, c * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *cap = c;
        return 0;
}

static struct audit_node *find(struct audit *a, const char *vm_id, const char *name)
{
        for (size_t i = 0; i < a->n_nodes; i++) {
                struct audit_node *n = &a->nodes[i];

                if ((vm_id && *vm_id && !strcasecmp(n->vm_id, vm_id)) || (name && *name && !strcmp(n->name, name)))
                        return n;
        }
        return NULL;
}

static struct audit_node *add_node(struct audit *a)
{
        if (grow((void **) &a->nodes, &a->cap_nodes, a->n_nodes, sizeof(*a->nodes)) < 0)
                return NULL;
        memset(&a->nodes[a->n_nodes], 0, sizeof(a->nodes[0]));
        return &a->nodes[a->n_nodes++];
}

/* AKS names nodes aks-<pool>-<digits>-vmss<instance>. */
static void pool_from_name(const char *name, char *out, size_t sz)
{
        const char *p = startswith(name, "aks-") ? name + 4 : NULL;
        size_t n = p ? strcspn(p, "-") : 0;

        snprintf(out, sz, "%.*s", (int) (n ? n : 1), n ? p : "-");
}

int audit_add_result(struct audit *a, const char *file, const struct verify_result *r)
{
        struct audit_node *n;

        a->envelopes++;
        if (r->reason != VERIFY_VALID) {
                if (grow((void **) &a->invalid, &a->cap_invalid, a->n_invalid, sizeof(*a->invalid)) < 0)
                        return -ENOMEM;
                snprintf(a->invalid[a->n_invalid].file, sizeof(a->invalid[0].file), "%s", file);
                a->invalid[a->n_invalid++].r = *r;
                return 0;
        }
        n = find(a, r->vm_id, NULL);
        if (!n && !(n = add_node(a)))
                return -ENOMEM;
        (void) strcpy_bounded(n->vm_id, sizeof(n->vm_id), r->vm_id);
        n->envelopes++;
        /* The freshest: the later observation; on a tie (same second) the
         * later sequence, so the result does not depend on file order. */
        if (n->has_evidence && (r->observed < n->latest.observed ||
                                (r->observed == n->latest.observed && r->sequence <= n->latest.sequence)))
                return 0;
        n->has_evidence = true;
        n->latest = *r;
        if (!n->in_cluster && *r->node_name)
                (void) strcpy_bounded(n->name, sizeof(n->name), r->node_name);
        (void) strcpy_bounded(n->vm_size, sizeof(n->vm_size), r->vm_size);
        if (!*n->pool)
                pool_from_name(n->name, n->pool, sizeof(n->pool));
        return 0;
}

static const char *label(const cJSON *labels, const char *key)
{
        return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, key));
}

static void cluster_node(struct audit *a, const cJSON *item)
{
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(item, "metadata");
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
        const char *pool = label(labels, "kubernetes.azure.com/agentpool"), *size = label(labels, "node.kubernetes.io/instance-type");
        struct audit_node *n;

        if (!name)
                return;
        n = find(a, NULL, name);
        if (!n && !(n = add_node(a)))
                return;
        (void) strcpy_bounded(n->name, sizeof(n->name), name);
        n->in_cluster = true;
        if (pool)
                (void) strcpy_bounded(n->pool, sizeof(n->pool), pool);
        else if (!*n->pool)
                pool_from_name(name, n->pool, sizeof(n->pool));
        if (size && !*n->vm_size)
                (void) strcpy_bounded(n->vm_size, sizeof(n->vm_size), size);
}

int audit_load_nodes(struct audit *a, const char *json, size_t len, char *err, size_t errsz)
{
        _cleanup_(cjson_deletep) cJSON *root = cJSON_ParseWithLength(json, len);
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items"), *item;

        if (!cJSON_IsArray(items)) {
                snprintf(err, errsz, "not a Kubernetes list with items[] (kubectl get nodes -o json)");
                return -EBADMSG;
        }
        cJSON_ArrayForEach(item, items)
                cluster_node(a, item);
        a->have_cluster = true;
        return 0;
}

static const cJSON *member(const cJSON *o, const char *key)
{
        const cJSON *v = cJSON_GetObjectItem(o, key);     /* ARM casing varies between tools */

        return v ? v : cJSON_GetObjectItem(cJSON_GetObjectItem(o, "properties"), key);
}

static void arm_object(struct audit *a, const cJSON *o)
{
        const char *vm_id = cJSON_GetStringValue(member(o, "vmId"));
        const cJSON *eah = cJSON_GetObjectItem(member(o, "securityProfile"), "encryptionAtHost");
        struct audit_node *n;

        if (!vm_id)
                return;
        n = find(a, vm_id, NULL);
        if (!n)
                return;         /* a VM the audit has no node or evidence for */
        /* ARM writes a boolean; some exports stringify it. */
        if (cJSON_IsTrue(eah) || (cJSON_IsString(eah) && !strcasecmp(eah->valuestring, "true")))
                n->arm = ARM_TRUE;
        else if (cJSON_IsFalse(eah) || cJSON_IsString(eah) || cJSON_IsNull(eah) || !eah)
                n->arm = ARM_FALSE;
}

static void arm_walk(struct audit *a, const cJSON *o, unsigned depth)
{
        const cJSON *c;

        if (depth > 8)
                return;
        if (cJSON_IsObject(o) && member(o, "vmId"))
                arm_object(a, o);
        cJSON_ArrayForEach(c, o)
                if (cJSON_IsObject(c) || cJSON_IsArray(c))
                        arm_walk(a, c, depth + 1);
}

int audit_load_arm(struct audit *a, const char *json, size_t len, char *err, size_t errsz)
{
        _cleanup_(cjson_deletep) cJSON *root = cJSON_ParseWithLength(json, len);

        if (!cJSON_IsObject(root) && !cJSON_IsArray(root)) {
                snprintf(err, errsz, "not JSON (az vmss list-instances / az vm show / Resource Graph output)");
                return -EBADMSG;
        }
        arm_walk(a, root, 0);
        a->have_arm = true;
        return 0;
}

static unsigned findings_of(const struct audit *a, const struct audit_node *n)
{
        unsigned f = 0;
        bool claim = !strcmp(n->latest.eah_claim, "true");

        if (!n->has_evidence)
                return n->in_cluster ? FINDING_MISSING : FINDING_INVALID_ONLY;
        if (evidence_age_exceeds(a->now, n->latest.observed, a->max_age_s))
                f |= FINDING_STALE;
        if (!strcmp(n->latest.verdict, "noncompliant"))
                f |= FINDING_NONCOMPLIANT;
        else if (!strcmp(n->latest.verdict, "unknown"))
                f |= FINDING_UNKNOWN;
        if (n->arm != ARM_ABSENT && claim != (n->arm == ARM_TRUE))
                f |= FINDING_ARM_MISMATCH;
        return f;
}

static int by_pool_then_name(const void *x, const void *y)
{
        const struct audit_node *a = x, *b = y;
        int c = strcmp(a->pool, b->pool);

        return c ? c : strcmp(a->name, b->name);
}

void audit_finish(struct audit *a)
{
        for (size_t i = 0; i < a->n_nodes; i++)
                a->nodes[i].findings = findings_of(a, &a->nodes[i]);
        if (a->n_nodes > 1)     /* qsort's base must not be NULL, even for no nodes */
                qsort(a->nodes, a->n_nodes, sizeof(*a->nodes), by_pool_then_name);
}

const char *audit_node_state(const struct audit_node *n)
{
        if (n->findings & FINDING_MISSING)
                return "missing";
        if (!n->has_evidence)
                return "invalid";
        if (n->findings & FINDING_STALE)
                return "stale";
        return n->latest.verdict;
}

void audit_totals(const struct audit *a, struct audit_totals *t)
{
        *t = (struct audit_totals){ .nodes = a->n_nodes, .invalid_files = a->n_invalid };
        for (size_t i = 0; i < a->n_nodes; i++) {
                const char *s = audit_node_state(&a->nodes[i]);

                t->compliant += !strcmp(s, "compliant");
                t->noncompliant += !strcmp(s, "noncompliant");
                t->unknown += !strcmp(s, "unknown");
                t->stale += !strcmp(s, "stale");
                t->missing += !strcmp(s, "missing");
                t->arm_mismatch += !!(a->nodes[i].findings & FINDING_ARM_MISMATCH);
        }
}

size_t audit_groups(const struct audit *a, struct audit_group *out, size_t max)
{
        size_t n = 0, k;

        for (size_t i = 0; i < a->n_nodes; i++) {
                const struct audit_node *node = &a->nodes[i];
                const char *state = audit_node_state(node);

                for (k = 0; k < n; k++)
                        if (!strcmp(out[k].pool, node->pool) && !strcmp(out[k].vm_size, node->vm_size))
                                break;
                if (k == n) {
                        if (n == max)
                                continue;
                        out[n++] = (struct audit_group){ .pool = node->pool, .vm_size = node->vm_size };
                }
                out[k].nodes++;
                out[k].noncompliant += !strcmp(state, "noncompliant");
                out[k].unknown += !strcmp(state, "unknown");
                out[k].stale += !strcmp(state, "stale");
                out[k].missing += !strcmp(state, "missing");
        }
        return n;
}
