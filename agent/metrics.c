/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const statuses[] = { "pass", "fail", "unknown", "not-applicable" };
static const char *const verdicts[] = { "compliant", "noncompliant", "unknown" };
static const char *const endpoints[] = { "compute", "attested" };
static const char *const classes[] = { "2xx", "4xx", "5xx", "error" };

enum code_class code_class_of(long status, int transport_error)
{
        if (transport_error < 0)
                return CLASS_ERROR;
        return status < 300 ? CLASS_2XX : status < 500 ? CLASS_4XX : CLASS_5XX;
}

struct out {
        struct buf *b;
        int r;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct out *o, const char *fmt, ...)
{
        char line[512];
        va_list ap;
        int n;

        if (o->r < 0)
                return;
        va_start(ap, fmt);
        n = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof(line))
                o->r = -1;
        else
                o->r = buf_append(o->b, line, (size_t) n);
}

static void header(struct out *o, const char *name, const char *type, const char *help)
{
        emit(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void verdict_metrics(struct out *o, const struct metrics *m)
{
        header(o, "hostenc_verdict", "gauge", "1 for the current verdict of the latest evidence, 0 for the others.");
        for (unsigned v = 0; v < 3; v++)
                emit(o, "hostenc_verdict{state=\"%s\"} %d\n", verdicts[v], m->have_report && m->report.verdict == v);
        header(o, "hostenc_check_status", "gauge", "1 for each check's current status, 0 for its other statuses.");
        for (unsigned i = 0; m->have_report && i < m->report.n_checks; i++)
                for (unsigned s = 0; s < 4; s++)
                        emit(o, "hostenc_check_status{check=\"%s\",severity=\"%s\",status=\"%s\"} %d\n",
                             m->report.checks[i].id, check_severity_to_string(m->report.checks[i].severity),
                             statuses[s], m->report.checks[i].status == s);
}

static void time_metrics(struct out *o, const struct metrics *m)
{
        header(o, "hostenc_last_success_timestamp_seconds", "gauge",
               "Unix time of the last cycle that produced signed evidence.");
        emit(o, "hostenc_last_success_timestamp_seconds %.0f\n", m->last_success);
        header(o, "hostenc_last_attestation_timestamp_seconds", "gauge",
               "Unix time the signing key was last bound by an IMDS attested document.");
        emit(o, "hostenc_last_attestation_timestamp_seconds %.0f\n", m->last_attestation);
        header(o, "hostenc_cycle_duration_seconds", "gauge", "Duration of the last cycle.");
        emit(o, "hostenc_cycle_duration_seconds %.3f\n", m->cycle_seconds);
        header(o, "hostenc_cycles_total", "counter", "Cycles run, by result.");
        emit(o, "hostenc_cycles_total{result=\"ok\"} %llu\n", (unsigned long long) m->cycles[0]);
        emit(o, "hostenc_cycles_total{result=\"error\"} %llu\n", (unsigned long long) m->cycles[1]);
}

static void request_metrics(struct out *o, const struct metrics *m)
{
        header(o, "hostenc_imds_requests_total", "counter", "IMDS requests by endpoint and status class.");
        for (unsigned e = 0; e < IMDS_EP_COUNT; e++)
                for (unsigned c = 0; c < CLASS_COUNT; c++)
                        emit(o, "hostenc_imds_requests_total{endpoint=\"%s\",code_class=\"%s\"} %llu\n",
                             endpoints[e], classes[c], (unsigned long long) m->imds[e][c]);
        header(o, "hostenc_kube_requests_total", "counter", "Kubernetes API requests by kind and result.");
        for (unsigned k = 0; m->kube && k < KUBE_KIND_COUNT; k++)
                for (unsigned r = 0; r < 2; r++)
                        emit(o, "hostenc_kube_requests_total{kind=\"%s\",result=\"%s\"} %llu\n",
                             kube_kind_name(k), r ? "error" : "ok", (unsigned long long) m->kube[k][r]);
        header(o, "hostenc_push_spool_envelopes", "gauge", "Envelopes waiting in the spool for the collector.");
        emit(o, "hostenc_push_spool_envelopes %llu\n", (unsigned long long) m->spool_envelopes);
        header(o, "hostenc_push_spool_dropped_total", "counter", "Envelopes dropped because the spool was full.");
        emit(o, "hostenc_push_spool_dropped_total %llu\n", (unsigned long long) m->spool_dropped);
}

int metrics_render(const struct metrics *m, struct buf *out)
{
        struct out o = { .b = out };

        buf_reset(out);
        verdict_metrics(&o, m);
        time_metrics(&o, m);
        request_metrics(&o, m);
        header(&o, "hostenc_build_info", "gauge", "hostenc build information.");
        emit(&o, "hostenc_build_info{version=\"%s\"} 1\n", HOSTENC_VERSION);
        return o.r;
}
