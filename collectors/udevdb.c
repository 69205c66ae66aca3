/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blkprobe.h"
#include "macro.h"
#include "strparse.h"

#define UDEVDB_MAX 65536

/* udev writes unsafe label bytes as \xNN in ID_FS_LABEL_ENC. */
static int decode_enc(const char *in, char *out, size_t outsz)
{
        size_t o = 0;

        for (const char *p = in; *p; p++) {
                int hi = p[0] == '\\' && p[1] == 'x' ? hex_digit(p[2]) : -1;
                int lo = hi >= 0 ? hex_digit(p[3]) : -1;

                if (o + 1 >= outsz)
                        return -E2BIG;
                if (lo >= 0 && (hi | lo) != 0) {
                        out[o++] = (char) (hi * 16 + lo);
                        p += 3;
                } else
                        out[o++] = *p;
        }
        out[o] = '\0';
        return 0;
}

static void take(const char *line, const char *key, char *dst, size_t dstsz)
{
        size_t n = strlen(key);

        if (strncmp(line, key, n) == 0 && line[n] == '=')
                (void) strcpy_bounded(dst, dstsz, line + n + 1);
}

int udevdb_parse_fs(const char *text, struct fs_facts *ret)
{
        struct fs_facts f = { .source = FS_SOURCE_UDEV };
        char line[512], label_enc[64] = "";
        const char *p = text;

        while (*p) {
                size_t n = strcspn(p, "\n");

                if (n < sizeof(line) && strncmp(p, "E:", 2) == 0) {
                        memcpy(line, p + 2, n - 2);
                        line[n - 2] = '\0';
                        take(line, "ID_FS_TYPE", f.type, sizeof(f.type));
                        take(line, "ID_FS_LABEL", f.label, sizeof(f.label));
                        take(line, "ID_FS_LABEL_ENC", label_enc, sizeof(label_enc));
                        take(line, "ID_PART_TABLE_TYPE", f.pttype, sizeof(f.pttype));
                }
                p += n + (p[n] == '\n');
        }
        if (label_enc[0])
                (void) decode_enc(label_enc, f.label, sizeof(f.label));
        *ret = f;
        return f.type[0] || f.pttype[0] ? 0 : 1;
}

int udevdb_read_fs(const struct sysroot *sr, unsigned major, unsigned minor, struct fs_facts *ret)
{
        _cleanup_free_ char *text = NULL;
        char rel[64];
        size_t len;
        int r;

        snprintf(rel, sizeof(rel), "run/udev/data/b%u:%u", major, minor);
        r = sysroot_read_file(sr, rel, UDEVDB_MAX, &text, &len);
        if (r < 0)
                return r;
        return udevdb_parse_fs(text, ret);
}
