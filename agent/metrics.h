/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The daemon's metrics and their Prometheus text exposition (0.0.4). */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "prom.h"
#include "kube.h"
#include "policy.h"

enum imds_endpoint { IMDS_EP_COMPUTE, IMDS_EP_ATTESTED, IMDS_EP_COUNT };
enum code_class { CLASS_2XX, CLASS_4XX, CLASS_5XX, CLASS_ERROR, CLASS_COUNT };

struct metrics {
        bool have_report;
        struct report report;
        double last_success;            /* unix seconds, 0 = never */
        double last_attestation;
        double cycle_seconds;
        uint64_t cycles[2];             /* ok, error */
        uint64_t imds[IMDS_EP_COUNT][CLASS_COUNT];
        const uint64_t (*kube)[2];      /* kube_client.requests, borrowed */
        uint64_t spool_envelopes;
        uint64_t spool_dropped;
        uint64_t spool_rejected;        /* envelopes in <spool>/rejected/ now */
        uint64_t push_rejected;         /* moved aside since start */
};

enum code_class code_class_of(long status, int transport_error);

/* Renders every metric; the buffer is reset first. */
int metrics_render(const struct metrics *m, struct buf *out);
