/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* FNV-1a, 64 bits: the one non-cryptographic hash for in-memory tables and ETags. Not for
 * anything an attacker must not be able to collide on purpose. */
#ifndef OPENDNI_BASE_HASH_H
#define OPENDNI_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static inline uint64_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

#endif
