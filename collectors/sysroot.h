/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* Every host file is read relative to one root directory: "/" in
 * production, a fixture tree in tests. Paths are root-relative
 * ("sys/block/sda/size"); symlinks are resolved inside the root, never
 * outside it, whether they are relative or absolute. */
struct sysroot {
        int dirfd;
};

int sysroot_open(const char *path, struct sysroot *ret);
void sysroot_close(struct sysroot *sr);

/* Reads a small file into buf (NUL-terminated, trailing whitespace
 * stripped). -E2BIG if it does not fit in bufsz-1 bytes. */
int sysroot_read_attr(const struct sysroot *sr, const char *rel, char *buf, size_t bufsz);

/* Reads a whole file of at most max bytes; returns malloc'ed, NUL-terminated data. */
int sysroot_read_file(const struct sysroot *sr, const char *rel, size_t max, char **ret, size_t *ret_len);

/* Canonical root-relative path with every symlink resolved inside the
 * root ("sys/devices/.../block/sda"). -ELOOP after 40 links. */
int sysroot_resolve(const struct sysroot *sr, const char *rel, char *out, size_t outsz);

/* openat() relative to the root, O_CLOEXEC added; no symlink may lead out. */
int sysroot_open_file(const struct sysroot *sr, const char *rel, int flags);

int path_join(char *out, size_t outsz, const char *a, const char *b);
