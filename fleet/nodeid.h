/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Which cluster Node a piece of evidence speaks for, decided by identity and
 * never by the node name the evidence claims (docs/evidence.md, "Binding
 * evidence to nodes"). Used by hostenc audit and hostenc collect.
 *
 * The evidence's vmId and subscriptionId are proven by the Microsoft-signed
 * attested document; its node name and providerID are the node's own claim.
 * A Node's identity is its status.nodeInfo.systemUUID (the VM's SMBIOS UUID,
 * which is the vmId, or the vmId with its first three groups byte-swapped)
 * and its spec.providerID, mapped to a vmId through an ARM export. */

#include <stdbool.h>
#include <stddef.h>

enum arm_state { ARM_ABSENT, ARM_TRUE, ARM_FALSE };

struct cluster_node {
        char name[256];
        char system_uuid[40];           /* lower case; "" when absent or not a UUID */
        char provider_id[512];
        char subscription[40];          /* from providerID, lower case */
        char arm_vm_id[40];             /* vmId of the ARM object providerID names */
        char pool[128];
        char vm_size[64];
};

struct arm_vm {
        char vm_id[40];                 /* lower case */
        char resource_id[512];
        char subscription[40];          /* from the resource ID, lower case */
        enum arm_state eah;
};

struct fleet_view {
        struct cluster_node *nodes;
        size_t n_nodes, cap_nodes;
        struct arm_vm *arm;
        size_t n_arm, cap_arm;
        bool have_cluster, have_arm;
};

void fleet_view_done(struct fleet_view *v);
/* `kubectl get nodes -o json`; -EBADMSG with err on a malformed export. */
int fleet_load_nodes(struct fleet_view *v, const char *json, size_t len, char *err, size_t errsz);
/* `az vmss list-instances -o json`, `az vm show -o json`, or an Azure
 * Resource Graph result: any object with vmId (also under "properties"). */
int fleet_load_arm(struct fleet_view *v, const char *json, size_t len, char *err, size_t errsz);
/* After both loads: maps each Node's providerID to an ARM vmId. */
void fleet_link(struct fleet_view *v);

/* How a systemUUID names a vmId: NODEID_EXACT (case-insensitive equal) or
 * NODEID_SWAPPED (the first three groups byte-reversed, SMBIOS < 2.6 and
 * Gen1 VMs), else NODEID_NONE. Anything but 8-4-4-4-12 hex is NODEID_NONE. */
enum nodeid_match { NODEID_NONE, NODEID_EXACT, NODEID_SWAPPED, NODEID_PROVIDER_ID };
enum nodeid_match nodeid_uuid_match(const char *system_uuid, const char *vm_id);
const char *nodeid_match_name(enum nodeid_match m);

/* How the cluster Node n is tied to vm_id, if at all. */
enum nodeid_match fleet_node_is_vm(const struct cluster_node *n, const char *vm_id);
const struct arm_vm *fleet_arm_vm(const struct fleet_view *v, const char *vm_id);
const struct cluster_node *fleet_node_named(const struct fleet_view *v, const char *name);
/* The subscription is one the cluster's providerIDs or the ARM export name
 * (true when neither names any). */
bool fleet_subscription_known(const struct fleet_view *v, const char *subscription);

/* The outcome of binding one verified envelope. */
enum binding {
        BINDING_UNCHECKED,      /* no node list and no ARM export */
        BINDING_BOUND,          /* the Node whose identity is this vmId, and its name agrees */
        BINDING_OUTSIDE,        /* in the ARM export, not (or not yet) a Node of the cluster */
        BINDING_MISATTRIBUTED,  /* its claimed name or providerID disagrees with the identity */
        BINDING_FOREIGN,        /* vmId or subscription in neither the cluster nor the ARM export */
        BINDING_COUNT,
};
extern const char *const binding_names[BINDING_COUNT];

struct binding_claim {
        const char *vm_id, *subscription;               /* Microsoft-signed */
        const char *node_name, *provider_id;            /* claimed by the node */
};

/* Binds a claim against the view; *node is the Node bound to (or NULL),
 * why a one-line explanation for anything but BINDING_BOUND. */
enum binding fleet_bind(const struct fleet_view *v, const struct binding_claim *c, const struct cluster_node **node,
                        char *why, size_t whysz);
/* The part of fleet_bind that compares a Node with what the evidence
 * claims, once the identity tied them: BINDING_BOUND or _MISATTRIBUTED. */
enum binding fleet_check_claim(const struct cluster_node *n, const struct binding_claim *c, char *why, size_t whysz);
