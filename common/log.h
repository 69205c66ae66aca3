/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The daemon's log: one JSON object per line on stdout. Fields come in
 * key/value string pairs ending with NULL. Never pass secrets. */

void jlog(const char *level, const char *msg, ...) __attribute__((sentinel));

/* "hostenc: " + message + newline on stderr: one line per error, for the
 * commands that are not the daemon. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
