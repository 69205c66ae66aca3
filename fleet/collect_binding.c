/* SPDX-License-Identifier: Apache-2.0 */
#include "collect_binding.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "durable.h"
#include "evidence.h"
#include "facts.h"
#include "fileio.h"
#include "log.h"
#include "json.h"
#include "macro.h"
#include "policy.h"
#include "strparse.h"

#define EXPORT_MAX (256 * 1024 * 1024)

struct export_file {
        const char *path;
        struct timespec mtime;
        off_t size;
        char sha256[65];
};

struct collect_binding {
        struct collect_binding_config cfg;
        struct export_file nodes, arm;
        struct fleet_view view;
        char policy_sha256[65];
};

char *collect_policy_describe(uint64_t max_age_s, const char *const *domains, const char *trust_sha256,
                              const char *nodes_sha256, const char *arm_sha256)
{
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        _cleanup_free_ struct node_facts *none = calloc(1, sizeof(*none));
        cJSON *checks = cJSON_CreateArray(), *verify = cJSON_CreateObject(), *doms = cJSON_CreateArray();
        cJSON *bind = cJSON_CreateObject(), *forms = cJSON_CreateArray();
        static const char *const identity_forms[] = { "systemUUID", "systemUUID-byte-swapped", "providerID" };
        struct policy_opts po = { .now = 0 };
        struct report rep;

        unsigned long failures = json_alloc_failures();

        if (!o || !none || !checks || !verify || !doms || !bind || !forms) {
                cJSON_Delete(checks);
                cJSON_Delete(verify);
                cJSON_Delete(doms);
                cJSON_Delete(bind);
                cJSON_Delete(forms);
                return NULL;
        }
        cJSON_AddStringToObject(o, "policy", COLLECT_POLICY_URI);
        /* The catalogue is fixed in the code: evaluate nothing to list it. */
        policy_evaluate(none, &po, &rep);
        for (unsigned i = 0; i < rep.n_checks; i++) {
                cJSON *c = cJSON_CreateObject();

                cJSON_AddStringToObject(c, "id", rep.checks[i].id);
                cJSON_AddStringToObject(c, "severity", check_severity_to_string(rep.checks[i].severity));
                json_append(checks, c);
        }
        cJSON_AddNumberToObject(verify, "maxAgeSeconds", (double) max_age_s);
        cJSON_AddNumberToObject(verify, "clockSkewSeconds", VERIFY_CLOCK_SKEW_S);
        for (size_t i = 0; domains && domains[i]; i++)
                json_append(doms, cJSON_CreateString(domains[i]));
        cJSON_AddStringToObject(verify, "trustBundleSha256", trust_sha256 ? trust_sha256 : "");
        cJSON_AddStringToObject(bind, "rule", "https://hostenc.dev/policy/node-binding/v1");
        for (unsigned i = 0; i < 3; i++)
                json_append(forms, cJSON_CreateString(identity_forms[i]));
        if (nodes_sha256)
                cJSON_AddStringToObject(bind, "nodesSha256", nodes_sha256);
        else
                cJSON_AddNullToObject(bind, "nodesSha256");
        if (arm_sha256)
                cJSON_AddStringToObject(bind, "armSha256", arm_sha256);
        else
                cJSON_AddNullToObject(bind, "armSha256");
        /* Filled first, attached last: an attach that fails deletes its
         * part, which nothing touches afterwards. */
        json_add_item(verify, "metadataDomains", doms);
        json_add_item(bind, "identityForms", forms);
        json_add_item(o, "checks", checks);
        json_add_item(o, "verify", verify);
        json_add_item(o, "binding", bind);
        /* The digest of this text names the policy: never of a part of it. */
        if (json_alloc_failures() != failures)
                return NULL;
        return json_print(o, false);
}

static int write_policy(struct collect_binding *b, char *err, size_t errsz)
{
        _cleanup_free_ char *text = collect_policy_describe(b->cfg.max_age_s, b->cfg.domains, b->cfg.trust_sha256,
                                                            b->nodes.path ? b->nodes.sha256 : NULL,
                                                            b->arm.path ? b->arm.sha256 : NULL);
        char dir[PATH_MAX], path[PATH_MAX];
        uint8_t d[32];
        int r;

        if (!text) {
                snprintf(err, errsz, "out of memory");
                return -ENOMEM;
        }
        sha256(text, strlen(text), d);
        hex_encode(d, sizeof(d), b->policy_sha256);
        /* A Blob store keeps no local files: the digest alone is published. */
        if (!b->cfg.store_dir)
                return 0;
        if ((size_t) snprintf(dir, sizeof(dir), "%s/policies", b->cfg.store_dir) >= sizeof(dir) ||
            (size_t) snprintf(path, sizeof(path), "%s/%s.json", dir, b->policy_sha256) >= sizeof(path)) {
                snprintf(err, errsz, "store path too long");
                return -ENAMETOOLONG;
        }
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                snprintf(err, errsz, "%s: %s", dir, strerror(errno));
                return -errno;
        }
        r = durable_write(path, text, strlen(text), true);
        if (r < 0)
                snprintf(err, errsz, "%s: %s", path, strerror(-r));
        return r;
}

/* Reads one export into v; its digest into f. */
static int read_export(struct export_file *f, struct fleet_view *v,
                       int (*load)(struct fleet_view *, const char *, size_t, char *, size_t), char *err,
                       size_t errsz)
{
        _cleanup_free_ char *data = NULL;
        struct stat st;
        uint8_t d[32];
        size_t len;
        int r;

        if (stat(f->path, &st) < 0) {
                snprintf(err, errsz, "%s: %s", f->path, strerror(errno));
                return -errno;
        }
        r = read_file_bounded(f->path, EXPORT_MAX, &data, &len);
        if (r < 0) {
                snprintf(err, errsz, "%s: %s", f->path, strerror(-r));
                return r;
        }
        r = load(v, data, len, err, errsz);
        if (r < 0)
                return r;
        sha256(data, len, d);
        hex_encode(d, sizeof(d), f->sha256);
        f->mtime = st.st_mtim;
        f->size = st.st_size;
        return 0;
}

/* Both exports into a new view, so that a bad one leaves the old intact. */
static int load_view(struct collect_binding *b, char *err, size_t errsz)
{
        struct fleet_view v = { 0 };
        struct export_file nodes = b->nodes, arm = b->arm;
        int r = 0;

        if (nodes.path)
                r = read_export(&nodes, &v, fleet_load_nodes, err, errsz);
        if (r == 0 && arm.path)
                r = read_export(&arm, &v, fleet_load_arm, err, errsz);
        if (r < 0) {
                fleet_view_done(&v);
                return r;
        }
        fleet_link(&v);
        fleet_view_done(&b->view);
        b->view = v;
        b->nodes = nodes;
        b->arm = arm;
        return write_policy(b, err, errsz);
}

int collect_binding_new(const struct collect_binding_config *cfg, struct collect_binding **ret, char *err,
                        size_t errsz)
{
        _cleanup_free_ struct collect_binding *b = calloc(1, sizeof(*b));
        int r;

        if (!b) {
                snprintf(err, errsz, "out of memory");
                return -ENOMEM;
        }
        b->cfg = *cfg;
        b->nodes.path = cfg->nodes_file;
        b->arm.path = cfg->arm_file;
        r = load_view(b, err, errsz);
        if (r < 0) {
                fleet_view_done(&b->view);
                return r;
        }
        *ret = TAKE_PTR(b);
        return 0;
}

void collect_binding_free(struct collect_binding *b)
{
        if (!b)
                return;
        fleet_view_done(&b->view);
        free(b);
}

static bool changed(const struct export_file *f)
{
        struct stat st;

        if (!f->path)
                return false;
        if (stat(f->path, &st) < 0)
                return true;
        return st.st_size != f->size || st.st_mtim.tv_sec != f->mtime.tv_sec ||
               st.st_mtim.tv_nsec != f->mtime.tv_nsec;
}

void collect_binding_refresh(struct collect_binding *b)
{
        char err[320];

        if (!changed(&b->nodes) && !changed(&b->arm))
                return;
        if (load_view(b, err, sizeof(err)) < 0)
                jlog("warning", "node list or ARM export not reloaded; the previous one stays in force", "error",
                     err, NULL);
        else
                jlog("info", "node list or ARM export reloaded", "policySha256", b->policy_sha256, NULL);
}

enum binding collect_binding_bind(const struct collect_binding *b, const struct verify_result *r, char *node,
                                  size_t nodesz, char *why, size_t whysz)
{
        const struct binding_claim claim = { .vm_id = r->vm_id, .subscription = r->subscription_id,
                                             .node_name = r->node_name, .provider_id = r->provider_id };
        const struct cluster_node *c = NULL;
        enum binding k = fleet_bind(&b->view, &claim, &c, why, whysz);

        (void) strcpy_bounded(node, nodesz, c ? c->name : "");
        return k;
}

const char *collect_binding_policy(const struct collect_binding *b)
{
        return b->policy_sha256;
}
