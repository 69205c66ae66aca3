/* SPDX-License-Identifier: Apache-2.0 */
#include "sysroot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "strparse.h"

#define MAX_LINKS 40

int sysroot_open(const char *path, struct sysroot *ret)
{
        int fd = open(path ? path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return negative_errno();
        ret->dirfd = fd;
        return 0;
}

void sysroot_close(struct sysroot *sr)
{
        if (sr->dirfd >= 0)
                (void) close(sr->dirfd);
        sr->dirfd = -EBADF;
}

int path_join(char *out, size_t outsz, const char *a, const char *b)
{
        int n;

        if (!*a)
                n = snprintf(out, outsz, "%s", b);
        else
                n = snprintf(out, outsz, "%s/%s", a, b);
        return n < 0 || (size_t) n >= outsz ? -ENAMETOOLONG : 0;
}

/* Removes the last component of a root-relative path in place. */
static void path_pop(char *p)
{
        char *slash = strrchr(p, '/');

        if (slash)
                *slash = '\0';
        else
                p[0] = '\0';
}

/* The components still to resolve: buf from pos on. */
struct pending {
        char buf[PATH_MAX];
        size_t pos;
};

/* Pushes the components of a link target in front of what is pending. */
static int pending_prepend(struct pending *p, const char *rest)
{
        char tmp[PATH_MAX];
        const char *tail = p->buf + p->pos;
        int n;

        if (!*tail)
                n = snprintf(tmp, sizeof(tmp), "%s", rest);
        else
                n = snprintf(tmp, sizeof(tmp), "%s/%s", rest, tail);
        if (n < 0 || (size_t) n >= sizeof(tmp))
                return -ENAMETOOLONG;
        memcpy(p->buf, tmp, (size_t) n + 1);
        p->pos = 0;
        return 0;
}

static int next_component(struct pending *p, char *comp, size_t compsz)
{
        const char *s = p->buf + p->pos;
        size_t n;

        while (*s == '/')
                s++;
        n = strcspn(s, "/");
        if (n >= compsz)
                return -ENAMETOOLONG;
        memcpy(comp, s, n);
        comp[n] = '\0';
        p->pos = (size_t) (s + n - p->buf);
        return 0;
}

static int step(const struct sysroot *sr, char *out, size_t outsz, struct pending *pending,
                const char *comp, unsigned *links)
{
        char cand[PATH_MAX], target[PATH_MAX];
        ssize_t n;

        if (!strcmp(comp, ".") || !*comp)
                return 0;
        if (!strcmp(comp, "..")) {
                path_pop(out);          /* ".." at the root stays at the root */
                return 0;
        }
        if (path_join(cand, sizeof(cand), out, comp) < 0)
                return -ENAMETOOLONG;
        n = readlinkat(sr->dirfd, cand, target, sizeof(target) - 1);
        if (n < 0) {
                if (errno != EINVAL && errno != ENOENT)
                        return negative_errno();
                /* Not a link (or not there yet): keep the component. */
                return strcpy_bounded(out, outsz, cand) < 0 ? -ENAMETOOLONG : 0;
        }
        if (++*links > MAX_LINKS)
                return -ELOOP;
        target[n] = '\0';
        if (target[0] == '/')
                out[0] = '\0';          /* absolute links restart at the root */
        return pending_prepend(pending, target);
}

int sysroot_resolve(const struct sysroot *sr, const char *rel, char *out, size_t outsz)
{
        struct pending pending = { .pos = 0 };
        char comp[NAME_MAX + 1], res[PATH_MAX] = "";
        unsigned links = 0;
        int r;

        if (strcpy_bounded(pending.buf, sizeof(pending.buf), rel) < 0)
                return -ENAMETOOLONG;
        while (pending.buf[pending.pos]) {
                r = next_component(&pending, comp, sizeof(comp));
                if (r < 0)
                        return r;
                r = step(sr, res, sizeof(res), &pending, comp, &links);
                if (r < 0)
                        return r;
        }
        return strcpy_bounded(out, outsz, res) < 0 ? -ENAMETOOLONG : 0;
}

int sysroot_open_file(const struct sysroot *sr, const char *rel, int flags)
{
        char real[PATH_MAX];
        int r, fd;

        r = sysroot_resolve(sr, rel, real, sizeof(real));
        if (r < 0)
                return r;
        if (!*real)
                return -EISDIR;
        fd = openat(sr->dirfd, real, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        return fd < 0 ? negative_errno() : fd;
}

int sysroot_read_file(const struct sysroot *sr, const char *rel, size_t max, char **ret, size_t *ret_len)
{
        /* O_NONBLOCK: a FIFO put where an attribute should be must not hang
         * the agent in open(); then only regular files are read (sysfs, proc
         * and udev files all are), never a FIFO or a device node. */
        _cleanup_close_ int fd = sysroot_open_file(sr, rel, O_RDONLY | O_NONBLOCK);
        struct stat st;

        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return S_ISDIR(st.st_mode) ? -EISDIR : -EBADF;
        return read_fd_bounded(fd, max, ret, ret_len);
}

int sysroot_read_attr(const struct sysroot *sr, const char *rel, char *buf, size_t bufsz)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r;

        r = sysroot_read_file(sr, rel, bufsz - 1, &data, &len);
        if (r < 0)
                return r;
        return strcpy_bounded(buf, bufsz, strstrip(data));
}
