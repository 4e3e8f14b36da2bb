/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* report/report: group_by parsing and call grouping. The counters follow the API definitions:
 * answered = completed with duration > 0, qualified = answered and duration >= the minimum,
 * avg_duration = mean over answered calls in whole seconds; the rows' calls add up to the
 * calls added. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "report/report.h"

static void dims_parse_accepts_every_dimension_in_order(void **state)
{
    (void)state;
    struct report_dims d;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(report_dims_parse("channel,source,medium,campaign,keyword,landing_page,"
                                       "device,location,lead_status,number,pool,day,hour,region,"
                                       "utm_content",
                                       &d, &eb),
                     ERR_OK);
    assert_int_equal(d.n, REPORT_N_DIMS);
    for (size_t i = 0; i < d.n; i++)
        assert_int_equal(d.dim[i], (int)i);
    assert_int_equal(report_dims_parse(" campaign , channel", &d, &eb), ERR_OK);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.dim[0], REPORT_CAMPAIGN);
    assert_int_equal(d.dim[1], REPORT_CHANNEL);
    assert_string_equal(report_dim_name(REPORT_LANDING_PAGE), "landing_page");
    assert_int_equal(report_dims_parse("", &d, &eb), ERR_OK);
    assert_int_equal(d.n, 0);
    assert_int_equal(report_dims_parse(NULL, &d, &eb), ERR_OK);
    assert_int_equal(d.n, 0);
}

static void dims_parse_rejects_bad_lists_with_field_group_by(void **state)
{
    (void)state;
    static const char *const bad[] = {"channel,colour", "Channel",          "channel,,source", ",",
                                      "source,source",  "campaign;keyword", "utm_source"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct report_dims d = {0};
        struct errbuf eb = {{0}, NULL};
        assert_int_equal(report_dims_parse(bad[i], &d, &eb), ERR_INVALID);
        assert_non_null(eb.field);
        assert_string_equal(eb.field, "group_by");
        assert_true(eb.msg[0] != '\0');
    }
}

static void answered_and_qualified_rules(void **state)
{
    (void)state;
    assert_true(report_answered("completed", 1));
    assert_false(report_answered("completed", 0));
    assert_false(report_answered("busy", 30));
    assert_false(report_answered(NULL, 30));
    assert_true(report_qualified("completed", 60, 60));
    assert_false(report_qualified("completed", 59, 60));
    assert_false(report_qualified("no-answer", 120, 60));
    assert_false(report_qualified("completed", 0, 0)); /* unanswered is never qualified */
}

static struct report_call call(const char *channel, const char *campaign, const char *status,
                               int64_t duration, bool converted, double value)
{
    struct report_call c = {
        .status = status, .duration_s = duration, .converted = converted, .value = value};
    c.key[REPORT_CHANNEL] = channel;
    c.key[REPORT_CAMPAIGN] = campaign;
    c.key[REPORT_SOURCE] = "ignored unless grouped";
    return c;
}

static void groups_count_and_sort(void **state)
{
    (void)state;
    struct report_dims d;
    assert_int_equal(report_dims_parse("channel,campaign", &d, NULL), ERR_OK);
    struct report *r = report_new(&d, 60);
    struct report_call cs[] = {
        call("paid_search", "spring", "completed", 95, true, 150),
        call("paid_search", "spring", "completed", 20, false, 0),
        call("paid_search", "spring", "no-answer", 0, false, 0),
        call("paid_search", "fall", "completed", 61, true, 50.5),
        call(NULL, NULL, "completed", 300, false, 0), /* unattributed */
        call("", "", "busy", 0, false, 0),            /* empty values are null too */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cs); i++)
        report_add(r, &cs[i]);
    const struct report_row *const *rows;
    size_t n = report_rows(r, &rows);
    assert_int_equal(n, 3);
    /* most calls first */
    assert_string_equal(rows[0]->key[0], "paid_search");
    assert_string_equal(rows[0]->key[1], "spring");
    assert_int_equal(rows[0]->n_keys, 2);
    assert_int_equal(rows[0]->calls, 3);
    assert_int_equal(rows[0]->answered, 2);
    assert_int_equal(rows[0]->qualified, 1);
    assert_int_equal(rows[0]->conversions, 1);
    assert_true(rows[0]->value == 150.0);
    assert_int_equal(report_avg_duration(rows[0]), 58); /* (95 + 20) / 2 = 57.5, half up */
    /* then the null group (2 calls), then "fall" (1 call) */
    assert_null(rows[1]->key[0]);
    assert_null(rows[1]->key[1]);
    assert_int_equal(rows[1]->calls, 2);
    assert_int_equal(rows[1]->answered, 1);
    assert_int_equal(report_avg_duration(rows[1]), 300);
    assert_string_equal(rows[2]->key[1], "fall");
    assert_int_equal(rows[2]->qualified, 1);
    assert_true(rows[2]->value == 50.5);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += rows[i]->calls;
    assert_int_equal(total, (int64_t)ARRAY_SIZE(cs));
    report_free(r);
}

static void ties_sort_by_key_with_null_first(void **state)
{
    (void)state;
    struct report_dims d;
    assert_int_equal(report_dims_parse("campaign", &d, NULL), ERR_OK);
    struct report *r = report_new(&d, 60);
    const char *names[] = {"b", NULL, "a", "B"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        struct report_call c = call("x", names[i], "busy", 0, false, 0);
        report_add(r, &c);
    }
    const struct report_row *const *rows;
    assert_int_equal(report_rows(r, &rows), 4);
    assert_null(rows[0]->key[0]);
    assert_string_equal(rows[1]->key[0], "B"); /* byte order: uppercase first */
    assert_string_equal(rows[2]->key[0], "a");
    assert_string_equal(rows[3]->key[0], "b");
    report_free(r);
}

static void no_dimension_gives_one_total_row(void **state)
{
    (void)state;
    struct report_dims d = {0};
    struct report *r = report_new(&d, 30);
    for (int i = 0; i < 5; i++) {
        struct report_call c = call(i % 2 ? "a" : "b", NULL, "completed", 10 * i, i == 4, 7);
        report_add(r, &c);
    }
    const struct report_row *const *rows;
    assert_int_equal(report_rows(r, &rows), 1);
    assert_int_equal(rows[0]->n_keys, 0);
    assert_int_equal(rows[0]->calls, 5);
    assert_int_equal(rows[0]->answered, 4);  /* durations 10, 20, 30, 40 */
    assert_int_equal(rows[0]->qualified, 2); /* 30 and 40 */
    assert_int_equal(rows[0]->conversions, 1);
    assert_int_equal(report_avg_duration(rows[0]), 25);
    report_free(r);
}

/* Many groups (the table grows several times) and adding after reading the rows. */
static void many_groups_keep_their_counts(void **state)
{
    (void)state;
    struct report_dims d;
    assert_int_equal(report_dims_parse("keyword,device", &d, NULL), ERR_OK);
    struct report *r = report_new(&d, 60);
    char kw[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 1000; i++) {
            snprintf(kw, sizeof(kw), "kw%d", i);
            struct report_call c = {.status = "completed", .duration_s = 60};
            c.key[REPORT_KEYWORD] = kw;
            c.key[REPORT_DEVICE] = i % 3 ? "mobile" : "desktop";
            for (int k = 0; k <= i % 4; k++)
                report_add(r, &c);
        }
        const struct report_row *const *rows;
        size_t n = report_rows(r, &rows);
        assert_int_equal(n, 1000);
        int64_t total = 0;
        for (size_t i = 0; i < n; i++) {
            int idx = (int)strtol(rows[i]->key[0] + 2, NULL, 10);
            assert_int_equal(rows[i]->calls, (idx % 4 + 1) * (round + 1));
            assert_string_equal(rows[i]->key[1], idx % 3 ? "mobile" : "desktop");
            total += rows[i]->calls;
            if (i > 0)
                assert_true(rows[i - 1]->calls >= rows[i]->calls);
        }
        assert_int_equal(total, 2500 * (round + 1));
    }
    report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dims_parse_accepts_every_dimension_in_order),
        cmocka_unit_test(dims_parse_rejects_bad_lists_with_field_group_by),
        cmocka_unit_test(answered_and_qualified_rules),
        cmocka_unit_test(groups_count_and_sort),
        cmocka_unit_test(ties_sort_by_key_with_null_first),
        cmocka_unit_test(no_dimension_gives_one_total_row),
        cmocka_unit_test(many_groups_keep_their_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
