/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* base: bounded buffers and time formatting. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/timefmt.h"

static void buf_enforces_max(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_adds(&b, "12345"), ERR_OK);
    assert_int_equal(buf_adds(&b, "67890"), ERR_OK);
    assert_int_equal(buf_addc(&b, 'x'), ERR_TOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "1234567890");
    buf_release(&b);
}

static void buf_formats_and_grows(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_addf(&b, "%04d", i), ERR_OK);
    assert_int_equal(b.len, 4000);
    assert_memory_equal(b.data + 3996, "0999", 4);
    buf_release(&b);
}

static void buf_escapes_xml(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    buf_add_xml(&b, "<a href=\"x\">&'");
    assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    buf_release(&b);
}

static void time_round_trips(void **state)
{
    int64_t at;
    char out[TIME_RFC3339_LEN];
    assert_int_equal(time_parse("2026-11-26T04:20:00Z", &at), ERR_OK);
    assert_int_equal(at, 1795666800000LL);
    assert_string_equal(time_format(at, out), "2026-11-26T04:20:00Z");
    assert_int_equal(time_parse("2026-11-26T05:20:00.250+01:00", &at), ERR_OK);
    assert_int_equal(at, 1795666800250LL);
    assert_int_equal(time_parse("2026-11-26", &at), ERR_OK);
    assert_string_equal(time_format(at, out), "2026-11-26T00:00:00Z");
    assert_int_equal(time_parse("2026-13-01", &at), ERR_INVALID);
    assert_int_equal(time_parse("yesterday", &at), ERR_INVALID);
    assert_int_equal(time_parse("2026-11-26T04:20:00", &at), ERR_INVALID);
}

/* time_format (its own date arithmetic) writes what gmtime_r + snprintf write, for every
 * kind of time: both ends of the fast range, leap days, ends of months and years, and random
 * times from 1970 to 9999. */
static void time_format_matches_libc(void **state)
{
    (void)state;
    static const int64_t at[] = {0,
                                 999,
                                 1000,
                                 86399999,
                                 86400000,
                                 951782400000LL /* 2000-02-29 */,
                                 951868800000LL,
                                 4107542399000LL /* 2100-02-28T23:59:59 */,
                                 4107542400000LL,
                                 253402300799999LL,
                                 253402300800000LL,
                                 -1,
                                 -86400001,
                                 1795666800250LL};
    char a[TIME_RFC3339_LEN], b[TIME_RFC3339_LEN];
    for (size_t i = 0; i < ARRAY_SIZE(at); i++)
        assert_string_equal(time_format(at[i], a), time_format_libc(at[i], b));
    for (int64_t day = 0; day < 2 * 146097; day += 1) { /* every day of two 400-year cycles */
        int64_t t = day * 86400000LL + (day * 7919) % 86400000LL;
        assert_string_equal(time_format(t, a), time_format_libc(t, b));
    }
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t t = (int64_t)(x % 253402300800000ULL);
        assert_string_equal(time_format(t, a), time_format_libc(t, b));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_enforces_max),         cmocka_unit_test(buf_formats_and_grows),
        cmocka_unit_test(buf_escapes_xml),          cmocka_unit_test(time_round_trips),
        cmocka_unit_test(time_format_matches_libc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
