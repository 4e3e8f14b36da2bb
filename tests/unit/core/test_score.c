/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/score: points and reasons per fact, the default rules, and calls that were not answered. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/score.h"

static void defaults_add_up_to_100(void **state)
{
    (void)state;
    struct score_rules r;
    score_rules_default(&r);
    struct score_result s;
    score_call(&r, &(struct score_call){"completed", 200, true}, &s);
    assert_int_equal(s.score, 100);
    assert_int_equal(s.n_reasons, 4);
    assert_string_equal(s.reasons[0], "answered +25");
    assert_string_equal(s.reasons[1], "talk time >= 60 s +25");
    assert_string_equal(s.reasons[2], "talk time >= 180 s +25");
    assert_string_equal(s.reasons[3], "first-time caller +25");
    score_call(&r, &(struct score_call){"completed", 90, false}, &s);
    assert_int_equal(s.score, 50);
    assert_int_equal(s.n_reasons, 2);
    score_call(&r, &(struct score_call){"completed", 59, false}, &s);
    assert_int_equal(s.score, 25);
}

static void unanswered_calls_get_only_the_caller_points(void **state)
{
    (void)state;
    struct score_rules r;
    score_rules_default(&r);
    struct score_result s;
    score_call(&r, &(struct score_call){"no-answer", 0, true}, &s);
    assert_int_equal(s.score, 25);
    assert_string_equal(s.reasons[0], "first-time caller +25");
    score_call(&r, &(struct score_call){"busy", 300, false},
               &s); /* a busy call's time is not talk */
    assert_int_equal(s.score, 0);
    assert_int_equal(s.n_reasons, 0);
    score_call(&r, &(struct score_call){NULL, 300, false}, &s);
    assert_int_equal(s.score, 0);
    score_call(&r, &(struct score_call){"completed", 0, false}, &s);
    assert_int_equal(s.score, 0);
}

static void custom_rules_and_negative_points(void **state)
{
    (void)state;
    struct score_rules r = {.answered = 10, .first_time = 0, .n_steps = 1};
    r.steps[0].min_s = 30;
    r.steps[0].points = -5; /* a penalty is allowed: points are what the account says */
    struct score_result s;
    score_call(&r, &(struct score_call){"completed", 45, true}, &s);
    assert_int_equal(s.score, 5);
    assert_int_equal(s.n_reasons, 2); /* first-time is worth 0: no reason */
    assert_string_equal(s.reasons[1], "talk time >= 30 s -5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_add_up_to_100),
        cmocka_unit_test(unanswered_calls_get_only_the_caller_points),
        cmocka_unit_test(custom_rules_and_negative_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
