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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_enforces_max),
        cmocka_unit_test(buf_formats_and_grows),
        cmocka_unit_test(buf_escapes_xml),
        cmocka_unit_test(time_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
