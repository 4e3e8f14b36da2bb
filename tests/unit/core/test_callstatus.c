/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/callstatus: merging the provider's reports on a call's two legs (the caller's leg and the
 * forwarded leg; docs/telephony.md "Status, duration and conversions") and the final-status
 * predicate. Expectations come from docs/telephony.md and callstatus.h. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/callstatus.h"

#define T0 1790000000000LL /* some Unix ms */

/* ==== callstatus_final ====================================================================== */

/* callstatus.h: "true for completed, busy, no-answer, failed and canceled" (the final values of
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
        if (callstatus_final(cases[i].status) != cases[i].final)
            fail_msg("callstatus_final(\"%s\") should be %d", cases[i].status, cases[i].final);
    }
    assert_false(callstatus_final(NULL));
}

/* ==== callstatus_merge ====================================================================== */

/* A call as app/calls.c stores it before any callback: ringing on both counts, nothing
 * reported for either leg (durations and sequence numbers -1), not ended. */
static struct call_legs fresh_call(void)
{
    struct call_legs c;
    memset(&c, 0, sizeof(c));
    snprintf(c.status, sizeof(c.status), "ringing");
    snprintf(c.call_status, sizeof(c.call_status), "ringing");
    c.call_duration_s = c.dial_duration_s = -1;
    c.status_seq = c.dial_seq = -1;
    c.started_at = c.updated_at = T0;
    return c;
}

#define CALLER CALL_LEG_CALLER
#define DIALED CALL_LEG_DIALED
#define NONE -1

/* One report and what the call must look like after it. ended_at is the step index (1-based)
 * whose time must be in ended_at, or 0 for "not ended". */
struct step {
    enum call_leg leg;
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
    struct call_legs c = fresh_call();
    for (size_t i = 0; i < mc->n; i++) {
        const struct step *s = &mc->steps[i];
        int64_t now = T0 + (int64_t)(i + 1) * 1000;
        struct call_report u = {
            .leg = s->leg, .status = s->status, .duration_s = s->duration_s, .seq = s->seq};
        int64_t updated_before = c.updated_at;
        bool changed = callstatus_merge(&c, &u, now);
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
    struct call_legs c = fresh_call();
    struct call_report dial = {.leg = DIALED, .status = "completed", .duration_s = 80, .seq = 7};
    struct call_report caller = {.leg = CALLER, .status = "completed", .duration_s = 95, .seq = 3};
    assert_true(callstatus_merge(&c, &dial, T0 + 1000));
    assert_true(callstatus_merge(&c, &caller, T0 + 2000));
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
    struct call_legs c = fresh_call();
    struct call_report a = {.leg = CALLER, .status = "failed", .duration_s = NONE, .seq = 1};
    struct call_report b = {.leg = CALLER, .status = "completed", .duration_s = 12, .seq = 2};
    assert_true(callstatus_merge(&c, &a, T0 + 1000));
    assert_string_equal(c.status, "failed");
    assert_true(callstatus_merge(&c, &b, T0 + 5000));
    assert_true(callstatus_final(c.status));
    assert_int_equal(c.ended_at, T0 + 1000);
    assert_int_equal(c.updated_at, T0 + 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_final_table),
        cmocka_unit_test(merge_table),
        cmocka_unit_test(merge_keeps_legs_apart),
        cmocka_unit_test(merge_final_to_final),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
