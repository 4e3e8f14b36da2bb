/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* report/audit: the audit's reproducible sample, the Wilson interval (values from the formula
 * of Wilson 1927 / Newcombe 1998, worked by hand below, not copied from the code's output) and
 * the reading of a marked CSV. */
#include "base/prelude.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "report/audit.h"

static void the_same_seed_draws_the_same_calls(void **state)
{
    (void)state;
    size_t a[100], b[100], c[100];
    assert_int_equal(audit_sample(42, 1000, 100, a), 100);
    assert_int_equal(audit_sample(42, 1000, 100, b), 100);
    assert_int_equal(audit_sample(43, 1000, 100, c), 100);
    assert_memory_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, c, sizeof(a));
    for (size_t i = 0; i < 100; i++) {
        assert_true(a[i] < 1000);
        if (i)
            assert_true(a[i] > a[i - 1]); /* ascending, so distinct */
    }
}

static void a_sample_larger_than_the_calls_takes_them_all(void **state)
{
    (void)state;
    size_t out[10];
    assert_int_equal(audit_sample(7, 5, 10, out), 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(out[i], i);
    assert_int_equal(audit_sample(7, 0, 10, out), 0);
}

/* Each of 20 calls is drawn by a sample of 5 with probability 1/4: over 20000 seeds, 5000 times
 * (binomial sd 61); 4 sd either way. The seeds are fixed, so the test is deterministic. */
static void every_call_is_equally_likely(void **state)
{
    (void)state;
    int hits[20] = {0};
    size_t out[5];
    for (uint64_t seed = 1; seed <= 20000; seed++) {
        assert_int_equal(audit_sample(seed * 7919, 20, 5, out), 5);
        for (size_t i = 0; i < 5; i++)
            hits[out[i]]++;
    }
    for (size_t i = 0; i < 20; i++)
        assert_in_range(hits[i], 5000 - 250, 5000 + 250);
}

static void wilson_interval_matches_the_formula(void **state)
{
    (void)state;
    double lo, hi;
    /* 8 of 10: p = .8, z^2 = 3.8415; centre (.8 + .19207)/1.38415 = .71683, half-width
     * 1.95996/1.38415 * sqrt(.016 + .0096037) = .22658 -> [.4902, .9433] */
    audit_wilson(8, 10, AUDIT_Z95, &lo, &hi);
    assert_true(fabs(lo - 0.4902) < 0.0005);
    assert_true(fabs(hi - 0.9433) < 0.0005);
    /* 0 of 10: [0, z^2/(n + z^2)] = [0, .2775]; 10 of 10 mirrors it */
    audit_wilson(0, 10, AUDIT_Z95, &lo, &hi);
    assert_true(fabs(lo) < 1e-9);
    assert_true(fabs(hi - 0.2775) < 0.0005);
    audit_wilson(10, 10, AUDIT_Z95, &lo, &hi);
    assert_true(fabs(lo - 0.7225) < 0.0005);
    assert_true(fabs(hi - 1) < 1e-9);
    /* 95 of 100: [.8883, .9785] */
    audit_wilson(95, 100, AUDIT_Z95, &lo, &hi);
    assert_true(fabs(lo - 0.8883) < 0.0005);
    assert_true(fabs(hi - 0.9785) < 0.0005);
    audit_wilson(0, 0, AUDIT_Z95, &lo, &hi);
    assert_true(lo == 0 && hi == 1);
}

static void marks_are_read_leniently(void **state)
{
    (void)state;
    static const char *const right[] = {"right", "RIGHT", " y ", "yes", "1", "True", "x", "'right"};
    static const char *const wrong[] = {"wrong", "W", "no", "n", "0", "false", "incorrect"};
    for (size_t i = 0; i < ARRAY_SIZE(right); i++)
        assert_int_equal(audit_mark(right[i]), 1);
    for (size_t i = 0; i < ARRAY_SIZE(wrong); i++)
        assert_int_equal(audit_mark(wrong[i]), 0);
    assert_int_equal(audit_mark(""), -1);
    assert_int_equal(audit_mark("  "), -1);
    assert_int_equal(audit_mark("maybe"), -2);
}

static void a_marked_csv_is_scored_by_method(void **state)
{
    (void)state;
    const char *csv = "# opendni audit of account acc_x, seed 5\r\n"
                      "call_id,method,reason,correct,checker_notes\r\n"
                      "call_1,exact,\"held it, alone\",right,\r\n"
                      "call_2,exact,\"two\nlines\",wrong,\"said \"\"google\"\"\"\r\n"
                      "call_3,late,x,y,\r\n"
                      "call_4,shared,x,,\r\n"
                      "call_5,shared,x,maybe,\r\n"
                      "call_6,exact,x,Right\r\n"
                      "\r\n";
    struct audit_score sc;
    assert_int_equal(audit_score_csv(csv, strlen(csv), &sc, NULL), ERR_OK);
    assert_int_equal(sc.n_methods, 2);
    assert_string_equal(sc.m[0].method, "exact");
    assert_int_equal(sc.m[0].marked, 3);
    assert_int_equal(sc.m[0].right, 2);
    assert_string_equal(sc.m[1].method, "late");
    assert_int_equal(sc.m[1].marked, 1);
    assert_int_equal(sc.m[1].right, 1);
    assert_int_equal(sc.marked, 4);
    assert_int_equal(sc.right, 3);
    assert_int_equal(sc.unmarked, 1);
    assert_int_equal(sc.not_understood, 1);
    assert_int_equal(sc.bad_row,
                     7); /* rows as a spreadsheet numbers them: the 2-line record is one */
    assert_string_equal(sc.bad_mark, "maybe");
}

static void a_file_that_is_not_an_audit_is_refused(void **state)
{
    (void)state;
    struct audit_score sc;
    struct errbuf eb = {{0}, NULL};
    const char *no_cols = "a,b,c\r\n1,2,3\r\n";
    assert_int_equal(audit_score_csv(no_cols, strlen(no_cols), &sc, &eb), ERR_INVALID);
    const char *open_quote = "method,correct\r\nexact,\"right\r\n";
    assert_int_equal(audit_score_csv(open_quote, strlen(open_quote), &sc, &eb), ERR_INVALID);
    assert_int_equal(audit_score_csv("", 0, &sc, &eb), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_same_seed_draws_the_same_calls),
        cmocka_unit_test(a_sample_larger_than_the_calls_takes_them_all),
        cmocka_unit_test(every_call_is_equally_likely),
        cmocka_unit_test(wilson_interval_matches_the_formula),
        cmocka_unit_test(marks_are_read_leniently),
        cmocka_unit_test(a_marked_csv_is_scored_by_method),
        cmocka_unit_test(a_file_that_is_not_an_audit_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
