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

static void freezep(char **p)
{
        if (*p) {
                explicit_bzero(*p, strlen(*p));
                free(*p);
        }
}

int keyfile_load(const char *path, struct signing_key **ret)
{
        __attribute__((cleanup(freezep))) char *pem = NULL;
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
