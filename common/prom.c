/* SPDX-License-Identifier: Apache-2.0 */
#include "prom.h"

#include <stdarg.h>
#include <stdio.h>

void prom_emit(struct prom_out *o, const char *fmt, ...)
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

void prom_header(struct prom_out *o, const char *name, const char *type, const char *help)
{
        prom_emit(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}
