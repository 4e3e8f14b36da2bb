/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/route and core/zone: the routing-plan evaluator (every distribution method, menus,
 * screening, schedules across a DST change, caps, fallbacks and the last resort) and the time
 * zone data it reads schedules in (TZif from the system's tzdata when present, POSIX rules).
 * Expectations come from route.h, zone.h and docs/routing.md. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/route.h"
#include "core/zone.h"

/* 2026-03-08 is the second Sunday of March: New York springs forward at 07:00 UTC (02:00 EST)
 * and falls back on 2026-11-01 at 06:00 UTC (02:00 EDT). */
#define MS(s) ((int64_t)(s)*1000)
static int64_t utc_ms(int y, int mo, int d, int h, int mi)
{
    return MS(zone_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60);
}

static struct zone ny; /* America/New_York from its POSIX rule (no transitions) */

static int setup_zone(void **state)
{
    (void)state;
    memset(&ny, 0, sizeof(ny));
    snprintf(ny.name, sizeof(ny.name), "America/New_York");
    ny.has_rule = true;
    return zone_parse_rule("EST5EDT,M3.2.0,M11.1.0", &ny.rule, NULL);
}

/* ==== zone =================================================================================== */

static void zone_rule_offsets_across_dst(void **state)
{
    (void)state;
    assert_int_equal(zone_offset(&ny, utc_ms(2026, 3, 8, 6, 59) / 1000), -5 * 3600);
    assert_int_equal(zone_offset(&ny, utc_ms(2026, 3, 8, 7, 0) / 1000), -4 * 3600);
    assert_int_equal(zone_offset(&ny, utc_ms(2026, 11, 1, 5, 59) / 1000), -4 * 3600);
    assert_int_equal(zone_offset(&ny, utc_ms(2026, 11, 1, 6, 0) / 1000), -5 * 3600);
    assert_int_equal(zone_offset(&ny, utc_ms(2026, 7, 1, 12, 0) / 1000), -4 * 3600);
    assert_int_equal(zone_offset(&ny, utc_ms(2026, 1, 15, 12, 0) / 1000), -5 * 3600);
    struct zone_local lt;
    zone_local_time(&ny, utc_ms(2026, 3, 8, 7, 0), &lt); /* 03:00 EDT, the hour 02:xx skipped */
    assert_int_equal(lt.minute, 3 * 60);
    assert_int_equal(lt.date, 20260308);
    assert_int_equal(lt.wday, 0);
}

/* Southern hemisphere: DST from October to April (start after end in the year). */
static void zone_rule_southern(void **state)
{
    (void)state;
    struct zone syd;
    memset(&syd, 0, sizeof(syd));
    syd.has_rule = true;
    assert_int_equal(zone_parse_rule("AEST-10AEDT,M10.1.0,M4.1.0/3", &syd.rule, NULL), ERR_OK);
    assert_int_equal(zone_offset(&syd, utc_ms(2026, 1, 10, 0, 0) / 1000), 11 * 3600);
    assert_int_equal(zone_offset(&syd, utc_ms(2026, 6, 10, 0, 0) / 1000), 10 * 3600);
    assert_int_equal(zone_offset(&syd, utc_ms(2026, 12, 10, 0, 0) / 1000), 11 * 3600);
}

static void zone_rule_bad(void **state)
{
    (void)state;
    struct zone_rule r;
    const char *bad[] = {"",
                         "E5",
                         "EST5EDT,M3.2.0",
                         "EST5EDT,J60,M11.1.0",
                         "EST5EDT,M13.2.0,M11.1.0",
                         "EST5x",
                         "<+03",
                         "EST5EDT,M3.2.0,M11.1.0junk"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (zone_parse_rule(bad[i], &r, NULL) != ERR_INVALID)
            fail_msg("'%s' should not parse", bad[i]);
    assert_int_equal(zone_parse_rule("<+03>-3", &r, NULL), ERR_OK);
    assert_int_equal(r.std_off, 3 * 3600);
    assert_false(r.has_dst);
    assert_int_equal(zone_parse_rule("UTC0", &r, NULL), ERR_OK);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* The system's America/New_York (TZif v2+) agrees with the rule, before and after 2037 (where
 * the footer takes over), and its history (1970: DST from April). */
static void zone_tzif_system(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *data = slurp("/usr/share/zoneinfo/America/New_York", &len);
    if (!data)
        skip();
    struct zone *z = malloc(sizeof(*z));
    assert_int_equal(zone_parse_tzif(z, "America/New_York", data, len, NULL), ERR_OK);
    assert_true(z->has_rule);
    for (int y = 2024; y <= 2045; y++) {
        int64_t a = utc_ms(y, 7, 1, 12, 0) / 1000;
        int64_t b = utc_ms(y, 1, 1, 12, 0) / 1000;
        assert_int_equal(zone_offset(z, a), -4 * 3600);
        assert_int_equal(zone_offset(z, b), -5 * 3600);
        assert_int_equal(zone_offset(z, a), zone_offset(&ny, a));
    }
    assert_int_equal(zone_offset(z, utc_ms(2026, 3, 8, 6, 59) / 1000), -5 * 3600);
    assert_int_equal(zone_offset(z, utc_ms(2026, 3, 8, 7, 0) / 1000), -4 * 3600);
    assert_int_equal(zone_offset(z, utc_ms(1970, 3, 1, 12, 0) / 1000), -5 * 3600);
    assert_int_equal(zone_offset(z, utc_ms(1970, 6, 1, 12, 0) / 1000), -4 * 3600);
    /* Truncations are refused, never read past the end. */
    for (size_t cut = 0; cut < len; cut += 97)
        assert_int_not_equal(zone_parse_tzif(z, "x", data, cut, NULL), ERR_OK);
    data[0] = 'X';
    assert_int_equal(zone_parse_tzif(z, "x", data, len, NULL), ERR_INVALID);
    free(z);
    free(data);
}

static void zone_names(void **state)
{
    (void)state;
    assert_true(zone_name_ok("America/New_York"));
    assert_true(zone_name_ok("UTC"));
    assert_true(zone_name_ok("Etc/GMT+5"));
    assert_false(zone_name_ok("../etc/passwd"));
    assert_false(zone_name_ok("America/../../x"));
    assert_false(zone_name_ok("/etc/localtime"));
    assert_false(zone_name_ok(""));
    assert_false(zone_name_ok("America//X"));
    assert_false(zone_name_ok(NULL));
}

/* ==== plans ================================================================================== */

/* Mon-Fri 09:00-17:00 New York. */
static const struct route_hours weekdays[] = {
    {1, 540, 1020}, {2, 540, 1020}, {3, 540, 1020}, {4, 540, 1020}, {5, 540, 1020}};
static struct route_schedule office = {.zone = &ny, .n_hours = 5, .hours = weekdays};

static struct route_target targets[3] = {
    {.id = "a", .number = "+15555550001", .location = -1, .weight = 1, .priority = 1},
    {.id = "b", .number = "+15555550002", .location = -1, .weight = 1, .priority = 2},
    {.id = "c", .number = "+15555550003", .location = -1, .weight = 1, .priority = 3},
};

static struct route_step one_step;
static struct route_plan plan_of(enum route_method m)
{
    memset(&one_step, 0, sizeof(one_step));
    one_step.kind = ROUTE_STEP_DISTRIBUTE;
    one_step.method = m;
    one_step.next = ROUTE_GOTO_NEXT;
    one_step.on_fail = ROUTE_GOTO_NEXT;
    return (struct route_plan){.n_steps = 1,
                               .steps = &one_step,
                               .n_targets = 3,
                               .targets = targets,
                               .last_resort = "+15555550999"};
}

static const struct route_facts no_facts = {.visit_location = -1};
static const struct route_event start = {.kind = ROUTE_EV_START};

static struct route_instr eval_start(const struct route_plan *p, const struct route_facts *f,
                                     const struct route_counts *c, int64_t now,
                                     struct route_state *st)
{
    struct route_instr in;
    route_state_init(st);
    route_next(p, f, c, now, st, &start, &in);
    return in;
}

static struct route_instr dial_done(const struct route_plan *p, const struct route_facts *f,
                                    const struct route_counts *c, int64_t now,
                                    struct route_state *st, const char *status)
{
    struct route_instr in;
    struct route_event ev = {.kind = ROUTE_EV_DIAL_DONE, .dial_status = status};
    route_next(p, f, c, now, st, &ev, &in);
    return in;
}

static void round_robin_spreads_evenly(void **state)
{
    (void)state;
    struct route_plan p = plan_of(ROUTE_ROUND_ROBIN);
    assert_int_equal(route_plan_check(&p, NULL), ERR_OK);
    int n[3] = {0};
    for (uint64_t seq = 0; seq < 30; seq++) {
        struct route_counts c = {.rr_seq = seq};
        struct route_state st;
        struct route_instr in = eval_start(&p, &no_facts, &c, 0, &st);
        assert_int_equal(in.op, ROUTE_OP_DIAL);
        assert_true(in.used_seq);
        assert_false(in.last_resort);
        n[in.target]++;
        assert_string_equal(in.number, targets[in.target].number);
    }
    assert_int_equal(n[0], 10);
    assert_int_equal(n[1], 10);
    assert_int_equal(n[2], 10);
}

/* A round-robin pick that fails moves on in order, without a new sequence number, and after
 * the last the step's on_fail (here: next = none left) is the last resort. */
static void round_robin_fails_over(void **state)
{
    (void)state;
    struct route_plan p = plan_of(ROUTE_ROUND_ROBIN);
    struct route_counts c = {.rr_seq = 4}; /* 4 % 3 = b first */
    struct route_state st;
    struct route_instr in = eval_start(&p, &no_facts, &c, 0, &st);
    assert_int_equal(in.target, 1);
    in = dial_done(&p, &no_facts, &c, 0, &st, "busy");
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_int_equal(in.target, 2);
    assert_false(in.used_seq);
    in = dial_done(&p, &no_facts, &c, 0, &st, "no-answer");
    assert_int_equal(in.target, 0);
    in = dial_done(&p, &no_facts, &c, 0, &st, "failed");
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_true(in.last_resort);
    assert_string_equal(in.number, "+15555550999");
    in = dial_done(&p, &no_facts, &c, 0, &st, "completed");
    assert_int_equal(in.op, ROUTE_OP_HANGUP);
}

static void weighted_split_within_tolerance(void **state)
{
    (void)state;
    struct route_target wt[3];
    memcpy(wt, targets, sizeof(wt));
    wt[0].weight = 60;
    wt[1].weight = 30;
    wt[2].weight = 10;
    struct route_plan p = plan_of(ROUTE_WEIGHTED);
    p.targets = wt;
    /* The claimed sequence numbers spread the picks evenly: within 1 % of the weights after
     * 1,000 calls, and within a few calls already after 100, whatever the starting number. */
    for (uint64_t from = 0; from < 5000; from += 1237) {
        int n[3] = {0};
        for (uint64_t i = 0; i < 1000; i++) {
            struct route_counts c = {.rr_seq = from + i};
            struct route_state st;
            struct route_instr in = eval_start(&p, &no_facts, &c, 0, &st);
            assert_int_equal(in.op, ROUTE_OP_DIAL);
            assert_true(in.used_seq);
            n[in.target]++;
            if (i == 99) {
                assert_in_range(n[0], 57, 63);
                assert_in_range(n[1], 27, 33);
                assert_in_range(n[2], 7, 13);
            }
        }
        assert_in_range(n[0], 594, 606);
        assert_in_range(n[1], 294, 306);
        assert_in_range(n[2], 94, 106);
    }
    /* A retry after a failed dial draws at random among the targets left, claiming nothing. */
    struct route_counts c0 = {.rr_seq = 7};
    struct route_state st;
    struct route_instr in = eval_start(&p, &no_facts, &c0, 0, &st);
    int first = in.target;
    in = dial_done(&p, &no_facts, &c0, 0, &st, "busy");
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_int_not_equal(in.target, first);
    assert_false(in.used_seq);
    /* A weight of 0 is never picked. */
    wt[2].weight = 0;
    for (uint64_t d = 0; d < 200; d++) {
        struct route_counts c = {.rr_seq = d};
        assert_int_not_equal(eval_start(&p, &no_facts, &c, 0, &st).target, 2);
    }
}

/* Waterfall: the first target does not answer, the second does. */
static void priority_waterfall(void **state)
{
    (void)state;
    struct route_plan p = plan_of(ROUTE_PRIORITY);
    struct route_state st;
    struct route_instr in = eval_start(&p, &no_facts, NULL, 0, &st);
    assert_int_equal(in.target, 0);
    in = dial_done(&p, &no_facts, NULL, 0, &st, "no-answer");
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_int_equal(in.target, 1);
    in = dial_done(&p, &no_facts, NULL, 0, &st, "completed");
    assert_int_equal(in.op, ROUTE_OP_HANGUP);
    assert_int_equal((int)st.tried, 3);
}

static void geography_by_area_code(void **state)
{
    (void)state;
    static const uint16_t east[] = {212, 718};
    static const uint16_t west[] = {415, 510};
    struct route_location locs[2] = {
        {.id = "loc_e", .name = "East", .n_area_codes = 2, .area_codes = east},
        {.id = "loc_w", .name = "West", .n_area_codes = 2, .area_codes = west},
    };
    struct route_target gt[3];
    memcpy(gt, targets, sizeof(gt));
    gt[0].location = 0;
    gt[1].location = 1;
    gt[2].location = 1;
    gt[2].priority = 0; /* c before b at West */
    struct route_plan p = plan_of(ROUTE_GEOGRAPHY);
    p.targets = gt;
    p.n_locations = 2;
    p.locations = locs;
    assert_int_equal(route_plan_check(&p, NULL), ERR_OK);
    struct route_facts f = no_facts;
    f.area_code = 415;
    struct route_state st;
    struct route_instr in = eval_start(&p, &f, NULL, 0, &st);
    assert_int_equal(in.target, 2);
    assert_int_equal(in.location, 1);
    in = dial_done(&p, &f, NULL, 0, &st, "busy");
    assert_int_equal(in.target, 1);
    in = dial_done(&p, &f, NULL, 0, &st, "busy");
    assert_true(in.last_resort); /* never to the other location's target */
    f.area_code = 718;
    in = eval_start(&p, &f, NULL, 0, &st);
    assert_int_equal(in.target, 0);
    /* The visit's region wins over the area code. */
    f.visit_location = 1;
    in = eval_start(&p, &f, NULL, 0, &st);
    assert_int_equal(gt[in.target].location, 1);
    /* Nobody serves 999: on_fail. */
    f = no_facts;
    f.area_code = 999;
    in = eval_start(&p, &f, NULL, 0, &st);
    assert_true(in.last_resort);
}

/* A plan attached to a location (at_home) distributes only to targets that are not another
 * location's business lines: those are skipped (and said so in skipped_elsewhere), buyers (a
 * bid_url or a payout) are account-wide, targets of no location stay. */
static void home_location_only(void **state)
{
    (void)state;
    struct route_location locs[2] = {{.id = "loc_home", .name = "Home"},
                                     {.id = "loc_away", .name = "Away"}};
    struct route_target ht[3];
    memcpy(ht, targets, sizeof(ht));
    ht[0].location = 1; /* a: Away's business line, first by priority */
    ht[1].location = 0; /* b: Home's */
    ht[2].location = 1; /* c: Away's */
    struct route_plan p = plan_of(ROUTE_PRIORITY);
    p.targets = ht;
    p.n_locations = 2;
    p.locations = locs;
    /* not attached: a first, as always */
    struct route_state st;
    struct route_instr in = eval_start(&p, &no_facts, NULL, 0, &st);
    assert_int_equal(in.target, 0);
    assert_int_equal(in.skipped_elsewhere, 0);
    /* attached to Home: a and c are skipped, b is dialled; b busy -> on_fail (last resort) */
    p.at_home = true;
    p.home = 0;
    assert_int_equal(route_plan_check(&p, NULL), ERR_OK);
    assert_true(route_target_elsewhere(&p, 0));
    assert_false(route_target_elsewhere(&p, 1));
    in = eval_start(&p, &no_facts, NULL, 0, &st);
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_int_equal(in.target, 1);
    assert_int_equal(in.skipped_elsewhere, 0x5);
    in = dial_done(&p, &no_facts, NULL, 0, &st, "busy");
    assert_true(in.last_resort);
    /* round robin over every sequence number never reaches Away's lines */
    p = plan_of(ROUTE_ROUND_ROBIN);
    p.targets = ht;
    p.n_locations = 2;
    p.locations = locs;
    p.at_home = true;
    p.home = 0;
    for (uint64_t seq = 0; seq < 6; seq++) {
        struct route_counts c = {.rr_seq = seq};
        in = eval_start(&p, &no_facts, &c, 0, &st);
        assert_int_equal(in.target, 1);
    }
    /* a buyer is account-wide: c pays per call, a bids; both may take Home's calls */
    ht[2].payout = 2500;
    assert_true(route_target_is_buyer(&ht[2]));
    assert_false(route_target_elsewhere(&p, 2));
    p = plan_of(ROUTE_PRIORITY);
    p.targets = ht;
    p.n_locations = 2;
    p.locations = locs;
    p.at_home = true;
    p.home = 0;
    ht[1].priority = 5; /* b last now */
    in = eval_start(&p, &no_facts, NULL, 0, &st);
    assert_int_equal(in.target, 2);
    assert_int_equal(in.skipped_elsewhere, 0x1);
    ht[0].bid_url = "https://buyer.example/ping";
    assert_false(route_target_elsewhere(&p, 0));
    in = eval_start(&p, &no_facts, NULL, 0, &st);
    assert_int_equal(in.target, 0);
    assert_int_equal(in.skipped_elsewhere, 0);
    /* a home that is no location of the plan does not check */
    p.home = 2;
    assert_int_equal(route_plan_check(&p, NULL), ERR_INVALID);
}

/* Concurrency and daily caps take a target out; when all are out, on_fail. */
static void caps(void **state)
{
    (void)state;
    struct route_target ct[3];
    memcpy(ct, targets, sizeof(ct));
    ct[0].max_concurrent = 2;
    ct[1].max_daily = 5;
    struct route_plan p = plan_of(ROUTE_PRIORITY);
    p.targets = ct;
    int32_t live[3] = {1, 0, 0};
    int32_t today[3] = {0, 4, 0};
    struct route_counts c = {.live = live, .today = today};
    struct route_state st;
    assert_int_equal(eval_start(&p, &no_facts, &c, 0, &st).target, 0);
    live[0] = 2;
    assert_int_equal(eval_start(&p, &no_facts, &c, 0, &st).target, 1);
    today[1] = 5;
    assert_int_equal(eval_start(&p, &no_facts, &c, 0, &st).target, 2);
    ct[2].max_concurrent = 1;
    live[2] = 1;
    struct route_instr in = eval_start(&p, &no_facts, &c, 0, &st);
    assert_true(in.last_resort);
    assert_non_null(strstr(in.reason, "last resort"));
}

/* A target's schedule in New York, across the spring-forward: 08:30 EST on Friday 6 March is
 * closed; 09:30 EDT on Monday 9 March (13:30 UTC, which would be 08:30 in EST) is open; 09:30
 * EST on Monday 2 March is 14:30 UTC. */
static void schedules_across_dst(void **state)
{
    (void)state;
    struct route_target st_t[3];
    memcpy(st_t, targets, sizeof(st_t));
    st_t[0].schedule = &office;
    struct route_plan p = plan_of(ROUTE_PRIORITY);
    p.targets = st_t;
    struct route_state st;
    assert_int_equal(eval_start(&p, &no_facts, NULL, utc_ms(2026, 3, 6, 13, 30), &st).target, 1);
    assert_int_equal(eval_start(&p, &no_facts, NULL, utc_ms(2026, 3, 9, 13, 30), &st).target, 0);
    assert_int_equal(eval_start(&p, &no_facts, NULL, utc_ms(2026, 3, 2, 13, 30), &st).target, 1);
    assert_int_equal(eval_start(&p, &no_facts, NULL, utc_ms(2026, 3, 2, 14, 30), &st).target, 0);
    /* Fall back: Monday 2 November 16:59 EST = 21:59 UTC open, 17:00 EST = 22:00 UTC closed. */
    assert_int_equal(eval_start(&p, &no_facts, NULL, utc_ms(2026, 11, 2, 21, 59), &st).target, 0);
    assert_int_equal(eval_start(&p, &no_facts, NULL, utc_ms(2026, 11, 2, 22, 0), &st).target, 1);
    assert_true(route_schedule_open(&office, utc_ms(2026, 10, 30, 20, 59))); /* Fri 16:59 EDT */
    assert_false(route_schedule_open(&office, utc_ms(2026, 10, 30, 21, 0)));
    assert_false(route_schedule_open(&office, utc_ms(2026, 10, 31, 15, 0))); /* Saturday */
}

static void schedule_holidays_and_overnight(void **state)
{
    (void)state;
    static const int32_t xmas[] = {20261225};
    struct route_schedule s = office;
    s.n_holidays = 1;
    s.holidays = xmas;
    assert_true(route_schedule_open(&s, utc_ms(2026, 12, 24, 15, 0)));
    assert_false(route_schedule_open(&s, utc_ms(2026, 12, 25, 15, 0)));
    /* Friday 22:00 to Saturday 02:00, UTC. */
    static const struct route_hours night[] = {{5, 1320, 120}};
    struct route_schedule n = {.n_hours = 1, .hours = night};
    assert_true(route_schedule_open(&n, utc_ms(2026, 3, 6, 23, 0)));  /* Friday */
    assert_true(route_schedule_open(&n, utc_ms(2026, 3, 7, 1, 59)));  /* Saturday */
    assert_false(route_schedule_open(&n, utc_ms(2026, 3, 7, 2, 0)));  /* Saturday */
    assert_false(route_schedule_open(&n, utc_ms(2026, 3, 5, 23, 0))); /* Thursday */
    assert_false(route_schedule_open(&n, utc_ms(2026, 3, 6, 1, 0)));  /* Friday morning */
}

/* The agency client: business hours, else voicemail; a recording ends the call. */
static void after_hours_voicemail(void **state)
{
    (void)state;
    struct route_step steps[3] = {
        {.kind = ROUTE_STEP_SCHEDULE, .schedule = &office, .next = ROUTE_GOTO_NEXT, .on_fail = 2},
        {.kind = ROUTE_STEP_DISTRIBUTE,
         .method = ROUTE_PRIORITY,
         .next = ROUTE_GOTO_NEXT,
         .on_fail = 2},
        {.kind = ROUTE_STEP_VOICEMAIL, .say = "Leave a message.", .max_len_s = 60},
    };
    struct route_plan p = {.n_steps = 3,
                           .steps = steps,
                           .n_targets = 1,
                           .targets = targets,
                           .last_resort = "+15555550999"};
    assert_int_equal(route_plan_check(&p, NULL), ERR_OK);
    struct route_state st;
    struct route_instr in = eval_start(&p, &no_facts, NULL, utc_ms(2026, 3, 9, 15, 0), &st);
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    in = dial_done(&p, &no_facts, NULL, 0, &st, "no-answer"); /* nobody answers: voicemail */
    assert_int_equal(in.op, ROUTE_OP_RECORD);
    in = eval_start(&p, &no_facts, NULL, utc_ms(2026, 3, 9, 23, 0), &st); /* 19:00 EDT */
    assert_int_equal(in.op, ROUTE_OP_RECORD);
    assert_string_equal(in.say, "Leave a message.");
    assert_int_equal(in.max_len_s, 60);
    struct route_event rec = {.kind = ROUTE_EV_RECORDED};
    route_next(&p, &no_facts, NULL, 0, &st, &rec, &in);
    assert_int_equal(in.op, ROUTE_OP_HANGUP);
}

static struct route_instr press(const struct route_plan *p, const struct route_facts *f,
                                struct route_state *st, const char *digits)
{
    struct route_instr in;
    struct route_event ev = {.kind = ROUTE_EV_DIGITS, .digits = digits};
    route_next(p, f, NULL, 0, st, &ev, &in);
    return in;
}

/* The brand: a menu choosing a location, then a priority pick at that location; digits are kept
 * on the call; a wrong digit asks again, twice wrong goes to on_fail. */
static void menu_reaches_location(void **state)
{
    (void)state;
    struct route_location locs[2] = {{.id = "loc_n", .name = "North"},
                                     {.id = "loc_s", .name = "South"}};
    struct route_target mt[3];
    memcpy(mt, targets, sizeof(mt));
    mt[0].location = 0;
    mt[1].location = 1;
    mt[2].location = 1;
    struct route_step steps[2] = {
        {.kind = ROUTE_STEP_MENU,
         .say = "Press 1 for North, 2 for South.",
         .n_options = 2,
         .options = {{'1', 1, 0}, {'2', 1, 1}},
         .max_tries = 2,
         .next = ROUTE_GOTO_NEXT,
         .on_fail = ROUTE_GOTO_LAST_RESORT},
        {.kind = ROUTE_STEP_DISTRIBUTE,
         .method = ROUTE_PRIORITY,
         .next = ROUTE_GOTO_NEXT,
         .on_fail = ROUTE_GOTO_NEXT},
    };
    struct route_plan p = {.n_steps = 2,
                           .steps = steps,
                           .n_targets = 3,
                           .targets = mt,
                           .n_locations = 2,
                           .locations = locs,
                           .last_resort = "+15555550999"};
    assert_int_equal(route_plan_check(&p, NULL), ERR_OK);
    struct route_state st;
    struct route_instr in = eval_start(&p, &no_facts, NULL, 0, &st);
    assert_int_equal(in.op, ROUTE_OP_GATHER);
    assert_int_equal(in.num_digits, 1);
    assert_string_equal(in.say, "Press 1 for North, 2 for South.");
    in = press(&p, &no_facts, &st, "2");
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_int_equal(in.target, 1);
    assert_int_equal(in.location, 1);
    assert_string_equal(st.digits, "2");
    /* 9 is no option: asked again; then nothing: last resort. */
    in = eval_start(&p, &no_facts, NULL, 0, &st);
    in = press(&p, &no_facts, &st, "9");
    assert_int_equal(in.op, ROUTE_OP_GATHER);
    in = press(&p, &no_facts, &st, "");
    assert_true(in.last_resort);
    assert_string_equal(st.digits, "9");
}

static void screening(void **state)
{
    (void)state;
    struct route_step steps[2] = {
        {.kind = ROUTE_STEP_SCREEN,
         .say = "Press 1 to be connected.",
         .skip_verified = true,
         .next = ROUTE_GOTO_NEXT,
         .on_fail = ROUTE_GOTO_NEXT},
        {.kind = ROUTE_STEP_DISTRIBUTE,
         .method = ROUTE_PRIORITY,
         .next = ROUTE_GOTO_NEXT,
         .on_fail = ROUTE_GOTO_NEXT},
    };
    struct route_plan p = {.n_steps = 2,
                           .steps = steps,
                           .n_targets = 3,
                           .targets = targets,
                           .last_resort = "+15555550999"};
    struct route_state st;
    struct route_instr in = eval_start(&p, &no_facts, NULL, 0, &st);
    assert_int_equal(in.op, ROUTE_OP_GATHER);
    in = press(&p, &no_facts, &st, "1");
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    in = eval_start(&p, &no_facts, NULL, 0, &st);
    in = press(&p, &no_facts, &st, "");
    assert_int_equal(in.op, ROUTE_OP_SAY_HANGUP); /* a robocall or misdial never rings anyone */
    in = eval_start(&p, &no_facts, NULL, 0, &st);
    in = press(&p, &no_facts, &st, "7");
    assert_int_equal(in.op, ROUTE_OP_SAY_HANGUP);
    struct route_facts f = no_facts;
    f.verstat = "TN-Validation-Passed-A";
    in = eval_start(&p, &f, NULL, 0, &st);
    assert_int_equal(in.op, ROUTE_OP_DIAL);
}

static void block_list_and_verification(void **state)
{
    (void)state;
    static const char *const blocked[] = {"+15555550123", "+1900*"};
    struct route_plan p = plan_of(ROUTE_PRIORITY);
    p.n_blocked = 2;
    p.blocked = blocked;
    p.reject_failed_verification = true;
    struct route_facts f = no_facts;
    struct route_state st;
    f.from = "+15555550123";
    assert_int_equal(eval_start(&p, &f, NULL, 0, &st).op, ROUTE_OP_REJECT);
    f.from = "+19005550100";
    assert_int_equal(eval_start(&p, &f, NULL, 0, &st).op, ROUTE_OP_REJECT);
    f.from = "+15555550124";
    assert_int_equal(eval_start(&p, &f, NULL, 0, &st).op, ROUTE_OP_DIAL);
    f.verstat = "TN-Validation-Failed";
    assert_int_equal(eval_start(&p, &f, NULL, 0, &st).op, ROUTE_OP_REJECT);
    f.verstat = "No-TN-Validation";
    assert_int_equal(eval_start(&p, &f, NULL, 0, &st).op, ROUTE_OP_DIAL);
    p.reject_failed_verification = false;
    f.verstat = "TN-Validation-Failed";
    assert_int_equal(eval_start(&p, &f, NULL, 0, &st).op, ROUTE_OP_DIAL);
    f.from = NULL;
    assert_false(route_blocked(&p, NULL));
}

/* Whatever is inconsistent dials the last resort: a plan that loops, progress that is not in
 * the plan, digits where none were asked for, a dial result with no dial. */
static void never_drops(void **state)
{
    (void)state;
    struct route_step loop[2] = {
        {.kind = ROUTE_STEP_SCHEDULE, .next = 1},
        {.kind = ROUTE_STEP_SCHEDULE, .next = 0},
    };
    struct route_plan p = {.n_steps = 2,
                           .steps = loop,
                           .n_targets = 3,
                           .targets = targets,
                           .last_resort = "+15555550999"};
    struct route_state st;
    struct route_instr in = eval_start(&p, &no_facts, NULL, 0, &st);
    assert_true(in.last_resort);
    assert_non_null(strstr(in.reason, "loops"));
    route_state_init(&st);
    st.step = 7;
    route_next(&p, &no_facts, NULL, 0, &st, &start, &in);
    assert_true(in.last_resort);
    /* Progress from an earlier version of the plan (a location and a target it no longer has)
     * is forgotten, never read past the plan's arrays. */
    struct route_step sched = {.kind = ROUTE_STEP_SCHEDULE, .next = 1};
    struct route_step two[2] = {sched, {.kind = ROUTE_STEP_DISTRIBUTE, .method = ROUTE_PRIORITY}};
    struct route_plan small = {.n_steps = 2,
                               .steps = two,
                               .n_targets = 1,
                               .targets = targets,
                               .last_resort = "+15555550999"};
    route_state_init(&st);
    st.location = 40;
    st.target = 50;
    st.tried = ~UINT64_C(0);
    route_next(&small, &no_facts, NULL, 0, &st, &start, &in);
    assert_true(in.last_resort); /* its one target counts as tried: nothing left */
    assert_int_equal(in.location, -1);
    route_state_init(&st);
    st.location = 40;
    route_next(&small, &no_facts, NULL, 0, &st, &start, &in);
    assert_int_equal(in.target, 0);
    struct route_plan q = plan_of(ROUTE_PRIORITY);
    route_state_init(&st);
    in = press(&q, &no_facts, &st, "1");
    assert_true(in.last_resort);
    route_state_init(&st);
    in = dial_done(&q, &no_facts, NULL, 0, &st, "busy");
    assert_true(in.last_resort);
    /* The last resort's own end ends the call (no second last resort). */
    in = dial_done(&q, &no_facts, NULL, 0, &st, "busy");
    assert_int_equal(in.op, ROUTE_OP_HANGUP);
}

static void plan_check_refuses(void **state)
{
    (void)state;
    struct route_plan p = plan_of(ROUTE_PRIORITY);
    p.last_resort = NULL;
    assert_int_equal(route_plan_check(&p, NULL), ERR_INVALID);
    p = plan_of(ROUTE_PRIORITY);
    one_step.on_fail = 5;
    assert_int_equal(route_plan_check(&p, NULL), ERR_INVALID);
    p = plan_of(ROUTE_PRIORITY);
    static const uint16_t bad_t[] = {3};
    one_step.n_targets = 1;
    one_step.targets = bad_t;
    assert_int_equal(route_plan_check(&p, NULL), ERR_INVALID);
    p = plan_of(ROUTE_PRIORITY);
    one_step.kind = ROUTE_STEP_MENU;
    one_step.n_options = 1;
    one_step.options[0] = (struct route_option){'x', 0, -1};
    assert_int_equal(route_plan_check(&p, NULL), ERR_INVALID);
    one_step.options[0] = (struct route_option){'1', 0, 2};
    assert_int_equal(route_plan_check(&p, NULL), ERR_INVALID);
    one_step.options[0] = (struct route_option){'1', 0, -1};
    assert_int_equal(route_plan_check(&p, NULL), ERR_OK);
}

static void state_round_trip(void **state)
{
    (void)state;
    struct route_state a;
    route_state_init(&a);
    a.step = 3;
    a.tries = 1;
    a.location = 12;
    a.target = -2;
    a.tried = UINT64_C(0x8000000000000005);
    snprintf(a.digits, sizeof(a.digits), "12#");
    char text[ROUTE_STATE_MAX];
    route_state_format(&a, text);
    struct route_state b;
    route_state_init(&b);
    assert_int_equal(route_state_parse(text, &b), ERR_OK);
    assert_memory_equal(&a, &b, sizeof(a));
    const char *bad[] = {"",
                         "1.0.-1.-1.0",
                         "1.0.-1.-1.g.",
                         "99.0.-1.-1.0.",
                         "1.0.-1.-3.0.",
                         "1.0.-1.-1.0.12x",
                         "1.0.-1.-1.00000000000000000.",
                         "1.0.-1.-1.0.1 ",
                         "a.0.-1.-1.0."};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (route_state_parse(bad[i], &b) != ERR_INVALID)
            fail_msg("'%s' should not parse", bad[i]);
}

static void whisper_and_billable(void **state)
{
    (void)state;
    struct route_target wt[3];
    memcpy(wt, targets, sizeof(wt));
    wt[0].whisper = "Call from {source}, campaign {campaign}.";
    wt[0].min_duration_s = 90;
    wt[0].payout = 2500;
    struct route_plan p = plan_of(ROUTE_PRIORITY);
    p.targets = wt;
    p.record = true;
    struct route_facts f = no_facts;
    f.source = "google";
    f.campaign = "spring";
    struct route_state st;
    struct route_instr in = eval_start(&p, &f, NULL, 0, &st);
    assert_string_equal(in.whisper, "Call from google, campaign spring.");
    assert_true(in.record);
    int64_t pay = -1;
    assert_false(route_billable(&wt[0], 89, &pay));
    assert_int_equal(pay, 0);
    assert_true(route_billable(&wt[0], 90, &pay));
    assert_int_equal(pay, 2500);
    assert_false(route_billable(&wt[1], 0, &pay));
}

/* ==== ping-post ============================================================================== */

static struct route_target buyers[4] = {
    {.id = "slow",
     .number = "+15555550011",
     .location = -1,
     .priority = 1,
     .bid_url = "https://slow.example/ping"},
    {.id = "bad",
     .number = "+15555550012",
     .location = -1,
     .priority = 2,
     .bid_url = "https://bad.example/ping"},
    {.id = "good",
     .number = "+15555550013",
     .location = -1,
     .priority = 3,
     .bid_url = "https://good.example/ping"},
    {.id = "plain", .number = "+15555550014", .location = -1, .priority = 0}, /* no bid_url */
};
static struct route_step pp_steps[2];
static struct route_plan pp_plan(int64_t reserve)
{
    memset(pp_steps, 0, sizeof(pp_steps));
    pp_steps[0] = (struct route_step){.kind = ROUTE_STEP_DISTRIBUTE,
                                      .method = ROUTE_PING_POST,
                                      .next = ROUTE_GOTO_NEXT,
                                      .on_fail = ROUTE_GOTO_NEXT,
                                      .reserve = reserve};
    pp_steps[1] = (struct route_step){.kind = ROUTE_STEP_DISTRIBUTE,
                                      .method = ROUTE_PRIORITY,
                                      .next = ROUTE_GOTO_NEXT,
                                      .on_fail = ROUTE_GOTO_NEXT};
    return (struct route_plan){.n_steps = 2,
                               .steps = pp_steps,
                               .n_targets = 4,
                               .targets = buyers,
                               .last_resort = "+15555550999"};
}

/* Valid bids only, highest first; a bid after the deadline, under the reserve, from a target
 * that was not pinged, a second bid from one buyer, and invalid answers do not count. */
static void auction_rank_highest_valid(void **state)
{
    (void)state;
    struct route_plan p = pp_plan(0);
    uint64_t bidders = 0x7; /* slow, bad, good */
    struct route_bid bids[] = {
        {.target = 0, .valid = true, .price = 9000, .arrived_ms = 1600}, /* past the deadline */
        {.target = 1, .valid = false, .price = 8000, .arrived_ms = 5},   /* did not parse */
        {.target = 2, .valid = true, .price = 2500, .arrived_ms = 20},
        {.target = 3, .valid = true, .price = 9999, .arrived_ms = 1},   /* not pinged */
        {.target = 2, .valid = true, .price = 99999, .arrived_ms = 30}, /* second bid */
    };
    size_t order[5];
    size_t n = route_auction_rank(&p, bidders, bids, 5, 1500, 0, order);
    assert_int_equal(n, 1);
    assert_int_equal(order[0], 2);
    /* Two valid bids: the higher first, whatever the arrival order. */
    struct route_bid two[] = {
        {.target = 2, .valid = true, .price = 1000, .arrived_ms = 5},
        {.target = 0, .valid = true, .price = 1500, .arrived_ms = 900},
    };
    n = route_auction_rank(&p, bidders, two, 2, 1500, 0, order);
    assert_int_equal(n, 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 0);
    /* The reserve: a bid under it does not count; exactly at it does. */
    n = route_auction_rank(&p, bidders, two, 2, 1500, 1200, order);
    assert_int_equal(n, 1);
    assert_int_equal(order[0], 1);
    n = route_auction_rank(&p, bidders, two, 2, 1500, 1500, order);
    assert_int_equal(n, 1);
    n = route_auction_rank(&p, bidders, two, 2, 1500, 1501, order);
    assert_int_equal(n, 0);
    /* A price of 0 is no bid. */
    struct route_bid zero[] = {{.target = 2, .valid = true, .price = 0, .arrived_ms = 5}};
    assert_int_equal(route_auction_rank(&p, bidders, zero, 1, 1500, 0, order), 0);
}

/* Ties: the earlier bid, then the lower priority, then the lower index. */
static void auction_rank_ties(void **state)
{
    (void)state;
    struct route_plan p = pp_plan(0);
    size_t order[3];
    struct route_bid early[] = {
        {.target = 0, .valid = true, .price = 2000, .arrived_ms = 40},
        {.target = 2, .valid = true, .price = 2000, .arrived_ms = 10},
    };
    assert_int_equal(route_auction_rank(&p, 0x7, early, 2, 1500, 0, order), 2);
    assert_int_equal(order[0], 1);
    struct route_bid same[] = {
        {.target = 2, .valid = true, .price = 2000, .arrived_ms = 10}, /* priority 3 */
        {.target = 1, .valid = true, .price = 2000, .arrived_ms = 10}, /* priority 2 */
        {.target = 0, .valid = true, .price = 2000, .arrived_ms = 10}, /* priority 1 */
    };
    assert_int_equal(route_auction_rank(&p, 0x7, same, 3, 1500, 0, order), 3);
    assert_int_equal(same[order[0]].target, 0);
    assert_int_equal(same[order[1]].target, 1);
    assert_int_equal(same[order[2]].target, 2);
}

static void auction_destinations(void **state)
{
    (void)state;
    assert_true(route_destination_ok("+15125550201"));
    assert_true(route_destination_ok("sip:agent-7@buyer.example.com"));
    assert_true(route_destination_ok("sip:+15125550201@sip.buyer.example:5061"));
    assert_false(route_destination_ok("15125550201"));
    assert_false(route_destination_ok("+1512"));
    assert_false(route_destination_ok("+1512555020a"));
    assert_false(route_destination_ok("sip:@buyer.example"));
    assert_false(route_destination_ok("sip:agent@"));
    assert_false(route_destination_ok("sip:a@b.example;transport=tcp"));
    assert_false(route_destination_ok("sip:a@b\"><Hangup/>"));
    assert_false(route_destination_ok("sips:a@b.example:99999"));
    assert_false(route_destination_ok("sip:a@b.example:123456"));
    assert_false(route_destination_ok("tel:+15125550201"));
    assert_false(route_destination_ok(NULL));
}

/* The step asks for an auction among the eligible buyers with a bid endpoint; a winner is
 * dialled at the destination its post gave; no winner falls back to the next step. */
static void auction_step_and_fallback(void **state)
{
    (void)state;
    struct route_plan p = pp_plan(1000);
    assert_int_equal(route_plan_check(&p, NULL), ERR_OK);
    struct route_state st;
    struct route_instr in = eval_start(&p, &no_facts, NULL, 0, &st);
    assert_int_equal(in.op, ROUTE_OP_AUCTION);
    assert_int_equal(in.bidders, 0x7);
    assert_int_equal(in.deadline_ms, ROUTE_AUCTION_DEADLINE_MS);
    assert_int_equal(in.reserve, 1000);
    /* A capped buyer is not pinged. */
    buyers[1].max_concurrent = 1;
    int32_t live[4] = {0, 1, 0, 0};
    struct route_counts c = {.live = live};
    struct route_state st2;
    in = eval_start(&p, &no_facts, &c, 0, &st2);
    assert_int_equal(in.bidders, 0x5);
    buyers[1].max_concurrent = 0;
    /* The winner: dial its destination. */
    struct route_state won = st;
    struct route_event ev = {
        .kind = ROUTE_EV_AUCTION, .winner = 2, .destination = "sip:a@good.example", .price = 2500};
    route_next(&p, &no_facts, NULL, 0, &won, &ev, &in);
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_int_equal(in.target, 2);
    assert_string_equal(in.number, "sip:a@good.example");
    assert_non_null(strstr(in.reason, "good won at 2500"));
    /* Its dial fails: ping-post falls back to the next step (priority over every target). */
    in = dial_done(&p, &no_facts, NULL, 0, &won, "no-answer");
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_int_equal(won.step, 1);
    /* No winner: the next step at once. */
    struct route_state lost = st;
    ev = (struct route_event){.kind = ROUTE_EV_AUCTION, .winner = -1};
    route_next(&p, &no_facts, NULL, 0, &lost, &ev, &in);
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_int_equal(lost.step, 1);
    assert_string_equal(in.number, "+15555550014"); /* priority 0 */
    assert_non_null(strstr(in.reason, "no winning bid"));
    /* A winner with a destination that does not validate is no winner. */
    lost = st;
    ev = (struct route_event){
        .kind = ROUTE_EV_AUCTION, .winner = 2, .destination = "sip:x@y\"/>", .price = 2500};
    route_next(&p, &no_facts, NULL, 0, &lost, &ev, &in);
    assert_int_equal(lost.step, 1);
    /* An auction result for a step that is no auction: the last resort. */
    struct route_state other = st;
    other.step = 1;
    ev = (struct route_event){
        .kind = ROUTE_EV_AUCTION, .winner = 2, .destination = "+15125550201", .price = 1};
    route_next(&p, &no_facts, NULL, 0, &other, &ev, &in);
    assert_true(in.last_resort);
    /* Nobody eligible to ping: the step falls through without an auction. */
    for (int i = 0; i < 3; i++)
        buyers[i].max_daily = 1;
    int32_t today[4] = {1, 1, 1, 0};
    c = (struct route_counts){.today = today};
    in = eval_start(&p, &no_facts, &c, 0, &st2);
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_string_equal(in.number, "+15555550014");
    for (int i = 0; i < 3; i++)
        buyers[i].max_daily = 0;
    /* A ping-post step whose targets have no bid_url is refused when written. */
    uint16_t only_plain[] = {3};
    pp_steps[0].n_targets = 1;
    pp_steps[0].targets = only_plain;
    assert_int_equal(route_plan_check(&p, NULL), ERR_INVALID);
}

/* Re-auction: the winner's dial fails while the same auction has valid bids left: post to the
 * next one (no new bidding), dial it if it confirms; a failure with none left, or a dial that
 * connects, does not re-post. */
static void reauction_next_bid(void **state)
{
    (void)state;
    struct route_plan p = pp_plan(0);
    struct route_state st;
    struct route_instr in = eval_start(&p, &no_facts, NULL, 0, &st);
    assert_int_equal(in.op, ROUTE_OP_AUCTION);
    assert_false(in.repost);
    struct route_event ev = {
        .kind = ROUTE_EV_AUCTION, .winner = 2, .destination = "+15125550302", .price = 3000};
    route_next(&p, &no_facts, NULL, 0, &st, &ev, &in);
    assert_int_equal(in.target, 2);
    /* busy, bids left: post to the next bid of the same auction */
    struct route_event busy = {
        .kind = ROUTE_EV_DIAL_DONE, .dial_status = "busy", .bids_left = true};
    route_next(&p, &no_facts, NULL, 0, &st, &busy, &in);
    assert_int_equal(in.op, ROUTE_OP_AUCTION);
    assert_true(in.repost);
    assert_int_equal(st.step, 0);
    assert_non_null(strstr(in.reason, "good's dial ended busy: post to the next bid"));
    /* the next bid's post confirms: dial it */
    ev = (struct route_event){
        .kind = ROUTE_EV_AUCTION, .winner = 0, .destination = "+15125550301", .price = 2000};
    route_next(&p, &no_facts, NULL, 0, &st, &ev, &in);
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_int_equal(in.target, 0);
    assert_string_equal(in.number, "+15125550301");
    /* no-answer and no bid left: the step's fallback (priority: plain) */
    struct route_event noans = {.kind = ROUTE_EV_DIAL_DONE, .dial_status = "no-answer"};
    route_next(&p, &no_facts, NULL, 0, &st, &noans, &in);
    assert_int_equal(in.op, ROUTE_OP_DIAL);
    assert_int_equal(st.step, 1);
    assert_string_equal(in.number, "+15555550014");
    /* a re-post that confirms nobody: the fallback too */
    route_state_init(&st);
    in = eval_start(&p, &no_facts, NULL, 0, &st);
    ev = (struct route_event){
        .kind = ROUTE_EV_AUCTION, .winner = 2, .destination = "+15125550302", .price = 3000};
    route_next(&p, &no_facts, NULL, 0, &st, &ev, &in);
    struct route_event failed = {
        .kind = ROUTE_EV_DIAL_DONE, .dial_status = "failed", .bids_left = true};
    route_next(&p, &no_facts, NULL, 0, &st, &failed, &in);
    assert_true(in.repost);
    ev = (struct route_event){.kind = ROUTE_EV_AUCTION, .winner = -1};
    route_next(&p, &no_facts, NULL, 0, &st, &ev, &in);
    assert_int_equal(st.step, 1);
    assert_string_equal(in.number, "+15555550014");
    /* a connected winner is done, bids left or not */
    route_state_init(&st);
    in = eval_start(&p, &no_facts, NULL, 0, &st);
    ev = (struct route_event){
        .kind = ROUTE_EV_AUCTION, .winner = 2, .destination = "+15125550302", .price = 3000};
    route_next(&p, &no_facts, NULL, 0, &st, &ev, &in);
    struct route_event done = {
        .kind = ROUTE_EV_DIAL_DONE, .dial_status = "completed", .bids_left = true};
    route_next(&p, &no_facts, NULL, 0, &st, &done, &in);
    assert_int_equal(in.op, ROUTE_OP_HANGUP);
}

static void names(void **state)
{
    (void)state;
    enum route_method m;
    enum route_step_kind k;
    for (int i = 0; i <= ROUTE_PING_POST; i++) {
        assert_int_equal(route_method_parse(route_method_name(i), &m), ERR_OK);
        assert_int_equal((int)m, i);
    }
    for (int i = 0; i <= ROUTE_STEP_MESSAGE; i++) {
        assert_int_equal(route_step_kind_parse(route_step_kind_name(i), &k), ERR_OK);
        assert_int_equal((int)k, i);
    }
    assert_int_equal(route_method_parse("random", &m), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zone_rule_offsets_across_dst),
        cmocka_unit_test(zone_rule_southern),
        cmocka_unit_test(zone_rule_bad),
        cmocka_unit_test(zone_tzif_system),
        cmocka_unit_test(zone_names),
        cmocka_unit_test(round_robin_spreads_evenly),
        cmocka_unit_test(round_robin_fails_over),
        cmocka_unit_test(weighted_split_within_tolerance),
        cmocka_unit_test(priority_waterfall),
        cmocka_unit_test(geography_by_area_code),
        cmocka_unit_test(home_location_only),
        cmocka_unit_test(caps),
        cmocka_unit_test(schedules_across_dst),
        cmocka_unit_test(schedule_holidays_and_overnight),
        cmocka_unit_test(after_hours_voicemail),
        cmocka_unit_test(menu_reaches_location),
        cmocka_unit_test(screening),
        cmocka_unit_test(block_list_and_verification),
        cmocka_unit_test(never_drops),
        cmocka_unit_test(plan_check_refuses),
        cmocka_unit_test(state_round_trip),
        cmocka_unit_test(whisper_and_billable),
        cmocka_unit_test(auction_rank_highest_valid),
        cmocka_unit_test(auction_rank_ties),
        cmocka_unit_test(auction_destinations),
        cmocka_unit_test(auction_step_and_fallback),
        cmocka_unit_test(reauction_next_bid),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, setup_zone, NULL);
}
