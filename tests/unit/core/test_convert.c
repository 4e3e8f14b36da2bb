/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/convert: the default rule of API.md (a completed call of 60 s or more converts),
 * answered-only, first-time-caller rules and value precedence (campaign > channel > default). */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/convert.h"

static struct convert_call completed(int64_t duration_s)
{
    return (struct convert_call){.status = "completed",
                                 .duration_s = duration_s,
                                 .channel = "paid_search",
                                 .campaign = "Spring_Sale"};
}

static void defaults(void **state)
{
    (void)state;
    struct convert_rules r;
    memset(&r, 0xff, sizeof(r)); /* every field must be set, not left over */
    convert_rules_default(&r);
    assert_int_equal(r.min_duration_s, 60);
    assert_true(r.answered_only);
    assert_false(r.first_time_only);
    assert_true(r.value == 0);
    assert_null(r.values);
    assert_int_equal(r.n_values, 0);
    assert_string_equal(r.name, "Phone call");
}

/* API.md: "a completed call with duration >= 60 s is a conversion". */
static void default_rule_threshold(void **state)
{
    (void)state;
    struct convert_rules r;
    convert_rules_default(&r);
    double v = -1;
    struct convert_call c = completed(60);
    assert_true(convert_check(&r, &c, &v));
    assert_true(v == 0); /* no value configured */
    c.duration_s = 59;
    v = -1;
    assert_false(convert_check(&r, &c, &v));
    assert_true(v == 0);
    c.duration_s = 3600;
    assert_true(convert_check(&r, &c, NULL)); /* out_value is optional */
    c.duration_s = -1;
    assert_false(convert_check(&r, &c, NULL));
}

static void answered_only(void **state)
{
    (void)state;
    struct convert_rules r;
    convert_rules_default(&r);
    static const char *const not_answered[] = {"busy",    "no-answer",   "failed",    "canceled",
                                               "ringing", "in-progress", "Completed", ""};
    for (size_t i = 0; i < ARRAY_SIZE(not_answered); i++) {
        struct convert_call c = completed(120);
        c.status = not_answered[i];
        assert_false(convert_check(&r, &c, NULL));
    }
    struct convert_call c = completed(120);
    c.status = NULL;
    assert_false(convert_check(&r, &c, NULL));
    /* a zero threshold still needs talk time when answered_only */
    r.min_duration_s = 0;
    c = completed(0);
    assert_false(convert_check(&r, &c, NULL));
    c.duration_s = 1;
    assert_true(convert_check(&r, &c, NULL));
    /* without answered_only, any status with enough duration counts; 0 s min: every call */
    r.answered_only = false;
    c = completed(0);
    c.status = "no-answer";
    assert_true(convert_check(&r, &c, NULL));
    r.min_duration_s = 30;
    assert_false(convert_check(&r, &c, NULL));
}

static void first_time_only(void **state)
{
    (void)state;
    struct convert_rules r;
    convert_rules_default(&r);
    r.first_time_only = true;
    struct convert_call c = completed(90);
    assert_false(convert_check(&r, &c, NULL));
    c.first_time_caller = true;
    assert_true(convert_check(&r, &c, NULL));
    r.first_time_only = false;
    c.first_time_caller = false;
    assert_true(convert_check(&r, &c, NULL)); /* repeat callers count by default */
}

/* ivr_digits: the caller's IVR digits must begin with the rule's; no rule, any call. */
static void ivr_digits(void **state)
{
    (void)state;
    struct convert_rules r;
    convert_rules_default(&r);
    struct convert_call c = completed(90);
    assert_null(r.ivr_digits);
    assert_true(convert_check(&r, &c, NULL)); /* no rule: digits do not matter */
    r.ivr_digits = "";
    assert_true(convert_check(&r, &c, NULL));
    r.ivr_digits = "1";
    assert_false(convert_check(&r, &c, NULL)); /* not routed: no digits */
    c.digits = "";
    assert_false(convert_check(&r, &c, NULL));
    c.digits = "2";
    assert_false(convert_check(&r, &c, NULL));
    c.digits = "1";
    assert_true(convert_check(&r, &c, NULL));
    c.digits = "12";
    assert_true(convert_check(&r, &c, NULL));
    r.ivr_digits = "12";
    assert_true(convert_check(&r, &c, NULL));
    c.digits = "1";
    assert_false(convert_check(&r, &c, NULL));
    c.digits = "21";
    assert_false(convert_check(&r, &c, NULL));
    c = completed(30); /* the other rules still hold */
    c.digits = "12";
    assert_false(convert_check(&r, &c, NULL));
}

/* Campaign match beats channel match beats a catch-all beats the default, regardless of the
 * order of the overrides; names compare ignoring ASCII case. */
static void value_precedence(void **state)
{
    (void)state;
    static const struct convert_value values[] = {
        {.channel = NULL, .campaign = NULL, .value = 5},
        {.channel = "paid_search", .campaign = NULL, .value = 20},
        {.channel = NULL, .campaign = "spring_sale", .value = 50},
        {.channel = "organic", .campaign = NULL, .value = 7},
        {.channel = "paid_social", .campaign = "Spring_Sale", .value = 99}, /* wrong channel */
    };
    struct convert_rules r;
    convert_rules_default(&r);
    r.value = 1;
    r.values = values;
    r.n_values = ARRAY_SIZE(values);
    double v = 0;
    struct convert_call c = completed(60);
    assert_true(convert_check(&r, &c, &v));
    assert_true(v == 50);
    c.campaign = "other";
    assert_true(convert_check(&r, &c, &v));
    assert_true(v == 20);
    c.channel = "direct";
    assert_true(convert_check(&r, &c, &v));
    assert_true(v == 5);
    c.channel = NULL; /* unattributed call */
    c.campaign = NULL;
    assert_true(convert_check(&r, &c, &v));
    assert_true(v == 5);
    r.n_values = 2; /* without the catch-all, an unattributed call gets the default */
    r.values = values + 1;
    assert_true(convert_check(&r, &c, &v));
    assert_true(v == 1); /* only the default is left for this call */
    assert_true(convert_value_of(&r, &c) == 1);
}

/* A campaign+channel override beats a campaign-only one; first of equals wins. */
static void value_most_specific(void **state)
{
    (void)state;
    static const struct convert_value values[] = {
        {.channel = NULL, .campaign = "Brand", .value = 10},
        {.channel = "paid_search", .campaign = "Brand", .value = 30},
        {.channel = NULL, .campaign = "brand", .value = 11},
    };
    struct convert_rules r;
    convert_rules_default(&r);
    r.values = values;
    r.n_values = ARRAY_SIZE(values);
    struct convert_call c = completed(60);
    c.campaign = "BRAND";
    assert_true(convert_value_of(&r, &c) == 30);
    c.channel = "display";
    assert_true(convert_value_of(&r, &c) == 10);
    /* not a conversion: value reported 0 even though an override matches */
    c.duration_s = 10;
    double v = -1;
    assert_false(convert_check(&r, &c, &v));
    assert_true(v == 0);
}

static void null_arguments(void **state)
{
    (void)state;
    struct convert_rules r;
    convert_rules_default(&r);
    struct convert_call c = completed(100);
    double v = -1;
    assert_false(convert_check(NULL, &c, &v));
    assert_true(v == 0);
    assert_false(convert_check(&r, NULL, NULL));
    assert_true(convert_value_of(NULL, &c) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),         cmocka_unit_test(default_rule_threshold),
        cmocka_unit_test(answered_only),    cmocka_unit_test(first_time_only),
        cmocka_unit_test(value_precedence), cmocka_unit_test(value_most_specific),
        cmocka_unit_test(null_arguments),   cmocka_unit_test(ivr_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
