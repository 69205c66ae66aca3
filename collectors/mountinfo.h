/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#define MOUNTINFO_MAX_BYTES (4 * 1024 * 1024)
#define MOUNTINFO_MAX_ENTRIES 4096

#define MOUNTINFO_MAX_FIELD 4096    /* PATH_MAX: kubelet and CSI paths exceed 128 bytes */

/* Strings point into the table's own unescaped copy of the text. */
struct mount_entry {
        unsigned major, minor;
        const char *mountpoint;
        const char *fstype;
        const char *source;
};

struct mount_table {
        size_t n;
        struct mount_entry *entries;
        char *text;
};

/* Pure: parses /proc/<pid>/mountinfo text. A malformed line fails the
 * parse with -EBADMSG; a line with a field longer than MOUNTINFO_MAX_FIELD
 * is skipped rather than truncated. */
int mountinfo_parse(const char *text, struct mount_table *ret);
void mount_table_done(struct mount_table *t);
/* The entry mounted last on "/", or NULL. */
const struct mount_entry *mount_table_root(const struct mount_table *t);
