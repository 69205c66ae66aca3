/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The one canonical form of an envelope and its statement: the rules that
 * keep every consumer (hostenc, Python, jq, Go) reading the same facts
 * from the same bytes. verify, collect and audit all reach them through
 * verify_envelope(). Each fault has its own reason (docs/SECURITY.md). */

#include <cjson/cJSON.h>
#include <stddef.h>

#include "dsse.h"

enum canon_fault {
        CANON_OK,
        CANON_MALFORMED,        /* not JSON, or not an envelope */
        CANON_TRAILING,         /* bytes after the JSON value */
        CANON_DUPLICATE_KEY,    /* a member name twice in one object */
        CANON_NUL,              /* \u0000 in a string, or a NUL byte */
        CANON_BASE64,           /* payload or sig not canonical base64 */
        CANON_SIGNATURES,       /* not exactly one signature */
        CANON_SIG_ENCODING,     /* ECDSA signature DER, but not its one encoding */
        CANON_HIGH_S,           /* ECDSA s > n/2 */
        CANON_NO_MEMORY,
};

/* Parses JSON text that must be exactly one value (JSON whitespace around
 * it only), without NUL bytes or \u0000 escapes in strings, and without a
 * repeated member name in any object at any depth. The tree is returned
 * whenever the text parsed at all, even with a fault, so that a caller can
 * report the fault only after the signature over the text has verified;
 * the caller frees it. */
enum canon_fault canon_json_parse(const char *text, size_t len, cJSON **ret, char *err, size_t errsz);

/* The envelope text: canonical JSON, exactly one signature, canonical
 * base64, a strict-DER low-S signature (when it is DER at all; anything
 * else fails the signature check). */
enum canon_fault canon_envelope_parse(const char *text, size_t len, struct dsse_envelope *ret, char *err,
                                      size_t errsz);
