/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0)
                (void) close(*fd);
}

/* For secrets (tokens, key PEM): wipe before freeing. */
static inline void free_secretp(char **p)
{
        if (*p) {
                explicit_bzero(*p, strlen(*p));
                free(*p);
        }
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_secret_ _cleanup_(free_secretp)
#define _cleanup_close_ _cleanup_(closep)

/* Hands ownership over: returns the pointer and leaves NULL behind, so the
 * caller's cleanup attribute does nothing. */
static inline void *take_ptr(void *pp)
{
        void **p = pp;
        void *v = *p;

        *p = NULL;
        return v;
}
#define TAKE_PTR(p) take_ptr(&(p))

static inline int take_fd(int *fd)
{
        int v = *fd;

        *fd = -EBADF;
        return v;
}
#define TAKE_FD(fd) take_fd(&(fd))

static inline int negative_errno(void)
{
        return errno > 0 ? -errno : -EIO;
}
