/* SPDX-License-Identifier: Apache-2.0 */
#include "durable.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

int write_all(int fd, const void *data, size_t n)
{
        const char *p = data;

        while (n > 0) {
                ssize_t w = write(fd, p, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return w < 0 ? negative_errno() : -EIO;
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

int fsync_path(const char *path)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return negative_errno();
        return fsync(fd) < 0 ? negative_errno() : 0;
}

int fsync_parent(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        return fsync_path(dirname(copy));
}

/* Fills tmp (PATH_MAX bytes) with the data in a new "<path>.tmp.XXXXXX". */
static int temp_write(const char *path, const char *data, size_t len, char tmp[static PATH_MAX], int *ret_fd)
{
        _cleanup_close_ int fd = -EBADF;
        int n, r;

        n = snprintf(tmp, PATH_MAX, "%s.tmp.XXXXXX", path);
        if (n < 0 || n >= PATH_MAX)
                return -ENAMETOOLONG;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = fchmod(fd, 0644) < 0 ? negative_errno() : write_all(fd, data, len);
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int durable_temp(const char *path, const char *data, size_t len, char **ret_tmp)
{
        _cleanup_close_ int fd = -EBADF;
        char tmp[PATH_MAX], *copy;
        int r;

        r = temp_write(path, data, len, tmp, &fd);
        if (r < 0)
                return r;
        copy = strdup(tmp);
        if (!copy) {
                (void) unlink(tmp);
                return -ENOMEM;
        }
        *ret_tmp = copy;
        return 0;
}

int durable_install_new(const char *tmp, const char *path)
{
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return negative_errno();
        /* A filesystem without RENAME_NOREPLACE: link() never replaces either. */
        if (link(tmp, path) < 0)
                return negative_errno();
        (void) unlink(tmp);
        return 0;
}

int durable_write(const char *path, const char *data, size_t len, bool replace)
{
        _cleanup_close_ int fd = -EBADF;
        char tmp[PATH_MAX];
        int r;

        r = temp_write(path, data, len, tmp, &fd);
        if (r < 0)
                return r;
        r = fsync(fd) < 0 ? negative_errno() : 0;
        if (r == 0 && replace && rename(tmp, path) < 0)
                r = negative_errno();
        if (r == 0 && !replace)
                r = durable_install_new(tmp, path);
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        return fsync_parent(path);
}

bool durable_is_temp(const char *name)
{
        return strstr(name, ".tmp.") != NULL;
}
