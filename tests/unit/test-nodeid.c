/* SPDX-License-Identifier: Apache-2.0 */
/* Binding evidence to Nodes by identity (fleet/nodeid.c): the systemUUID
 * forms accepted, providerID through the ARM export, and every way a claim
 * can disagree with the identity. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nodeid.h"

#define SUB "3f2c6a1e-8b4d-4e7a-9c21-5d0e7f8a9b10"
#define VM_A "d0df4c54-4ecb-4a4b-9954-5bdf3ed5c3b8"
#define VM_B "7cdc1f83-c56c-4e5e-9f1f-60b0072ec8e6"
#define VM_C "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
#define RES(n) "/subscriptions/" SUB "/resourceGroups/MC_rg_c_eastus/providers/Microsoft.Compute/" \
               "virtualMachineScaleSets/aks-np-1-vmss/virtualMachines/" n

static void test_uuid_forms(void **state)
{
        /* Published pairs of vmId and the guest's SMBIOS UUID with the first
         * three groups byte-swapped: Azure/WALinuxAgent#830 and
         * Azure/azure-sdk-for-python#4740. */
        assert_int_equal(nodeid_uuid_match("544CDFD0-CB4E-4B4A-9954-5BDF3ED5C3B8", VM_A), NODEID_SWAPPED);
        assert_int_equal(nodeid_uuid_match("831FDC7C-6CC5-5E4E-9F1F-60B0072EC8E6", VM_B), NODEID_SWAPPED);
        assert_int_equal(nodeid_uuid_match("D0DF4C54-4ECB-4A4B-9954-5BDF3ED5C3B8", VM_A), NODEID_EXACT);
        assert_int_equal(nodeid_uuid_match(VM_A, VM_A), NODEID_EXACT);
        assert_int_equal(nodeid_uuid_match(VM_A, VM_B), NODEID_NONE);
        /* Only the first three groups swap; the last two never do. */
        assert_int_equal(nodeid_uuid_match("544cdfd0-cb4e-4b4a-5499-b8c3d53edf5b", VM_A), NODEID_NONE);
        /* Only one group swapped is another UUID. */
        assert_int_equal(nodeid_uuid_match("544cdfd0-4ecb-4a4b-9954-5bdf3ed5c3b8", VM_A), NODEID_NONE);
        /* Anything but 8-4-4-4-12 hex matches nothing, not even itself. */
        assert_int_equal(nodeid_uuid_match("{" VM_A "}", VM_A), NODEID_NONE);
        assert_int_equal(nodeid_uuid_match("d0df4c544ecb4a4b99545bdf3ed5c3b8", VM_A), NODEID_NONE);
        assert_int_equal(nodeid_uuid_match("g0df4c54-4ecb-4a4b-9954-5bdf3ed5c3b8", "g0df4c54-4ecb-4a4b-9954-5bdf3ed5c3b8"),
                         NODEID_NONE);
        assert_int_equal(nodeid_uuid_match("", ""), NODEID_NONE);
        assert_int_equal(nodeid_uuid_match(NULL, VM_A), NODEID_NONE);
}

/* A node list generated here: A by systemUUID (swapped, upper case), B by
 * providerID only (resource group lower-cased, as AKS writes it), C with a
 * systemUUID that disagrees with its providerID, D with no identity. */
static void load(struct fleet_view *v)
{
        static const char nodes[] =
                "{\"items\":["
                "{\"metadata\":{\"name\":\"node-a\"},\"status\":{\"nodeInfo\":{\"systemUUID\":"
                "\"544CDFD0-CB4E-4B4A-9954-5BDF3ED5C3B8\"}},\"spec\":{\"providerID\":\"azure://" RES("0") "\"}},"
                "{\"metadata\":{\"name\":\"node-b\"},\"spec\":{\"providerID\":"
                "\"azure:///subscriptions/" SUB "/resourcegroups/mc_rg_c_eastus/providers/Microsoft.Compute/"
                "virtualMachineScaleSets/aks-np-1-vmss/virtualMachines/1\"}},"
                "{\"metadata\":{\"name\":\"node-c\"},\"status\":{\"nodeInfo\":{\"systemUUID\":\"" VM_C "\"}},"
                "\"spec\":{\"providerID\":\"azure://" RES("2") "\"}},"
                "{\"metadata\":{\"name\":\"node-d\"}},"
                "{\"metadata\":{}}]}";
        static const char arm[] =
                "[{\"vmId\":\"" VM_A "\",\"id\":\"" RES("0") "\",\"securityProfile\":{\"encryptionAtHost\":true}},"
                "{\"properties\":{\"vmId\":\"" VM_B "\"},\"id\":\"" RES("1") "\"},"
                "{\"vmId\":\"aaaaaaaa-0000-4000-8000-000000000002\",\"id\":\"" RES("2") "\"},"
                "{\"vmId\":\"not-a-uuid\"}]";
        char err[128];

        assert_int_equal(fleet_load_nodes(v, nodes, strlen(nodes), err, sizeof(err)), 0);
        assert_int_equal(fleet_load_arm(v, arm, strlen(arm), err, sizeof(err)), 0);
        fleet_link(v);
}

static enum binding bind(const struct fleet_view *v, const char *vm, const char *sub, const char *name,
                         const char *pid, const char **node, char *why, size_t whysz)
{
        const struct binding_claim c = { .vm_id = vm, .subscription = sub, .node_name = name, .provider_id = pid };
        const struct cluster_node *n = NULL;
        enum binding b = fleet_bind(v, &c, &n, why, whysz);

        *node = n ? n->name : "";
        return b;
}

static void test_bind(void **state)
{
        struct fleet_view v = { 0 };
        const char *node;
        char why[320];

        load(&v);
        assert_int_equal(v.n_nodes, 4);         /* a nameless Node is skipped */
        assert_int_equal(v.n_arm, 3);           /* a VM with a malformed vmId too */
        assert_string_equal(v.nodes[1].arm_vm_id, VM_B);
        assert_string_equal(v.nodes[0].subscription, SUB);

        /* The right claims: bound, by the swapped systemUUID and by providerID. */
        assert_int_equal(bind(&v, VM_A, SUB, "node-a", "azure://" RES("0"), &node, why, sizeof(why)), BINDING_BOUND);
        assert_string_equal(node, "node-a");
        assert_int_equal(fleet_node_is_vm(&v.nodes[0], VM_A), NODEID_SWAPPED);
        assert_int_equal(bind(&v, VM_B, SUB, "node-b", NULL, &node, why, sizeof(why)), BINDING_BOUND);
        assert_int_equal(fleet_node_is_vm(&v.nodes[1], VM_B), NODEID_PROVIDER_ID);

        /* A's VM claims B's name: misattributed, still tied to node-a. */
        assert_int_equal(bind(&v, VM_A, SUB, "node-b", NULL, &node, why, sizeof(why)), BINDING_MISATTRIBUTED);
        assert_string_equal(node, "node-a");
        assert_non_null(strstr(why, "claims node \"node-b\""));
        /* A's VM with the right name but B's providerID (compared case-insensitively). */
        assert_int_equal(bind(&v, VM_A, SUB, "node-a", "AZURE:///SUBSCRIPTIONS/X", &node, why, sizeof(why)),
                         BINDING_MISATTRIBUTED);
        assert_int_equal(bind(&v, VM_A, SUB, "node-a", "azure://" RES("0") "/", &node, why, sizeof(why)),
                         BINDING_MISATTRIBUTED);
        /* An unknown VM claiming a Node's name: misattributed, bound to nothing. */
        assert_int_equal(bind(&v, "11111111-2222-4333-8444-555555555555", SUB, "node-d", NULL, &node, why,
                              sizeof(why)), BINDING_MISATTRIBUTED);
        assert_string_equal(node, "");
        assert_non_null(strstr(why, "whose identity is none"));
        /* Node C's systemUUID and providerID disagree: it binds neither VM. */
        assert_int_equal(fleet_node_is_vm(&v.nodes[2], VM_C), NODEID_NONE);
        assert_int_equal(bind(&v, VM_C, SUB, "node-c", NULL, &node, why, sizeof(why)), BINDING_MISATTRIBUTED);
        /* Unknown vmId, unknown subscription: foreign. */
        assert_int_equal(bind(&v, "11111111-2222-4333-8444-555555555555", SUB, "somewhere", NULL, &node, why,
                              sizeof(why)), BINDING_FOREIGN);
        assert_int_equal(bind(&v, VM_A, "99999999-0000-4000-8000-000000000000", "node-a", NULL, &node, why,
                              sizeof(why)), BINDING_FOREIGN);
        assert_int_equal(bind(&v, VM_A, "", "node-a", NULL, &node, why, sizeof(why)), BINDING_FOREIGN);
        /* In ARM but no Node has its identity: outside the cluster, not a finding. */
        assert_int_equal(bind(&v, "aaaaaaaa-0000-4000-8000-000000000002", SUB, "gone", NULL, &node, why, sizeof(why)),
                         BINDING_OUTSIDE);
        fleet_view_done(&v);

        /* No node list, no ARM export: nothing to check against. */
        assert_int_equal(bind(&v, VM_A, SUB, "node-b", NULL, &node, why, sizeof(why)), BINDING_UNCHECKED);
}

static void test_malformed_exports(void **state)
{
        struct fleet_view v = { 0 };
        char err[128];

        assert_int_equal(fleet_load_nodes(&v, "{\"items\":{}}", 12, err, sizeof(err)), -EBADMSG);
        assert_non_null(strstr(err, "items[]"));
        assert_int_equal(fleet_load_nodes(&v, "[", 1, err, sizeof(err)), -EBADMSG);
        assert_int_equal(fleet_load_arm(&v, "\"x\"", 3, err, sizeof(err)), -EBADMSG);
        assert_false(v.have_cluster || v.have_arm);
        fleet_view_done(&v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uuid_forms),
                cmocka_unit_test(test_bind),
                cmocka_unit_test(test_malformed_exports),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
