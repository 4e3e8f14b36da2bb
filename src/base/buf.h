/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* struct buf: a growable byte buffer with a hard maximum, for anything the network can grow.
 * Invariants after buf_init: data is never NULL, data[len] == '\0', len < cap <= max + 1.
 * The buffer owns data; buf_release frees it and leaves an empty, reusable buffer. */
#ifndef OPENDNI_BASE_BUF_H
#define OPENDNI_BASE_BUF_H

#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* most bytes the buffer may hold (0: no limit) */
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);

/* Appends n bytes. Returns ERR_OK, or ERR_TOOBIG (and appends nothing) past max. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s with the XML/HTML special characters escaped (& < > " '). */
int buf_add_xml(struct buf *b, const char *s);

/* Hands the data to the caller (free() it) and leaves b empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
