/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Node facts as JSON, in both directions: the report and the signed
 * statement write them; `hostenc verify` reads them back to re-appraise an
 * envelope with the same policy. Every field the policy reads round-trips. */

#include <cjson/cJSON.h>
#include <stddef.h>

#include "facts.h"

cJSON *imds_facts_to_json(const struct imds_facts *f);
cJSON *attested_facts_to_json(const struct attested_facts *a);
cJSON *host_facts_to_json(const struct host_facts *h);  /* state, error, root */
cJSON *disks_to_json(const struct host_facts *h);

/* -EBADMSG with the offending field named in err. */
int imds_facts_from_json(const cJSON *vm, struct imds_facts *ret, char *err, size_t errsz);
int host_facts_from_json(const cJSON *host, const cJSON *disks, struct host_facts *ret, char *err,
                         size_t errsz);
