/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* http/calls: the pure parts of the call service. Status merging across the caller's leg and
 * the forwarded leg (docs/telephony.md "Status, duration and conversions"), the final-status
 * predicate, and the account settings JSON (defaults, every field, wrong types and ranges, and
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

/* ==== calls_status_final ====================================================================== */

/* calls.h: "true for completed, busy, no-answer, failed and canceled" (the final values of
 * Twilio's CallStatus, INTERFACES.md §1.1); everything else, including DialCallStatus's
 * "answered", is not a final call status. */
static void status_final_table(void **state)
{
    (void)state;
    static const struct {
        const char *status;
        bool final;
    } cases[] = {
        {"completed", true},    {"busy", true},       {"no-answer", true},  {"failed", true},
        {"canceled", true},     {"queued", false},    {"initiated", false}, {"ringing", false},
        {"in-progress", false}, {"answered", false},  {"", false},          {"complete", false},
        {"completed ", false},  {"no_answer", false}, {"cancelled", false}, {"busy-", false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        if (calls_status_final(cases[i].status) != cases[i].final)
            fail_msg("calls_status_final(\"%s\") should be %d", cases[i].status, cases[i].final);
    }
    assert_false(calls_status_final(NULL));
}

/* ==== calls_merge_status ====================================================================== */

/* A call as calls_take stores it before any callback: ringing on both counts, nothing
 * reported for either leg (durations and sequence numbers -1), not ended. */
static struct st_call fresh_call(void)
{
    struct st_call c;
    memset(&c, 0, sizeof(c));
    snprintf(c.status, sizeof(c.status), "ringing");
    snprintf(c.call_status, sizeof(c.call_status), "ringing");
    c.call_duration_s = c.dial_duration_s = -1;
    c.status_seq = c.dial_seq = -1;
    c.started_at = c.updated_at = T0;
    return c;
}

#define CALLER CALLS_LEG_CALLER
#define DIALED CALLS_LEG_DIALED
#define NONE -1

/* One report and what the call must look like after it. ended_at is the step index (1-based)
 * whose time must be in ended_at, or 0 for "not ended". */
struct step {
    enum calls_leg leg;
    const char *status;
    int64_t duration_s;
    int64_t seq;
    bool changed;
    const char *want_status;
    int64_t want_duration_s;
    int ended_at_step;
};

struct merge_case {
    const char *name;
    struct step steps[6];
    size_t n;
};

/* Each case plays reports 1 s apart (step i at T0 + i s). Why each expectation holds is in
 * the case's comment, quoting docs/telephony.md. */
static const struct merge_case merge_cases[] = {
    /* Twilio's order: caller leg answered, the <Dial action> with the forwarded leg's outcome,
     * then the caller leg's completed callback. "duration is talk time: the forwarded leg's
     * duration when reported (it excludes ringing)", so the caller's 110 s never wins over 95;
     * ended_at is set when the call first becomes final and not moved after. */
    {"twilio order",
     {
         {CALLER, "in-progress", NONE, 1, true, "in-progress", 0, 0},
         {DIALED, "completed", 95, NONE, true, "completed", 95, 2},
         {CALLER, "completed", 110, 3, true, "completed", 95, 2},
     },
     3},
    /* "A callback with a SequenceNumber at or below the last one applied to that leg is
     * ignored (callbacks arrive out of order)": the late ringing (seq 1) and the retry of
     * seq 3 change nothing. */
    {"out of order caller callbacks",
     {
         {CALLER, "completed", 40, 3, true, "completed", 40, 1},
         {CALLER, "ringing", NONE, 1, false, "completed", 40, 1},
         {CALLER, "completed", 40, 3, false, "completed", 40, 1},
         {CALLER, "in-progress", NONE, 2, false, "completed", 40, 1},
     },
     4},
    /* SequenceNumber starts at 0 (INTERFACES.md §1.4): seq 0 is a real first callback (it
     * is recorded, so the call changed), and a second seq 0 is a retry. */
    {"sequence number zero",
     {
         {CALLER, "ringing", NONE, 0, true, "ringing", 0, 0},
         {CALLER, "in-progress", NONE, 0, false, "ringing", 0, 0},
         {CALLER, "in-progress", NONE, 1, true, "in-progress", 0, 0},
     },
     3},
    /* "a non-final status never replaces a final one", with no sequence numbers at all. */
    {"non-final after final without seq",
     {
         {CALLER, "completed", 70, NONE, true, "completed", 70, 1},
         {CALLER, "in-progress", NONE, NONE, false, "completed", 70, 1},
         {CALLER, "ringing", NONE, NONE, false, "completed", 70, 1},
     },
     3},
    /* Caller leg only (no <Dial action> seen): "otherwise the caller's leg", and the duration
     * is "the caller leg's CallDuration". */
    {"caller leg only",
     {
         {CALLER, "ringing", NONE, 0, true, "ringing", 0, 0},
         {CALLER, "completed", 70, 1, true, "completed", 70, 2},
     },
     2},
    /* The business was busy: the forwarded leg's outcome decides ("else busy"), and "0 for a
     * call that did not connect" even though the caller's leg later reports 25 s (the caller
     * listened to the busy tone). */
    {"forwarded leg busy",
     {
         {DIALED, "busy", 0, NONE, true, "busy", 0, 1},
         {CALLER, "completed", 25, 4, true, "busy", 0, 1},
     },
     2},
    /* "completed/answered -> completed": DialCallStatus answered (conference case) is a
     * connected call and its DialCallDuration is the talk time. */
    {"dial answered counts as completed",
     {
         {DIALED, "answered", 33, NONE, true, "completed", 33, 1},
     },
     1},
    /* Nobody picked up: no-answer, and the caller leg's 30 s of ringing is not talk time. */
    {"no-answer has no talk time",
     {
         {CALLER, "completed", 30, 2, true, "completed", 30, 1},
         {DIALED, "no-answer", NONE, NONE, true, "no-answer", 0, 1},
     },
     2},
    /* The forwarded leg's callback (ParentCallSid) said completed without a duration: the
     * forwarded leg's duration was not reported, so the caller leg's CallDuration is used. */
    {"dial completed without duration",
     {
         {DIALED, "completed", NONE, NONE, true, "completed", 0, 1},
         {CALLER, "completed", 100, 5, true, "completed", 100, 1},
     },
     2},
    /* "The caller's leg and the forwarded leg are kept apart": sequence numbers are per leg,
     * so dial seq 2 after caller seq 5 is applied, and a late caller-leg in-progress does not
     * reopen a call whose forwarded leg has its final outcome. */
    {"legs keep their own sequence numbers",
     {
         {CALLER, "ringing", NONE, 5, true, "ringing", 0, 0},
         {DIALED, "completed", 61, 2, true, "completed", 61, 2},
         {DIALED, "ringing", NONE, 1, false, "completed", 61, 2},
         {CALLER, "in-progress", NONE, 6, true, "completed", 61, 2},
     },
     4},
    /* A report that repeats what is known (no sequence number) changes nothing. */
    {"identical report",
     {
         {CALLER, "in-progress", NONE, NONE, true, "in-progress", 0, 0},
         {CALLER, "in-progress", NONE, NONE, false, "in-progress", 0, 0},
     },
     2},
    /* API.md's CALL status is ringing, in-progress or final: a provider's other live statuses
     * (queued, initiated, answered, a status nobody knows yet) never show through. */
    {"other provider statuses map to ringing or in-progress",
     {
         {CALLER, "queued", NONE, 0, true, "ringing", 0, 0},
         {CALLER, "initiated", NONE, 1, true, "ringing", 0, 0},
         {CALLER, "some-new-status", NONE, 2, true, "ringing", 0, 0},
         {CALLER, "answered", NONE, 3, true, "in-progress", 0, 0},
         {DIALED, "queued", NONE, NONE, true, "in-progress", 0, 0},
         {DIALED, "completed", 12, NONE, true, "completed", 12, 6},
     },
     6},
    /* A report with a duration and no status (status NULL = not reported) keeps the status. */
    {"duration without status",
     {
         {CALLER, "completed", NONE, NONE, true, "completed", 0, 1},
         {CALLER, NULL, 50, NONE, true, "completed", 50, 1},
     },
     2},
};

static void play_case(const struct merge_case *mc)
{
    struct st_call c = fresh_call();
    for (size_t i = 0; i < mc->n; i++) {
        const struct step *s = &mc->steps[i];
        int64_t now = T0 + (int64_t)(i + 1) * 1000;
        struct calls_status u = {
            .leg = s->leg, .status = s->status, .duration_s = s->duration_s, .seq = s->seq};
        int64_t updated_before = c.updated_at;
        bool changed = calls_merge_status(&c, &u, now);
        if (changed != s->changed)
            fail_msg("%s, step %zu: changed %d, want %d", mc->name, i + 1, changed, s->changed);
        if (strcmp(c.status, s->want_status) != 0)
            fail_msg("%s, step %zu: status '%s', want '%s'", mc->name, i + 1, c.status,
                     s->want_status);
        if (c.duration_s != s->want_duration_s)
            fail_msg("%s, step %zu: duration %" PRId64 ", want %" PRId64, mc->name, i + 1,
                     c.duration_s, s->want_duration_s);
        int64_t want_end = s->ended_at_step ? T0 + (int64_t)s->ended_at_step * 1000 : 0;
        if (c.ended_at != want_end)
            fail_msg("%s, step %zu: ended_at %" PRId64 ", want %" PRId64, mc->name, i + 1,
                     c.ended_at, want_end);
        if (c.updated_at != (changed ? now : updated_before))
            fail_msg("%s, step %zu: updated_at not %s", mc->name, i + 1,
                     changed ? "set to now" : "left alone");
    }
}

static void merge_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(merge_cases); i++)
        play_case(&merge_cases[i]);
}

/* The legs' own fields keep what each leg reported (the stored call keeps both apart). */
static void merge_keeps_legs_apart(void **state)
{
    (void)state;
    struct st_call c = fresh_call();
    struct calls_status dial = {.leg = DIALED, .status = "completed", .duration_s = 80, .seq = 7};
    struct calls_status caller = {.leg = CALLER, .status = "completed", .duration_s = 95, .seq = 3};
    assert_true(calls_merge_status(&c, &dial, T0 + 1000));
    assert_true(calls_merge_status(&c, &caller, T0 + 2000));
    assert_string_equal(c.dial_status, "completed");
    assert_int_equal(c.dial_duration_s, 80);
    assert_int_equal(c.dial_seq, 7);
    assert_string_equal(c.call_status, "completed");
    assert_int_equal(c.call_duration_s, 95);
    assert_int_equal(c.status_seq, 3);
    assert_int_equal(c.duration_s, 80); /* talk time: the forwarded leg's */
}

/* A final status replaced by another final one (a provider correcting itself) stays final and
 * keeps the first ended_at: the call ended once. */
static void merge_final_to_final(void **state)
{
    (void)state;
    struct st_call c = fresh_call();
    struct calls_status a = {.leg = CALLER, .status = "failed", .duration_s = NONE, .seq = 1};
    struct calls_status b = {.leg = CALLER, .status = "completed", .duration_s = 12, .seq = 2};
    assert_true(calls_merge_status(&c, &a, T0 + 1000));
    assert_string_equal(c.status, "failed");
    assert_true(calls_merge_status(&c, &b, T0 + 5000));
    assert_true(calls_status_final(c.status));
    assert_int_equal(c.ended_at, T0 + 1000);
    assert_int_equal(c.updated_at, T0 + 5000);
}

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
        cmocka_unit_test(status_final_table),
        cmocka_unit_test(merge_table),
        cmocka_unit_test(merge_keeps_legs_apart),
        cmocka_unit_test(merge_final_to_final),
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
