/* SPDX-License-Identifier: Apache-2.0 */
#include "durable.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
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

int durable_temp(const char *path, const char *data, size_t len, char **ret_tmp)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = fchmod(fd, 0644) < 0 ? negative_errno() : write_all(fd, data, len);
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        *ret_tmp = TAKE_PTR(tmp);
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
        _cleanup_free_ char *tmp = NULL;
        int r;

        r = durable_temp(path, data, len, &tmp);
        if (r < 0)
                return r;
        r = fsync_path(tmp);
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
