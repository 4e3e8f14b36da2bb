/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* http: query-string decoding (http_query), with the cases fuzz/fz_query.c found. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/http.h"

static bool query(const char *uri, const char *name, char *out, size_t cap)
{
    struct http_req req = {.raw_uri = uri};
    return http_query(&req, name, out, cap);
}

static void decodes(void **state)
{
    (void)state;
    char v[64];
    assert_true(query("/v1/calls?a=1&since=2026-11-01%2B01:00&a=2", "since", v, sizeof(v)));
    assert_string_equal(v, "2026-11-01+01:00");
    assert_true(query("/x?a=x+y%zz%4", "a", v, sizeof(v)));
    assert_string_equal(v, "x y%zz%4");
    assert_true(query("/x?a=%00b", "a", v, sizeof(v)));
    assert_string_equal(v, "b");
    assert_true(query("/x?b=1&a=1&a=2", "a", v, sizeof(v)));
    assert_string_equal(v, "1");
    assert_true(query("/x?cursor", "cursor", v, sizeof(v)));
    assert_string_equal(v, "");
    assert_false(query("/x?ab=1", "a", v, sizeof(v)));
    assert_false(query("/x", "a", v, sizeof(v)));
}

static void cuts_to_cap(void **state)
{
    (void)state;
    char v[4];
    assert_true(query("/x?a=abcdef", "a", v, sizeof(v)));
    assert_string_equal(v, "abc");
    assert_true(query("/x?a=abcdef", "a", v, 1));
    assert_string_equal(v, "");
}

/* cap 0 wrote the terminating NUL into out[0], one byte past a zero-byte buffer (found by
 * fz_query: the value is cut to cap - 1 bytes, and there is no room even for the NUL). */
static void cap_zero_writes_nothing(void **state)
{
    (void)state;
    char v[2] = {'Z', 'Z'};
    assert_true(query("/x?a=abc", "a", v, 0));
    assert_int_equal(v[0], 'Z');
    assert_true(query("/x?a=", "a", v, 0));
    assert_int_equal(v[0], 'Z');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes),
        cmocka_unit_test(cuts_to_cap),
        cmocka_unit_test(cap_zero_writes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
