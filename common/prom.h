/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Writing the Prometheus text exposition format (0.0.4): the daemon's and
 * the collector's /metrics. The first error sticks in r. */

#include "buf.h"

struct prom_out {
        struct buf *b;
        int r;
};
void prom_emit(struct prom_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void prom_header(struct prom_out *o, const char *name, const char *type, const char *help);
