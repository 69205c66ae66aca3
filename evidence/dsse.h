/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* DSSE v1 envelopes (secure-systems-lab/dsse protocol 1.0.2). */

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define DSSE_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define DSSE_MAX_SIGNATURES 8
#define DSSE_MAX_ENVELOPE (4 * 1024 * 1024)

/* PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body. */
int dsse_pae(const char *type, const void *body, size_t len, struct buf *ret);

struct dsse_signature {
        uint8_t *sig;
        size_t len;
        char keyid[128];
};

struct dsse_envelope {
        char payload_type[256];
        uint8_t *payload;       /* NUL-terminated for convenience, not counted */
        size_t payload_len;
        unsigned n_sigs;
        struct dsse_signature sigs[DSSE_MAX_SIGNATURES];
};

/* Compact envelope JSON with one signature; newly allocated. */
int dsse_envelope_build(const char *type, const void *payload, size_t len, const uint8_t *sig,
                        size_t siglen, const char *keyid, char **ret);

struct cJSON;

/* Reads a parsed envelope. Base64 must be canonical (standard alphabet,
 * padded, no whitespace): -EDOM when it is not, -EBADMSG for any other
 * fault, with a reason in err. Unknown members are ignored; the envelope
 * rules (canonical.h) reject what else could be read two ways. */
int dsse_envelope_from_json(const struct cJSON *root, struct dsse_envelope *ret, char *err, size_t errsz);
/* Parses envelope JSON text, then as dsse_envelope_from_json. */
int dsse_envelope_parse(const char *json, size_t len, struct dsse_envelope *ret, char *err, size_t errsz);
void dsse_envelope_done(struct dsse_envelope *e);
