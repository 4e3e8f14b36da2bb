/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* app/zones over core/zone: offsets from the system's zone data on both sides of DST changes,
 * the POSIX rule of a zone file's footer for years after its last transition, and names that
 * are refused. The expected instants were computed with Python's zoneinfo over the same zone
 * data. */
#include "base/prelude.h"
#include "app/zones.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define S(x) ((int64_t)(x)) /* Unix seconds */

static const struct zone *load(const char *name)
{
    const struct zone *z = NULL;
    assert_int_equal(zones_get(name, &z), ERR_OK);
    assert_non_null(z);
    assert_string_equal(z->name, name);
    const struct zone *again = NULL;
    assert_int_equal(zones_get(name, &again), ERR_OK);
    assert_ptr_equal(again, z); /* read once, then kept */
    return z;
}

/* The offset of a bare POSIX rule at utc_s: a zone with no transitions and that rule. */
static int rule_offset(const char *rule, int64_t utc_s, int32_t *off)
{
    struct zone z;
    zone_fixed(&z, "", 0);
    int rc = zone_parse_rule(rule, &z.rule, NULL);
    if (rc == ERR_OK) {
        z.has_rule = true;
        *off = zone_offset(&z, utc_s);
    }
    return rc;
}

static void chicago_dst_changes(void **state)
{
    (void)state;
    const struct zone *z = load("America/Chicago");
    /* 2026-03-08 08:00:00Z: 02:00 CST becomes 03:00 CDT. */
    assert_int_equal(zone_offset(z, S(1772956800) - 1), -6 * 3600);
    assert_int_equal(zone_offset(z, S(1772956800)), -5 * 3600);
    /* 2026-11-01 07:00:00Z: 02:00 CDT becomes 01:00 CST. */
    assert_int_equal(zone_offset(z, S(1793516400) - 1), -5 * 3600);
    assert_int_equal(zone_offset(z, S(1793516400)), -6 * 3600);
    /* 2045-03-12 08:00:00Z, after the file's transitions: the footer's rule. */
    assert_int_equal(zone_offset(z, S(2372918400) - 1), -6 * 3600);
    assert_int_equal(zone_offset(z, S(2372918400)), -5 * 3600);
    assert_int_equal(zone_offset(z, S(631152000)), -6 * 3600); /* 1990-01-01 */
}

static void other_zones(void **state)
{
    (void)state;
    const struct zone *z = load("Europe/Berlin");
    assert_int_equal(zone_offset(z, S(1774746000) - 1), 3600); /* 2026-03-29 01:00Z */
    assert_int_equal(zone_offset(z, S(1774746000)), 7200);
    z = load("Asia/Kolkata");
    assert_int_equal(zone_offset(z, S(1772956800)), 5 * 3600 + 1800);
    z = load("UTC");
    assert_int_equal(zone_offset(z, S(1772956800)), 0);
    /* The southern hemisphere: DST spans the new year (2050, from the footer's rule). */
    z = load("Australia/Sydney");
    assert_int_equal(zone_offset(z, S(2532528000) - 1), 11 * 3600);
    assert_int_equal(zone_offset(z, S(2532528000)), 10 * 3600);
    assert_int_equal(zone_offset(z, S(2548252800) - 1), 10 * 3600);
    assert_int_equal(zone_offset(z, S(2548252800)), 11 * 3600);
}

static void posix_rules(void **state)
{
    (void)state;
    int32_t off = 0;
    assert_int_equal(rule_offset("CST6CDT,M3.2.0,M11.1.0", S(1772956800), &off), ERR_OK);
    assert_int_equal(off, -5 * 3600);
    assert_int_equal(rule_offset("<+0330>-3:30", S(0), &off), ERR_OK);
    assert_int_equal(off, 3 * 3600 + 1800);
    assert_int_equal(rule_offset("AEST-10AEDT,M10.1.0,M4.1.0/3", S(2532528000), &off), ERR_OK);
    assert_int_equal(off, 10 * 3600);
    assert_int_equal(rule_offset("EST", S(0), &off), ERR_INVALID);
    assert_int_equal(rule_offset("CST6CDT,M13.2.0,M11.1.0", S(0), &off), ERR_INVALID);
    assert_int_equal(rule_offset("", S(0), &off), ERR_INVALID);
}

static void bad_names(void **state)
{
    (void)state;
    const struct zone *z = (const struct zone *)1;
    assert_int_equal(zones_get("../../etc/passwd", &z), ERR_INVALID);
    assert_null(z);
    assert_int_equal(zones_get("/etc/passwd", &z), ERR_INVALID);
    assert_int_equal(zones_get("America/Chicago\n", &z), ERR_INVALID);
    assert_int_equal(zones_get("", &z), ERR_INVALID);
    assert_int_equal(zones_get("Nowhere/Atlantis", &z), ERR_NOTFOUND);
    assert_int_equal(zones_get("America", &z), ERR_IO); /* a directory, not a zone */
    assert_int_equal(zones_get(NULL, &z), ERR_INVALID);
    assert_true(zone_name_ok("America/Argentina/Buenos_Aires"));
    assert_true(zone_name_ok("Etc/GMT+5"));
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
