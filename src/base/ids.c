/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Random identifiers. */
#include "base/prelude.h"
#include "base/ids.h"

#include "base/rng.h"

/* 32 symbols in ascending ASCII order, so encoded times sort like the numbers. */
static const char alphabet[] = "23456789abcdefghijkmnpqrstuvwxyz";

void id_new_sorted(const char *prefix, int64_t at, size_t n_chars, char *out, size_t cap)
{
    char head[64];
    size_t n = (size_t)snprintf(head, sizeof(head), "%s", prefix);
    uint64_t t = (uint64_t)(at < 0 ? 0 : at);
    for (int i = 8; i >= 0 && n + 9 < sizeof(head); i--) /* 45 bits: ms until the year 3084 */
        head[n + (size_t)(8 - i)] = alphabet[(t >> (5 * i)) & 31];
    head[n + 9] = '\0';
    id_new(head, n_chars, out, cap);
}

void id_new(const char *prefix, size_t n_chars, char *out, size_t cap)
{
    unsigned char rnd[64];
    if (n_chars > sizeof(rnd))
        n_chars = sizeof(rnd);
    rng_bytes(rnd, n_chars);
    size_t n = (size_t)snprintf(out, cap, "%s", prefix);
    for (size_t i = 0; i < n_chars && n + 1 < cap; i++)
        out[n++] = alphabet[rnd[i] & 31];
    if (n < cap)
        out[n] = '\0';
    explicit_bzero(rnd, sizeof(rnd)); /* the id is out; its randomness is not kept */
}

int id_valid(const char *s, size_t max_len)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= max_len || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return n > 0;
}
