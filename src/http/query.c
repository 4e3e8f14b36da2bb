/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Query-string access for handlers, over the raw request URI. */
#include "base/prelude.h"
#include "http/http.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [s, end) into out (cap bytes: nothing written when cap is 0); '+' is a space;
 * invalid escapes are copied as is. */
static void decode(const char *s, const char *end, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t o = 0;
    while (s < end && o + 1 < cap) {
        if (*s == '%' && end - s >= 3 && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            char c = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 3;
            if (c)
                out[o++] = c;
        } else {
            out[o++] = *s == '+' ? ' ' : *s;
            s++;
        }
    }
    out[o] = '\0';
}

bool http_query(const struct http_req *req, const char *name, char *out, size_t cap)
{
    const char *q = req->raw_uri ? strchr(req->raw_uri, '?') : NULL;
    size_t n = strlen(name);
    while (q && *q) {
        q++;
        const char *end = q + strcspn(q, "&");
        const char *eq = memchr(q, '=', (size_t)(end - q));
        const char *key_end = eq ? eq : end;
        if ((size_t)(key_end - q) == n && strncmp(q, name, n) == 0) {
            decode(eq ? eq + 1 : end, end, out, cap);
            return true;
        }
        q = *end ? end : NULL;
    }
    return false;
}
