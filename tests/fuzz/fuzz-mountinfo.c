/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/1/mountinfo of the host. Any container that can mount (or name a
 * mount point, which the kernel escapes) puts bytes in it.
 *
 * Properties: at most MOUNTINFO_MAX_ENTRIES entries; the root entry, if any,
 * is mounted on "/" and is the last such entry; parsing is all or nothing
 * for malformed lines, so appending a blank line changes nothing. */
#include "fuzz.h"

#include "mountinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_cstr(data, size), *more;
        struct mount_table t = { 0 }, u = { 0 };
        const struct mount_entry *root;
        int r, k;

        r = mountinfo_parse(text, &t);
        if (r == 0) {
                FUZZ_ASSERT(t.n <= MOUNTINFO_MAX_ENTRIES);
                root = mount_table_root(&t);
                if (root) {
                        FUZZ_ASSERT(strcmp(root->mountpoint, "/") == 0);
                        for (size_t i = (size_t) (root - t.entries) + 1; i < t.n; i++)
                                FUZZ_ASSERT(strcmp(t.entries[i].mountpoint, "/") != 0);
                }
        } else
                FUZZ_ASSERT(r == -EBADMSG || r == -E2BIG || r == -ENOMEM);

        more = malloc(strlen(text) + 2);
        if (!more)
                abort();
        strcpy(more, text);
        strcat(more, "\n");
        k = mountinfo_parse(more, &u);
        FUZZ_ASSERT((r == 0) == (k == 0));
        if (r == 0 && k == 0) {
                FUZZ_ASSERT(t.n == u.n);
                for (size_t i = 0; i < t.n; i++)
                        FUZZ_ASSERT(t.entries[i].major == u.entries[i].major &&
                                    t.entries[i].minor == u.entries[i].minor &&
                                    !strcmp(t.entries[i].mountpoint, u.entries[i].mountpoint) &&
                                    !strcmp(t.entries[i].fstype, u.entries[i].fstype) &&
                                    !strcmp(t.entries[i].source, u.entries[i].source));
        }
        if (r == 0)
                mount_table_done(&t);
        if (k == 0)
                mount_table_done(&u);
        free(more);
        free(text);
        return 0;
}
