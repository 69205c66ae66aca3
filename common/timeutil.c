/* SPDX-License-Identifier: Apache-2.0 */
#include "timeutil.h"

#include <stdio.h>

void format_rfc3339(time_t t, char out[32])
{
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(out, 32, "%s", "1970-01-01T00:00:00Z");
}

uint64_t mono_ms(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}
