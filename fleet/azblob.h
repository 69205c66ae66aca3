/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Azure Blob Storage REST calls over the HTTP transport seam (there is no
 * Azure SDK for C): put-if-absent, get, list by prefix, create container;
 * Shared Key, SAS or Microsoft Entra bearer authentication; bounded
 * retries on 429/500/503 and transport failures, honouring Retry-After.
 *
 * References: "Authorize with Shared Key" and "Put Blob", "List Blobs",
 * "Create Container" in the Azure Storage REST API reference
 * (https://learn.microsoft.com/rest/api/storageservices/). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* A bearer token source (aztoken.c behind store_entra.c). */
struct azblob_bearer {
        int (*get)(void *userdata, char *out, size_t outsz);
        void (*invalidate)(void *userdata);
        void *userdata;
};

struct azblob_target {
        char account[64];
        char container[64];
        char endpoint[512];             /* no trailing slash, e.g. https://ACCOUNT.blob.core.windows.net */
};

/* azblob://ACCOUNT/CONTAINER[?endpoint=URL]. */
int azblob_parse_url(const char *url, struct azblob_target *ret, char *err, size_t errsz);

struct azblob;

struct azblob_auth {
        const uint8_t *shared_key;      /* decoded account key, or NULL */
        size_t shared_key_len;
        const char *sas;                /* SAS query string (without '?'), or NULL */
        const struct azblob_bearer *bearer;     /* or NULL */
};

struct azblob_options {
        unsigned attempts;              /* tries per call, 1.. (default 5) */
        long timeout_ms;                /* per try (default 30 s) */
        unsigned max_wait_s;            /* cap on one Retry-After wait (default 10) */
};

/* The transport and bearer are borrowed; the key and SAS are copied. */
int azblob_new(const struct azblob_target *t, const struct azblob_auth *auth, const struct azblob_options *o,
               const struct http_transport *http, struct azblob **ret);
struct azblob *azblob_free(struct azblob *b);

enum azblob_put {
        AZBLOB_CREATED,
        AZBLOB_EXISTS,                  /* the name was taken, by exactly these bytes */
};

/* What a name already taken means. */
enum azblob_taken {
        AZBLOB_TAKEN_MUST_MATCH,        /* the write is done only if it holds exactly these bytes */
        AZBLOB_TAKEN_IS_DONE,           /* the name is what counts (markers; a summary made earlier) */
};

/* Creates blob name (characters [A-Za-z0-9._/-] only) if it does not
 * exist yet (If-None-Match: *). A name already taken, or kept by an
 * immutability policy, is read back: AZBLOB_EXISTS when it exists (and,
 * under AZBLOB_TAKEN_MUST_MATCH, holds exactly these bytes, else -EEXIST).
 * Errors: -EACCES (401/403),
 * -EROFS (refused by an immutability policy or legal hold), -EAGAIN (throttled or unavailable
 * after every retry), -EPROTO (any other answer), transport errors; err
 * names the status and x-ms-error-code, never a secret. */
int azblob_put_new(struct azblob *b, const char *name, const char *data, size_t len, const char *content_type,
                   enum azblob_taken rule, enum azblob_put *ret, char *err, size_t errsz);

/* The blob's bytes (at most max bytes). -ENOENT when it does not exist. */
int azblob_get(struct azblob *b, const char *name, size_t max, char **ret, size_t *ret_len, char *err, size_t errsz);

/* Calls each(name) for the blobs under prefix, in name order, at most
 * limit of them (0: all). each returns < 0 to stop with that error. */
int azblob_list(struct azblob *b, const char *prefix, size_t limit, int (*each)(void *userdata, const char *name),
                void *userdata, char *err, size_t errsz);

/* The same with one try per page and no retry: for a look whose answer
 * only refines a decision that can be made without it. */
int azblob_list_once(struct azblob *b, const char *prefix, size_t limit,
                     int (*each)(void *userdata, const char *name), void *userdata, char *err, size_t errsz);

/* Creates the container; an existing one is fine. */
int azblob_create_container(struct azblob *b, char *err, size_t errsz);

/* The Shared Key string-to-sign's signature (exposed for the unit test
 * with Microsoft's documented example). */
int azblob_sign(const uint8_t *key, size_t keylen, const char *string_to_sign, char out[45]);

/* The longest blob name the store writes or reads (Blob Storage allows 1,024). */
#define AZBLOB_NAME_MAX 1024

/* Scans a List Blobs answer: each <Name> in order, then the NextMarker
 * ("" at the end). Bounded; -EBADMSG on a malformed body. */
int azblob_parse_list(const char *xml, size_t len, int (*each)(void *userdata, const char *name), void *userdata,
                      char *next_marker, size_t markersz);
