/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Fleet appraisal (hostenc audit): verified envelopes, optionally the
 * cluster's node list and an ARM export, folded into one view per node. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nodeid.h"
#include "verify.h"

enum audit_finding {
        FINDING_NONCOMPLIANT = 1 << 0,
        FINDING_UNKNOWN = 1 << 1,
        FINDING_STALE = 1 << 2,
        FINDING_MISSING = 1 << 3,       /* a cluster node with no valid evidence */
        FINDING_ARM_MISMATCH = 1 << 4,  /* the node's IMDS claim disagrees with ARM */
        FINDING_INVALID_ONLY = 1 << 5,  /* only invalid envelopes name it */
        FINDING_MISATTRIBUTED = 1 << 6, /* its name or providerID disagrees with its identity */
        FINDING_FOREIGN = 1 << 7,       /* vmId or subscription in neither the cluster nor ARM */
};
#define AUDIT_N_FINDINGS 8

struct audit_node {
        char name[256];
        char vm_id[64];
        char pool[128];
        char vm_size[64];
        bool in_cluster;
        bool has_evidence;
        unsigned envelopes;             /* valid envelopes seen for this VM */
        struct verify_result latest;    /* the freshest valid one */
        enum arm_state arm;
        enum binding binding;           /* of the evidence to a cluster Node (nodeid.h) */
        enum nodeid_match bound_by;     /* which identity tied them */
        char binding_why[320];
        unsigned findings;
};

struct audit_invalid {
        char file[512];
        struct verify_result r;
};

struct audit {
        time_t now;
        uint64_t max_age_s;
        size_t n_nodes, cap_nodes;
        struct audit_node *nodes;
        size_t n_invalid, cap_invalid;
        struct audit_invalid *invalid;
        size_t envelopes;
        bool have_cluster, have_arm;
        struct fleet_view fleet;        /* the node list and the ARM export */
};

void audit_done(struct audit *a);
int audit_add_result(struct audit *a, const char *file, const struct verify_result *r);
/* `kubectl get nodes -o json`; -EBADMSG with err on a malformed export. */
int audit_load_nodes(struct audit *a, const char *json, size_t len, char *err, size_t errsz);
/* `az vmss list-instances -o json`, `az vm show -o json`, or an Azure
 * Resource Graph result: any object with vmId and
 * securityProfile.encryptionAtHost (also under "properties"). */
int audit_load_arm(struct audit *a, const char *json, size_t len, char *err, size_t errsz);
/* Binds evidence to cluster Nodes by identity (nodeid.h), adds the Nodes
 * without evidence, computes every node's findings; nodes sorted by pool,
 * then name. -ENOMEM when a row cannot be added. */
int audit_finish(struct audit *a);

struct audit_totals {
        size_t nodes, compliant, noncompliant, unknown, stale, missing, misattributed, foreign, arm_mismatch,
                invalid_files;
};
void audit_totals(const struct audit *a, struct audit_totals *t);
const char *audit_node_state(const struct audit_node *n);      /* "compliant", "noncompliant", … */

/* Nodes per (pool, VM size), with how many of them have findings. */
struct audit_group {
        const char *pool, *vm_size;     /* borrowed from the nodes */
        size_t nodes, noncompliant, unknown, stale, missing, misattributed, foreign;
};
/* Fills up to max groups in node order (pool, then name); returns the count. */
size_t audit_groups(const struct audit *a, struct audit_group *out, size_t max);
