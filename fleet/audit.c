/* SPDX-License-Identifier: Apache-2.0 */
#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "strparse.h"

#define AUDIT_MAX_NODES 200000

void audit_done(struct audit *a)
{
        free(a->nodes);
        free(a->invalid);
        fleet_view_done(&a->fleet);
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

static struct audit_node *find_vm(struct audit *a, const char *vm_id)
{
        for (size_t i = 0; i < a->n_nodes; i++)
                if (!strcasecmp(a->nodes[i].vm_id, vm_id))
                        return &a->nodes[i];
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
        n = find_vm(a, r->vm_id);
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
        (void) strcpy_bounded(n->vm_size, sizeof(n->vm_size), r->vm_size);
        return 0;
}

int audit_load_nodes(struct audit *a, const char *json, size_t len, char *err, size_t errsz)
{
        int r = fleet_load_nodes(&a->fleet, json, len, err, errsz);

        a->have_cluster = a->fleet.have_cluster;
        return r;
}

int audit_load_arm(struct audit *a, const char *json, size_t len, char *err, size_t errsz)
{
        int r = fleet_load_arm(&a->fleet, json, len, err, errsz);

        a->have_arm = a->fleet.have_arm;
        return r;
}

static void take_labels(struct audit_node *n, const struct cluster_node *c)
{
        (void) strcpy_bounded(n->name, sizeof(n->name), c->name);
        n->in_cluster = true;
        if (*c->pool)
                (void) strcpy_bounded(n->pool, sizeof(n->pool), c->pool);
        if (!*n->vm_size)
                (void) strcpy_bounded(n->vm_size, sizeof(n->vm_size), c->vm_size);
}

/* One VM's freshest valid evidence, tied to the Node whose identity is its
 * Microsoft-signed vmId; the name it claims only ever counts against it. */
static void bind_evidence(struct audit *a, struct audit_node *n, bool *taken)
{
        const struct binding_claim claim = { .vm_id = n->vm_id, .subscription = n->latest.subscription_id,
                                             .node_name = n->latest.node_name, .provider_id = n->latest.provider_id };
        const struct cluster_node *c = NULL;
        const struct arm_vm *arm = fleet_arm_vm(&a->fleet, n->vm_id);

        n->binding = fleet_bind(&a->fleet, &claim, &c, n->binding_why, sizeof(n->binding_why));
        n->arm = arm ? arm->eah : ARM_ABSENT;
        if (!a->have_cluster)   /* nothing to contradict the claim with: show it */
                (void) strcpy_bounded(n->name, sizeof(n->name), n->latest.node_name);
        if (c) {
                size_t k = (size_t) (c - a->fleet.nodes);

                n->bound_by = fleet_node_is_vm(c, n->vm_id);
                take_labels(n, c);
                if (taken[k] && n->binding == BINDING_BOUND) {
                        n->binding = BINDING_MISATTRIBUTED;
                        snprintf(n->binding_why, sizeof(n->binding_why),
                                 "another VM's evidence is already bound to Node \"%s\"", c->name);
                }
                taken[k] = true;
        }
        if (!*n->pool)
                pool_from_name(n->name, n->pool, sizeof(n->pool));
}

/* A cluster Node no evidence is bound to: missing, whatever names other
 * envelopes claim. */
static int add_missing(struct audit *a, const struct cluster_node *c)
{
        struct audit_node *n = add_node(a);

        if (!n)
                return -ENOMEM;
        take_labels(n, c);
        if (!*n->pool)
                pool_from_name(n->name, n->pool, sizeof(n->pool));
        for (size_t k = 0; k < a->fleet.n_arm; k++)
                if (fleet_node_is_vm(c, a->fleet.arm[k].vm_id) != NODEID_NONE) {
                        n->arm = a->fleet.arm[k].eah;
                        (void) strcpy_bounded(n->vm_id, sizeof(n->vm_id), a->fleet.arm[k].vm_id);
                        break;
                }
        if (!*c->system_uuid && !*c->arm_vm_id)
                snprintf(n->binding_why, sizeof(n->binding_why),
                         "the Node has no systemUUID, and no providerID found in the ARM export, to bind evidence by");
        else if (*c->system_uuid && *c->arm_vm_id && !nodeid_uuid_match(c->system_uuid, c->arm_vm_id))
                snprintf(n->binding_why, sizeof(n->binding_why),
                         "the Node's systemUUID %s and its providerID's vmId %s disagree", c->system_uuid, c->arm_vm_id);
        else if (!*n->vm_id)
                (void) strcpy_bounded(n->vm_id, sizeof(n->vm_id), *c->system_uuid ? c->system_uuid : c->arm_vm_id);
        return 0;
}

static unsigned findings_of(const struct audit *a, const struct audit_node *n)
{
        unsigned f = 0;
        bool claim = !strcmp(n->latest.eah_claim, "true");

        if (!n->has_evidence)
                return n->in_cluster ? FINDING_MISSING : FINDING_INVALID_ONLY;
        if (n->binding == BINDING_MISATTRIBUTED)
                f |= FINDING_MISATTRIBUTED;
        else if (n->binding == BINDING_FOREIGN)
                f |= FINDING_FOREIGN;
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

int audit_finish(struct audit *a)
{
        size_t n_evidence = a->n_nodes;
        _cleanup_free_ bool *taken = calloc(a->fleet.n_nodes + 1, sizeof(*taken));

        if (!taken)
                return -ENOMEM;
        fleet_link(&a->fleet);
        for (size_t i = 0; i < n_evidence; i++)
                bind_evidence(a, &a->nodes[i], taken);
        for (size_t k = 0; k < a->fleet.n_nodes; k++)
                if (!taken[k] && add_missing(a, &a->fleet.nodes[k]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < a->n_nodes; i++)
                a->nodes[i].findings = findings_of(a, &a->nodes[i]);
        if (a->n_nodes > 1)     /* qsort's base must not be NULL, even for no nodes */
                qsort(a->nodes, a->n_nodes, sizeof(*a->nodes), by_pool_then_name);
        return 0;
}

const char *audit_node_state(const struct audit_node *n)
{
        if (n->findings & FINDING_MISSING)
                return "missing";
        if (!n->has_evidence)
                return "invalid";
        if (n->findings & FINDING_MISATTRIBUTED)
                return "misattributed";
        if (n->findings & FINDING_FOREIGN)
                return "foreign";
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
                t->misattributed += !strcmp(s, "misattributed");
                t->foreign += !strcmp(s, "foreign");
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
                out[k].misattributed += !strcmp(state, "misattributed");
                out[k].foreign += !strcmp(state, "foreign");
        }
        return n;
}
