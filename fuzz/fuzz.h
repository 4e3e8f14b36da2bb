/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared by the fuzz targets (fz_*.c) and the corpus replay main (replay.c): the libFuzzer
 * entry point, the check that turns a broken invariant into a crash libFuzzer reports with its
 * input, and checks for text the network may have written (UTF-8, control characters). */
#ifndef OPENDNI_FUZZ_FUZZ_H
#define OPENDNI_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

/* Runs one input through the target. Returns 0 (libFuzzer's contract); a broken invariant
 * aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: print where and abort. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* data[0..size) as a new NUL-terminated string (an embedded NUL ends it early, as it would
 * for any C caller). Free with free(). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Length of the UTF-8 character at s[0..n), or 0 if it is not valid UTF-8 (truncated,
 * overlong, a surrogate or past U+10FFFF). *cp gets the code point. */
static inline size_t fuzz_utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
    static const uint32_t min_of[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len = s[0] < 0x80                   ? 1
                 : s[0] >= 0xc0 && s[0] < 0xe0 ? 2
                 : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
                 : s[0] >= 0xf0 && s[0] < 0xf8 ? 4
                                               : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t c = len == 1 ? s[0] : s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min_of[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* True if s[0..n) is valid UTF-8 without C0 controls, DEL or C1 controls (U+0080-U+009F). */
static inline bool fuzz_clean_text(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t c = 0;
        size_t len = fuzz_utf8_char(p + i, n - i, &c);
        if (len == 0)
            return false;
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
            return false;
        i += len;
    }
    return true;
}

/* A fixed text field: NUL-terminated within cap bytes, clean, no control characters. */
static inline bool fuzz_field_ok(const char *field, size_t cap)
{
    const char *nul = memchr(field, '\0', cap);
    return nul && fuzz_clean_text(field, (size_t)(nul - field));
}

#endif
