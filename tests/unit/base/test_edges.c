/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* base: the edges issue 13 found in time parsing and log escaping, and the log throttle. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "base/timefmt.h"

static void time_parse_refuses_impossible_dates(void **state)
{
    int64_t at;
    assert_int_equal(time_parse("2026-02-30", &at), ERR_INVALID);
    assert_int_equal(time_parse("2026-02-29", &at), ERR_INVALID); /* not a leap year */
    assert_int_equal(time_parse("2026-04-31T00:00:00Z", &at), ERR_INVALID);
    assert_int_equal(time_parse("2028-02-29", &at), ERR_OK); /* a leap year */
    assert_int_equal(time_parse("2000-02-29", &at), ERR_OK);
    assert_int_equal(time_parse("2100-02-29", &at), ERR_INVALID);
    assert_int_equal(time_parse("2026-12-31T23:59:59Z", &at), ERR_OK);
}

static void time_parse_refuses_impossible_offsets(void **state)
{
    int64_t at;
    assert_int_equal(time_parse("2026-11-26T04:20:00+99:99", &at), ERR_INVALID);
    assert_int_equal(time_parse("2026-11-26T04:20:00+24:00", &at), ERR_INVALID);
    assert_int_equal(time_parse("2026-11-26T04:20:00-05:60", &at), ERR_INVALID);
    assert_int_equal(time_parse("2026-11-26T04:20:00.Z", &at), ERR_INVALID);
    assert_int_equal(time_parse("2026-11-26T04:20:00-05:30", &at), ERR_OK);
    assert_int_equal(at, 1795666800000LL + (5 * 60 + 30) * 60000LL);
    assert_int_equal(time_parse("2026-11-26T04:20:00+23:59", &at), ERR_OK);
}

static void log_escape_escapes_high_bytes(void **state)
{
    char out[128];
    /* invalid UTF-8, a C1 control (NEL) and a bidi override: all escaped, ASCII kept */
    assert_string_equal(log_escape("a\xff\xc2\x85\xe2\x80\xaez\"\n", out, sizeof(out)),
                        "a\\xff\\xc2\\x85\\xe2\\x80\\xaez\\x22\\x0a");
    /* cut at a whole escape, always terminated */
    char small[8];
    assert_string_equal(log_escape("\xff\xff\xff", small, sizeof(small)), "\\xff");
}

static void log_throttle_passes_once_per_interval(void **state)
{
    struct log_throttle t = {0};
    uint64_t held = 99;
    assert_true(log_throttle_pass(&t, 1000, 10000, &held));
    assert_int_equal(held, 0);
    for (int i = 0; i < 400; i++) /* 400 failures in the next 9.9 s: none logged */
        assert_false(log_throttle_pass(&t, 1000 + i * 25, 10000, &held));
    assert_true(log_throttle_pass(&t, 11000, 10000, &held));
    assert_int_equal(held, 400);
    assert_false(log_throttle_pass(&t, 11001, 10000, &held));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_parse_refuses_impossible_dates),
        cmocka_unit_test(time_parse_refuses_impossible_offsets),
        cmocka_unit_test(log_escape_escapes_high_bytes),
        cmocka_unit_test(log_throttle_passes_once_per_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
