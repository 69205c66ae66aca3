/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* Reads all of fd, at most max bytes (-E2BIG beyond). Returns malloc'ed,
 * NUL-terminated data. */
int read_fd_bounded(int fd, size_t max, char **ret, size_t *ret_len);

/* The same for a path given by the user (a config or trust file). */
int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_len);

/* For secrets (a private key, a bearer token): one allocation of max+1
 * bytes and no intermediate copies, so nothing but the returned buffer
 * ever holds the bytes; it is wiped on every error path. NUL bytes are
 * refused (-EINVAL), so free_secretp's strlen wipes all of it. */
int read_fd_secret(int fd, size_t max, char **ret, size_t *ret_len);
int read_file_secret(const char *path, size_t max, char **ret, size_t *ret_len);
