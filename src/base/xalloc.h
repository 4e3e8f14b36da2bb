/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Allocation that never returns NULL: out of memory logs and aborts, since a server can do
 * nothing useful after it. Memory returned belongs to the caller; free it with free(). */
#ifndef OPENDNI_BASE_XALLOC_H
#define OPENDNI_BASE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
