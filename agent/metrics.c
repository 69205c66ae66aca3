/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const endpoints[] = { "compute", "attested" };
static const char *const classes[] = { "2xx", "4xx", "5xx", "error" };

enum code_class code_class_of(long status, int transport_error)
{
        if (transport_error < 0)
                return CLASS_ERROR;
        return status < 300 ? CLASS_2XX : status < 500 ? CLASS_4XX : CLASS_5XX;
}

static void verdict_metrics(struct prom_out *o, const struct metrics *m)
{
        prom_header(o, "hostenc_verdict", "gauge", "1 for the current verdict of the latest evidence, 0 for the others.");
        for (unsigned v = 0; v < N_VERDICTS; v++)
                prom_emit(o, "hostenc_verdict{state=\"%s\"} %d\n", verdict_names[v], m->have_report && m->report.verdict == v);
        prom_header(o, "hostenc_check_status", "gauge", "1 for each check's current status, 0 for its other statuses.");
        for (unsigned i = 0; m->have_report && i < m->report.n_checks; i++)
                for (unsigned s = 0; s < N_CHECK_STATUSES; s++)
                        prom_emit(o, "hostenc_check_status{check=\"%s\",severity=\"%s\",status=\"%s\"} %d\n",
                             m->report.checks[i].id, check_severity_to_string(m->report.checks[i].severity),
                             check_status_names[s], m->report.checks[i].status == s);
}

static void time_metrics(struct prom_out *o, const struct metrics *m)
{
        prom_header(o, "hostenc_last_success_timestamp_seconds", "gauge",
               "Unix time of the last cycle that produced signed evidence.");
        prom_emit(o, "hostenc_last_success_timestamp_seconds %.0f\n", m->last_success);
        prom_header(o, "hostenc_last_attestation_timestamp_seconds", "gauge",
               "Unix time the signing key was last bound by an IMDS attested document.");
        prom_emit(o, "hostenc_last_attestation_timestamp_seconds %.0f\n", m->last_attestation);
        prom_header(o, "hostenc_cycle_duration_seconds", "gauge", "Duration of the last cycle.");
        prom_emit(o, "hostenc_cycle_duration_seconds %.3f\n", m->cycle_seconds);
        prom_header(o, "hostenc_cycles_total", "counter", "Cycles run, by result.");
        prom_emit(o, "hostenc_cycles_total{result=\"ok\"} %llu\n", (unsigned long long) m->cycles[0]);
        prom_emit(o, "hostenc_cycles_total{result=\"error\"} %llu\n", (unsigned long long) m->cycles[1]);
}

static void request_metrics(struct prom_out *o, const struct metrics *m)
{
        prom_header(o, "hostenc_imds_requests_total", "counter", "IMDS requests by endpoint and status class.");
        for (unsigned e = 0; e < IMDS_EP_COUNT; e++)
                for (unsigned c = 0; c < CLASS_COUNT; c++)
                        prom_emit(o, "hostenc_imds_requests_total{endpoint=\"%s\",code_class=\"%s\"} %llu\n",
                             endpoints[e], classes[c], (unsigned long long) m->imds[e][c]);
        prom_header(o, "hostenc_kube_requests_total", "counter", "Kubernetes API requests by kind and result.");
        for (unsigned k = 0; m->kube && k < KUBE_KIND_COUNT; k++)
                for (unsigned r = 0; r < 2; r++)
                        prom_emit(o, "hostenc_kube_requests_total{kind=\"%s\",result=\"%s\"} %llu\n",
                             kube_kind_name(k), r ? "error" : "ok", (unsigned long long) m->kube[k][r]);
        prom_header(o, "hostenc_push_spool_envelopes", "gauge", "Envelopes waiting in the spool for the collector.");
        prom_emit(o, "hostenc_push_spool_envelopes %llu\n", (unsigned long long) m->spool_envelopes);
        prom_header(o, "hostenc_push_spool_dropped_total", "counter", "Envelopes dropped because the spool was full.");
        prom_emit(o, "hostenc_push_spool_dropped_total %llu\n", (unsigned long long) m->spool_dropped);
        prom_header(o, "hostenc_push_rejected_total", "counter",
                    "Envelopes the collector rejected for good (400/409/413/415/422), moved to <spoolDir>/rejected/.");
        prom_emit(o, "hostenc_push_rejected_total %llu\n", (unsigned long long) m->push_rejected);
        prom_header(o, "hostenc_push_rejected_envelopes", "gauge", "Envelopes kept in <spoolDir>/rejected/.");
        prom_emit(o, "hostenc_push_rejected_envelopes %llu\n", (unsigned long long) m->spool_rejected);
}

int metrics_render(const struct metrics *m, struct buf *out)
{
        struct prom_out o = { .b = out };

        buf_reset(out);
        verdict_metrics(&o, m);
        time_metrics(&o, m);
        request_metrics(&o, m);
        prom_header(&o, "hostenc_build_info", "gauge", "hostenc build information.");
        prom_emit(&o, "hostenc_build_info{version=\"%s\"} 1\n", HOSTENC_VERSION);
        return o.r;
}
