/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* Reads all of fd, at most max bytes (-E2BIG beyond). Returns malloc'ed,
 * NUL-terminated data. */
int read_fd_bounded(int fd, size_t max, char **ret, size_t *ret_len);

/* The same for a path given by the user (a config or trust file). */
int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_len);
