/* SPDX-License-Identifier: Apache-2.0 */
#include "mountinfo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strparse.h"

/* Mount points escape space, tab, newline and backslash as \ooo. Decodes
 * in place (the output is never longer) and terminates the field. */
static void unescape(char *in, size_t n)
{
        size_t o = 0;
        char *out = in;

        for (size_t i = 0; i < n; i++) {
                if (in[i] == '\\' && i + 3 < n &&
                    in[i + 1] >= '0' && in[i + 1] <= '3' && in[i + 2] >= '0' && in[i + 2] <= '7' &&
                    in[i + 3] >= '0' && in[i + 3] <= '7') {
                        out[o++] = (char) ((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 + (in[i + 3] - '0'));
                        i += 3;
                } else
                        out[o++] = in[i];
        }
        out[o] = '\0';
}

/* Splits a line into at most max space-separated fields (pointer+length). */
static size_t split(char *line, size_t len, char **f, size_t *fl, size_t max)
{
        size_t n = 0, i = 0;

        while (i < len && n < max) {
                while (i < len && line[i] == ' ')
                        i++;
                if (i >= len)
                        break;
                f[n] = line + i;
                while (i < len && line[i] != ' ')
                        i++;
                fl[n] = (size_t) (line + i - f[n]);
                n++;
        }
        return n;
}

static int parse_line(char *line, size_t len, struct mount_entry *e)
{
        char *f[32];
        size_t fl[32], n, sep;
        char dev[32];

        n = split(line, len, f, fl, 32);
        for (sep = 6; sep < n; sep++)
                if (fl[sep] == 1 && f[sep][0] == '-')
                        break;
        if (n < 7 || sep + 2 >= n || fl[2] >= sizeof(dev))
                return -EBADMSG;
        /* Fields too long for us (deep container overlay paths) are -E2BIG:
         * the caller skips such a line instead of truncating it. */
        memcpy(dev, f[2], fl[2]);
        dev[fl[2]] = '\0';
        if (parse_devnum(dev, &e->major, &e->minor) < 0)
                return -EBADMSG;
        if (fl[4] >= MOUNTINFO_MAX_FIELD || fl[sep + 1] >= 32 || fl[sep + 2] >= MOUNTINFO_MAX_FIELD)
                return -E2BIG;
        /* Terminating a field overwrites the blank after it: all fields are
         * split already. */
        unescape(f[4], fl[4]);
        unescape(f[sep + 1], fl[sep + 1]);
        unescape(f[sep + 2], fl[sep + 2]);
        e->mountpoint = f[4];
        e->fstype = f[sep + 1];
        e->source = f[sep + 2];
        return 0;
}

/* The table grows as lines come: a node has tens to a few thousand mounts,
 * and a table sized for the worst case would stay resident in the heap. */
static int table_add(struct mount_table *t, size_t *cap, const struct mount_entry *e)
{
        if (t->n >= MOUNTINFO_MAX_ENTRIES)
                return -ENOSPC;
        if (t->n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 64;
                struct mount_entry *n;

                if (ncap > MOUNTINFO_MAX_ENTRIES)
                        ncap = MOUNTINFO_MAX_ENTRIES;
                n = reallocarray(t->entries, ncap, sizeof(*n));
                if (!n)
                        return -ENOMEM;
                t->entries = n;
                *cap = ncap;
        }
        t->entries[t->n++] = *e;
        return 0;
}

int mountinfo_parse(const char *text, struct mount_table *ret)
{
        struct mount_table t = { 0 };
        size_t cap = 0;
        char *p;
        int r;

        t.text = strdup(text);
        if (!t.text)
                return -ENOMEM;
        p = t.text;
        while (*p) {
                size_t len = strcspn(p, "\n");
                bool more = p[len] == '\n';    /* parse_line may overwrite it */
                struct mount_entry e = { 0 };

                if (len > 0) {
                        r = parse_line(p, len, &e);     /* -E2BIG: a line we skip */
                        if (r == 0)
                                r = table_add(&t, &cap, &e);
                        if (r < 0 && r != -E2BIG) {
                                mount_table_done(&t);
                                return r == -ENOSPC ? -E2BIG : r;
                        }
                }
                p += len + more;
        }
        *ret = t;
        return 0;
}

void mount_table_done(struct mount_table *t)
{
        free(t->entries);
        t->entries = NULL;
        free(t->text);
        t->text = NULL;
        t->n = 0;
}

const struct mount_entry *mount_table_root(const struct mount_table *t)
{
        for (size_t i = t->n; i > 0; i--)
                if (strcmp(t->entries[i - 1].mountpoint, "/") == 0)
                        return &t->entries[i - 1];
        return NULL;
}
