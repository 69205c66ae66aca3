/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Durable writes: what survives a crash or a power cut once the call
 * returned 0. Every writer of evidence, spool, store and metrics files uses
 * these, so the rules live in one place:
 *   - data goes to "<path>.tmp.XXXXXX" in the same directory (mode 0644),
 *   - the file is fsync'd before it gets its name,
 *   - the name is made durable by an fsync of the directory.
 * A crash leaves at most a temporary file, which durable_is_temp() names. */

#include <stdbool.h>
#include <stddef.h>

/* Writes all n bytes, retrying short writes and EINTR; -EIO when the
 * kernel accepts nothing (a zero-length write). */
int write_all(int fd, const void *data, size_t n);

/* fsync of a file or a directory by name (never follows a final symlink). */
int fsync_path(const char *path);

/* fsync of the directory that holds path. */
int fsync_parent(const char *path);

/* Writes data to "<path>.tmp.XXXXXX", not yet synced: for callers that
 * sync many files at once. The temporary name in *ret_tmp (free()). */
int durable_temp(const char *path, const char *data, size_t len, char **ret_tmp);

/* Gives tmp the name path only if path does not exist (-EEXIST otherwise). */
int durable_install_new(const char *tmp, const char *path);

/* The whole sequence: temp, fsync, rename (replace) or install (no
 * replace, -EEXIST), fsync of the directory. Nothing is left on failure. */
int durable_write(const char *path, const char *data, size_t len, bool replace);

/* Whether a directory entry is a temporary file of an unfinished write. */
bool durable_is_temp(const char *name);
