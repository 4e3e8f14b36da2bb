/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Bounded growable buffers. */
#include "base/prelude.h"
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/xalloc.h"

void buf_init(struct buf *b, size_t max)
{
    b->cap = 64;
    b->data = xmalloc(b->cap);
    b->data[0] = '\0';
    b->len = 0;
    b->max = max;
}

void buf_release(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->data[0] = '\0';
}

static int grow(struct buf *b, size_t extra)
{
    if (b->max && b->len + extra > b->max)
        return ERR_TOOBIG;
    if (b->len + extra < b->cap)
        return ERR_OK;
    size_t cap = b->cap;
    while (cap <= b->len + extra)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return ERR_OK;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
    int rc = grow(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return ERR_OK;
}

int buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ERR_INVALID;
    if ((size_t)n < b->cap - b->len) {
        if (b->max && b->len + (size_t)n > b->max) {
            b->data[b->len] = '\0';
            return ERR_TOOBIG;
        }
        b->len += (size_t)n;
        return ERR_OK;
    }
    int rc = grow(b, (size_t)n);
    if (rc) {
        b->data[b->len] = '\0';
        return rc;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ERR_OK;
}

int buf_add_xml(struct buf *b, const char *s)
{
    int rc = ERR_OK;
    for (; *s && !rc; s++) {
        switch (*s) {
        case '&':
            rc = buf_adds(b, "&amp;");
            break;
        case '<':
            rc = buf_adds(b, "&lt;");
            break;
        case '>':
            rc = buf_adds(b, "&gt;");
            break;
        case '"':
            rc = buf_adds(b, "&quot;");
            break;
        case '\'':
            rc = buf_adds(b, "&#39;");
            break;
        default:
            rc = buf_addc(b, *s);
            break;
        }
    }
    return rc;
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
