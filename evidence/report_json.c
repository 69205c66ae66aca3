/* SPDX-License-Identifier: Apache-2.0 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "facts_json.h"
#include "json.h"
#include "report.h"
#include "timeutil.h"

cJSON *checks_to_json(const struct report *r)
{
        cJSON *arr = cJSON_CreateArray();

        for (unsigned i = 0; arr && i < r->n_checks; i++) {
                const struct check_result *c = &r->checks[i];
                cJSON *o = cJSON_CreateObject();

                cJSON_AddStringToObject(o, "id", c->id);
                cJSON_AddStringToObject(o, "status", check_status_to_string(c->status));
                cJSON_AddStringToObject(o, "severity", check_severity_to_string(c->severity));
                cJSON_AddStringToObject(o, "reason", c->reason);
                cJSON_AddStringToObject(o, "message", c->message);
                json_append(arr, o);
        }
        return arr;
}

char *report_to_json(const struct node_facts *f, const struct report *r, time_t observed_at)
{
        cJSON *o = cJSON_CreateObject();
        char when[32], *text;

        if (!o)
                return NULL;
        format_rfc3339(observed_at, when);
        cJSON_AddStringToObject(o, "schema", REPORT_SCHEMA);
        cJSON_AddStringToObject(o, "hostencVersion", HOSTENC_VERSION);
        cJSON_AddStringToObject(o, "observedAt", when);
        cJSON_AddStringToObject(o, "verdict", verdict_to_string(r->verdict));
        json_add_item(o, "checks", checks_to_json(r));
        json_add_item(o, "vm", imds_facts_to_json(&f->imds));
        json_add_item(o, "attestedDocument", attested_facts_to_json(&f->attested));
        json_add_item(o, "host", host_facts_to_json(&f->host));
        json_add_item(o, "disks", disks_to_json(&f->host));
        text = json_print(o, false);
        cJSON_Delete(o);
        return text;
}
