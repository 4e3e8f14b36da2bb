/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* base/tz: offsets from the system's zone data on both sides of DST changes, the POSIX rule of a
 * zone file's footer for years after its last transition, and names that are refused. The
 * expected instants were computed with Python's zoneinfo over the same zone data. */
#include "base/prelude.h"
#include "base/tz.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define S(x) ((int64_t)(x)*1000)

static struct tz *load(const char *name)
{
    struct tz *z = NULL;
    assert_int_equal(tz_load(name, &z), ERR_OK);
    assert_non_null(z);
    assert_string_equal(tz_name(z), name);
    return z;
}

static void chicago_dst_changes(void **state)
{
    (void)state;
    struct tz *z = load("America/Chicago");
    /* 2026-03-08 08:00:00Z: 02:00 CST becomes 03:00 CDT. */
    assert_int_equal(tz_offset_at(z, S(1772956800) - 1), -6 * 3600);
    assert_int_equal(tz_offset_at(z, S(1772956800)), -5 * 3600);
    /* 2026-11-01 07:00:00Z: 02:00 CDT becomes 01:00 CST. */
    assert_int_equal(tz_offset_at(z, S(1793516400) - 1), -5 * 3600);
    assert_int_equal(tz_offset_at(z, S(1793516400)), -6 * 3600);
    /* 2045-03-12 08:00:00Z, after the file's transitions: the footer's rule. */
    assert_int_equal(tz_offset_at(z, S(2372918400) - 1), -6 * 3600);
    assert_int_equal(tz_offset_at(z, S(2372918400)), -5 * 3600);
    assert_int_equal(tz_offset_at(z, S(631152000)), -6 * 3600); /* 1990-01-01 */
    tz_free(z);
}

static void other_zones(void **state)
{
    (void)state;
    struct tz *z = load("Europe/Berlin");
    assert_int_equal(tz_offset_at(z, S(1774746000) - 1), 3600); /* 2026-03-29 01:00Z */
    assert_int_equal(tz_offset_at(z, S(1774746000)), 7200);
    tz_free(z);
    z = load("Asia/Kolkata");
    assert_int_equal(tz_offset_at(z, S(1772956800)), 5 * 3600 + 1800);
    tz_free(z);
    z = load("UTC");
    assert_int_equal(tz_offset_at(z, S(1772956800)), 0);
    tz_free(z);
    /* The southern hemisphere: DST spans the new year (2050, from the footer's rule). */
    z = load("Australia/Sydney");
    assert_int_equal(tz_offset_at(z, S(2532528000) - 1), 11 * 3600);
    assert_int_equal(tz_offset_at(z, S(2532528000)), 10 * 3600);
    assert_int_equal(tz_offset_at(z, S(2548252800) - 1), 10 * 3600);
    assert_int_equal(tz_offset_at(z, S(2548252800)), 11 * 3600);
    tz_free(z);
}

static void posix_rules(void **state)
{
    (void)state;
    int32_t off = 0;
    assert_int_equal(tz_posix_offset("CST6CDT,M3.2.0,M11.1.0", S(1772956800), &off), ERR_OK);
    assert_int_equal(off, -5 * 3600);
    assert_int_equal(tz_posix_offset("<+0330>-3:30", S(0), &off), ERR_OK);
    assert_int_equal(off, 3 * 3600 + 1800);
    assert_int_equal(tz_posix_offset("AEST-10AEDT,M10.1.0,M4.1.0/3", S(2532528000), &off), ERR_OK);
    assert_int_equal(off, 10 * 3600);
    assert_int_equal(tz_posix_offset("EST", S(0), &off), ERR_INVALID);
    assert_int_equal(tz_posix_offset("CST6CDT,M13.2.0,M11.1.0", S(0), &off), ERR_INVALID);
    assert_int_equal(tz_posix_offset("", S(0), &off), ERR_INVALID);
}

static void bad_names(void **state)
{
    (void)state;
    struct tz *z = (struct tz *)1;
    assert_int_equal(tz_load("../../etc/passwd", &z), ERR_INVALID);
    assert_null(z);
    assert_int_equal(tz_load("/etc/passwd", &z), ERR_INVALID);
    assert_int_equal(tz_load("America/Chicago\n", &z), ERR_INVALID);
    assert_int_equal(tz_load("", &z), ERR_INVALID);
    assert_int_equal(tz_load("Nowhere/Atlantis", &z), ERR_NOTFOUND);
    assert_int_equal(tz_load("America", &z), ERR_IO); /* a directory, not a zone */
    assert_false(tz_name_valid(NULL));
    assert_true(tz_name_valid("America/Argentina/Buenos_Aires"));
    assert_true(tz_name_valid("Etc/GMT+5"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chicago_dst_changes),
        cmocka_unit_test(other_zones),
        cmocka_unit_test(posix_rules),
        cmocka_unit_test(bad_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
