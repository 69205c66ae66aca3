/* SPDX-License-Identifier: Apache-2.0 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
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
