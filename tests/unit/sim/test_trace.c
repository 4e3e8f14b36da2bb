/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sim/trace and sim/synth: the CSV reader's rules and error messages (file:line: reason), the
 * writer round trip, the traffic statistics and rules of thumb (worked out by hand for
 * small.csv), and the synthetic generator's determinism and model. */
#include "base/prelude.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "core/attrib.h"
#include "sim/rng.h"
#include "sim/synth.h"
#include "sim/trace.h"

#define HEADER "time,event,session,device,region\n"

/* Reads text as a trace named "t.csv"; returns the code and leaves the message in eb. */
static int read_text(const char *text, struct sim_trace *t, struct errbuf *eb)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    sim_trace_init(t);
    int rc = sim_trace_read(t, f, "t.csv", eb);
    fclose(f);
    return rc;
}

static void expect_error(const char *text, int code, const char *msg)
{
    struct sim_trace t;
    struct errbuf eb = {{0}, NULL};
    int rc = read_text(text, &t, &eb);
    if (rc != code || strcmp(eb.msg, msg) != 0)
        fail_msg("got %d '%s', want %d '%s'", rc, eb.msg, code, msg);
    sim_trace_release(&t);
}

static void reader_errors(void **state)
{
    (void)state;
    expect_error("", ERR_INVALID,
                 "t.csv: empty file (want the header "
                 "time,event,session,device,region)");
    expect_error("time,event,session\n", ERR_INVALID,
                 "t.csv:1: the header must be time,event,session,device,region[,caller][,copy]");
    expect_error(HEADER "0,visit,a,mobile,US-TX\n1,clik,a,,\n", ERR_INVALID,
                 "t.csv:3: unknown event 'clik'");
    expect_error(HEADER "0,visit,a,mobile\n", ERR_INVALID, "t.csv:2: expected 5 fields, got 4");
    expect_error(HEADER "0,visit,a,mobile,US-TX,x\n", ERR_INVALID,
                 "t.csv:2: expected 5 fields, got 6");
    expect_error(HEADER "-1,visit,a,mobile,US-TX\n", ERR_INVALID,
                 "t.csv:2: bad time '-1' (seconds, like 12.5)");
    expect_error(HEADER "1e3,visit,a,mobile,US-TX\n", ERR_INVALID,
                 "t.csv:2: bad time '1e3' (seconds, like 12.5)");
    expect_error(HEADER "5.,visit,a,mobile,US-TX\n", ERR_INVALID,
                 "t.csv:2: bad time '5.' (seconds, like 12.5)");
    expect_error(HEADER "5,visit,a,mobile,US-TX\n4.999,pageview,a,,\n", ERR_INVALID,
                 "t.csv:3: time 4.999 is before the row above");
    expect_error(HEADER "0,visit,a,phone,US-TX\n", ERR_INVALID,
                 "t.csv:2: unknown device 'phone' (mobile, desktop or tablet)");
    expect_error(HEADER "0,visit,a,mobile,Texas\n", ERR_INVALID,
                 "t.csv:2: bad region 'Texas' (ISO 3166-2, like US-TX)");
    expect_error(HEADER "0,visit,,mobile,US-TX\n", ERR_INVALID, "t.csv:2: visit without a session");
    expect_error(HEADER "0,visit,a,mobile,US-TX\n1,visit,a,mobile,US-TX\n", ERR_INVALID,
                 "t.csv:3: session 'a' visits twice");
    expect_error(HEADER "0,pageview,b,,\n", ERR_INVALID,
                 "t.csv:2: session 'b' has no visit before this row");
    expect_error(HEADER "0,visit,a,mobile,US-TX\n1,call,b,,US-TX\n", ERR_INVALID,
                 "t.csv:3: session 'b' has no visit before this row");
    expect_error(HEADER "0,tel_click,,,\n", ERR_INVALID, "t.csv:2: tel_click without a session");
    expect_error(HEADER "0,visit,\"a,b\",mobile,US-TX\n", ERR_INVALID,
                 "t.csv:2: quoted fields are not supported");
    char longline[1200];
    memset(longline, 'x', sizeof(longline));
    memcpy(longline, HEADER "0,visit,", strlen(HEADER "0,visit,"));
    longline[sizeof(longline) - 1] = '\0';
    expect_error(longline, ERR_TOOBIG, "t.csv:2: line over 1024 bytes");
}

static void reader_accepts(void **state)
{
    (void)state;
    struct sim_trace t;
    struct errbuf eb = {{0}, NULL};
    /* a BOM and CRLF line ends (spreadsheets), an empty line, decimals rounded to the ms,
     * case-insensitive devices, an empty device, a caller with no session, bare ISO 3166-1 */
    const char *text = "\xef\xbb\xbf" HEADER "0.0004,visit,a,Mobile,US-TX\r\n\r\n"
                       "0.0005,visit,b,,\r\n12.3456,pageview,a,ignored,\r\n"
                       "13,tel_click,a,,\r\n14,call,a,,CA-ON\r\n20,call,,,JM\r\n";
    assert_int_equal(read_text(text, &t, &eb), ERR_OK);
    assert_int_equal(t.n_sessions, 2);
    assert_int_equal(t.n_ev, 6);
    assert_int_equal(t.ev[0].at, 0);
    assert_int_equal(t.ev[1].at, 1);
    assert_int_equal(t.ev[2].at, 12346);
    assert_int_equal(t.device[1], ATTRIB_DEVICE_MOBILE);
    assert_int_equal(t.device[2], ATTRIB_DEVICE_UNKNOWN);
    assert_string_equal(t.regions[t.region[1]], "US-TX");
    assert_string_equal(t.regions[t.region[2]], "");
    assert_int_equal(t.ev[4].kind, SIM_CALL);
    assert_int_equal(t.ev[4].session, 1);
    assert_string_equal(t.regions[t.ev[4].region], "CA-ON");
    assert_int_equal(t.ev[5].session, 0);
    assert_string_equal(t.regions[t.ev[5].region], "JM");
    sim_trace_release(&t);
}

static void regions(void **state)
{
    (void)state;
    assert_true(sim_region_valid(""));
    assert_true(sim_region_valid("US-TX"));
    assert_true(sim_region_valid("GB-ENG"));
    assert_true(sim_region_valid("FR-75"));
    assert_true(sim_region_valid("JM"));
    assert_false(sim_region_valid("us-tx"));
    assert_false(sim_region_valid("US-"));
    assert_false(sim_region_valid("US-ABCD"));
    assert_false(sim_region_valid("USA"));
    assert_false(sim_region_valid("U"));
}

/* ==== statistics: small.csv by hand ===========================================================
 * Sessions (first .. last activity): A 0..1450 s, B 10, C 20, D 30, E 40, F 200..210, G 2000.
 * All 7 visits fall in the first hour and the first day. Mean session: (1450 + 10) / 7 s =
 * 3.476 min. With ttl 1200 s, live spans are [visit, last + 1200): at 200 s A-F are live (6);
 * G at 2000 s only overlaps A. Rules: 6; ceil(7 / 4) = 2; ceil(7 / 20) = 1;
 * ceil(7 * 3.476 / 60) = 1. */
static void stats_small(void **state)
{
    (void)state;
    FILE *f = fopen(TEST_DATA_DIR "/traces/small.csv", "r");
    assert_non_null(f);
    struct sim_trace t;
    sim_trace_init(&t);
    assert_int_equal(sim_trace_read(&t, f, "small.csv", NULL), ERR_OK);
    fclose(f);
    struct sim_stats st;
    sim_trace_stats(&t, 1200 * 1000, &st);
    assert_int_equal(st.sessions, 7);
    assert_int_equal(st.calls, 8);
    assert_int_equal(st.session_calls, 7);
    assert_float_equal(st.days, 1, 0);
    assert_float_equal(st.visits_per_day, 7, 1e-9);
    assert_int_equal(st.peak_hourly_visits, 7);
    assert_float_equal(st.mean_session_min, 1460.0 / 7 / 60, 1e-9);
    assert_int_equal(st.peak_concurrent, 6);
    struct sim_rules r;
    sim_rules_of_thumb(&st, &r);
    assert_int_equal(r.size[SIM_RULE_CONCURRENT], 6);
    assert_int_equal(r.size[SIM_RULE_QUARTER_HOURLY], 2);
    assert_int_equal(r.size[SIM_RULE_DAILY_20], 1);
    assert_int_equal(r.size[SIM_RULE_SESSION_MIN], 1);
    assert_string_equal(sim_rule_name(SIM_RULE_DAILY_20), "1 per 20 daily visitors");
    sim_trace_release(&t);
}

/* The rules on round numbers: 2,000 visits a day, a peak hour of 180, 6-minute sessions. */
static void rules_of_thumb(void **state)
{
    (void)state;
    struct sim_stats st = {.visits_per_day = 2000,
                           .peak_hourly_visits = 180,
                           .mean_session_min = 6,
                           .peak_concurrent = 40};
    struct sim_rules r;
    sim_rules_of_thumb(&st, &r);
    assert_int_equal(r.size[SIM_RULE_CONCURRENT], 40);
    assert_int_equal(r.size[SIM_RULE_QUARTER_HOURLY], 45);
    assert_int_equal(r.size[SIM_RULE_DAILY_20], 100);
    assert_int_equal(r.size[SIM_RULE_SESSION_MIN], 18);
}

/* ==== synthetic traffic ======================================================================= */

static void generate(uint64_t seed, double visits, uint32_t days, struct sim_trace *t)
{
    struct sim_synth c;
    sim_synth_default(&c);
    c.seed = seed;
    c.visits_per_day = visits;
    c.days = days;
    assert_int_equal(sim_synth_validate(&c, NULL), ERR_OK);
    sim_trace_init(t);
    sim_synth_generate(&c, t);
}

static void synth_is_deterministic(void **state)
{
    (void)state;
    struct sim_trace a, b, c;
    generate(7, 500, 2, &a);
    generate(7, 500, 2, &b);
    generate(8, 500, 2, &c);
    assert_int_equal(a.n_ev, b.n_ev);
    assert_memory_equal(a.ev, b.ev, a.n_ev * sizeof(*a.ev));
    assert_true(a.n_ev != c.n_ev || memcmp(a.ev, c.ev, a.n_ev * sizeof(*a.ev)) != 0);
    sim_trace_release(&a);
    sim_trace_release(&b);
    sim_trace_release(&c);
}

/* Written and read back, a generated trace is the same trace (sessions are numbered in visit
 * order, so "s<i>" maps back to i). */
static void write_read_round_trip(void **state)
{
    (void)state;
    struct sim_trace a, b;
    generate(3, 300, 1, &a);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(sim_trace_write(&a, f), ERR_OK);
    fclose(f);
    struct errbuf eb = {{0}, NULL};
    if (read_text(text, &b, &eb))
        fail_msg("%s", eb.msg);
    assert_int_equal(a.n_ev, b.n_ev);
    assert_int_equal(a.n_sessions, b.n_sessions);
    for (size_t i = 0; i < a.n_ev; i++) {
        assert_int_equal(a.ev[i].at, b.ev[i].at);
        assert_int_equal(a.ev[i].kind, b.ev[i].kind);
        assert_int_equal(a.ev[i].session, b.ev[i].session);
        assert_string_equal(a.regions[a.ev[i].region], b.regions[b.ev[i].region]);
    }
    assert_memory_equal(a.device + 1, b.device + 1, a.n_sessions);
    free(text);
    sim_trace_release(&a);
    sim_trace_release(&b);
}

struct model {
    uint32_t sessions, mobile, calls, untracked, mobile_calls, mobile_clicked, late;
    uint32_t repeats, copies; /* second calls of a caller; number copies */
    int64_t longest_ms;       /* longest visit .. last page view */
};

/* Counts what the generator made, checking each session's rows come in order. */
static void measure(const struct sim_trace *t, struct model *m)
{
    int64_t *visit = calloc(t->n_sessions + 1, sizeof(*visit));
    int64_t *last = calloc(t->n_sessions + 1, sizeof(*last));
    bool *clicked = calloc(t->n_sessions + 1, sizeof(*clicked));
    bool *called = calloc(t->n_sessions + 1, sizeof(*called));
    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < t->n_ev; i++) {
        const struct sim_event *e = &t->ev[i];
        if (i > 0)
            assert_true(e->at >= t->ev[i - 1].at);
        if (e->kind == SIM_CALL && !e->session) {
            m->untracked++;
        } else if (e->kind == SIM_CALL && called[e->session]) {
            m->repeats++; /* a second call from the same caller */
            assert_true(e->caller != 0);
        } else if (e->kind == SIM_CALL) {
            called[e->session] = true;
            m->calls++;
            bool mobile = t->device[e->session] == ATTRIB_DEVICE_MOBILE;
            m->mobile_calls += mobile;
            m->mobile_clicked += mobile && clicked[e->session];
            m->late += e->at - last[e->session] > 3 * 3600 * 1000;
        } else if (e->kind == SIM_VISIT) {
            m->sessions++;
            m->mobile += e->device == ATTRIB_DEVICE_MOBILE;
            visit[e->session] = last[e->session] = e->at;
        } else {
            assert_true(e->at > last[e->session]);
            if (e->kind == SIM_TEL_CLICK && (e->flags & SIM_FLAG_COPY))
                m->copies++;
            else if (e->kind == SIM_TEL_CLICK)
                clicked[e->session] = true;
            else if (e->at - visit[e->session] > m->longest_ms)
                m->longest_ms = e->at - visit[e->session];
            last[e->session] = e->at;
        }
    }
    free(visit);
    free(last);
    free(clicked);
    free(called);
}

/* The defaults (docs/pool-sizing.md): 5 % of sessions call, 60 % mobile, 10 % of calls have no
 * session, 10 % of session calls come 3 h to 7 d later, most mobile calls follow a tel: click
 * (90 % of the 65 % placed at once, a third of that for later ones: ~0.65*0.9 + 0.35*0.3 =
 * 0.69), no page view beyond 30 min. Tolerances are ~4 standard deviations at 20,000 visits. */
static void synth_follows_the_model(void **state)
{
    (void)state;
    struct sim_trace t;
    generate(11, 10000, 2, &t);
    struct model m;
    measure(&t, &m);
    assert_in_range(m.sessions, 19400, 20600);
    assert_float_equal((double)m.mobile / m.sessions, 0.60, 0.015);
    assert_float_equal((double)m.calls / m.sessions, 0.05, 0.007);
    assert_float_equal((double)m.untracked / (m.calls + m.untracked), 0.10, 0.03);
    assert_float_equal((double)m.late / m.calls, 0.10, 0.035);
    assert_float_equal((double)m.mobile_clicked / m.mobile_calls, 0.69, 0.06);
    assert_true(m.longest_ms <= 30 * 60 * 1000);
    assert_true(m.longest_ms > 20 * 60 * 1000);
    /* 8 % of callers call again; copies: ~0.35 * 0.05 * (0.9 * 0.3 + ...) + 0.4 % of the rest */
    assert_float_equal((double)m.repeats / m.calls, 0.08, 0.025);
    assert_in_range(m.copies, 40, 250);
    sim_trace_release(&t);
}

static void synth_validation(void **state)
{
    (void)state;
    struct sim_synth c;
    struct errbuf eb = {{0}, NULL};
    sim_synth_default(&c);
    c.mobile_share = 0.7;
    c.tablet_share = 0.4;
    assert_int_equal(sim_synth_validate(&c, &eb), ERR_INVALID);
    assert_string_equal(eb.field, "mobile-share");
    sim_synth_default(&c);
    c.days = 0;
    assert_int_equal(sim_synth_validate(&c, &eb), ERR_INVALID);
    sim_synth_default(&c);
    memset(c.diurnal, 0, sizeof(c.diurnal));
    assert_int_equal(sim_synth_validate(&c, &eb), ERR_INVALID);
    sim_synth_default(&c);
    c.untracked_share = 1;
    assert_int_equal(sim_synth_validate(&c, &eb), ERR_INVALID);
}

/* The diurnal profile shapes arrivals: with all weight on 09:00, every visit is in that hour. */
static void synth_diurnal(void **state)
{
    (void)state;
    struct sim_synth c;
    sim_synth_default(&c);
    memset(c.diurnal, 0, sizeof(c.diurnal));
    c.diurnal[9] = 1;
    c.days = 2;
    struct sim_trace t;
    sim_trace_init(&t);
    sim_synth_generate(&c, &t);
    uint32_t visits = 0;
    for (size_t i = 0; i < t.n_ev; i++) {
        if (t.ev[i].kind != SIM_VISIT)
            continue;
        visits++;
        assert_int_equal(t.ev[i].at / 3600000 % 24, 9);
    }
    assert_in_range(visits, 3800, 4200);
    sim_trace_release(&t);
}

static void rng_basics(void **state)
{
    (void)state;
    struct sim_rng a, b;
    sim_rng_seed(&a, 5);
    sim_rng_seed(&b, 5);
    double sum = 0;
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(sim_rng_next(&a), sim_rng_next(&b));
        uint64_t k = sim_rng_below(&a, 7);
        sim_rng_below(&b, 7);
        assert_true(k < 7);
        sum += (double)sim_rng_poisson(&a, 4.0);
        sim_rng_poisson(&b, 4.0);
    }
    assert_float_equal(sum / 10000, 4.0, 0.1);
    assert_int_equal(sim_rng_below(&a, 0), 0);
    assert_int_equal(sim_rng_poisson(&a, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_errors),
        cmocka_unit_test(reader_accepts),
        cmocka_unit_test(regions),
        cmocka_unit_test(stats_small),
        cmocka_unit_test(rules_of_thumb),
        cmocka_unit_test(synth_is_deterministic),
        cmocka_unit_test(write_read_round_trip),
        cmocka_unit_test(synth_follows_the_model),
        cmocka_unit_test(synth_validation),
        cmocka_unit_test(synth_diurnal),
        cmocka_unit_test(rng_basics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
