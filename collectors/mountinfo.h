/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#define MOUNTINFO_MAX_BYTES (4 * 1024 * 1024)
#define MOUNTINFO_MAX_ENTRIES 4096

struct mount_entry {
        unsigned major, minor;
        char mountpoint[128];
        char fstype[32];
        char source[128];
};

struct mount_table {
        size_t n;
        struct mount_entry *entries;
};

/* Pure: parses /proc/<pid>/mountinfo text. Lines whose fields do not fit
 * are rejected with -EBADMSG rather than truncated. */
int mountinfo_parse(const char *text, struct mount_table *ret);
void mount_table_done(struct mount_table *t);
/* The entry mounted last on "/", or NULL. */
const struct mount_entry *mount_table_root(const struct mount_table *t);
