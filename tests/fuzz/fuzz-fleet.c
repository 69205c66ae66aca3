/* SPDX-License-Identifier: Apache-2.0 */
/* A node list and an ARM export (hostenc audit/collect --nodes, --arm): the
 * same bytes are read as both, then fixed claims are bound against them.
 * Whoever exports the cluster or the ARM view chooses these bytes.
 *
 * Properties: every identity string is terminated within its buffer and a
 * stored systemUUID or vmId is lower-case 8-4-4-4-12 hex; a claim is
 * `bound` only to a Node whose identity is its vmId and whose name is the
 * claimed one; a claim is tied to no Node whose identity is another vmId
 * (a name alone never binds). */
#include "fuzz.h"

#include <ctype.h>
#include <stdbool.h>

#include "macro.h"
#include "nodeid.h"

static const char *const vms[] = {
        "d0df4c54-4ecb-4a4b-9954-5bdf3ed5c3b8", "544CDFD0-CB4E-4B4A-9954-5BDF3ED5C3B8",
        "7cdc1f83-c56c-4e5e-9f1f-60b0072ec8e6",
};
static const char *const names[] = { "aks-nodepool1-12345678-vmss000000", "node-a", "" };

static bool lower_uuid(const char *s)
{
        if (!*s)
                return true;
        if (strlen(s) != 36)
                return false;
        for (unsigned i = 0; i < 36; i++)
                if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-'
                                                            : !isxdigit((unsigned char) s[i]) || isupper((unsigned char) s[i]))
                        return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *copy = fuzz_copy(data, size);
        struct fleet_view v = { 0 };
        char err[256], why[320];

        (void) fleet_load_nodes(&v, copy, size, err, sizeof(err));
        (void) fleet_load_arm(&v, copy, size, err, sizeof(err));
        fleet_link(&v);
        for (size_t i = 0; i < v.n_nodes; i++) {
                const struct cluster_node *n = &v.nodes[i];

                FUZZ_ASSERT(strnlen(n->name, sizeof(n->name)) < sizeof(n->name));
                FUZZ_ASSERT(strnlen(n->provider_id, sizeof(n->provider_id)) < sizeof(n->provider_id));
                FUZZ_ASSERT(strnlen(n->subscription, sizeof(n->subscription)) < sizeof(n->subscription));
                FUZZ_ASSERT(lower_uuid(n->system_uuid) && lower_uuid(n->arm_vm_id));
        }
        for (size_t k = 0; k < v.n_arm; k++)
                FUZZ_ASSERT(lower_uuid(v.arm[k].vm_id) && *v.arm[k].vm_id);
        for (unsigned a = 0; a < ARRAY_SIZE(vms); a++)
                for (unsigned b = 0; b < ARRAY_SIZE(names); b++) {
                        const struct binding_claim c = { .vm_id = vms[a], .subscription = "",
                                                         .node_name = names[b], .provider_id = "" };
                        const struct cluster_node *node = NULL;
                        enum binding k = fleet_bind(&v, &c, &node, why, sizeof(why));

                        FUZZ_ASSERT((unsigned) k < BINDING_COUNT);
                        FUZZ_ASSERT(strnlen(why, sizeof(why)) < sizeof(why));
                        if (k == BINDING_BOUND) {
                                FUZZ_ASSERT(node && !strcmp(node->name, names[b]));
                                FUZZ_ASSERT(fleet_node_is_vm(node, vms[a]) != NODEID_NONE);
                        }
                        if (node)       /* a name alone never binds */
                                FUZZ_ASSERT(fleet_node_is_vm(node, vms[a]) != NODEID_NONE);
                        if (k == BINDING_UNCHECKED)
                                FUZZ_ASSERT(!v.have_cluster && !v.have_arm);
                }
        fleet_view_done(&v);
        return 0;
}
