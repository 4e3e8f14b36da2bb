/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The calls list's keyset cursor (app/admin.h admin_cursor_format/admin_cursor_parse), moved
 * out of the HTTP handler (src/http/handlers/h_calls.c) unchanged. Pure. */
#include "base/prelude.h"
#include "app/admin.h"

static bool parse_hex(const char *s, const char *end, int64_t *out)
{
    if (s == end || end - s > 16)
        return false;
    uint64_t v = 0;
    for (; s < end; s++) {
        int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v * 16 + (uint64_t)d;
    }
    *out = (int64_t)v;
    return true;
}

void admin_cursor_format(int64_t at, int64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "c%" PRIx64 ".%" PRIx64, (uint64_t)at, (uint64_t)id);
}

bool admin_cursor_parse(const char *s, int64_t *at, int64_t *id)
{
    const char *dot = strchr(s, '.');
    int64_t a, i;
    if (s[0] != 'c' || !dot || !parse_hex(s + 1, dot, &a) || !parse_hex(dot + 1, s + strlen(s), &i))
        return false;
    *at = a;
    *id = i;
    return true;
}
