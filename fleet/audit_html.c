/* SPDX-License-Identifier: Apache-2.0 */
/* One self-contained HTML file: inline CSS and SVG, no scripts, no
 * external assets, every value escaped. */
#include <math.h>
#include <string.h>

#include "audit_report.h"
#include "report.h"
#include "timeutil.h"

/* How each state is drawn. Every colour is text on white (and on the
 * table headers' #fafafa) at a WCAG 2.x contrast of at least 4.5:1
 * (docs/operations.md has the figures; the browser test recomputes them).
 * "arm-mismatch" is a compliant verdict that ARM contradicts; "other" is
 * any state this table does not know yet: neither is ever drawn green. */
static const struct {
        const char *name, *colour;
} states[] = {
        { "compliant", "#1b5e20" },     { "noncompliant", "#b71c1c" }, { "unknown", "#8a5300" },
        { "stale", "#6d4c41" },         { "missing", "#455a64" },      { "invalid", "#7b1fa2" },
        { "arm-mismatch", "#ad1457" },  { "misattributed", "#bf360c" }, { "foreign", "#37474f" },
        { "other", "#0d47a1" },
};
#define N_STATES (sizeof(states) / sizeof(states[0]))
#define STATE_COMPLIANT 0u
#define STATE_ARM_MISMATCH 6u
#define STATE_OTHER (N_STATES - 1)

static unsigned state_index(const struct audit_node *n)
{
        const char *s = audit_node_state(n);
        unsigned i;

        for (i = 0; i < STATE_OTHER; i++)
                if (!strcmp(s, states[i].name))
                        break;
        if (i == STATE_COMPLIANT && n->findings)
                return n->findings & FINDING_ARM_MISMATCH ? STATE_ARM_MISMATCH : STATE_OTHER;
        return i;
}

static void count_states(const struct audit *a, const char *pool, size_t out[N_STATES])
{
        memset(out, 0, N_STATES * sizeof(out[0]));
        for (size_t i = 0; i < a->n_nodes; i++)
                if (!pool || !strcmp(a->nodes[i].pool, pool))
                        out[state_index(&a->nodes[i])]++;
}

static void css(FILE *o)
{
        fputs("<style>body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#212121}"
              "h1{font-size:22px}h2{font-size:17px;margin-top:28px}.cards{display:flex;gap:12px;flex-wrap:wrap}"
              ".card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:110px}"
              ".card b{display:block;font-size:24px}table{border-collapse:collapse;width:100%}"
              "th,td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}"
              "th{background:#fafafa}.s{font-weight:600}.legend span{margin-right:14px}"
              ".dot{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px}</style>\n", o);
}

/* A donut of the fleet's states. */
static void donut(FILE *o, const size_t c[N_STATES], size_t total)
{
        double start = -M_PI / 2, r = 60, cx = 80, cy = 80;

        fputs("<svg id=\"fleet-donut\" width=\"160\" height=\"160\" viewBox=\"0 0 160 160\" role=\"img\" "
              "aria-label=\"fleet states\">", o);
        for (unsigned i = 0; total && i < N_STATES; i++) {
                double sweep = 2 * M_PI * (double) c[i] / (double) total, end = start + sweep;

                if (!c[i])
                        continue;
                if (c[i] == total)
                        fprintf(o, "<circle cx=\"%g\" cy=\"%g\" r=\"%g\" fill=\"none\" stroke=\"%s\" stroke-width=\"28\"/>",
                                cx, cy, r, states[i].colour);
                else
                        fprintf(o, "<path d=\"M %.2f %.2f A %g %g 0 %d 1 %.2f %.2f\" fill=\"none\" stroke=\"%s\" "
                                   "stroke-width=\"28\"/>",
                                cx + r * cos(start), cy + r * sin(start), r, r, sweep > M_PI, cx + r * cos(end),
                                cy + r * sin(end), states[i].colour);
                start = end;
        }
        fprintf(o, "<text x=\"80\" y=\"86\" text-anchor=\"middle\" font-size=\"20\">%zu</text></svg>\n", total);
}

/* One stacked bar per pool. */
static void pool_bars(FILE *o, const struct audit *a)
{
        size_t c[N_STATES], max = 1, y = 0;
        const char *last = NULL;
        unsigned pools = 0;

        for (size_t i = 0; i < a->n_nodes; i++)
                if (!last || strcmp(last, a->nodes[i].pool)) {
                        last = a->nodes[i].pool;
                        pools++;
                        count_states(a, last, c);
                        size_t sum = 0;
                        for (unsigned k = 0; k < N_STATES; k++)
                                sum += c[k];
                        max = sum > max ? sum : max;
                }
        fprintf(o, "<svg id=\"pool-bars\" width=\"620\" height=\"%u\" role=\"img\" aria-label=\"states per pool\">",
                pools * 26 + 4);
        last = NULL;
        for (size_t i = 0; i < a->n_nodes; i++) {
                double x = 140;

                if (last && !strcmp(last, a->nodes[i].pool))
                        continue;
                last = a->nodes[i].pool;
                count_states(a, last, c);
                fputs("<text x=\"0\" y=\"", o);
                fprintf(o, "%zu\" font-size=\"12\">", y + 15);
                xml_escape(o, last);
                fputs("</text>", o);
                for (unsigned k = 0; k < N_STATES; k++) {
                        double w = 460.0 * (double) c[k] / (double) max;

                        if (c[k])
                                fprintf(o, "<rect x=\"%.1f\" y=\"%zu\" width=\"%.1f\" height=\"20\" fill=\"%s\"><title>%s: %zu</title></rect>",
                                        x, y, w, states[k].colour, states[k].name, c[k]);
                        x += w;
                }
                y += 26;
        }
        fputs("</svg>\n", o);
}

static void summary(FILE *o, const struct audit *a, const size_t c[N_STATES])
{
        fputs("<div class=\"cards\">", o);
        fprintf(o, "<div class=\"card\" id=\"total-nodes\">nodes<b>%zu</b></div>", a->n_nodes);
        fprintf(o, "<div class=\"card\" id=\"total-envelopes\">envelopes<b>%zu</b></div>", a->envelopes);
        for (unsigned i = 0; i < N_STATES; i++)
                fprintf(o, "<div class=\"card\" id=\"count-%s\"><span class=\"dot\" style=\"background:%s\"></span>%s<b>%zu</b></div>",
                        states[i].name, states[i].colour, states[i].name, c[i]);
        fprintf(o, "<div class=\"card\" id=\"count-invalid-files\">invalid files<b>%zu</b></div></div>\n", a->n_invalid);
}

/* Opens an accessible table: caption, a header row of column headers. */
static void table_open(FILE *o, const char *id, const char *caption, const char *const *cols, size_t n)
{
        fprintf(o, "<table id=\"%s\"><caption>%s</caption><thead><tr>", id, caption);
        for (size_t i = 0; i < n; i++)
                fprintf(o, "<th scope=\"col\">%s</th>", cols[i]);
        fputs("</tr></thead><tbody>\n", o);
}

static void table_close(FILE *o)
{
        fputs("</tbody></table>\n", o);
}

/* The name shown for a node's state: the state table's, or the node's own
 * for a state the table does not know. */
static const char *state_label(const struct audit_node *n, unsigned s)
{
        const char *own = audit_node_state(n);

        return s == STATE_OTHER && strcmp(own, "compliant") ? own : states[s].name;
}

static void group_table(FILE *o, const struct audit *a)
{
        static const char *const cols[] = { "pool", "VM size", "nodes", "noncompliant", "unknown", "stale", "missing",
                                            "misattributed", "foreign" };
        struct audit_group g[512];
        size_t n = audit_groups(a, g, 512);

        table_open(o, "groups", "Nodes with findings per node pool and VM size", cols, sizeof(cols) / sizeof(cols[0]));
        for (size_t i = 0; i < n; i++) {
                fputs("<tr><th scope=\"row\">", o);
                xml_escape(o, g[i].pool);
                fputs("</th><td>", o);
                xml_escape(o, g[i].vm_size);
                fprintf(o, "</td><td>%zu</td><td>%zu</td><td>%zu</td><td>%zu</td><td>%zu</td><td>%zu</td><td>%zu</td></tr>\n",
                        g[i].nodes, g[i].noncompliant, g[i].unknown, g[i].stale, g[i].missing, g[i].misattributed,
                        g[i].foreign);
        }
        table_close(o);
}

static void node_table(FILE *o, const struct audit *a)
{
        static const char *const cols[] = { "node", "pool", "VM size", "state", "observed", "ARM", "findings" };
        char why[512];

        table_open(o, "nodes", "Every node with its state and findings", cols, 7);
        for (size_t i = 0; i < a->n_nodes; i++) {
                const struct audit_node *n = &a->nodes[i];
                unsigned s = state_index(n);

                audit_describe(n, why, sizeof(why));
                fputs("<tr><th scope=\"row\">", o);
                xml_escape(o, *n->name ? n->name : n->vm_id);
                fputs("</th><td>", o);
                xml_escape(o, n->pool);
                fputs("</td><td>", o);
                xml_escape(o, n->vm_size);
                fprintf(o, "</td><td class=\"s\" data-state=\"%s\" style=\"color:%s\">", states[s].name, states[s].colour);
                xml_escape(o, state_label(n, s));
                fputs("</td><td>", o);
                xml_escape(o, n->has_evidence ? n->latest.observed_at : "");
                fprintf(o, "</td><td>%s</td><td>", n->arm == ARM_ABSENT ? "" : n->arm == ARM_TRUE ? "true" : "false");
                xml_escape(o, why);
                fputs("</td></tr>\n", o);
        }
        table_close(o);
}

static void invalid_table(FILE *o, const struct audit *a)
{
        static const char *const cols[] = { "file", "reason", "detail" };

        if (!a->n_invalid)
                return;
        fputs("<h2>Invalid evidence</h2>", o);
        table_open(o, "invalid", "Evidence files that failed verification", cols, 3);
        for (size_t i = 0; i < a->n_invalid; i++) {
                fputs("<tr><th scope=\"row\">", o);
                xml_escape(o, a->invalid[i].file);
                fprintf(o, "</th><td>%s</td><td>", verify_reason_names[a->invalid[i].r.reason]);
                xml_escape(o, a->invalid[i].r.detail);
                fputs("</td></tr>\n", o);
        }
        table_close(o);
}

void audit_write_html(FILE *o, const struct audit *a)
{
        size_t c[N_STATES];
        char when[32];

        count_states(a, NULL, c);
        format_rfc3339(a->now, when);
        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
              "<title>hostenc fleet audit</title>\n", o);
        css(o);
        fprintf(o, "</head><body>\n<h1>Encryption at host: fleet audit</h1>\n<p>Generated %s by hostenc %s from "
                   "%zu signed envelopes%s%s.</p>\n", when, HOSTENC_VERSION, a->envelopes,
                a->have_cluster ? ", the cluster's node list" : "", a->have_arm ? " and an ARM export" : "");
        summary(o, a, c);
        fputs("<h2>Fleet</h2><div style=\"display:flex;gap:32px;align-items:center\">", o);
        donut(o, c, a->n_nodes);
        fputs("<div class=\"legend\">", o);
        for (unsigned i = 0; i < N_STATES; i++)
                fprintf(o, "<span><span class=\"dot\" style=\"background:%s\"></span>%s %zu</span>", states[i].colour, states[i].name, c[i]);
        fputs("</div></div>\n<h2>Per node pool</h2>\n", o);
        pool_bars(o, a);
        fputs("<h2>Per node pool and VM size</h2>\n", o);
        group_table(o, a);
        fputs("<h2>Nodes</h2>\n", o);
        node_table(o, a);
        invalid_table(o, a);
        fputs("<p>The encryption-at-host value is IMDS data reported by each node; it is not signed by Microsoft. "
              "Reconcile it with ARM (the ARM column) before relying on it.</p>\n</body></html>\n", o);
}
