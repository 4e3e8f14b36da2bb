/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* app/calls: the account settings JSON of the call service (status merging is core's:
 * tests/unit/core/test_callstatus.c) (defaults, every field, wrong types and ranges, and
 * "a typo never blocks a call"). Expectations come from docs/telephony.md and calls.h. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "core/convert.h"
#include "app/calls.h"
#include "store/store.h"

#define T0 1790000000000LL /* some Unix ms */
#define DAY_MS (86400LL * 1000)

/* ==== calls_settings_parse ==================================================================== */

static void assert_defaults(const struct calls_settings *cs)
{
    /* docs/telephony.md: "a completed call with at least 60 s of talk time is a conversion
     * named 'Phone call' with value 0"; recording is off by default; window 30 days. */
    assert_int_equal(cs->rules.min_duration_s, 60);
    assert_true(cs->rules.answered_only);
    assert_false(cs->rules.first_time_only);
    assert_true(cs->rules.value == 0);
    assert_int_equal(cs->rules.n_values, 0);
    assert_ptr_equal(cs->rules.name, cs->name);
    assert_ptr_equal(cs->rules.values, cs->values);
    assert_string_equal(cs->name, "Phone call");
    assert_string_equal(cs->currency, "USD");
    assert_false(cs->record);
    assert_int_equal(cs->window_ms, 30 * DAY_MS);
    assert_non_null(memchr(cs->notice, '\0', sizeof(cs->notice)));
}

/* Fills cs with garbage first, so a field the parser forgets to set shows up. */
static int parse(const char *json, struct calls_settings *cs, struct errbuf *eb)
{
    memset(cs, 0x5a, sizeof(*cs));
    if (eb)
        *eb = (struct errbuf){{0}, NULL};
    return calls_settings_parse(json, cs, eb);
}

static void settings_defaults(void **state)
{
    (void)state;
    struct calls_settings cs;
    struct errbuf eb;
    static const char *const empty[] = {
        NULL,    "", "{}", "{\"conversion\":{}}", "{\"conversion\":null,\"record_calls\":null}",
        " {\n} "};
    for (size_t i = 0; i < ARRAY_SIZE(empty); i++) {
        assert_int_equal(parse(empty[i], &cs, &eb), ERR_OK);
        assert_defaults(&cs);
    }
}

/* The example object of docs/telephony.md, every key set. */
static const char full_settings[] =
    "{\"record_calls\": true,"
    " \"record_notice\": \"This call may be recorded.\","
    " \"attribution_window\": 604800,"
    " \"conversion\": {\"min_duration\": 90, \"answered_only\": false, \"first_time_only\": true,"
    "                \"value\": 25.5, \"name\": \"Qualified call\", \"currency\": \"EUR\","
    "                \"values\": [{\"channel\": \"paid_search\", \"campaign\": \"spring_sale\","
    "                              \"value\": 150},"
    "                             {\"channel\": \"paid_search\", \"value\": 90},"
    "                             {\"campaign\": \"radio\", \"channel\": null, \"value\": 0}]}}";

static void settings_every_field(void **state)
{
    (void)state;
    struct calls_settings cs;
    struct errbuf eb;
    assert_int_equal(parse(full_settings, &cs, &eb), ERR_OK);
    assert_true(cs.record);
    assert_string_equal(cs.notice, "This call may be recorded.");
    assert_int_equal(cs.window_ms, 7 * DAY_MS); /* seconds in the JSON, ms in the struct */
    assert_int_equal(cs.rules.min_duration_s, 90);
    assert_false(cs.rules.answered_only);
    assert_true(cs.rules.first_time_only);
    assert_true(cs.rules.value == 25.5);
    assert_string_equal(cs.name, "Qualified call");
    assert_ptr_equal(cs.rules.name, cs.name);
    assert_string_equal(cs.currency, "EUR");
    assert_int_equal(cs.rules.n_values, 3);
    assert_ptr_equal(cs.rules.values, cs.values);
    assert_string_equal(cs.values[0].channel, "paid_search");
    assert_string_equal(cs.values[0].campaign, "spring_sale");
    assert_true(cs.values[0].value == 150);
    assert_string_equal(cs.values[1].channel, "paid_search");
    assert_null(cs.values[1].campaign); /* absent: any campaign */
    assert_true(cs.values[1].value == 90);
    assert_null(cs.values[2].channel); /* null: any channel */
    assert_string_equal(cs.values[2].campaign, "radio");
    assert_true(cs.values[2].value == 0);
}

/* The parsed rules drive core/convert as docs/telephony.md says: "the first entry matching the
 * call's campaign (and channel, if given) wins over the first channel-only entry, which wins
 * over value"; answered_only false and first_time_only true take effect. */
static void settings_drive_conversions(void **state)
{
    (void)state;
    struct calls_settings cs;
    assert_int_equal(parse(full_settings, &cs, NULL), ERR_OK);
    struct convert_call c = {.status = "completed",
                             .duration_s = 90,
                             .first_time_caller = true,
                             .channel = "paid_search",
                             .campaign = "spring_sale"};
    double v = -1;
    assert_true(convert_check(&cs.rules, &c, &v));
    assert_true(v == 150);
    c.campaign = "autumn";
    assert_true(convert_check(&cs.rules, &c, &v));
    assert_true(v == 90); /* channel-only entry */
    c.channel = "organic_search";
    assert_true(convert_check(&cs.rules, &c, &v));
    assert_true(v == 25.5); /* nothing matches: the default value */
    c.duration_s = 89;
    assert_false(convert_check(&cs.rules, &c, &v)); /* min_duration 90 */
    c.duration_s = 120;
    c.first_time_caller = false;
    assert_false(convert_check(&cs.rules, &c, &v)); /* first_time_only */
    c.first_time_caller = true;
    c.status = "busy"; /* answered_only false: the status does not matter */
    assert_true(convert_check(&cs.rules, &c, &v));
}

/* Boundaries the parser documents in its messages: min_duration 0..86400 s, attribution_window
 * 1 s..365 days, strings that fit their fields (cap - 1 bytes). */
static void settings_accepts_boundaries(void **state)
{
    (void)state;
    struct calls_settings cs;
    struct errbuf eb;
    assert_int_equal(parse("{\"conversion\":{\"min_duration\":0}}", &cs, &eb), ERR_OK);
    assert_int_equal(cs.rules.min_duration_s, 0);
    assert_int_equal(parse("{\"conversion\":{\"min_duration\":86400}}", &cs, &eb), ERR_OK);
    assert_int_equal(cs.rules.min_duration_s, 86400);
    assert_int_equal(parse("{\"attribution_window\":1}", &cs, &eb), ERR_OK);
    assert_int_equal(cs.window_ms, 1000);
    assert_int_equal(parse("{\"attribution_window\":31536000}", &cs, &eb), ERR_OK);
    assert_int_equal(cs.window_ms, 365 * DAY_MS);

    char json[600];
    char notice[sizeof(cs.notice)];
    memset(notice, 'n', sizeof(notice) - 1);
    notice[sizeof(notice) - 1] = '\0';
    snprintf(json, sizeof(json), "{\"record_notice\":\"%s\"}", notice);
    assert_int_equal(parse(json, &cs, &eb), ERR_OK);
    assert_string_equal(cs.notice, notice);
    snprintf(json, sizeof(json), "{\"conversion\":{\"currency\":\"ABCDEFG\"}}");
    assert_int_equal(parse(json, &cs, &eb), ERR_OK); /* 7 bytes + NUL = sizeof(currency) */
    assert_string_equal(cs.currency, "ABCDEFG");

    /* CALLS_MAX_VALUES entries exactly */
    char big[2048] = "{\"conversion\":{\"values\":[";
    for (int i = 0; i < CALLS_MAX_VALUES; i++) {
        char one[64];
        snprintf(one, sizeof(one), "%s{\"campaign\":\"c%d\",\"value\":%d}", i ? "," : "", i, i);
        strncat(big, one, sizeof(big) - strlen(big) - 1);
    }
    strncat(big, "]}}", sizeof(big) - strlen(big) - 1);
    assert_int_equal(parse(big, &cs, &eb), ERR_OK);
    assert_int_equal(cs.rules.n_values, CALLS_MAX_VALUES);
    assert_string_equal(cs.values[CALLS_MAX_VALUES - 1].campaign, "c15");
    assert_true(cs.values[CALLS_MAX_VALUES - 1].value == 15);
}

/* Wrong types and out-of-range values: ERR_INVALID naming the key (calls.h: "ERR_INVALID with
 * eb naming the key"), and *out holds the defaults, including for keys that parsed fine before
 * the bad one (calls.h: "on error *out holds the defaults (a bad setting never blocks a
 * call)"). Every case sets record_calls and min_duration first, so a half-applied result shows. */
static void settings_rejects_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *field; /* expected eb.field; NULL: not checked (malformed JSON) */
    } cases[] = {
        {"{\"record_calls\":true,\"conversion\":{\"min_duration\":30},\"record_calls\":false}",
         NULL}, /* a duplicate key is malformed */
        {"{\"record_calls\":\"yes\"}", "record_calls"},
        {"{\"record_calls\":1}", "record_calls"},
        {"{\"record_calls\":true,\"record_notice\":5}", "record_notice"},
        {"{\"record_calls\":true,\"attribution_window\":\"30\"}", "attribution_window"},
        {"{\"record_calls\":true,\"attribution_window\":1.5}", "attribution_window"},
        {"{\"record_calls\":true,\"attribution_window\":0}", "attribution_window"},
        {"{\"record_calls\":true,\"attribution_window\":-86400}", "attribution_window"},
        {"{\"record_calls\":true,\"attribution_window\":31536001}", "attribution_window"},
        /* large enough that seconds -> ms overflows int64: must be refused, not wrapped */
        {"{\"record_calls\":true,\"attribution_window\":9223372036854775807}",
         "attribution_window"},
        {"{\"record_calls\":true,\"attribution_window\":-9223372036854775808}",
         "attribution_window"},
        {"{\"record_calls\":true,\"conversion\":[]}", "conversion"},
        {"{\"record_calls\":true,\"conversion\":\"min 60\"}", "conversion"},
        {"{\"record_calls\":true,\"conversion\":{\"min_duration\":\"60\"}}", "min_duration"},
        {"{\"record_calls\":true,\"conversion\":{\"min_duration\":60.0}}", "min_duration"},
        {"{\"record_calls\":true,\"conversion\":{\"min_duration\":-1}}", "min_duration"},
        {"{\"record_calls\":true,\"conversion\":{\"min_duration\":86401}}", "min_duration"},
        {"{\"record_calls\":true,\"conversion\":{\"answered_only\":\"false\"}}", "answered_only"},
        {"{\"record_calls\":true,\"conversion\":{\"first_time_only\":0}}", "first_time_only"},
        {"{\"record_calls\":true,\"conversion\":{\"value\":\"150\"}}", "value"},
        {"{\"record_calls\":true,\"conversion\":{\"value\":-0.01}}", "value"},
        {"{\"record_calls\":true,\"conversion\":{\"name\":\"\"}}", "name"},
        {"{\"record_calls\":true,\"conversion\":{\"name\":7}}", "name"},
        {"{\"record_calls\":true,\"conversion\":{\"name\":\"a\\u0000b\"}}", NULL},
        {"{\"record_calls\":true,\"conversion\":{\"currency\":\"ABCDEFGH\"}}", "currency"},
        {"{\"record_calls\":true,\"conversion\":{\"values\":{}}}", "values"},
        {"{\"record_calls\":true,\"conversion\":{\"values\":[1]}}", "values"},
        {"{\"record_calls\":true,\"conversion\":{\"values\":[{\"channel\":5,\"value\":1}]}}",
         "channel"},
        {"{\"record_calls\":true,\"conversion\":{\"values\":[{\"campaign\":[],\"value\":1}]}}",
         "campaign"},
        {"{\"record_calls\":true,\"conversion\":{\"values\":[{\"channel\":\"x\","
         "\"value\":-3}]}}",
         "value"},
        {"{\"record_calls\":true,\"conversion\":{\"values\":[{\"channel\":\"x\","
         "\"value\":\"3\"}]}}",
         "value"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct calls_settings cs;
        struct errbuf eb;
        int rc = parse(cases[i].json, &cs, &eb);
        if (rc != ERR_INVALID)
            fail_msg("case %zu %s: rc %d, want ERR_INVALID", i, cases[i].json, rc);
        if (cases[i].field && (!eb.field || strcmp(eb.field, cases[i].field) != 0))
            fail_msg("case %zu %s: field %s, want %s", i, cases[i].json,
                     eb.field ? eb.field : "(null)", cases[i].field);
        if (!eb.msg[0])
            fail_msg("case %zu %s: no message", i, cases[i].json);
        assert_defaults(&cs);
    }
}

/* Strings longer than their field are refused, not cut (a cut currency code or name would go to
 * Google Ads exports wrong). */
static void settings_rejects_long_strings(void **state)
{
    (void)state;
    struct calls_settings cs;
    struct errbuf eb;
    char name[STORE_NAME_MAX + 1];
    memset(name, 'x', STORE_NAME_MAX);
    name[STORE_NAME_MAX] = '\0';
    char json[1024];
    snprintf(json, sizeof(json), "{\"conversion\":{\"name\":\"%s\"}}", name);
    assert_int_equal(parse(json, &cs, &eb), ERR_INVALID);
    assert_string_equal(eb.field, "name");
    assert_defaults(&cs);
    name[STORE_NAME_MAX - 1] = '\0'; /* STORE_NAME_MAX - 1 bytes fit */
    snprintf(json, sizeof(json), "{\"conversion\":{\"name\":\"%s\"}}", name);
    assert_int_equal(parse(json, &cs, &eb), ERR_OK);
    assert_string_equal(cs.name, name);

    char notice[300];
    memset(notice, 'n', sizeof(notice) - 1);
    notice[sizeof(notice) - 1] = '\0';
    snprintf(json, sizeof(json), "{\"record_notice\":\"%s\"}", notice);
    assert_int_equal(parse(json, &cs, &eb), ERR_INVALID);
    assert_string_equal(eb.field, "record_notice");
    assert_defaults(&cs);

    char big[4096] = "{\"conversion\":{\"values\":[";
    for (int i = 0; i <= CALLS_MAX_VALUES; i++)
        strncat(big, i ? ",{\"value\":1}" : "{\"value\":1}", sizeof(big) - strlen(big) - 1);
    strncat(big, "]}}", sizeof(big) - strlen(big) - 1);
    assert_int_equal(parse(big, &cs, &eb), ERR_INVALID);
    assert_string_equal(eb.field, "values");
    assert_defaults(&cs);
}

/* Not a JSON object at all: ERR_INVALID and the defaults. eb may be NULL. */
static void settings_rejects_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"{",         "[]",       "null", "true",
                                      "\"{}\"",    "{\"a\":}", "{}x",  "{'record_calls':true}",
                                      "\xff\xfe{}"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct calls_settings cs;
        struct errbuf eb;
        if (parse(bad[i], &cs, &eb) != ERR_INVALID)
            fail_msg("'%s' should be ERR_INVALID", bad[i]);
        assert_true(eb.msg[0] != '\0');
        assert_defaults(&cs);
        assert_int_equal(parse(bad[i], &cs, NULL), ERR_INVALID);
        assert_defaults(&cs);
    }
}

/* "a typo never blocks a call" and "absent keys keep the defaults": unknown keys (a misspelt
 * one, or one a newer version added) are ignored and the keys next to them still apply. */
static void settings_typo_does_not_break_calls(void **state)
{
    (void)state;
    struct calls_settings cs;
    struct errbuf eb;
    assert_int_equal(parse("{\"record_cals\":true,\"conversion\":{\"min_duraton\":5,"
                           "\"value\":40,\"valeus\":[1,2]},\"future_key\":{\"x\":[]}}",
                           &cs, &eb),
                     ERR_OK);
    assert_false(cs.record);                       /* the misspelt key did nothing */
    assert_int_equal(cs.rules.min_duration_s, 60); /* ditto */
    assert_true(cs.rules.value == 40);             /* its neighbour applied */
    assert_int_equal(cs.rules.n_values, 0);
    assert_int_equal(parse("{\"values\":[{\"channel\":\"paid_search\",\"value\":9}]}", &cs, &eb),
                     ERR_OK); /* values at the wrong level: ignored, not applied */
    assert_int_equal(cs.rules.n_values, 0);
}

/* A second parse into the same struct starts from the defaults (accounts are parsed per call
 * into reused storage). */
static void settings_reparse_resets(void **state)
{
    (void)state;
    struct calls_settings cs;
    assert_int_equal(calls_settings_parse(full_settings, &cs, NULL), ERR_OK);
    assert_int_equal(cs.rules.n_values, 3);
    assert_int_equal(calls_settings_parse("{}", &cs, NULL), ERR_OK);
    assert_defaults(&cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(settings_defaults),
        cmocka_unit_test(settings_every_field),
        cmocka_unit_test(settings_drive_conversions),
        cmocka_unit_test(settings_accepts_boundaries),
        cmocka_unit_test(settings_rejects_bad_values),
        cmocka_unit_test(settings_rejects_long_strings),
        cmocka_unit_test(settings_rejects_malformed),
        cmocka_unit_test(settings_typo_does_not_break_calls),
        cmocka_unit_test(settings_reparse_resets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
