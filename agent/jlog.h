/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The daemon's log: one JSON object per line on stdout. Fields come in
 * key/value string pairs ending with NULL. Never pass secrets. */

void jlog(const char *level, const char *msg, ...) __attribute__((sentinel));
