/* SPDX-License-Identifier: Apache-2.0 */
#include "audit_report.h"
#include "strparse.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "report.h"
#include "timeutil.h"

void xml_escape(FILE *out, const char *s)
{
        for (; *s; s++) {
                switch (*s) {
                case '&': fputs("&amp;", out); break;
                case '<': fputs("&lt;", out); break;
                case '>': fputs("&gt;", out); break;
                case '"': fputs("&quot;", out); break;
                case '\'': fputs("&#39;", out); break;
                default:
                        /* Control bytes are not allowed in XML 1.0. */
                        if ((unsigned char) *s >= 0x20 || *s == '\n' || *s == '\t')
                                fputc(*s, out);
                }
        }
}

void audit_describe(const struct audit_node *n, char *out, size_t sz)
{
        size_t o = 0;

        out[0] = '\0';
/* Names and details come from evidence and exports: no control character
 * reaches the terminal (a compound literal per use, so several per line). */
#define ESC(s) escape_control((s), (char[1024]){ 0 }, 1024)
#define ADD(...) (o += (size_t) snprintf(out + o, o < sz ? sz - o : 0, __VA_ARGS__))
        if (n->findings & FINDING_MISSING)
                ADD("no valid evidence for this cluster node%s%s", *n->binding_why ? ": " : "", n->binding_why);
        if (n->findings & (FINDING_MISATTRIBUTED | FINDING_FOREIGN))
                ADD("%s", n->binding_why);
        if (n->findings & FINDING_INVALID_ONLY)
                ADD("only invalid evidence");
        if (n->findings & FINDING_NONCOMPLIANT)
                ADD("%snoncompliant (%s)", o ? "; " : "", n->latest.deciding_reason);
        if (n->findings & FINDING_UNKNOWN)
                ADD("%sunknown (%s)", o ? "; " : "", n->latest.deciding_reason);
        if (n->findings & FINDING_STALE)
                ADD("%sevidence from %s is stale", o ? "; " : "", n->latest.observed_at);
        if (n->findings & FINDING_ARM_MISMATCH)
                ADD("%snode claims encryptionAtHost \"%s\", ARM says %s", o ? "; " : "", n->latest.eah_claim,
                    n->arm == ARM_TRUE ? "true" : "false");
#undef ADD
        if (o >= sz && sz > 4)
                memcpy(out + sz - 4, "...", 4);
}

/* Invalid files by reason, with a few examples each: an archive of a
 * broken agent should not bury the summary. */
static void invalid_summary(FILE *out, const struct audit *a)
{
        for (unsigned reason = 0; reason < VERIFY_REASON_COUNT; reason++) {
                size_t n = 0;

                for (size_t i = 0; i < a->n_invalid; i++) {
                        if (a->invalid[i].r.reason != reason)
                                continue;
                        if (n++ < 3)
                                fprintf(out, "invalid: %s: %s: %s\n", ESC(a->invalid[i].file), verify_reason_names[reason],
                                        ESC(a->invalid[i].r.detail));
                }
                if (n > 3)
                        fprintf(out, "invalid: … and %zu more %s (see --output json)\n", n - 3, verify_reason_names[reason]);
        }
}

#define MAX_GROUPS 512

static void groups_text(FILE *out, const struct audit *a)
{
        struct audit_group g[MAX_GROUPS];
        size_t n = audit_groups(a, g, MAX_GROUPS);

        fprintf(out, "%-16s %-20s %6s %13s %8s %6s %8s %14s %8s\n", "POOL", "VM SIZE", "NODES", "NONCOMPLIANT",
                "UNKNOWN", "STALE", "MISSING", "MISATTRIBUTED", "FOREIGN");
        for (size_t i = 0; i < n; i++)
                fprintf(out, "%-16s %-20s %6zu %13zu %8zu %6zu %8zu %14zu %8zu\n", ESC(g[i].pool),
                        *g[i].vm_size ? ESC(g[i].vm_size) : "-", g[i].nodes, g[i].noncompliant, g[i].unknown, g[i].stale,
                        g[i].missing, g[i].misattributed, g[i].foreign);
        fputc('\n', out);
}

void audit_write_text(FILE *out, const struct audit *a)
{
        struct audit_totals t;
        char why[512];

        audit_totals(a, &t);
        fprintf(out, "hostenc audit: %zu nodes, %zu envelopes (%zu invalid)\n", t.nodes, a->envelopes, t.invalid_files);
        fprintf(out, "  compliant %zu, noncompliant %zu, unknown %zu, stale %zu, missing evidence %zu, ARM mismatch %zu, "
                     "misattributed %zu, foreign %zu\n\n",
                t.compliant, t.noncompliant, t.unknown, t.stale, t.missing, t.arm_mismatch, t.misattributed, t.foreign);
        groups_text(out, a);
        fprintf(out, "%-16s %-44s %-20s %-13s %s\n", "POOL", "NODE", "VM SIZE", "STATE", "FINDINGS");
        for (size_t i = 0; i < a->n_nodes; i++) {
                const struct audit_node *n = &a->nodes[i];

                audit_describe(n, why, sizeof(why));
                fprintf(out, "%-16s %-44s %-20s %-13s %s\n", ESC(n->pool), ESC(*n->name ? n->name : n->vm_id),
                        *n->vm_size ? ESC(n->vm_size) : "-", audit_node_state(n), ESC(why));
        }
        invalid_summary(out, a);
}

static cJSON *node_json(const struct audit_node *n)
{
        cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateArray();
        static const char *const names[AUDIT_N_FINDINGS] = { "noncompliant", "unknown", "stale", "missing",
                                                              "armMismatch", "invalidOnly", "misattributed", "foreign" };
        char why[512];

        cJSON_AddStringToObject(o, "node", n->name);
        cJSON_AddStringToObject(o, "vmId", n->vm_id);
        cJSON_AddStringToObject(o, "pool", n->pool);
        cJSON_AddStringToObject(o, "vmSize", n->vm_size);
        cJSON_AddStringToObject(o, "state", audit_node_state(n));
        cJSON_AddBoolToObject(o, "inCluster", n->in_cluster);
        cJSON_AddStringToObject(o, "binding", n->has_evidence ? binding_names[n->binding] : "none");
        cJSON_AddStringToObject(o, "boundBy", nodeid_match_name(n->bound_by));
        cJSON_AddNumberToObject(o, "envelopes", n->envelopes);
        if (n->has_evidence) {
                cJSON_AddStringToObject(o, "claimedNode", n->latest.node_name);
                cJSON_AddStringToObject(o, "subscriptionId", n->latest.subscription_id);
                cJSON_AddStringToObject(o, "observedAt", n->latest.observed_at);
                cJSON_AddStringToObject(o, "reason", n->latest.deciding_reason);
                cJSON_AddStringToObject(o, "encryptionAtHostClaim", n->latest.eah_claim);
                cJSON_AddStringToObject(o, "keyId", n->latest.key_id);
                cJSON_AddNumberToObject(o, "sequence", (double) n->latest.sequence);
        }
        cJSON_AddStringToObject(o, "arm", n->arm == ARM_ABSENT ? "absent" : n->arm == ARM_TRUE ? "true" : "false");
        for (unsigned b = 0; b < AUDIT_N_FINDINGS; b++)
                if (n->findings & (1u << b))
                        cJSON_AddItemToArray(f, cJSON_CreateString(names[b]));
        cJSON_AddItemToObject(o, "findings", f);
        audit_describe(n, why, sizeof(why));
        cJSON_AddStringToObject(o, "description", why);
        return o;
}

static cJSON *groups_json(const struct audit *a)
{
        struct audit_group g[MAX_GROUPS];
        size_t n = audit_groups(a, g, MAX_GROUPS);
        cJSON *arr = cJSON_CreateArray();

        for (size_t i = 0; i < n; i++) {
                cJSON *o = cJSON_CreateObject();

                cJSON_AddStringToObject(o, "pool", g[i].pool);
                cJSON_AddStringToObject(o, "vmSize", g[i].vm_size);
                cJSON_AddNumberToObject(o, "nodes", (double) g[i].nodes);
                cJSON_AddNumberToObject(o, "noncompliant", (double) g[i].noncompliant);
                cJSON_AddNumberToObject(o, "unknown", (double) g[i].unknown);
                cJSON_AddNumberToObject(o, "stale", (double) g[i].stale);
                cJSON_AddNumberToObject(o, "missing", (double) g[i].missing);
                cJSON_AddNumberToObject(o, "misattributed", (double) g[i].misattributed);
                cJSON_AddNumberToObject(o, "foreign", (double) g[i].foreign);
                cJSON_AddItemToArray(arr, o);
        }
        return arr;
}

int audit_write_json(FILE *out, const struct audit *a)
{
        cJSON *o = cJSON_CreateObject(), *s = cJSON_CreateObject(), *nodes = cJSON_CreateArray(), *inv = cJSON_CreateArray();
        struct audit_totals t;
        char when[32], *text;

        audit_totals(a, &t);
        format_rfc3339(a->now, when);
        cJSON_AddStringToObject(o, "generatedAt", when);
        cJSON_AddNumberToObject(s, "nodes", (double) t.nodes);
        cJSON_AddNumberToObject(s, "envelopes", (double) a->envelopes);
        cJSON_AddNumberToObject(s, "compliant", (double) t.compliant);
        cJSON_AddNumberToObject(s, "noncompliant", (double) t.noncompliant);
        cJSON_AddNumberToObject(s, "unknown", (double) t.unknown);
        cJSON_AddNumberToObject(s, "stale", (double) t.stale);
        cJSON_AddNumberToObject(s, "missing", (double) t.missing);
        cJSON_AddNumberToObject(s, "armMismatch", (double) t.arm_mismatch);
        cJSON_AddNumberToObject(s, "misattributed", (double) t.misattributed);
        cJSON_AddNumberToObject(s, "foreign", (double) t.foreign);
        cJSON_AddNumberToObject(s, "invalidFiles", (double) t.invalid_files);
        cJSON_AddItemToObject(o, "summary", s);
        cJSON_AddItemToObject(o, "groups", groups_json(a));
        for (size_t i = 0; i < a->n_nodes; i++)
                cJSON_AddItemToArray(nodes, node_json(&a->nodes[i]));
        cJSON_AddItemToObject(o, "nodes", nodes);
        for (size_t i = 0; i < a->n_invalid; i++) {
                cJSON *e = cJSON_CreateObject();

                cJSON_AddStringToObject(e, "file", a->invalid[i].file);
                cJSON_AddStringToObject(e, "reason", verify_reason_names[a->invalid[i].r.reason]);
                cJSON_AddStringToObject(e, "detail", a->invalid[i].r.detail);
                cJSON_AddItemToArray(inv, e);
        }
        cJSON_AddItemToObject(o, "invalidEnvelopes", inv);
        text = json_print(o, false);
        cJSON_Delete(o);
        if (!text)
                return -1;
        fputs(text, out);
        fputc('\n', out);
        free(text);
        return 0;
}

void audit_write_junit(FILE *out, const struct audit *a)
{
        size_t failures = a->n_invalid;
        char why[512];

        for (size_t i = 0; i < a->n_nodes; i++)
                failures += a->nodes[i].findings != 0;
        fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
                     "<testsuite name=\"hostenc-audit\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n",
                a->n_nodes + a->n_invalid, failures);
        for (size_t i = 0; i < a->n_nodes; i++) {
                const struct audit_node *n = &a->nodes[i];

                fputs("  <testcase classname=\"", out);
                xml_escape(out, n->pool);
                fputs("\" name=\"", out);
                xml_escape(out, *n->name ? n->name : n->vm_id);
                fputs("\">", out);
                if (n->findings) {
                        audit_describe(n, why, sizeof(why));
                        fprintf(out, "<failure type=\"%s\" message=\"", audit_node_state(n));
                        xml_escape(out, why);
                        fputs("\"/>", out);
                }
                fputs("</testcase>\n", out);
        }
        for (size_t i = 0; i < a->n_invalid; i++) {
                fputs("  <testcase classname=\"invalid-evidence\" name=\"", out);
                xml_escape(out, a->invalid[i].file);
                fprintf(out, "\"><failure type=\"%s\" message=\"", verify_reason_names[a->invalid[i].r.reason]);
                xml_escape(out, a->invalid[i].r.detail);
                fputs("\"/></testcase>\n", out);
        }
        fputs("</testsuite>\n</testsuites>\n", out);
}
