/* SPDX-License-Identifier: Apache-2.0 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "fileio.h"
#include "macro.h"

int keyfile_read_private(const char *opt, const char *path, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        int r;

        if (fd < 0 || fstat(fd, &st) < 0) {
                r = negative_errno();
                log_error("%s %s: %s", opt, path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                log_error("%s %s: not a regular file", opt, path);
                return -EINVAL;
        }
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
                log_error("%s %s: readable by group or other (mode %04o); run chmod 600 on it",
                          opt, path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        r = read_fd_secret(fd, KEYFILE_MAX, ret, ret_len);
        if (r < 0)
                log_error("%s %s: %s", opt, path, strerror(-r));
        return r;
}

int keyfile_load(const char *path, struct signing_key **ret)
{
        _cleanup_secret_ char *pem = NULL;
        size_t len = 0;
        int r;

        r = keyfile_read_private("--key", path, &pem, &len);
        if (r < 0)
                return r;
        r = signing_key_from_pem(pem, len, ret);
        if (r < 0)
                log_error("--key %s: not a PEM PKCS#8 EC P-256 private key", path);
        return r;
}
