/* SPDX-License-Identifier: Apache-2.0 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "macro.h"

int read_fd_bounded(int fd, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_(buf_done) struct buf b = BUF_INIT(max);
        char chunk[4096];
        ssize_t n;
        int r;

        for (;;) {
                n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                r = buf_append(&b, chunk, (size_t) n);
                if (r < 0)
                        return r;
        }
        /* Not for secrets (read_fd_secret), but leave no stack copy anyway. */
        explicit_bzero(chunk, sizeof(chunk));
        if (!b.data && (r = buf_append(&b, "", 0)) < 0)
                return r;
        *ret_len = b.len;
        *ret = buf_steal(&b);
        return 0;
}

int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return negative_errno();
        return read_fd_bounded(fd, max, ret, ret_len);
}

int read_fd_secret(int fd, size_t max, char **ret, size_t *ret_len)
{
        char *p;
        size_t n = 0;
        ssize_t k;
        int r;

        if (max >= SIZE_MAX / 2)
                return -E2BIG;
        p = malloc(max + 1);
        if (!p)
                return -ENOMEM;
        for (;;) {
                k = read(fd, p + n, max + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = negative_errno();
                        goto fail;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max) {
                        r = -E2BIG;
                        goto fail;
                }
        }
        if (memchr(p, '\0', n)) {
                r = -EINVAL;
                goto fail;
        }
        p[n] = '\0';
        *ret = p;
        *ret_len = n;
        return 0;
fail:
        explicit_bzero(p, n);
        free(p);
        return r;
}

int read_file_secret(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return negative_errno();
        return read_fd_secret(fd, max, ret, ret_len);
}
