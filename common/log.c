/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "json.h"
#include "timeutil.h"
#include "timeutil.h"

void jlog(const char *level, const char *msg, ...)
{
        cJSON *o = cJSON_CreateObject();
        char when[32], *line;
        const char *k, *v;
        va_list ap;

        if (!o)
                return;
        format_rfc3339(time(NULL), when);
        cJSON_AddStringToObject(o, "time", when);
        cJSON_AddStringToObject(o, "level", level);
        cJSON_AddStringToObject(o, "msg", msg);
        va_start(ap, msg);
        while ((k = va_arg(ap, const char *)) && (v = va_arg(ap, const char *)))
                cJSON_AddStringToObject(o, k, v);
        va_end(ap);
        line = json_print(o, true);
        cJSON_Delete(o);
        if (line) {
                puts(line);
                fflush(stdout);
                free(line);
        }
}

void log_error(const char *fmt, ...)
{
        va_list ap;

        fputs("hostenc: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}
