/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/attrib: the attribution rules of DESIGN.md (exact, shared, late, unattributed), the
 * scoring signals one at a time, the late-confidence curve, and the golden .case files in
 * tests/data/attrib. Expected numbers come from the formulas documented in attrib.h. */
#include "base/prelude.h"

#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "core/attrib.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 ((int64_t)1767225600000) /* 2026-01-01T00:00:00Z */
#define AT(h, m) (T0 + (h)*HOUR + (m)*MIN)

/* The documented recency factor, written out independently of attrib.c. */
static double recency(int64_t idle_ms)
{
    return 0.05 + 0.95 * pow(0.5, (double)idle_ms / (double)(10 * MIN));
}

static struct attrib_candidate holder(uint64_t id, int64_t leased_at, int64_t last_active_at,
                                      int64_t ends_at)
{
    return (struct attrib_candidate){.session_id = id,
                                     .leased_at = leased_at,
                                     .last_active_at = last_active_at,
                                     .ends_at = ends_at};
}

static struct attrib_call call_at(int64_t at)
{
    return (struct attrib_call){.at = at};
}

static struct attrib_result decide(const struct attrib_call *call, const struct attrib_candidate *c,
                                   size_t n)
{
    struct attrib_result r;
    assert_int_equal(attrib_decide(call, c, n, &r), ERR_OK);
    assert_true(r.confidence >= 0 && r.confidence <= 1);
    assert_true(r.reason[0] != '\0');
    return r;
}

/* ==== the rules ============================================================================== */

static void exact_single_live_lease(void **state)
{
    (void)state;
    struct attrib_candidate c[] = {
        holder(1, AT(9, 0), AT(9, 10), AT(9, 30)),   /* released earlier */
        holder(2, AT(9, 40), AT(9, 55), AT(10, 15)), /* live at 10:00 */
    };
    struct attrib_call call = call_at(AT(10, 0));
    struct attrib_result r = decide(&call, c, 2);
    assert_int_equal(r.method, ATTRIB_EXACT);
    assert_int_equal(r.chosen, 1);
    assert_int_equal(r.runner_up, -1);
    assert_true(r.confidence == 1.0);
    assert_string_equal(attrib_method_name(r.method), "exact");
}

/* The case the brief pins: a tel: click 5 s before the call beats a session that was active
 * more recently (and is mobile and local, the other signals). */
static void shared_tel_click_dominates(void **state)
{
    (void)state;
    struct attrib_candidate c[] = {
        holder(1, AT(9, 45), AT(10, 0) - 1 * SEC, AT(10, 20)),
        holder(2, AT(9, 30), AT(9, 50), AT(10, 10)),
    };
    c[0].device = ATTRIB_DEVICE_MOBILE;
    memcpy(c[0].region, "US-TX", 6);
    c[1].tel_click_at = AT(10, 0) - 5 * SEC;
    c[1].device = ATTRIB_DEVICE_DESKTOP;
    struct attrib_call call = call_at(AT(10, 0));
    memcpy(call.caller_region, "US-TX", 6);
    struct attrib_result r = decide(&call, c, 2);
    assert_int_equal(r.method, ATTRIB_SHARED);
    assert_int_equal(r.chosen, 1);
    assert_int_equal(r.runner_up, 0);
    assert_true(r.confidence > 0.5);
    assert_true(r.score > r.runner_up_score);
    assert_non_null(strstr(r.reason, "tel: click 5 s before the call"));
    /* same with the rival's score at its strongest (no click, active at the call instant) */
    c[0].last_active_at = AT(10, 0);
    r = decide(&call, c, 2);
    assert_int_equal(r.chosen, 1);
    assert_true(r.confidence > 0.5);
}

/* Click weight: full within 2 min, then halving every 5 min (documented in attrib.h). */
static void click_weight_decays(void **state)
{
    (void)state;
    struct attrib_call call = call_at(AT(10, 0));
    struct attrib_candidate c = holder(1, AT(9, 0), AT(10, 0), AT(10, 20));
    double plain = attrib_score(&call, &c);
    c.tel_click_at = AT(10, 0) - 2 * MIN;
    assert_true(fabs(attrib_score(&call, &c) / plain - 21.0) < 1e-9);
    c.tel_click_at = AT(10, 0) - 7 * MIN; /* one half-life past the full window */
    assert_true(fabs(attrib_score(&call, &c) / plain - 11.0) < 1e-9);
    c.tel_click_at = AT(10, 0) - 30 * MIN; /* ~2 % of the boost left */
    double late = attrib_score(&call, &c) / plain;
    assert_true(late > 1.0 && late < 1.5);
    c.tel_click_at = AT(10, 0) + 20 * SEC; /* beacon that landed after the webhook */
    assert_true(fabs(attrib_score(&call, &c) / plain - 21.0) < 1e-9);
    c.tel_click_at = AT(10, 0) + 5 * MIN; /* a click after the call is for another call */
    assert_true(attrib_score(&call, &c) == plain);
}

static void shared_by_recency(void **state)
{
    (void)state;
    struct attrib_candidate c[] = {
        holder(1, AT(9, 30), AT(9, 45), AT(10, 5)),
        holder(2, AT(9, 40), AT(9, 59), AT(10, 19)),
    };
    struct attrib_call call = call_at(AT(10, 0));
    struct attrib_result r = decide(&call, c, 2);
    assert_int_equal(r.method, ATTRIB_SHARED);
    assert_int_equal(r.chosen, 1);
    double want = recency(1 * MIN) / (recency(1 * MIN) + recency(15 * MIN));
    assert_true(fabs(r.confidence - want) < 1e-9);
    assert_true(fabs(r.score - recency(1 * MIN)) < 1e-9);
    assert_true(fabs(r.runner_up_score - recency(15 * MIN)) < 1e-9);
}

/* Equal recency: the caller's region alone gives 1.5 : 1, i.e. confidence 0.6. */
static void shared_by_region(void **state)
{
    (void)state;
    struct attrib_candidate c[] = {
        holder(1, AT(9, 30), AT(9, 58), AT(10, 18)),
        holder(2, AT(9, 31), AT(9, 58), AT(10, 18)),
    };
    memcpy(c[0].region, "US-CA", 6);
    memcpy(c[1].region, "us-tx", 6); /* case does not matter */
    struct attrib_call call = call_at(AT(10, 0));
    memcpy(call.caller_region, "US-TX", 6);
    struct attrib_result r = decide(&call, c, 2);
    assert_int_equal(r.chosen, 1);
    assert_true(fabs(r.confidence - 0.6) < 1e-9);
    assert_non_null(strstr(r.reason, "region"));
    /* an unknown caller region boosts nobody: a plain tie, broken by the lower session id */
    call.caller_region[0] = '\0';
    r = decide(&call, c, 2);
    assert_true(fabs(r.confidence - 0.5) < 1e-9);
    assert_int_equal(r.chosen, 0);
}

/* Equal recency: mobile 1.4, tablet 1.2, desktop and unknown 1. */
static void shared_by_device(void **state)
{
    (void)state;
    static const struct {
        enum attrib_device a, b;
        double conf_a;
    } cases[] = {
        {ATTRIB_DEVICE_MOBILE, ATTRIB_DEVICE_DESKTOP, 1.4 / 2.4},
        {ATTRIB_DEVICE_TABLET, ATTRIB_DEVICE_DESKTOP, 1.2 / 2.2},
        {ATTRIB_DEVICE_MOBILE, ATTRIB_DEVICE_TABLET, 1.4 / 2.6},
        {ATTRIB_DEVICE_TABLET, ATTRIB_DEVICE_UNKNOWN, 1.2 / 2.2},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct attrib_candidate c[] = {
            holder(9, AT(9, 30), AT(9, 58), AT(10, 18)), /* higher id: ties would go to 2 */
            holder(2, AT(9, 31), AT(9, 58), AT(10, 18)),
        };
        c[0].device = cases[i].a;
        c[1].device = cases[i].b;
        struct attrib_call call = call_at(AT(10, 0));
        struct attrib_result r = decide(&call, c, 2);
        assert_int_equal(r.chosen, 0);
        assert_int_equal(r.runner_up, 1);
        assert_true(fabs(r.confidence - cases[i].conf_a) < 1e-9);
    }
}

/* The winner does not depend on the order candidates come in. */
static void shared_is_order_independent(void **state)
{
    (void)state;
    struct attrib_candidate c[4] = {
        holder(11, AT(9, 30), AT(9, 50), AT(10, 10)), holder(12, AT(9, 31), AT(9, 58), AT(10, 18)),
        holder(13, AT(9, 32), AT(9, 58), AT(10, 18)), /* ties with 12: lower id wins */
        holder(14, AT(8, 0), AT(8, 10), AT(8, 30)),   /* not live */
    };
    struct attrib_call call = call_at(AT(10, 0));
    static const int perms[][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}};
    for (size_t p = 0; p < ARRAY_SIZE(perms); p++) {
        struct attrib_candidate s[4];
        for (int i = 0; i < 4; i++)
            s[i] = c[perms[p][i]];
        struct attrib_result r = decide(&call, s, 4);
        assert_int_equal(r.method, ATTRIB_SHARED);
        assert_int_equal(s[r.chosen].session_id, 12);
        assert_int_equal(s[r.runner_up].session_id, 13);
        assert_non_null(strstr(r.reason, "3 sessions"));
    }
}

/* Issue #12 item 2: sessions of one client split one voice. 40 sessions from one address all
 * clicked the number a minute ago; one real visitor (mobile, from elsewhere) did not click.
 * Before the client factor each flood session scored 21 against 1.4; now 21/40 each. */
static void flood_of_one_client_cannot_outvote_one_visitor(void **state)
{
    (void)state;
    struct attrib_candidate c[41];
    c[0] = holder(100, AT(9, 50), AT(9, 58), AT(10, 18));
    c[0].device = ATTRIB_DEVICE_MOBILE;
    for (int i = 1; i <= 40; i++) {
        c[i] = holder((uint64_t)i, AT(9, 55), AT(9, 55), AT(10, 15));
        c[i].tel_click_at = AT(9, 59);
        c[i].n_client = 40;
    }
    struct attrib_call call = call_at(AT(10, 0));
    struct attrib_result r = decide(&call, c, 41);
    assert_int_equal(r.method, ATTRIB_SHARED);
    assert_int_equal(r.chosen, 0);
    assert_true(r.score > 2 * r.runner_up_score);
    /* The whole flood weighs as much as one of its sessions would alone: sum = 21 * recency. */
    struct attrib_candidate alone = c[1];
    alone.n_client = 1;
    double one = attrib_score(&call, &alone);
    assert_true(fabs(40 * attrib_score(&call, &c[1]) - one) < 1e-9);
    assert_true(fabs(r.confidence - r.score / (r.score + one)) < 1e-9);
    /* A real visitor who clicked as well wins, the whole flood weighing as one rival clicker:
     * 21 * 1.4 * ~0.97 against 21 * ~0.94 in all. */
    c[0].tel_click_at = AT(9, 59) + 30 * SEC;
    r = decide(&call, c, 41);
    assert_int_equal(r.chosen, 0);
    assert_true(r.confidence > 0.55 && r.confidence < 0.65);
    /* n_client 0 and 1 both mean alone; the winner's reason names its crowd when it has one. */
    alone.n_client = 0;
    assert_true(attrib_score(&call, &alone) == one);
    struct attrib_candidate pair[] = {c[1], c[2]};
    pair[0].n_client = pair[1].n_client = 2;
    r = decide(&call, pair, 2);
    assert_non_null(strstr(r.reason, "1 of 2 from one client"));
}

static void late_within_window_decays(void **state)
{
    (void)state;
    struct attrib_candidate c[] = {
        holder(1, AT(7, 0), AT(7, 10), AT(7, 30)),
        holder(2, AT(8, 0), AT(8, 40), AT(9, 0)), /* last holder */
    };
    double prev = 2;
    static const int64_t gaps[] = {0, 1 * MIN, 1 * HOUR, 6 * HOUR, 1 * DAY, 7 * DAY, 30 * DAY};
    for (size_t i = 0; i < ARRAY_SIZE(gaps); i++) {
        struct attrib_call call = call_at(AT(9, 0) + gaps[i]);
        struct attrib_result r = decide(&call, c, 2);
        assert_int_equal(r.method, ATTRIB_LATE);
        assert_int_equal(r.chosen, 1);
        assert_int_equal(r.runner_up, 0);
        /* documented curve 0.9 / (1 + gap / 1 day), strictly decreasing */
        double want = 0.9 / (1 + (double)gaps[i] / (double)DAY);
        assert_true(fabs(r.confidence - want) < 1e-9);
        assert_true(fabs(attrib_late_confidence(gaps[i]) - want) < 1e-9);
        assert_true(r.confidence < prev);
        prev = r.confidence;
    }
    assert_true(attrib_late_confidence(-5) == attrib_late_confidence(0));
}

static void late_outside_window(void **state)
{
    (void)state;
    struct attrib_candidate c[] = {holder(5, AT(8, 0), AT(8, 40), AT(9, 0))};
    struct attrib_call call = call_at(AT(9, 0) + 30 * DAY + 1); /* default window, 1 ms over */
    struct attrib_result r = decide(&call, c, 1);
    assert_int_equal(r.method, ATTRIB_UNATTRIBUTED);
    assert_int_equal(r.chosen, -1);
    assert_int_equal(r.runner_up, 0); /* the near miss is reported */
    assert_true(r.confidence == 0);
    assert_non_null(strstr(r.reason, "outside the attribution window"));
    call.at = AT(9, 0) + 30 * DAY; /* on the edge: still late */
    assert_int_equal(decide(&call, c, 1).method, ATTRIB_LATE);
    call = call_at(AT(11, 0));
    call.window_ms = 1 * HOUR; /* gap 2 h */
    assert_int_equal(decide(&call, c, 1).method, ATTRIB_UNATTRIBUTED);
    call.window_ms = 2 * HOUR;
    assert_int_equal(decide(&call, c, 1).method, ATTRIB_LATE);
}

/* Someone was shown the number after the last holder left: the number no longer identifies
 * the last holder. Only a holding cut short at once (ends <= leased) can start after the
 * last holder's end without being the last holder itself. */
static void late_blocked_when_held_since(void **state)
{
    (void)state;
    struct attrib_candidate c[] = {
        holder(1, AT(8, 0), AT(8, 40), AT(9, 0)),
        holder(2, AT(9, 30), AT(9, 30), AT(9, 30)),
    };
    struct attrib_call call = call_at(AT(10, 0));
    struct attrib_result r = decide(&call, c, 2);
    assert_int_equal(r.method, ATTRIB_UNATTRIBUTED);
    assert_int_equal(r.chosen, -1);
    assert_int_equal(r.runner_up, 0);
    assert_non_null(strstr(r.reason, "another session got it since"));
    /* a lease handed out after the call does not block */
    c[1] = holder(2, AT(10, 30), AT(10, 30), AT(10, 50));
    r = decide(&call, c, 2);
    assert_int_equal(r.method, ATTRIB_LATE);
    assert_int_equal(r.chosen, 0);
}

/* A co-holder that released earlier is not "since": the later one is credited. */
static void late_goes_to_last_of_sharing_holders(void **state)
{
    (void)state;
    struct attrib_candidate c[] = {
        holder(1, AT(8, 0), AT(8, 50), AT(9, 10)),
        holder(2, AT(8, 30), AT(8, 30), AT(8, 50)),
    };
    c[1].tel_click_at = AT(8, 30); /* signals do not override "last to leave" */
    struct attrib_call call = call_at(AT(10, 0));
    struct attrib_result r = decide(&call, c, 2);
    assert_int_equal(r.method, ATTRIB_LATE);
    assert_int_equal(r.chosen, 0);
    assert_int_equal(r.runner_up, 1);
    assert_true(fabs(r.confidence - attrib_late_confidence(50 * MIN)) < 1e-9);
}

static void unattributed_without_candidates(void **state)
{
    (void)state;
    struct attrib_call call = call_at(AT(10, 0));
    struct attrib_result r = decide(&call, NULL, 0);
    assert_int_equal(r.method, ATTRIB_UNATTRIBUTED);
    assert_int_equal(r.chosen, -1);
    assert_int_equal(r.runner_up, -1);
    assert_true(r.confidence == 0);
    assert_string_equal(attrib_method_name(r.method), "unattributed");
    /* only future leases: same */
    struct attrib_candidate c[] = {holder(1, AT(10, 1), AT(10, 1), AT(10, 21))};
    r = decide(&call, c, 1);
    assert_int_equal(r.method, ATTRIB_UNATTRIBUTED);
    assert_int_equal(r.runner_up, -1);
}

static void invalid_input(void **state)
{
    (void)state;
    struct attrib_call call = call_at(AT(10, 0));
    struct attrib_result r;
    assert_int_equal(attrib_decide(NULL, NULL, 0, &r), ERR_INVALID);
    assert_int_equal(r.method, ATTRIB_UNATTRIBUTED);
    assert_int_equal(r.chosen, -1);
    assert_int_equal(attrib_decide(&call, NULL, 1, &r), ERR_INVALID);
    assert_int_equal(attrib_decide(&call, NULL, 0, NULL), ERR_INVALID);
    call.window_ms = -1;
    assert_int_equal(attrib_decide(&call, NULL, 0, &r), ERR_INVALID);
}

/* Extreme inputs never give NaN, infinity or a zero score. */
static void score_is_finite_and_positive(void **state)
{
    (void)state;
    struct attrib_call call = call_at(INT64_MAX / 2);
    struct attrib_candidate c = holder(1, 0, 0, 1);
    c.tel_click_at = 1;
    c.device = (enum attrib_device)42;
    double s = attrib_score(&call, &c);
    assert_true(isfinite(s) && s > 0);
    call.at = 0;
    c.tel_click_at = 0;
    c.last_active_at = INT64_MAX / 2; /* activity after the call counts as idle 0 */
    s = attrib_score(&call, &c);
    assert_true(isfinite(s) && fabs(s - 1.0) < 1e-9);
}

static void names_round_trip(void **state)
{
    (void)state;
    static const char *const methods[] = {"exact",  "shared", "late",
                                          "source", "repeat", "unattributed"};
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        enum attrib_method m;
        assert_int_equal(attrib_method_parse(methods[i], &m), ERR_OK);
        assert_int_equal(m, (enum attrib_method)i);
        assert_string_equal(attrib_method_name(m), methods[i]);
    }
    enum attrib_method m = ATTRIB_LATE;
    assert_int_equal(attrib_method_parse("Exact", &m), ERR_INVALID);
    assert_int_equal(attrib_method_parse(NULL, &m), ERR_INVALID);
    assert_int_equal(m, ATTRIB_LATE);
    assert_string_equal(attrib_method_name((enum attrib_method)99), "unknown");
    enum attrib_device d;
    assert_int_equal(attrib_device_parse("Mobile", &d), ERR_OK);
    assert_int_equal(d, ATTRIB_DEVICE_MOBILE);
    assert_int_equal(attrib_device_parse("", &d), ERR_OK);
    assert_int_equal(d, ATTRIB_DEVICE_UNKNOWN);
    assert_int_equal(attrib_device_parse("phone", &d), ERR_INVALID);
    assert_string_equal(attrib_device_name(ATTRIB_DEVICE_TABLET), "tablet");
    assert_string_equal(attrib_device_name((enum attrib_device) - 1), "unknown");
}

/* ==== golden cases =========================================================================== */

struct golden {
    char name[160];
    int line;
    struct attrib_call call;
    struct attrib_candidate c[16];
    size_t n;
    int n_checks;
    struct attrib_result r;
};

/* [Nd]HH:MM[:SS] from T0. */
static int64_t parse_time(const char *s)
{
    char *end;
    int64_t days = 0;
    long long v = strtoll(s, &end, 10);
    if (*end == 'd') {
        days = v;
        v = strtoll(end + 1, &end, 10);
    }
    assert_true(*end == ':');
    long long m = strtoll(end + 1, &end, 10);
    long long sec = *end == ':' ? strtoll(end + 1, &end, 10) : 0;
    assert_true(*end == '\0');
    return T0 + days * DAY + v * HOUR + m * MIN + sec * SEC;
}

static int64_t parse_duration(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    static const struct {
        char unit;
        int64_t ms;
    } units[] = {{'s', SEC}, {'m', MIN}, {'h', HOUR}, {'d', DAY}};
    for (size_t i = 0; i < ARRAY_SIZE(units); i++)
        if (end[0] == units[i].unit && end[1] == '\0')
            return v * units[i].ms;
    fail_msg("bad duration '%s'", s);
    return 0;
}

/* Index of the candidate with this session id (or "none" -> -1). */
static int index_of(const struct golden *g, const char *id)
{
    if (strcmp(id, "none") == 0)
        return -1;
    uint64_t want = strtoull(id, NULL, 10);
    for (size_t i = 0; i < g->n; i++)
        if (g->c[i].session_id == want)
            return (int)i;
    fail_msg("%s:%d: unknown session %s", g->name, g->line, id);
    return -2;
}

static void set_region(char dst[8], const char *v)
{
    assert_true(strlen(v) < 8);
    memcpy(dst, v, strlen(v) + 1);
}

static void parse_call(struct golden *g, char *args)
{
    for (char *kv = strtok_r(args, " ", &args); kv; kv = strtok_r(NULL, " ", &args)) {
        char *v = strchr(kv, '=');
        assert_non_null(v);
        *v++ = '\0';
        if (strcmp(kv, "at") == 0)
            g->call.at = parse_time(v);
        else if (strcmp(kv, "region") == 0)
            set_region(g->call.caller_region, v);
        else if (strcmp(kv, "window") == 0)
            g->call.window_ms = parse_duration(v);
        else
            fail_msg("line %d: unknown call key '%s'", g->line, kv);
    }
}

static void parse_session(struct golden *g, char *args)
{
    assert_true(g->n < ARRAY_SIZE(g->c));
    struct attrib_candidate *c = &g->c[g->n++];
    c->session_id = strtoull(strtok_r(args, " ", &args), NULL, 10);
    for (char *kv = strtok_r(NULL, " ", &args); kv; kv = strtok_r(NULL, " ", &args)) {
        char *v = strchr(kv, '=');
        assert_non_null(v);
        *v++ = '\0';
        if (strcmp(kv, "leased") == 0)
            c->leased_at = parse_time(v);
        else if (strcmp(kv, "active") == 0)
            c->last_active_at = parse_time(v);
        else if (strcmp(kv, "ends") == 0)
            c->ends_at = parse_time(v);
        else if (strcmp(kv, "click") == 0)
            c->tel_click_at = parse_time(v);
        else if (strcmp(kv, "device") == 0)
            assert_int_equal(attrib_device_parse(v, &c->device), ERR_OK);
        else if (strcmp(kv, "region") == 0)
            set_region(c->region, v);
        else if (strcmp(kv, "same_client") == 0)
            c->n_client = (uint32_t)strtoul(v, NULL, 10);
        else
            fail_msg("line %d: unknown session key '%s'", g->line, kv);
    }
}

static void check_confidence(const struct golden *g, const char *op, double want)
{
    double got = g->r.confidence;
    bool ok = op[0] == '=' ? fabs(got - want) < 0.001 : op[0] == '>' ? got > want : got < want;
    if (!ok)
        fail_msg("case '%s': confidence %.5f, want %s%.5f", g->name, got, op, want);
}

static void check_expect(struct golden *g, char *args)
{
    if (g->n_checks++ == 0)
        assert_int_equal(attrib_decide(&g->call, g->c, g->n, &g->r), ERR_OK);
    for (char *kv = strtok_r(args, " ", &args); kv; kv = strtok_r(NULL, " ", &args)) {
        size_t k = strcspn(kv, "=<>");
        char op[2] = {kv[k], '\0'};
        kv[k] = '\0';
        const char *v = kv + k + 1;
        if (strcmp(kv, "method") == 0) {
            if (strcmp(attrib_method_name(g->r.method), v) != 0)
                fail_msg("case '%s': method %s, want %s (%s)", g->name,
                         attrib_method_name(g->r.method), v, g->r.reason);
        } else if (strcmp(kv, "chosen") == 0) {
            if (g->r.chosen != index_of(g, v))
                fail_msg("case '%s': chose index %d, want session %s", g->name, g->r.chosen, v);
        } else if (strcmp(kv, "runner_up") == 0) {
            if (g->r.runner_up != index_of(g, v))
                fail_msg("case '%s': runner-up %d, want session %s", g->name, g->r.runner_up, v);
        } else if (strcmp(kv, "confidence") == 0) {
            check_confidence(g, op, strtod(v, NULL));
        } else {
            fail_msg("case '%s': unknown expectation '%s'", g->name, kv);
        }
    }
}

static void check_reason(struct golden *g, const char *text)
{
    if (g->n_checks++ == 0)
        assert_int_equal(attrib_decide(&g->call, g->c, g->n, &g->r), ERR_OK);
    if (!strstr(g->r.reason, text))
        fail_msg("case '%s': reason '%s' lacks '%s'", g->name, g->r.reason, text);
}

static void finish_case(struct golden *g, int *n_cases)
{
    if (!g->name[0])
        return;
    if (g->n_checks == 0)
        fail_msg("case '%s' has no expectations", g->name);
    ++*n_cases;
}

static void golden_line(struct golden *g, char *line, int *n_cases)
{
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '#' || line[0] == '\0')
        return;
    char *sp = strchr(line, ' ');
    char *args = sp ? sp + 1 : line + strlen(line);
    if (sp)
        *sp = '\0';
    if (strcmp(line, "case") == 0) {
        finish_case(g, n_cases);
        int line_no = g->line;
        memset(g, 0, sizeof(*g));
        g->line = line_no;
        snprintf(g->name, sizeof(g->name), "%s", args);
    } else if (strcmp(line, "call") == 0) {
        parse_call(g, args);
    } else if (strcmp(line, "session") == 0) {
        parse_session(g, args);
    } else if (strcmp(line, "expect") == 0) {
        check_expect(g, args);
    } else if (strcmp(line, "reason") == 0) {
        check_reason(g, args);
    } else {
        fail_msg("line %d: unknown directive '%s'", g->line, line);
    }
}

static int run_case_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    struct golden g = {.line = 0};
    int n_cases = 0;
    char line[512];
    print_message("%s\n", path);
    while (fgets(line, sizeof(line), fp)) {
        g.line++;
        golden_line(&g, line, &n_cases);
    }
    finish_case(&g, &n_cases);
    fclose(fp);
    return n_cases;
}

static void golden_cases(void **state)
{
    (void)state;
    const char *dir = TEST_DATA_DIR "/attrib";
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n_files = 0;
    int n_cases = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".case") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        n_cases += run_case_file(path);
        n_files++;
    }
    closedir(d);
    assert_true(n_files >= 4);
    assert_true(n_cases >= 15);
}

/* ==== rules 4 and 5 =========================================================================== */

/* A billboard number: method source, confidence 1, the channel a visit with the same UTM tags
 * gets (offline), and a reason naming source / medium / campaign. */
static void source_number_credit(void **state)
{
    (void)state;
    struct attrib_credit cr;
    attrib_source_number("billboard", "offline", "i95-north", &cr);
    assert_int_equal(cr.method, ATTRIB_SOURCE);
    assert_true(cr.confidence == 1.0);
    assert_int_equal(cr.session_id, 0);
    assert_string_equal(cr.channel, "offline");
    assert_string_equal(cr.source, "billboard");
    assert_string_equal(cr.medium, "offline");
    assert_string_equal(cr.campaign, "i95-north");
    assert_string_equal(cr.reason, "source number of billboard / offline / i95-north");
    attrib_source_number("radio", NULL, NULL, &cr);
    assert_string_equal(cr.reason, "source number of radio");
    assert_string_equal(cr.medium, "");
}

/* Long multi-byte names are cut in the reason without splitting a UTF-8 character. */
static void source_number_clips_utf8(void **state)
{
    (void)state;
    char name[200];
    for (int i = 0; i < 60; i++)
        memcpy(name + 2 * i, "\xc3\xa9", 2); /* é */
    name[120] = '\0';
    struct attrib_credit cr;
    attrib_source_number(name, "", "", &cr);
    size_t n = strlen(cr.reason);
    assert_true(n < sizeof(cr.reason));
    assert_true(((unsigned char)cr.reason[n - 1] & 0xC0) == 0x80); /* ends on a whole é */
    assert_true((n - strlen("source number of ")) % 2 == 0);
    assert_string_equal(cr.source, name);
}

static void fallback_number_credit(void **state)
{
    (void)state;
    struct attrib_credit cr;
    attrib_fallback_number("main", "paid_search", &cr);
    assert_int_equal(cr.method, ATTRIB_SOURCE);
    assert_string_equal(cr.channel, "paid_search");
    assert_string_equal(cr.source, "main");
    assert_non_null(strstr(cr.reason, "fallback number of pool 'main'"));
    attrib_fallback_number("main", NULL, &cr);
    assert_string_equal(cr.channel, "");
}

/* Rule 5: the first touch is always noted; only an otherwise unattributed call is credited to
 * it, with half the first attribution's confidence. */
static void repeat_caller(void **state)
{
    (void)state;
    struct attrib_credit cr = {.method = ATTRIB_UNATTRIBUTED};
    snprintf(cr.reason, sizeof(cr.reason), "no holder in the window");
    assert_false(attrib_repeat(&cr, 0, 0.9));
    assert_int_equal(cr.method, ATTRIB_UNATTRIBUTED);
    assert_true(attrib_repeat(&cr, 42, 0.8));
    assert_int_equal(cr.method, ATTRIB_REPEAT);
    assert_int_equal(cr.session_id, 42);
    assert_int_equal(cr.first_session_id, 42);
    assert_true(fabs(cr.confidence - 0.4) < 1e-12);
    assert_string_equal(cr.reason, "repeat caller: no holder in the window; credited to the "
                                   "session of their first attributed call");
    struct attrib_credit exact = {.method = ATTRIB_EXACT, .confidence = 1, .session_id = 7};
    assert_true(attrib_repeat(&exact, 42, 0.8));
    assert_int_equal(exact.method, ATTRIB_EXACT);
    assert_int_equal(exact.session_id, 7);
    assert_int_equal(exact.first_session_id, 42);
    assert_true(exact.confidence == 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_single_live_lease),
        cmocka_unit_test(shared_tel_click_dominates),
        cmocka_unit_test(click_weight_decays),
        cmocka_unit_test(shared_by_recency),
        cmocka_unit_test(shared_by_region),
        cmocka_unit_test(shared_by_device),
        cmocka_unit_test(shared_is_order_independent),
        cmocka_unit_test(flood_of_one_client_cannot_outvote_one_visitor),
        cmocka_unit_test(late_within_window_decays),
        cmocka_unit_test(late_outside_window),
        cmocka_unit_test(late_blocked_when_held_since),
        cmocka_unit_test(late_goes_to_last_of_sharing_holders),
        cmocka_unit_test(unattributed_without_candidates),
        cmocka_unit_test(invalid_input),
        cmocka_unit_test(score_is_finite_and_positive),
        cmocka_unit_test(names_round_trip),
        cmocka_unit_test(golden_cases),
        cmocka_unit_test(source_number_credit),
        cmocka_unit_test(source_number_clips_utf8),
        cmocka_unit_test(fallback_number_credit),
        cmocka_unit_test(repeat_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
