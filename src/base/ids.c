/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Random identifiers. */
#include "base/prelude.h"
#include "base/ids.h"

#include <sys/random.h>

void id_new(const char *prefix, size_t n_chars, char *out, size_t cap)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
    unsigned char rnd[64];
    if (n_chars > sizeof(rnd))
        n_chars = sizeof(rnd);
    if (getrandom(rnd, n_chars, 0) != (ssize_t)n_chars)
        abort();
    size_t n = (size_t)snprintf(out, cap, "%s", prefix);
    for (size_t i = 0; i < n_chars && n + 1 < cap; i++)
        out[n++] = alphabet[rnd[i] & 31];
    if (n < cap)
        out[n] = '\0';
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
