/* SPDX-License-Identifier: Apache-2.0 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fileio.h"
#include "macro.h"

int keyfile_load(const char *path, struct signing_key **ret)
{
        _cleanup_secret_ char *pem = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        size_t len;
        int r;

        if (fd < 0 || fstat(fd, &st) < 0) {
                r = negative_errno();
                log_error("--key %s: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                log_error("--key %s: not a regular file", path);
                return -EINVAL;
        }
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
                log_error("--key %s: readable by group or other (mode %04o); run chmod 600 on it",
                          path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        r = read_fd_bounded(fd, KEYFILE_MAX, &pem, &len);
        if (r < 0) {
                log_error("--key %s: %s", path, strerror(-r));
                return r;
        }
        r = signing_key_from_pem(pem, len, ret);
        if (r < 0)
                log_error("--key %s: not a PEM PKCS#8 EC P-256 private key", path);
        return r;
}
