/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* A growable byte buffer with a hard maximum. The contents are always
 * NUL-terminated (the terminator is not counted in len), so a text body can
 * be handed to a parser without copying. */
struct buf {
        char *data;
        size_t len;
        size_t cap;
        size_t max;
};

#define BUF_INIT(limit) ((struct buf){ .max = (limit) })

/* Returns -E2BIG when the result would exceed max; the buffer is unchanged. */
int buf_append(struct buf *b, const void *p, size_t n);
void buf_reset(struct buf *b);
void buf_done(struct buf *b);
/* Returns the data (caller frees with free()) and empties the buffer. */
char *buf_steal(struct buf *b);
