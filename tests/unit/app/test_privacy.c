/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* app/privacy: the account's privacy settings (defaults, validation as `account set` applies it)
 * and the retention cutoffs they give. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "app/privacy.h"

#define DAY_MS (86400LL * 1000)

static void absent_settings_are_the_documented_defaults(void **state)
{
    (void)state;
    struct privacy_settings ps;
    assert_int_equal(privacy_settings_parse("{\"record_calls\":true}", &ps, NULL), ERR_OK);
    assert_int_equal(ps.sessions_days, 395);
    assert_int_equal(ps.calls_days, 760);
    assert_int_equal(ps.events_days, 395);
    assert_int_equal(ps.recordings_days, 395);
    assert_true(ps.honor_gpc);
    assert_false(ps.honor_dnt);
    assert_int_equal(privacy_settings_parse(NULL, &ps, NULL), ERR_OK);
    assert_int_equal(ps.calls_days, 760);
}

static void settings_are_read_and_bad_ones_refused(void **state)
{
    (void)state;
    struct privacy_settings ps;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(privacy_settings_parse("{\"retention\":{\"sessions_days\":30,\"calls_days\":0,"
                                            "\"recordings_days\":90},"
                                            "\"privacy\":{\"honor_gpc\":false,\"honor_dnt\":true}}",
                                            &ps, &eb),
                     ERR_OK);
    assert_int_equal(ps.sessions_days, 30);
    assert_int_equal(ps.calls_days, 0);
    assert_int_equal(ps.events_days, 395);
    assert_int_equal(ps.recordings_days, 90);
    assert_false(ps.honor_gpc);
    assert_true(ps.honor_dnt);
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"{\"retention\":{\"calls_days\":-1}}", "calls_days"},
        {"{\"retention\":{\"events_days\":36501}}", "events_days"},
        {"{\"retention\":{\"sessions_days\":\"30\"}}", "sessions_days"},
        {"{\"retention\":{\"recordings_days\":-30}}", "recordings_days"},
        {"{\"retention\":[]}", "retention"},
        {"{\"privacy\":{\"honor_gpc\":\"yes\"}}", "honor_gpc"},
        {"{\"privacy\":{\"gpc\":true}}", "gpc"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        eb = (struct errbuf){{0}, NULL};
        assert_int_equal(privacy_settings_parse(bad[i].json, &ps, &eb), ERR_INVALID);
        assert_non_null(eb.field);
        assert_string_equal(eb.field, bad[i].field);
        assert_int_equal(ps.calls_days, 760); /* the defaults, not half of the bad settings */
    }
}

static void cutoffs_are_days_before_now_and_zero_keeps(void **state)
{
    (void)state;
    struct privacy_settings ps = {.sessions_days = 30, .calls_days = 0, .events_days = 1};
    struct st_retention r;
    int64_t now = 1000 * DAY_MS;
    privacy_retention(&ps, now, &r);
    assert_int_equal(r.sessions_before, 970 * DAY_MS);
    assert_int_equal(r.calls_before, 0);
    assert_int_equal(r.events_before, 999 * DAY_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(absent_settings_are_the_documented_defaults),
        cmocka_unit_test(settings_are_read_and_bad_ones_refused),
        cmocka_unit_test(cutoffs_are_days_before_now_and_zero_keeps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
