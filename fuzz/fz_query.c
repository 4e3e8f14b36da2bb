/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Fuzz target: query-string decoding (src/http/query.c http_query), which every GET handler's
 * parameters go through. Input: a parameter name, '\n', the raw request URI.
 * Invariants: http_query finds the name exactly when a reference split of the query (after the
 * first '?', on '&', the key before the first '=') has that key; the value it writes is the
 * reference decoding ('+' is a space, %XX a byte, %00 dropped, a bad escape kept as is) cut to
 * cap - 1 bytes and NUL-terminated, within cap bytes, for every cap (0 included); and encoding
 * any value (the URI's bytes) into a query decodes back to it. */
#include "base/prelude.h"

#include "http/http.h"
#include "fuzz.h"

static int hexval(char c)
{
    const char *digits = "0123456789abcdef0123456789ABCDEF";
    const char *p = c ? strchr(digits, c) : NULL;
    return p ? (int)(p - digits) % 16 : -1;
}

/* The reference decoding of [s, s+n) into out (n + 1 bytes): how long it is. */
static size_t ref_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            char c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            if (c)
                out[o++] = c;
            i += 3;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
            i++;
        }
    }
    out[o] = '\0';
    return o;
}

/* The raw value of the first pair whose key is name in uri's query: true and [*v, *v + *n). */
static bool ref_find(const char *uri, const char *name, const char **v, size_t *n)
{
    const char *q = strchr(uri, '?');
    if (!q)
        return false;
    for (const char *p = q + 1;;) {
        size_t len = strcspn(p, "&");
        size_t key = strcspn(p, "=&");
        if (key == strlen(name) && strncmp(p, name, key) == 0) {
            *v = p + key + (key < len); /* after '=', or the empty rest of a bare key */
            *n = len - key - (key < len);
            return true;
        }
        if (!p[len])
            return false;
        p += len + 1;
    }
}

static void check_caps(const struct http_req *req, const char *name, const char *want,
                       size_t want_len)
{
    static const size_t caps[] = {0, 1, 2, 3, 16, 64, 4096};
    for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
        size_t cap = caps[i];
        char *out = xmalloc(cap ? cap : 1); /* exactly cap bytes; for cap 0 a guard byte */
        out[0] = 'Z';
        bool found = http_query(req, name, out, cap);
        FUZZ_CHECK(found == (want != NULL));
        FUZZ_CHECK(cap > 0 || out[0] == 'Z'); /* cap 0: nothing written */
        if (found && cap > 0) {
            size_t n = want_len < cap - 1 ? want_len : cap - 1;
            FUZZ_CHECK(memcmp(out, want, n) == 0 && out[n] == '\0');
        }
        free(out);
    }
}

/* Percent-encodes every byte of value (NUL excluded) and decodes it back through http_query. */
static void check_round_trip(const char *value)
{
    size_t n = strlen(value);
    size_t cap = 3 * n + 16;
    char *uri = xmalloc(cap);
    int o = snprintf(uri, cap, "/v1/x?a=1&v=");
    for (size_t i = 0; i < n; i++) /* both cases of hex digits */
        o += snprintf(uri + o, cap - (size_t)o, i % 2 ? "%%%02X" : "%%%02x",
                      (unsigned char)value[i]);
    snprintf(uri + o, cap - (size_t)o, "&v=2");
    struct http_req req = {.raw_uri = uri};
    char *out = xmalloc(n + 1);
    FUZZ_CHECK(http_query(&req, "v", out, n + 1) && strcmp(out, value) == 0);
    free(out);
    free(uri);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *s = fuzz_cstr(data, size);
    char *nl = strchr(s, '\n');
    const char *name = nl ? s : "q";
    const char *uri = nl ? nl + 1 : s;
    if (nl)
        *nl = '\0';
    const char *raw = NULL;
    size_t raw_n = 0;
    char *want = NULL;
    size_t want_len = 0;
    if (ref_find(uri, name, &raw, &raw_n)) {
        want = xmalloc(raw_n + 1);
        want_len = ref_decode(raw, raw_n, want);
    }
    struct http_req req = {.raw_uri = uri};
    check_caps(&req, name, want, want_len);
    struct http_req none = {.raw_uri = NULL};
    char out[8];
    FUZZ_CHECK(!http_query(&none, name, out, sizeof(out)));
    check_round_trip(uri);
    free(want);
    free(s);
    return 0;
}
