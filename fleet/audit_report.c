/* SPDX-License-Identifier: Apache-2.0 */
#include "audit_report.h"
#include "strparse.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "report.h"
#include "timeutil.h"
#include "strparse.h"

void xml_escape(FILE *out, const char *s)
{
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                size_t n = utf8_len(p);

                switch (*p) {
                case '&': fputs("&amp;", out); break;
                case '<': fputs("&lt;", out); break;
                case '>': fputs("&gt;", out); break;
                case '"': fputs("&quot;", out); break;
                case '\'': fputs("&#39;", out); break;
                default:
                        /* Control bytes are not allowed in XML 1.0; file names
                         * need not be UTF-8: each bad byte becomes U+FFFD. */
                        if (!n)
                                fputs("\xef\xbf\xbd", out);
                        else if (*p >= 0x20 || *p == '\n' || *p == '\t')
                                fwrite(p, 1, n, out);
                }
                p += n ? n : 1;
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

/* Each finding bit with its name in JSON and its JUnit failure type; a
 * JUnit testcase has one <failure>, typed by the first finding here. */
static const struct {
        unsigned bit;
        const char *json, *junit;
} findings[] = {
        /* Evidence that speaks for another VM says nothing of this node's
         * verdict: those findings type the failure first. */
        { FINDING_MISATTRIBUTED, "misattributed", "misattributed" },
        { FINDING_FOREIGN, "foreign", "foreign" },
        { FINDING_NONCOMPLIANT, "noncompliant", "noncompliant" },
        { FINDING_UNKNOWN, "unknown", "unknown" },
        { FINDING_STALE, "stale", "stale" },
        { FINDING_MISSING, "missing", "missing" },
        { FINDING_ARM_MISMATCH, "armMismatch", "mismatch" },
        { FINDING_INVALID_ONLY, "invalidOnly", "invalid" },
};
#define N_FINDINGS (sizeof(findings) / sizeof(findings[0]))
_Static_assert(N_FINDINGS == AUDIT_N_FINDINGS, "every finding has its names");

static cJSON *node_json(const struct audit_node *n)
{
        cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateArray();
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
        for (size_t k = 0; k < N_FINDINGS; k++)
                if (n->findings & findings[k].bit)
                        json_append(f, cJSON_CreateString(findings[k].json));
        json_add_item(o, "findings", f);
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
                json_append(arr, o);
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
        cJSON_AddStringToObject(o, "schema", AUDIT_SCHEMA);
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
        json_add_item(o, "summary", s);
        json_add_item(o, "groups", groups_json(a));
        for (size_t i = 0; i < a->n_nodes; i++)
                json_append(nodes, node_json(&a->nodes[i]));
        json_add_item(o, "nodes", nodes);
        for (size_t i = 0; i < a->n_invalid; i++) {
                cJSON *e = cJSON_CreateObject();

                cJSON_AddStringToObject(e, "file", a->invalid[i].file);
                cJSON_AddStringToObject(e, "reason", verify_reason_names[a->invalid[i].r.reason]);
                cJSON_AddStringToObject(e, "detail", a->invalid[i].r.detail);
                json_append(inv, e);
        }
        json_add_item(o, "invalidEnvelopes", inv);
        text = json_print(o, false);
        cJSON_Delete(o);
        if (!text)
                return -1;
        fputs(text, out);
        fputc('\n', out);
        free(text);
        return 0;
}

/* A node fails when it has a finding or its state is not "compliant" (a
 * state added later fails until it is known to be good). */
static bool node_fails(const struct audit_node *n)
{
        return n->findings || strcmp(audit_node_state(n), "compliant") != 0;
}

static const char *junit_type(const struct audit_node *n)
{
        for (size_t k = 0; k < N_FINDINGS; k++)
                if (n->findings & findings[k].bit)
                        return findings[k].junit;
        return audit_node_state(n);
}

static void junit_attr(FILE *out, const char *name, const char *value)
{
        fprintf(out, " %s=\"", name);
        xml_escape(out, value);
        fputc('"', out);
}

static void junit_property(FILE *out, const char *name, const char *value)
{
        fputs("    <property", out);
        junit_attr(out, "name", name);
        junit_attr(out, "value", value);
        fputs("/>\n", out);
}

/* Ant's JUnit format (tests/data/junit/JUnit.xsd): the testsuite's
 * timestamp is UTC without a zone, as the schema's pattern demands. */
static void junit_suite_open(FILE *out, const struct audit *a, size_t tests, size_t failures)
{
        char host[256] = "localhost", when[32], age[32];
        struct tm tm;

        if (gethostname(host, sizeof(host) - 1) < 0 || !*host)
                snprintf(host, sizeof(host), "%s", "localhost");
        host[sizeof(host) - 1] = '\0';
        if (!gmtime_r(&a->now, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm))
                snprintf(when, sizeof(when), "%s", "1970-01-01T00:00:00");
        snprintf(age, sizeof(age), "%" PRIu64, a->max_age_s);
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite", out);
        junit_attr(out, "name", "hostenc-audit");
        junit_attr(out, "package", "hostenc");
        junit_attr(out, "id", "0");
        junit_attr(out, "timestamp", when);
        junit_attr(out, "hostname", host);
        fprintf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"0\">\n  <properties>\n", tests,
                failures);
        junit_property(out, "hostenc.version", HOSTENC_VERSION);
        junit_property(out, "hostenc.maxAgeSeconds", age);
        junit_property(out, "hostenc.clusterNodeList", a->have_cluster ? "true" : "false");
        junit_property(out, "hostenc.armExport", a->have_arm ? "true" : "false");
        fputs("  </properties>\n", out);
}

static void junit_case(FILE *out, const char *classname, const char *name, const char *type, const char *msg)
{
        fputs("  <testcase", out);
        junit_attr(out, "classname", classname);
        junit_attr(out, "name", name);
        fputs(" time=\"0\">", out);
        if (type) {
                fputs("<failure", out);
                junit_attr(out, "type", type);
                junit_attr(out, "message", msg);
                fputs("/>", out);
        }
        fputs("</testcase>\n", out);
}

void audit_write_junit(FILE *out, const struct audit *a)
{
        size_t failures = a->n_invalid;
        char why[512], msg[700];

        for (size_t i = 0; i < a->n_nodes; i++)
                failures += node_fails(&a->nodes[i]);
        junit_suite_open(out, a, a->n_nodes + a->n_invalid, failures);
        for (size_t i = 0; i < a->n_nodes; i++) {
                const struct audit_node *n = &a->nodes[i];
                bool fails = node_fails(n);

                audit_describe(n, why, sizeof(why));
                if (fails && !*why)
                        snprintf(why, sizeof(why), "state %s", audit_node_state(n));
                junit_case(out, n->pool, *n->name ? n->name : n->vm_id, fails ? junit_type(n) : NULL, why);
        }
        for (size_t i = 0; i < a->n_invalid; i++) {
                snprintf(msg, sizeof(msg), "%s: %s", verify_reason_names[a->invalid[i].r.reason], a->invalid[i].r.detail);
                junit_case(out, "invalid-evidence", a->invalid[i].file, "invalid", msg);
        }
        fputs("  <system-out/>\n  <system-err/>\n</testsuite>\n</testsuites>\n", out);
}
