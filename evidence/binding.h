/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Binds a signing key to the VM: the attested document is requested with a
 * nonce derived from the public key, so Microsoft's signature over the
 * nonce says "this key was bound from inside VM <vmId> at <createdOn>".
 *
 *   nonce = lower-case hex of the first 16 bytes of
 *           SHA-256( "hostenc/key-binding/v1" || DER SubjectPublicKeyInfo )
 *
 * The context string is the 22 ASCII bytes shown, no terminator. */

#include "crypto.h"

#define BINDING_CONTEXT "hostenc/key-binding/v1"
#define BINDING_METHOD "azure-imds-nonce/v1"
/* Re-bind this long before the document's expiresOn. */
#define BINDING_REFRESH_MARGIN_S (30 * 60)

#include <stdbool.h>
#include <time.h>

#include "facts.h"

int binding_nonce(const struct public_key *k, char out[33]);

/* True when the attested document no longer binds the key usefully: not
 * verified, not for this nonce, or within BINDING_REFRESH_MARGIN_S of its
 * expiresOn (IMDS documents live six hours). */
bool binding_needs_refresh(const struct attested_facts *a, const char *nonce, time_t now);
