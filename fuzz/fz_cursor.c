/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Fuzz target: the calls list's keyset cursor (GET /v1/calls?cursor=, app/admin.h
 * admin_cursor_parse and admin_cursor_format). Invariants: a refused cursor leaves the outputs
 * alone; an accepted one formats back to itself without its leading zeros, and that parses to
 * the same pair; any (started_at, id) pair, read from the input's bytes, formats to a cursor of
 * at most ADMIN_CURSOR_MAX - 1 bytes that parses back to the pair. */
#include "base/prelude.h"

#include "app/admin.h"
#include "fuzz.h"

/* s without the leading zeros of its two hex parts ("c00a.0" -> "ca.0"), into out. */
static void strip_zeros(const char *s, char *out, size_t cap)
{
    const char *dot = strchr(s, '.');
    const char *a = s + 1;
    while (*a == '0' && a + 1 < dot)
        a++;
    const char *b = dot + 1;
    while (*b == '0' && b[1])
        b++;
    snprintf(out, cap, "c%.*s.%s", (int)(dot - a), a, b);
}

static bool hex_part(const char *s, size_t n)
{
    return n >= 1 && n <= 16 && strspn(s, "0123456789abcdef") >= n;
}

static void check_pair(int64_t at, int64_t id)
{
    char c[ADMIN_CURSOR_MAX + 8];
    memset(c, 'x', sizeof(c));
    admin_cursor_format(at, id, c, ADMIN_CURSOR_MAX);
    FUZZ_CHECK(strlen(c) < ADMIN_CURSOR_MAX);
    int64_t a = 0, i = 0;
    FUZZ_CHECK(admin_cursor_parse(c, &a, &i) && a == at && i == id);
    char small[8];
    admin_cursor_format(at, id, small, sizeof(small)); /* truncated, terminated */
    FUZZ_CHECK(strlen(small) < sizeof(small) && strncmp(small, c, strlen(small)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 128)
        return 0; /* the handler reads at most 63 bytes */
    char *s = fuzz_cstr(data, size);
    int64_t at = 42, id = 43;
    bool ok = admin_cursor_parse(s, &at, &id);
    const char *dot = strchr(s, '.');
    bool want = s[0] == 'c' && dot && hex_part(s + 1, (size_t)(dot - s - 1)) &&
                hex_part(dot + 1, strlen(dot + 1));
    FUZZ_CHECK(ok == want);
    if (!ok) {
        FUZZ_CHECK(at == 42 && id == 43);
    } else {
        char back[ADMIN_CURSOR_MAX], canon[128];
        admin_cursor_format(at, id, back, sizeof(back));
        strip_zeros(s, canon, sizeof(canon));
        FUZZ_CHECK(strcmp(back, canon) == 0);
        check_pair(at, id);
    }
    if (size >= 16) {
        int64_t pair[2];
        memcpy(pair, data, sizeof(pair));
        check_pair(pair[0], pair[1]);
    }
    free(s);
    return 0;
}
