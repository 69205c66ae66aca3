/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Signing a statement into a DSSE envelope, and keeping envelopes on disk. */

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "statement.h"

/* The signer's identity, computed once per key. */
struct signer_info {
        char key_id[64];
        char spki_sha256[65];
        char *public_key_pem;   /* owned */
        char nonce[33];         /* key-binding nonce */
};

/* The three names a statement gives a public key (signer_info, and
 * verify's key cache). */
struct key_names {
        char key_id[64];        /* OpenSSH SHA256 fingerprint */
        char spki_sha256[65];   /* lower-case hex */
        char nonce[33];         /* key-binding nonce */
};

int key_names_of(const struct public_key *k, struct key_names *ret);
int signer_info_init(const struct signing_key *k, struct signer_info *ret);
void signer_info_done(struct signer_info *s);

/* Builds the statement, signs its PAE and returns the envelope JSON
 * (newly allocated, with a trailing newline). */
int evidence_sign(const struct signing_key *k, const struct signer_info *si,
                  struct statement_input *in, char **ret, size_t *ret_len);

/* Signs payload bytes (an in-toto statement) into a DSSE envelope: newly
 * allocated JSON with a trailing newline. */
int evidence_sign_payload(const struct signing_key *k, const char *key_id, const char *payload, size_t len,
                          char **ret, size_t *ret_len);

/* Sequence and digest of the envelope already at path when it was signed
 * by this key: *ret_seq = its sequence, ret_sha256 = hex SHA-256 of the
 * file. Returns 0 when found, -ENOENT when there is none to chain to. */
int evidence_previous(const char *path, const char *key_id, uint64_t *ret_seq, char ret_sha256[65]);
