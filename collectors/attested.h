/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <time.h>

#include "crypto.h"
#include "facts.h"
#include "imds.h"

/* Public-cloud metadata signing domain; sovereign clouds use .us/.cn. */
#define ATTESTED_DEFAULT_DOMAIN "metadata.azure.com"
/* Longest expiresOn - createdOn accepted: IMDS documents live 6 hours
 * (docs/evidence.md); a longer life is not Microsoft's and would stretch
 * the window in which a document can be replayed. The margin allows for
 * rounding in either timestamp. */
#define ATTESTED_MAX_LIFETIME_S (6 * 3600 + 15 * 60)
/* IMDS may hand out a cached document with an older nonce. */
#define ATTESTED_NONCE_RETRIES 2

/* Parses "MM/DD/YY HH:MM:SS -0000" (UTC, as IMDS writes it). Pure. */
int attested_parse_time(const char *s, time_t *ret);

/* Check the chain at the document's own createdOn: archived evidence stays
 * verifiable after Microsoft's six-month leaf certificates expire. */
#define ATTESTED_AT_CREATED_ON ((time_t) -1)

/* Pure: verifies one attested response body ({"encoding":"pkcs7",
 * "signature":"<base64>"}) and fills signature, signer and content facts.
 * verify_at: 0 = now, ATTESTED_AT_CREATED_ON, or a fixed time. */
void attested_verify_response(const char *body, size_t len, const struct trust_store *trust,
                              const char *const *domains, time_t verify_at,
                              struct attested_facts *f);

/* Fetches /metadata/attested/document with `nonce` ([0-9a-zA-Z]{1,32}) and
 * verifies it; retries a bounded number of times when the signed nonce is
 * not ours. */
void attested_collect(struct imds_client *c, const struct trust_store *trust,
                      const char *const *domains, const char *nonce,
                      struct attested_facts *ret);
