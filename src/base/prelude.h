/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Included first by every .c file: feature macros, the basic C headers, and the banned list. */
#ifndef OPENDNI_BASE_PRELUDE_H
#define OPENDNI_BASE_PRELUDE_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
/* The headers that declare banned functions come before banned.h redefines them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define UNUSED __attribute__((unused))

/* Copies s (NULL: "") into dst of cap bytes, cut to fit and terminated (cap 0: nothing): what
 * snprintf(dst, cap, "%s", s) does, without its formatting machinery (~600 instructions a call
 * under callgrind, a tenth of a repeat page view's HTTP work in such copies). */
static inline void str_copy(char *dst, size_t cap, const char *s)
{
    if (!cap)
        return;
    size_t n = s ? strnlen(s, cap - 1) : 0;
    if (n)
        memcpy(dst, s, n);
    dst[n] = '\0';
}

#include "base/banned.h"

#endif
