/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for core/pool: the lease policy of DESIGN.md pinned down case by case, then a
 * seeded randomized run checked step by step against a naive O(n) reference model written
 * here from the spec. Time is a parameter; nothing sleeps. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "core/pool.h"

#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define T0 INT64_C(1795666800000) /* 2026-11-26T04:20:00Z */

/* ---------------------------------------------------------------- helpers */

static void check(struct pool *p)
{
    struct errbuf eb = {{0}, NULL};
    if (pool_check(p, &eb) != ERR_OK)
        fail_msg("pool_check: %s", eb.msg);
}

/* A pool of numbers 1..n, all never used. */
static struct pool *mk(int64_t ttl, int64_t cooldown, enum pool_exhaust mode, uint64_t n)
{
    struct pool_config cfg = {.ttl_ms = ttl, .cooldown_ms = cooldown, .on_exhaust = mode};
    struct pool *p = pool_new(&cfg);
    for (uint64_t id = 1; id <= n; id++)
        assert_int_equal(pool_add_number(p, id, 0), ERR_OK);
    return p;
}

/* Leases and asserts ERR_OK and the exact flags; returns the number. */
static uint64_t lease(struct pool *p, uint64_t session, uint64_t prev, int64_t now, unsigned want)
{
    uint64_t number = 0;
    unsigned flags = 0;
    assert_int_equal(pool_lease(p, session, prev, now, &number, &flags), ERR_OK);
    assert_int_equal(flags, want);
    assert_int_not_equal(number, 0);
    check(p);
    return number;
}

static struct pool_stats stats(struct pool *p, int64_t now)
{
    struct pool_stats st;
    pool_stats_get(p, now, &st);
    check(p);
    return st;
}

enum {
    NEW = POOL_LEASE_NEW,
    RENEWED = POOL_LEASE_RENEWED,
    RETURNED = POOL_LEASE_RETURNED,
    EXHAUSTED = POOL_LEASE_EXHAUSTED,
    SHARED = POOL_LEASE_SHARED,
};

/* ---------------------------------------------------------------- policy cases */

/* 10 numbers, 20 visitors: the first 10 get distinct numbers (all never used, so lowest id
 * first, and a leased number is never free); the next 10 find the pool exhausted and, in share
 * mode, get the number whose last activity is oldest: session k's number goes to session k+10. */
static void twenty_sessions_share_ten_numbers(void **state)
{
    struct pool *p = mk(20 * MIN, 30 * MIN, POOL_SHARE, 10);
    for (uint64_t s = 1; s <= 10; s++)
        assert_int_equal(lease(p, s, 0, T0 + (int64_t)s * SEC, NEW), s);
    struct pool_stats st = stats(p, T0 + 10 * SEC);
    assert_int_equal(st.exhaustion_events, 0);
    assert_int_equal(st.free, 0);
    for (uint64_t s = 11; s <= 20; s++)
        assert_int_equal(lease(p, s, 0, T0 + (int64_t)s * SEC, NEW | EXHAUSTED | SHARED), s - 10);
    st = stats(p, T0 + 21 * SEC);
    assert_int_equal(st.size, 10);
    assert_int_equal(st.leased, 10);
    assert_int_equal(st.cooling, 0);
    assert_int_equal(st.free, 0);
    assert_int_equal(st.live_leases, 20);
    assert_int_equal(st.exhaustion_events, 10);
    assert_int_equal(st.peak_concurrent, 20);
    struct pool_holder h[4];
    assert_int_equal(pool_holders(p, 1, T0 + 21 * SEC, h, 4), 2);
    assert_int_equal(h[0].session_id, 11); /* most recently active first */
    assert_int_equal(h[1].session_id, 1);
    assert_true(h[0].live && h[1].live);
    pool_free(p);
}

/* Fallback mode: the 11th visitor gets ERR_EXHAUSTED and no number, counted as an event each
 * time; once the first released number has cooled down exactly, it is leased again. */
static void fallback_refuses_eleventh(void **state)
{
    const int64_t ttl = 20 * MIN;
    const int64_t cooldown = 30 * MIN;
    struct pool *p = mk(ttl, cooldown, POOL_FALLBACK, 10);
    for (uint64_t s = 1; s <= 10; s++)
        lease(p, s, 0, T0 + (int64_t)s * SEC, NEW);
    uint64_t number = 99;
    unsigned flags = 0;
    assert_int_equal(pool_lease(p, 11, 0, T0 + 11 * SEC, &number, &flags), ERR_EXHAUSTED);
    assert_int_equal(number, 0);
    assert_int_equal(flags, EXHAUSTED);
    assert_int_equal(pool_lease(p, 12, 0, T0 + 12 * SEC, &number, &flags), ERR_EXHAUSTED);
    struct pool_stats st = stats(p, T0 + 12 * SEC);
    assert_int_equal(st.exhaustion_events, 2);
    assert_int_equal(st.live_leases, 10);
    assert_int_equal(st.peak_concurrent, 10);
    /* Number 1 was released at T0+1s+ttl: cooling until cooldown has fully passed. */
    int64_t released = T0 + 1 * SEC + ttl;
    assert_int_equal(pool_lease(p, 11, 0, released + cooldown - 1, &number, &flags), ERR_EXHAUSTED);
    assert_int_equal(lease(p, 11, 0, released + cooldown, NEW), 1);
    assert_int_equal(stats(p, released + cooldown).exhaustion_events, 3);
    pool_free(p);
}

/* A repeat page view and a heartbeat both renew: same number, ends_at = last activity + ttl. */
static void renew_on_touch_and_repeat_lease(void **state)
{
    const int64_t ttl = 10 * MIN;
    struct pool *p = mk(ttl, 30 * MIN, POOL_SHARE, 3);
    assert_int_equal(lease(p, 7, 0, T0, NEW), 1);
    uint64_t number = 0;
    int64_t expires = 0;
    assert_int_equal(pool_touch(p, 7, T0 + 9 * MIN, &number, &expires), ERR_OK);
    assert_int_equal(number, 1);
    assert_int_equal(expires, T0 + 9 * MIN + ttl);
    /* Without the touch the lease would have ended at T0+10min. */
    assert_int_equal(lease(p, 7, 2, T0 + 18 * MIN, RENEWED), 1);
    struct pool_holder h;
    assert_int_equal(pool_session_get(p, 7, T0 + 28 * MIN - 1, &number, &h), ERR_OK);
    assert_int_equal(h.leased_at, T0);
    assert_int_equal(h.last_active_at, T0 + 18 * MIN);
    assert_int_equal(h.ends_at, T0 + 28 * MIN);
    assert_int_equal(pool_session_get(p, 7, T0 + 28 * MIN, &number, &h), ERR_NOTFOUND);
    assert_int_equal(pool_touch(p, 7, T0 + 28 * MIN, &number, &expires), ERR_NOTFOUND);
    assert_int_equal(number, 0);
    assert_int_equal(stats(p, T0 + 28 * MIN).peak_concurrent, 1);
    pool_free(p);
}

/* Without activity a lease ends exactly at ttl; its number cools for exactly cooldown. */
static void expiry_after_ttl(void **state)
{
    struct pool *p = mk(1 * SEC, 5 * SEC, POOL_SHARE, 3);
    lease(p, 1, 0, T0, NEW);
    struct pool_stats st = stats(p, T0 + SEC - 1);
    assert_int_equal(st.live_leases, 1);
    assert_int_equal(st.leased, 1);
    assert_int_equal(st.free, 2);
    st = stats(p, T0 + SEC);
    assert_int_equal(st.live_leases, 0);
    assert_int_equal(st.leased, 0);
    assert_int_equal(st.cooling, 1);
    assert_int_equal(st.free, 2);
    assert_int_equal(stats(p, T0 + 6 * SEC - 1).cooling, 1);
    st = stats(p, T0 + 6 * SEC);
    assert_int_equal(st.cooling, 0);
    assert_int_equal(st.free, 3);
    struct pool_holder h[2];
    assert_int_equal(pool_holders(p, 1, T0 + 6 * SEC, h, 2), 1);
    assert_false(h[0].live);
    assert_int_equal(h[0].session_id, 1);
    assert_int_equal(h[0].ends_at, T0 + SEC);
    pool_free(p);
}

/* Number 1 (lowest id) is cooling and number 2 is free: 2 is handed out without exhaustion.
 * Then nothing is free: share mode prefers the cooling number (nobody active on it) to the
 * live one, without SHARED. */
static void cooling_number_not_reused_while_another_free(void **state)
{
    struct pool *p = mk(1 * SEC, 10 * SEC, POOL_SHARE, 2);
    assert_int_equal(lease(p, 1, 0, T0, NEW), 1);
    assert_int_equal(lease(p, 2, 0, T0 + 2 * SEC, NEW), 2);
    assert_int_equal(lease(p, 3, 0, T0 + 2 * SEC + 1, NEW | EXHAUSTED), 1);
    assert_int_equal(stats(p, T0 + 2 * SEC + 1).exhaustion_events, 1);
    pool_free(p);
}

/* Idle longest first: never used before any released one, then by release time, ties by id. */
static void idle_longest_pick_and_ties(void **state)
{
    const int64_t now = T0;
    struct pool_config cfg = {.ttl_ms = 20 * MIN, .cooldown_ms = 30 * MIN};
    struct pool *p = pool_new(&cfg);
    assert_int_equal(pool_add_number(p, 5, now - 3 * 60 * MIN), ERR_OK);
    assert_int_equal(pool_add_number(p, 9, now - 5 * 60 * MIN), ERR_OK);
    assert_int_equal(pool_add_number(p, 3, now - 5 * 60 * MIN), ERR_OK);
    assert_int_equal(pool_add_number(p, 7, 0), ERR_OK);
    assert_int_equal(pool_add_number(p, 4, now - 1 * MIN), ERR_OK); /* still cooling */
    assert_int_equal(stats(p, now).cooling, 1);
    assert_int_equal(lease(p, 1, 0, now, NEW), 7);
    assert_int_equal(lease(p, 2, 0, now, NEW), 3);
    assert_int_equal(lease(p, 3, 0, now, NEW), 9);
    assert_int_equal(lease(p, 4, 0, now, NEW), 5);
    assert_int_equal(lease(p, 5, 0, now, NEW | EXHAUSTED), 4);
    /* All five were last active at `now`: a tie, so the lowest id. */
    assert_int_equal(lease(p, 6, 0, now, NEW | EXHAUSTED | SHARED), 3);
    pool_free(p);
}

/* A returning session gets its previous number back while nobody else held it since, even
 * during cooldown, without counting exhaustion; not if someone else holds or held it since. */
static void returning_session_gets_old_number(void **state)
{
    struct pool *p = mk(1 * SEC, 10 * SEC, POOL_FALLBACK, 1);
    assert_int_equal(lease(p, 1, 0, T0, NEW), 1);
    uint64_t number = 0;
    unsigned flags = 0;
    assert_int_equal(pool_lease(p, 2, 1, T0 + 2 * SEC, &number, &flags), ERR_EXHAUSTED);
    assert_int_equal(lease(p, 1, 1, T0 + 3 * SEC, NEW | RETURNED), 1);
    assert_int_equal(stats(p, T0 + 3 * SEC).exhaustion_events, 1);
    pool_free(p);

    p = mk(1 * SEC, 0, POOL_SHARE, 2);
    assert_int_equal(lease(p, 1, 0, T0, NEW), 1);
    assert_int_equal(lease(p, 9, 0, T0, NEW), 2);
    /* Both released at T0+1s: tie, so B takes number 1 (lowest id). */
    assert_int_equal(lease(p, 2, 0, T0 + 5 * SEC, NEW), 1);
    /* A comes back while B holds its old number: a free one, not a shared one. */
    assert_int_equal(lease(p, 1, 1, T0 + 5 * SEC + 500, NEW), 2);
    /* B stays until T0+6.8s, A until T0+6.5s. Then A asks for 1 again: B held it since, so A
     * gets the idlest number, 2 (released first), not 1. B does get 1 back. */
    assert_int_equal(pool_touch(p, 2, T0 + 5 * SEC + 800, NULL, NULL), ERR_OK);
    assert_int_equal(lease(p, 1, 1, T0 + 8 * SEC, NEW), 2);
    assert_int_equal(lease(p, 2, 1, T0 + 8 * SEC, NEW | RETURNED), 1);
    pool_free(p);
}

/* Restart: live leases come back with their times (in any order), expired ones set the idle
 * order and history, so returning sessions, expiry and the share pick work as before. */
static void restore_rebuilds_state(void **state)
{
    const int64_t now = T0;
    struct pool *p = mk(10 * MIN, 30 * MIN, POOL_SHARE, 4);
    assert_int_equal(pool_restore(p, 101, 2, now - 15 * MIN, now - 2 * MIN, now), ERR_OK);
    assert_int_equal(pool_restore(p, 102, 3, now - 20 * MIN, now - 5 * MIN, now), ERR_OK);
    assert_int_equal(pool_restore(p, 103, 1, now - 80 * MIN, now - 70 * MIN, now), ERR_OK);
    assert_int_equal(pool_restore(p, 104, 4, now - 40 * MIN, now - 30 * MIN, now), ERR_OK);
    assert_int_equal(pool_restore(p, 105, 1, now - 100 * MIN, now - 90 * MIN, now), ERR_OK);
    assert_int_equal(pool_restore(p, 101, 4, now - MIN, now - MIN, now), ERR_CONFLICT);
    assert_int_equal(pool_restore(p, 106, 42, now - MIN, now - MIN, now), ERR_NOTFOUND);
    assert_int_equal(pool_restore(p, 106, 1, now - MIN, now - 2 * MIN, now), ERR_INVALID);
    check(p);
    struct pool_stats st = stats(p, now);
    assert_int_equal(st.live_leases, 2);
    assert_int_equal(st.leased, 2);
    assert_int_equal(st.cooling, 1); /* 4: ended 20 min ago */
    assert_int_equal(st.free, 1);    /* 1: ended 60 min ago */
    uint64_t number = 0;
    struct pool_holder h[4];
    assert_int_equal(pool_session_get(p, 101, now, &number, h), ERR_OK);
    assert_int_equal(number, 2);
    assert_int_equal(h[0].leased_at, now - 15 * MIN);
    assert_int_equal(pool_holders(p, 1, now, h, 4), 2);
    assert_int_equal(h[0].session_id, 103);
    assert_int_equal(h[0].ends_at, now - 60 * MIN);
    assert_int_equal(h[1].session_id, 105);
    assert_int_equal(lease(p, 104, 4, now, NEW | RETURNED), 4);
    assert_int_equal(lease(p, 200, 0, now, NEW), 1);
    /* Exhausted: 102's last activity (now-5min) is the oldest. */
    assert_int_equal(lease(p, 201, 0, now, NEW | EXHAUSTED | SHARED), 3);
    assert_int_equal(pool_session_get(p, 102, now + 5 * MIN - 1, NULL, NULL), ERR_OK);
    assert_int_equal(pool_session_get(p, 102, now + 5 * MIN, NULL, NULL), ERR_NOTFOUND);
    assert_int_equal(pool_session_get(p, 101, now + 5 * MIN, NULL, NULL), ERR_OK);
    assert_int_equal(pool_session_get(p, 101, now + 8 * MIN, NULL, NULL), ERR_NOTFOUND);
    pool_free(p);
}

/* Numbers: duplicates and id 0 refused; a live-leased number cannot be removed; a removed
 * number is never handed out; an empty pool is exhausted. */
static void add_and_remove_numbers(void **state)
{
    struct pool *p = mk(1 * SEC, 0, POOL_SHARE, 2);
    assert_int_equal(pool_add_number(p, 2, 0), ERR_CONFLICT);
    assert_int_equal(pool_add_number(p, 0, 0), ERR_INVALID);
    assert_int_equal(lease(p, 1, 0, T0, NEW), 1);
    assert_int_equal(pool_remove_number(p, 1, T0), ERR_CONFLICT);
    assert_int_equal(pool_remove_number(p, 99, T0), ERR_NOTFOUND);
    assert_int_equal(pool_remove_number(p, 2, T0), ERR_OK);
    assert_int_equal(lease(p, 2, 0, T0 + 1, NEW | EXHAUSTED | SHARED), 1);
    assert_int_equal(stats(p, T0 + 1).size, 1);
    assert_int_equal(pool_remove_number(p, 1, T0 + SEC), ERR_CONFLICT); /* session 2 lives */
    assert_int_equal(pool_remove_number(p, 1, T0 + SEC + 1), ERR_OK);
    uint64_t number = 7;
    unsigned flags = 0;
    assert_int_equal(pool_lease(p, 3, 0, T0 + 2 * SEC, &number, &flags), ERR_EXHAUSTED);
    assert_int_equal(number, 0);
    assert_int_equal(flags, EXHAUSTED);
    assert_int_equal(pool_add_number(p, 1, 0), ERR_OK);
    struct pool_holder h[2];
    assert_int_equal(pool_holders(p, 1, T0 + 2 * SEC, h, 2), 0); /* history went with it */
    assert_int_equal(lease(p, 3, 0, T0 + 2 * SEC, NEW), 1);
    pool_free(p);
}

/* pool_holders: live holders (most recent activity first), then past ones (latest end first),
 * at most POOL_HISTORY_MAX of them, cut at cap. */
static void holders_lists_live_and_past(void **state)
{
    struct pool *p = mk(1 * SEC, 0, POOL_SHARE, 1);
    lease(p, 1, 0, T0, NEW);
    lease(p, 2, 0, T0 + 1500, NEW);
    lease(p, 3, 0, T0 + 3000, NEW);
    lease(p, 4, 0, T0 + 3100, NEW | EXHAUSTED | SHARED);
    assert_int_equal(pool_touch(p, 3, T0 + 3200, NULL, NULL), ERR_OK);
    struct pool_holder h[8];
    assert_int_equal(pool_holders(p, 1, T0 + 3300, h, 8), 4);
    const uint64_t want[] = {3, 4, 2, 1};
    const bool live[] = {true, true, false, false};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(h[i].session_id, want[i]);
        assert_int_equal(h[i].live, live[i]);
    }
    assert_int_equal(h[0].last_active_at, T0 + 3200);
    assert_int_equal(h[0].ends_at, T0 + 4200);
    assert_int_equal(h[2].ends_at, T0 + 2500);
    assert_int_equal(pool_holders(p, 1, T0 + 3300, h, 3), 3);
    assert_int_equal(pool_holders(p, 77, T0 + 3300, h, 8), 0);
    for (uint64_t s = 10; s < 16; s++)
        lease(p, s, 0, T0 + (int64_t)s * 2 * SEC, NEW);
    assert_int_equal(pool_holders(p, 1, T0 + 40 * SEC, h, 6), 6); /* newest first, capped */
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(h[i].session_id, 15 - i);
    pool_free(p);
}

/* recommended_size = max(D + 1, ceil(1.1 * D * (L + C) / L)), worked by hand below. */
static void recommended_size_follows_demand(void **state)
{
    struct pool *p = mk(10 * SEC, 30 * SEC, POOL_SHARE, 100);
    assert_int_equal(stats(p, T0).recommended_size, 1); /* no demand yet: floor D + 1 */
    for (uint64_t s = 1; s <= 5; s++)
        lease(p, s, 0, T0, NEW);
    /* Each visit keeps a number 10 s, then it rests 30 s: 4 numbers per concurrent visitor,
     * 5 * 4 = 20, + 10 % = 22. Before any lease ended L defaults to ttl: the same. */
    assert_int_equal(stats(p, T0).recommended_size, 22);
    assert_int_equal(stats(p, T0 + 10 * SEC).recommended_size, 22);
    pool_free(p);

    /* Visits that stay 40 s (renewed every 5 s): 5 * (40 + 30) / 40 = 8.75, + 10 % = 9.625. */
    p = mk(10 * SEC, 30 * SEC, POOL_SHARE, 100);
    for (int64_t t = 0; t <= 30 * SEC; t += 5 * SEC)
        for (uint64_t s = 1; s <= 5; s++)
            lease(p, s, 0, T0 + t, t == 0 ? NEW : RENEWED);
    assert_int_equal(stats(p, T0 + 40 * SEC).recommended_size, 10);
    pool_free(p);

    /* No cooldown: 5 concurrent + 10 % = 5.5 -> 6 (also the floor D + 1); 20 -> exactly 22. */
    p = mk(10 * SEC, 0, POOL_SHARE, 100);
    for (uint64_t s = 1; s <= 20; s++) {
        lease(p, s, 0, T0, NEW);
        if (s == 5)
            assert_int_equal(stats(p, T0).recommended_size, 6);
    }
    assert_int_equal(stats(p, T0).recommended_size, 22);
    pool_free(p);

    /* Fallback with 2 numbers and 5 visitors: peak_concurrent is 2, but the demand was 5. */
    p = mk(10 * SEC, 30 * SEC, POOL_FALLBACK, 2);
    for (uint64_t s = 1; s <= 5; s++)
        pool_lease(p, s, 0, T0, NULL, NULL);
    struct pool_stats st = stats(p, T0 + 20 * SEC);
    assert_int_equal(st.peak_concurrent, 2);
    assert_int_equal(st.exhaustion_events, 3);
    assert_int_equal(st.recommended_size, 22);
    pool_free(p);
}

/* Config changes apply to live leases (ttl) and to idle numbers (cooldown). */
static void config_change_applies(void **state)
{
    struct pool *p = mk(1 * SEC, 10 * SEC, POOL_SHARE, 2);
    lease(p, 1, 0, T0, NEW);
    lease(p, 2, 0, T0 + 100, NEW);
    struct pool_config cfg = {.ttl_ms = 5 * SEC, .cooldown_ms = 10 * SEC};
    pool_set_config(p, &cfg);
    check(p);
    struct pool_holder h;
    assert_int_equal(pool_session_get(p, 1, T0 + 3 * SEC, NULL, &h), ERR_OK);
    assert_int_equal(h.ends_at, T0 + 5 * SEC);
    struct pool_stats st = stats(p, T0 + 6 * SEC);
    assert_int_equal(st.cooling, 2);
    cfg.cooldown_ms = 0;
    pool_set_config(p, &cfg);
    check(p);
    assert_int_equal(stats(p, T0 + 6 * SEC).free, 2);
    cfg = (struct pool_config){.ttl_ms = -5, .cooldown_ms = -5, .on_exhaust = 7};
    pool_set_config(p, &cfg); /* clamped: ttl 1 ms, no cooldown, share */
    check(p);
    assert_int_equal(lease(p, 3, 0, T0 + 7 * SEC, NEW), 1);
    assert_int_equal(pool_session_get(p, 3, T0 + 7 * SEC + 1, NULL, NULL), ERR_NOTFOUND);
    pool_free(p);
}

/* An earlier `now` than already seen is taken as the latest one: nothing un-expires. */
static void clock_never_runs_backwards(void **state)
{
    struct pool *p = mk(1 * SEC, 0, POOL_SHARE, 1);
    lease(p, 1, 0, T0, NEW);
    assert_int_equal(pool_session_get(p, 1, T0 + 2 * SEC, NULL, NULL), ERR_NOTFOUND);
    assert_int_equal(pool_session_get(p, 1, T0, NULL, NULL), ERR_NOTFOUND);
    assert_int_equal(lease(p, 2, 0, T0, NEW), 1);
    struct pool_holder h;
    assert_int_equal(pool_session_get(p, 2, T0, NULL, &h), ERR_OK);
    assert_int_equal(h.leased_at, T0 + 2 * SEC);
    pool_free(p);
    pool_free(NULL);
}

/* Many sessions and numbers: the tables grow, slots get reused, invariants hold. */
static void grows_and_reuses_slots(void **state)
{
    struct pool *p = mk(10 * SEC, 0, POOL_SHARE, 3000);
    for (int round = 0; round < 3; round++) {
        int64_t at = T0 + round * 20 * SEC;
        for (uint64_t s = 1; s <= 3000; s++)
            lease(p, (uint64_t)round * 100000 + s, 0, at, NEW);
        assert_int_equal(stats(p, at).live_leases, 3000);
    }
    for (uint64_t id = 1; id <= 3000; id += 2)
        assert_int_equal(pool_remove_number(p, id, T0 + 90 * SEC), ERR_OK);
    for (uint64_t id = 5001; id <= 6500; id++)
        assert_int_equal(pool_add_number(p, id, T0 + 60 * SEC), ERR_OK);
    check(p);
    assert_int_equal(stats(p, T0 + 90 * SEC).size, 3000);
    /* The even numbers were all released at T0+50s, before the new ones' T0+60s. */
    assert_int_equal(lease(p, 1, 0, T0 + 90 * SEC, NEW), 2);
    assert_int_equal(pool_remove_number(p, 4, T0 + 90 * SEC), ERR_OK);
    assert_int_equal(lease(p, 2, 0, T0 + 90 * SEC, NEW), 6);
    pool_free(p);
}

/* ---------------------------------------------------------------- reference model */

/*
 * The model keeps every lease ever made in one array and answers each question by scanning it,
 * straight from the spec: a lease is live iff now < last_active + ttl; a number's release time
 * is the max end over all its holders and its added idle time; free = no live holder and
 * (never used or released >= cooldown ago). It shares no code with the engine.
 */
#define M_IDS 12
#define M_SESSIONS 60
#define M_LEASES 20000
#define M_NEVER INT64_MIN

struct m_lease {
    uint64_t session;
    uint64_t number; /* 0 once the number was removed */
    int64_t leased_at;
    int64_t last_active_at;
    bool waiting; /* turned away; `gone` once it asked again */
    bool gone;
};

struct model {
    struct pool_config cfg;
    int64_t now;
    bool present[M_IDS + 1];
    int64_t idle_since[M_IDS + 1];
    struct m_lease *l;
    size_t n;
    uint64_t events;
    uint32_t peak, peak_demand;
};

static bool m_live(const struct model *m, const struct m_lease *l)
{
    return !l->gone && m->now < l->last_active_at + m->cfg.ttl_ms;
}

static int m_live_holders(const struct model *m, uint64_t id)
{
    int k = 0;
    for (size_t i = 0; i < m->n; i++)
        k += !m->l[i].waiting && m->l[i].number == id && m_live(m, &m->l[i]);
    return k;
}

static int64_t m_release(const struct model *m, uint64_t id)
{
    int64_t at = m->idle_since[id];
    for (size_t i = 0; i < m->n; i++) {
        const struct m_lease *l = &m->l[i];
        if (!l->waiting && l->number == id && l->last_active_at + m->cfg.ttl_ms > at)
            at = l->last_active_at + m->cfg.ttl_ms;
    }
    return at;
}

static bool m_free(const struct model *m, uint64_t id)
{
    int64_t at = m_release(m, id);
    return m_live_holders(m, id) == 0 && (at == M_NEVER || at <= m->now - m->cfg.cooldown_ms);
}

/* Present number with the smallest (release, id), among free ones only if free_only. */
static uint64_t m_min(const struct model *m, bool free_only)
{
    uint64_t best = 0;
    int64_t best_at = 0;
    for (uint64_t id = 1; id <= M_IDS; id++) {
        if (!m->present[id] || (free_only && !m_free(m, id)))
            continue;
        int64_t at = m_release(m, id);
        if (best == 0 || at < best_at) {
            best = id;
            best_at = at;
        }
    }
    return best;
}

static long m_find(const struct model *m, uint64_t session, bool waiting)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->l[i].session == session && m->l[i].waiting == waiting && m_live(m, &m->l[i]))
            return (long)i;
    return -1;
}

/* The session of the lease of `id` that ended last, if the number has no live holder. */
static uint64_t m_last_holder(const struct model *m, uint64_t id)
{
    uint64_t who = 0;
    int64_t end = M_NEVER;
    for (size_t i = 0; i < m->n; i++) {
        const struct m_lease *l = &m->l[i];
        if (!l->waiting && l->number == id && l->last_active_at + m->cfg.ttl_ms > end) {
            end = l->last_active_at + m->cfg.ttl_ms;
            who = l->session;
        }
    }
    return m_live_holders(m, id) == 0 ? who : 0;
}

static void m_push(struct model *m, uint64_t session, uint64_t number, int64_t leased_at,
                   int64_t last_active_at, bool waiting)
{
    assert_true(m->n < M_LEASES);
    m->l[m->n] = (struct m_lease){session, number, leased_at, last_active_at, waiting, false};
    m->n++;
}

static void m_note_peak(struct model *m)
{
    uint32_t live = 0;
    uint32_t waiting = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m_live(m, &m->l[i])) {
            live += !m->l[i].waiting;
            waiting += m->l[i].waiting;
        }
    }
    m->peak = live > m->peak ? live : m->peak;
    m->peak_demand = live + waiting > m->peak_demand ? live + waiting : m->peak_demand;
}

static int m_lease(struct model *m, uint64_t session, uint64_t prev, uint64_t *num, unsigned *fl)
{
    long i = m_find(m, session, false);
    *fl = 0;
    *num = 0;
    if (i >= 0) {
        m->l[i].last_active_at = m->now;
        *num = m->l[i].number;
        *fl = RENEWED | (m_live_holders(m, *num) > 1 ? SHARED : 0);
        return ERR_OK;
    }
    long w = m_find(m, session, true);
    if (w >= 0)
        m->l[w].gone = true;
    if (prev >= 1 && prev <= M_IDS && m->present[prev] && m_last_holder(m, prev) == session) {
        *num = prev;
        *fl = NEW | RETURNED;
    } else {
        *num = m_min(m, true);
        *fl = NEW;
    }
    if (*num == 0) {
        m->events++;
        *fl = NEW | EXHAUSTED;
        if (m->cfg.on_exhaust == POOL_SHARE)
            *num = m_min(m, false);
    }
    if (*num == 0) {
        *fl = EXHAUSTED;
        m_push(m, session, 0, m->now, m->now, true);
        m_note_peak(m);
        return ERR_EXHAUSTED;
    }
    if (m_live_holders(m, *num) > 0)
        *fl |= SHARED;
    m_push(m, session, *num, m->now, m->now, false);
    m_note_peak(m);
    return ERR_OK;
}

static int m_touch(struct model *m, uint64_t session, uint64_t *num)
{
    long i = m_find(m, session, false);
    long w = m_find(m, session, true);
    *num = 0;
    if (w >= 0)
        m->l[w].last_active_at = m->now;
    if (i < 0)
        return ERR_NOTFOUND;
    m->l[i].last_active_at = m->now;
    *num = m->l[i].number;
    return ERR_OK;
}

static int m_remove(struct model *m, uint64_t id)
{
    if (!m->present[id])
        return ERR_NOTFOUND;
    if (m_live_holders(m, id) > 0)
        return ERR_CONFLICT;
    m->present[id] = false;
    for (size_t i = 0; i < m->n; i++)
        if (!m->l[i].waiting && m->l[i].number == id)
            m->l[i].number = 0;
    return ERR_OK;
}

static int m_add(struct model *m, uint64_t id, int64_t idle_since)
{
    if (m->present[id])
        return ERR_CONFLICT;
    m->present[id] = true;
    m->idle_since[id] = idle_since == 0 ? M_NEVER : idle_since;
    return ERR_OK;
}

static struct pool_stats m_stats(const struct model *m)
{
    struct pool_stats st = {0};
    double life_sum = 0;
    uint64_t ended = 0;
    for (uint64_t id = 1; id <= M_IDS; id++) {
        if (!m->present[id])
            continue;
        st.size++;
        int live = m_live_holders(m, id);
        st.leased += live > 0;
        st.live_leases += (uint32_t)live;
        st.free += m_free(m, id);
        st.cooling += live == 0 && !m_free(m, id);
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct m_lease *l = &m->l[i];
        if (!l->waiting && !m_live(m, l)) {
            ended++;
            life_sum += (double)(l->last_active_at + m->cfg.ttl_ms - l->leased_at);
        }
    }
    double life = ended ? life_sum / (double)ended : (double)m->cfg.ttl_ms;
    double d = m->peak_demand;
    double want = 1.1 * d * (life + (double)m->cfg.cooldown_ms) / life;
    uint32_t rec = (uint32_t)(want - want * 1e-12);
    rec += (double)rec < want - want * 1e-12;
    st.recommended_size = rec < m->peak_demand + 1 ? m->peak_demand + 1 : rec;
    st.exhaustion_events = m->events;
    st.peak_concurrent = m->peak;
    return st;
}

static int cmp_live_desc(const void *a, const void *b)
{
    const struct pool_holder *x = a;
    const struct pool_holder *y = b;
    if (x->live != y->live)
        return x->live ? -1 : 1;
    int64_t kx = x->live ? x->last_active_at : x->ends_at;
    int64_t ky = y->live ? y->last_active_at : y->ends_at;
    return kx > ky ? -1 : kx < ky;
}

static size_t m_holders(const struct model *m, uint64_t id, struct pool_holder *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < m->n && k < cap; i++) {
        const struct m_lease *l = &m->l[i];
        if (l->waiting || l->number != id || !m->present[id])
            continue;
        out[k] = (struct pool_holder){.session_id = l->session,
                                      .leased_at = l->leased_at,
                                      .last_active_at = l->last_active_at,
                                      .ends_at = l->last_active_at + m->cfg.ttl_ms,
                                      .live = m_live(m, l)};
        k++;
    }
    qsort(out, k, sizeof *out, cmp_live_desc);
    size_t live = 0;
    while (live < k && out[live].live)
        live++;
    size_t past = k - live < POOL_HISTORY_MAX ? k - live : POOL_HISTORY_MAX;
    return live + past;
}

/* ---------------------------------------------------------------- randomized run */

struct run {
    uint64_t rng;
    unsigned seed;
    int step;
    struct pool *p;
    struct model m;
    uint64_t last_number[M_SESSIONS + 1];
};

static uint64_t rnd(struct run *r, uint64_t n)
{
    r->rng += UINT64_C(0x9e3779b97f4a7c15);
    uint64_t z = r->rng;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return (z ^ (z >> 31)) % n;
}

#define SAME(r, a, b)                                                                              \
    do {                                                                                           \
        long long a_ = (long long)(a);                                                             \
        long long b_ = (long long)(b);                                                             \
        if (a_ != b_)                                                                              \
            fail_msg("seed %u step %d: %s is %lld, model says %lld", (r)->seed, (r)->step, #a, a_, \
                     b_);                                                                          \
    } while (0)

static void run_lease(struct run *r)
{
    uint64_t s = 1 + rnd(r, M_SESSIONS);
    uint64_t k = rnd(r, 10);
    uint64_t prev = k < 5 ? r->last_number[s] : k < 7 ? 1 + rnd(r, M_IDS) : 0;
    uint64_t got = 0;
    uint64_t want = 0;
    unsigned flags = 0;
    unsigned want_flags = 0;
    int rc = pool_lease(r->p, s, prev, r->m.now, &got, &flags);
    int want_rc = m_lease(&r->m, s, prev, &want, &want_flags);
    SAME(r, rc, want_rc);
    SAME(r, got, want);
    SAME(r, flags, want_flags);
    if (got != 0)
        r->last_number[s] = got;
}

static void run_touch(struct run *r)
{
    uint64_t s = 1 + rnd(r, M_SESSIONS);
    uint64_t got = 0;
    uint64_t want = 0;
    int64_t expires = 0;
    int rc = pool_touch(r->p, s, r->m.now, &got, &expires);
    SAME(r, rc, m_touch(&r->m, s, &want));
    SAME(r, got, want);
    SAME(r, expires, rc == ERR_OK ? r->m.now + r->m.cfg.ttl_ms : 0);
}

static void run_stats(struct run *r)
{
    struct pool_stats got;
    pool_stats_get(r->p, r->m.now, &got);
    struct pool_stats want = m_stats(&r->m);
    SAME(r, got.size, want.size);
    SAME(r, got.leased, want.leased);
    SAME(r, got.cooling, want.cooling);
    SAME(r, got.free, want.free);
    SAME(r, got.live_leases, want.live_leases);
    SAME(r, got.exhaustion_events, want.exhaustion_events);
    SAME(r, got.peak_concurrent, want.peak_concurrent);
    SAME(r, got.recommended_size, want.recommended_size);
}

static void run_holders(struct run *r)
{
    uint64_t id = 1 + rnd(r, M_IDS);
    struct pool_holder got[16];
    size_t cap = 1 + rnd(r, ARRAY_SIZE(got));
    size_t n = pool_holders(r->p, id, r->m.now, got, cap);
    /* m_holders needs room for every holder of the number before it trims to the spec. */
    struct pool_holder *want = calloc(r->m.n + 1, sizeof *want);
    assert_non_null(want);
    size_t m = m_holders(&r->m, id, want, r->m.n + 1);
    SAME(r, n, m < cap ? m : cap);
    for (size_t i = 0; i < n; i++) {
        SAME(r, got[i].session_id, want[i].session_id);
        SAME(r, got[i].live, want[i].live);
        SAME(r, got[i].leased_at, want[i].leased_at);
        SAME(r, got[i].last_active_at, want[i].last_active_at);
        SAME(r, got[i].ends_at, want[i].ends_at);
    }
    free(want);
}

static void run_session_get(struct run *r)
{
    uint64_t s = 1 + rnd(r, M_SESSIONS);
    uint64_t got = 0;
    int rc = pool_session_get(r->p, s, r->m.now, &got, NULL);
    long i = m_find(&r->m, s, false);
    SAME(r, rc, i >= 0 ? ERR_OK : ERR_NOTFOUND);
    SAME(r, got, i >= 0 ? r->m.l[i].number : 0);
}

static void run_numbers(struct run *r)
{
    uint64_t id = 1 + rnd(r, M_IDS);
    if (rnd(r, 2) == 0) {
        SAME(r, pool_remove_number(r->p, id, r->m.now), m_remove(&r->m, id));
        return;
    }
    /* Coarse idle times so that ties between numbers happen. */
    int64_t span = 3 * (r->m.cfg.cooldown_ms + r->m.cfg.ttl_ms) / 1000 + 1;
    int64_t idle = rnd(r, 3) == 0 ? 0 : r->m.now - (int64_t)rnd(r, (uint64_t)span) * 1000;
    SAME(r, pool_add_number(r->p, id, idle), m_add(&r->m, id, idle));
}

/* A restart-like start: a few numbers, then restores in shuffled order, live and expired. */
static void run_setup(struct run *r)
{
    for (uint64_t id = 1; id <= M_IDS / 2; id++) {
        int64_t idle = id % 3 == 0 ? 0 : r->m.now - (int64_t)(id * 1000);
        SAME(r, pool_add_number(r->p, id, idle), m_add(&r->m, id, idle));
    }
    for (uint64_t k = 0; k < 10; k++) {
        uint64_t id = 1 + rnd(r, M_IDS / 2);
        int64_t last = r->m.now - 1 - (int64_t)((k * 7) % 10) * (r->m.cfg.ttl_ms / 4 + 1);
        int64_t leased = last - (int64_t)rnd(r, 5000);
        SAME(r, pool_restore(r->p, 1 + k, id, leased, last, r->m.now), ERR_OK);
        m_push(&r->m, 1 + k, id, leased, last, false);
        r->last_number[1 + k] = id;
    }
    m_note_peak(&r->m);
}

static void run_step(struct run *r)
{
    uint64_t k = rnd(r, 100);
    if (k < 45)
        run_lease(r);
    else if (k < 60)
        run_touch(r);
    else if (k < 70)
        run_stats(r);
    else if (k < 80)
        run_holders(r);
    else if (k < 86)
        run_session_get(r);
    else if (k < 96)
        run_numbers(r);
    else
        r->m.now += (int64_t)rnd(r, (uint64_t)(2 * (r->m.cfg.ttl_ms + r->m.cfg.cooldown_ms)));
    struct errbuf eb = {{0}, NULL};
    if (pool_check(r->p, &eb) != ERR_OK)
        fail_msg("seed %u step %d: pool_check: %s", r->seed, r->step, eb.msg);
    r->m.now += 1 + (int64_t)rnd(r, 300); /* strictly increasing: no activity ties */
}

static void random_against_model(void **state)
{
    static const struct pool_config cfgs[] = {
        {3000, 4000, POOL_SHARE, 0, 0, 0, 0},     {3000, 4000, POOL_FALLBACK, 0, 0, 0, 0},
        {2000, 0, POOL_SHARE, 0, 0, 0, 0},        {5000, 20000, POOL_SHARE, 0, 0, 0, 0},
        {5000, 20000, POOL_FALLBACK, 0, 0, 0, 0}, {1500, 1000, POOL_SHARE, 0, 0, 0, 0},
        {4000, 60000, POOL_SHARE, 0, 0, 0, 0},    {4000, 1, POOL_FALLBACK, 0, 0, 0, 0},
    };
    struct run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->m.l = calloc(M_LEASES, sizeof *r->m.l);
    assert_non_null(r->m.l);
    for (unsigned seed = 1; seed <= 16; seed++) {
        const struct pool_config *cfg = &cfgs[seed % ARRAY_SIZE(cfgs)];
        struct m_lease *l = r->m.l;
        memset(l, 0, M_LEASES * sizeof *l);
        memset(r, 0, sizeof *r);
        r->m.l = l;
        r->seed = seed;
        r->rng = seed;
        r->m.cfg = *cfg;
        r->m.now = T0;
        for (uint64_t id = 0; id <= M_IDS; id++)
            r->m.idle_since[id] = M_NEVER;
        r->p = pool_new(cfg);
        run_setup(r);
        for (r->step = 0; r->step < 2500; r->step++)
            run_step(r);
        run_stats(r);
        pool_free(r->p);
    }
    free(r->m.l);
    free(r);
}

/* ---------------------------------------------------------------- taking claims back */

static uint64_t claim(struct pool *p, uint64_t session, uint64_t prev, int64_t now,
                      struct pool_undo *u)
{
    uint64_t number = 0;
    unsigned flags = 0;
    int rc = pool_claim(p, session, prev, now, &number, &flags, u);
    assert_true(rc == ERR_OK || rc == ERR_EXHAUSTED);
    check(p);
    return number;
}

static void assert_same_stats(const struct pool_stats *a, const struct pool_stats *b)
{
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->leased, b->leased);
    assert_int_equal(a->cooling, b->cooling);
    assert_int_equal(a->free, b->free);
    assert_int_equal(a->live_leases, b->live_leases);
    assert_int_equal(a->exhaustion_events, b->exhaustion_events);
    assert_int_equal(a->peak_concurrent, b->peak_concurrent);
    assert_int_equal(a->recommended_size, b->recommended_size);
}

/* A claim taken back leaves the pool as before it: nothing leased, no peak, and the number
 * is the idlest again (picked next, ahead of the others). */
static void unclaim_restores_free_number(void **state)
{
    struct pool *p = mk(20 * MIN, 30 * MIN, POOL_SHARE, 3);
    struct pool_stats before = stats(p, T0);
    struct pool_undo u;
    assert_int_equal(claim(p, 1, 0, T0, &u), 1);
    assert_true(u.valid);
    assert_int_equal(pool_unclaim(p, &u, T0 + SEC), ERR_OK);
    check(p);
    struct pool_stats after = stats(p, T0 + SEC);
    assert_same_stats(&before, &after);
    struct pool_holder h[4];
    assert_int_equal(pool_holders(p, 1, T0 + SEC, h, 4), 0); /* no history either */
    assert_int_equal(pool_session_get(p, 1, T0 + SEC, NULL, NULL), ERR_NOTFOUND);
    assert_int_equal(pool_unclaim(p, &u, T0 + SEC), ERR_NOTFOUND); /* once only */
    assert_int_equal(lease(p, 2, 0, T0 + 2 * SEC, NEW), 1);
    pool_free(p);
}

/* A shared claim on an exhausted pool taken back: the exhaustion event and the peak it added
 * go, the other holder keeps the number. Peaks reached later by others lose only this one. */
static void unclaim_uncounts_exhaustion_and_peak(void **state)
{
    struct pool *p = mk(20 * MIN, 30 * MIN, POOL_SHARE, 1);
    lease(p, 1, 0, T0, NEW);
    struct pool_stats before = stats(p, T0);
    struct pool_undo u2;
    assert_int_equal(claim(p, 2, 0, T0 + SEC, &u2), 1);
    assert_true(u2.exhausted);
    lease(p, 3, 0, T0 + 2 * SEC, NEW | EXHAUSTED | SHARED);
    struct pool_stats mid = stats(p, T0 + 2 * SEC);
    assert_int_equal(mid.peak_concurrent, 3);
    assert_int_equal(mid.exhaustion_events, 2);
    assert_int_equal(pool_unclaim(p, &u2, T0 + 3 * SEC), ERR_OK);
    struct pool_stats after = stats(p, T0 + 3 * SEC);
    assert_int_equal(after.live_leases, 2);
    assert_int_equal(after.peak_concurrent, 2);
    assert_int_equal(after.exhaustion_events, 1);
    assert_int_equal(after.leased, 1);
    assert_int_equal(pool_session_get(p, 1, T0 + 3 * SEC, NULL, NULL), ERR_OK);
    assert_true(after.recommended_size < mid.recommended_size);
    assert_true(after.recommended_size > before.recommended_size);
    pool_free(p);
}

/* A returned (cooling) number taken back cools again from its old release time, so another
 * free number is picked before it; a renewal cannot be taken back. */
static void unclaim_returned_number_cools_again(void **state)
{
    const int64_t ttl = MIN;
    struct pool *p = mk(ttl, 30 * MIN, POOL_SHARE, 2);
    lease(p, 1, 0, T0, NEW);
    int64_t later = T0 + ttl + SEC; /* number 1 cools since T0 + ttl */
    struct pool_undo u;
    assert_int_equal(claim(p, 1, 1, later, &u), 1);
    struct pool_undo renew;
    claim(p, 1, 1, later + SEC, &renew);
    assert_false(renew.valid);
    assert_int_equal(pool_unclaim(p, &renew, later + SEC), ERR_INVALID);
    assert_int_equal(pool_unclaim(p, &u, later + 2 * SEC), ERR_OK);
    struct pool_stats st = stats(p, later + 2 * SEC);
    assert_int_equal(st.cooling, 1);
    assert_int_equal(st.free, 1);
    assert_int_equal(st.live_leases, 0);
    struct pool_holder h[4];
    assert_int_equal(pool_holders(p, 1, later + 2 * SEC, h, 4), 1); /* the first lease only */
    assert_int_equal(h[0].ends_at, T0 + ttl);
    assert_int_equal(lease(p, 2, 0, later + 3 * SEC, NEW), 2);
    pool_free(p);
}

/* Fallback mode: a refused claim taken back uncounts its exhaustion event and its demand; a
 * session that had been turned away before waits again. An expired claim cannot be taken back. */
static void unclaim_refused_claim(void **state)
{
    const int64_t ttl = 20 * MIN;
    struct pool *p = mk(ttl, 30 * MIN, POOL_FALLBACK, 1);
    lease(p, 1, 0, T0, NEW);
    struct pool_stats before = stats(p, T0);
    struct pool_undo u;
    assert_int_equal(claim(p, 2, 0, T0 + SEC, &u), 0);
    assert_true(u.valid && u.exhausted && u.number_id == 0);
    assert_true(stats(p, T0 + SEC).recommended_size > before.recommended_size);
    assert_int_equal(pool_unclaim(p, &u, T0 + SEC), ERR_OK);
    struct pool_stats after = stats(p, T0 + SEC);
    assert_same_stats(&before, &after);
    claim(p, 3, 0, T0 + 2 * SEC, NULL); /* turned away: waits */
    struct pool_stats waiting = stats(p, T0 + 2 * SEC);
    assert_int_equal(claim(p, 3, 0, T0 + 3 * SEC, &u), 0);
    assert_true(u.was_waiting);
    assert_int_equal(pool_unclaim(p, &u, T0 + 3 * SEC), ERR_OK);
    struct pool_stats again = stats(p, T0 + 3 * SEC);
    assert_same_stats(&waiting, &again);
    struct pool_undo late;
    claim(p, 4, 0, T0 + 4 * SEC, &late);
    assert_int_equal(pool_unclaim(p, &late, T0 + 4 * SEC + ttl), ERR_NOTFOUND);
    check(p);
    pool_free(p);
}

/* ==== issue 20: rests by what the holder did ================================================ */

/* A pool of n never-used numbers with the issue-20 rests. */
static struct pool *mk_rests(int64_t ttl, int64_t cooldown, uint64_t n)
{
    struct pool_config cfg = {.ttl_ms = ttl, .cooldown_ms = cooldown, .on_exhaust = POOL_SHARE};
    pool_config_rests_default(&cfg);
    struct pool *p = pool_new(&cfg);
    for (uint64_t id = 1; id <= n; id++)
        assert_int_equal(pool_add_number(p, id, 0), ERR_OK);
    return p;
}

/* A tapped number rests 3 h longer: the next visitors get the other number, even though the
 * tapped one was released first. */
static void tapped_number_rests_longer(void **state)
{
    (void)state;
    struct pool *p = mk_rests(20 * 60 * SEC, 30 * 60 * SEC, 2);
    assert_int_equal(lease(p, 1, 0, T0, NEW), 1);
    assert_int_equal(lease(p, 2, 0, T0 + 60 * SEC, NEW), 2);
    lease(p, 2, 0, T0 + 120 * SEC, RENEWED); /* 2 read on: not a bounce */
    assert_int_equal(pool_note(p, 1, 1, T0 + 10 * SEC, POOL_SIG_CLICK), ERR_OK);
    struct pool_pick why;
    assert_int_equal(pool_explain(p, 1, T0 + 2 * 3600 * SEC, &why), ERR_OK);
    assert_int_equal(why.why, POOL_REST_CLICK);
    assert_int_equal(why.release_at, T0 + 20 * 60 * SEC + 3 * 3600 * SEC);
    assert_non_null(strstr(pool_rest_why_text(why.why), "tapped"));
    /* both idle past cooldown by plain times, but 1 still rests: 2 is picked */
    assert_int_equal(lease(p, 3, 0, T0 + 2 * 3600 * SEC, NEW), 2);
    pool_free(p);
}

/* The defaults rest only a tapped or copied number: a holder whose call was credited earns no
 * rest even after a tap (its call is done), and a bounce rests like any other lease; the order
 * is then plain idle-longest among them. pool_rest_for gives the same rests. */
static void only_taps_rest_by_default(void **state)
{
    (void)state;
    struct pool *p = mk_rests(20 * 60 * SEC, 30 * 60 * SEC, 3);
    assert_int_equal(lease(p, 1, 0, T0, NEW), 1);           /* bounces */
    assert_int_equal(lease(p, 2, 0, T0 + 1 * SEC, NEW), 2); /* taps, then calls */
    assert_int_equal(lease(p, 3, 0, T0 + 2 * SEC, NEW), 3); /* taps */
    lease(p, 2, 0, T0 + 60 * SEC, RENEWED);
    lease(p, 3, 0, T0 + 70 * SEC, RENEWED);
    assert_int_equal(pool_note(p, 2, 2, T0 + 80 * SEC, POOL_SIG_CLICK), ERR_OK);
    assert_int_equal(pool_note(p, 3, 3, T0 + 80 * SEC, POOL_SIG_CLICK), ERR_OK);
    assert_int_equal(pool_note(p, 2, 2, T0 + 90 * SEC, POOL_SIG_CALLED), ERR_OK);
    struct pool_pick why;
    int64_t later = T0 + 3600 * SEC;
    assert_int_equal(pool_explain(p, 1, later, &why), ERR_OK);
    assert_int_equal(why.why, POOL_REST_BOUNCED);
    assert_int_equal(why.rest_ms, 0);
    assert_int_equal(why.release_at, T0 + 20 * 60 * SEC);
    assert_int_equal(pool_explain(p, 2, later, &why), ERR_OK);
    assert_int_equal(why.why, POOL_REST_CALLED);
    assert_int_equal(why.release_at, T0 + 21 * 60 * SEC); /* ended at 21 min, no rest */
    assert_int_equal(pool_explain(p, 3, later, &why), ERR_OK);
    assert_int_equal(why.why, POOL_REST_CLICK);
    assert_int_equal(lease(p, 4, 0, later, NEW), 1);
    assert_int_equal(lease(p, 5, 0, later, NEW), 2);
    /* 3 still rests: exhausted, the pool shares a live number before it */
    assert_int_equal(lease(p, 6, 0, later, NEW | EXHAUSTED | SHARED), 1);
    struct pool_config cfg = {.ttl_ms = 1};
    pool_config_rests_default(&cfg);
    assert_int_equal(pool_rest_for(&cfg, POOL_SIG_CLICK), 3 * 3600 * SEC);
    assert_int_equal(pool_rest_for(&cfg, POOL_SIG_CLICK | POOL_SIG_CALLED), 0);
    assert_int_equal(pool_rest_for(&cfg, 0), 0);
    assert_int_equal(pool_rest_for(&cfg, POOL_SIG_BOT), 0);
    pool_free(p);
}

/* A signal noted after the lease ended may only raise the number's rest; unknown holders are
 * ERR_NOTFOUND; all-zero rests are the plain idle-longest policy. */
static void notes_on_past_holders(void **state)
{
    (void)state;
    struct pool *p = mk_rests(10 * SEC, 0, 2);
    assert_int_equal(lease(p, 1, 0, T0, NEW), 1);
    lease(p, 1, 0, T0 + 5 * SEC, RENEWED);
    assert_int_equal(pool_note(p, 1, 1, T0 + 60 * SEC, POOL_SIG_CLICK), ERR_OK);
    struct pool_pick why;
    assert_int_equal(pool_explain(p, 1, T0 + 60 * SEC, &why), ERR_OK);
    assert_int_equal(why.release_at, T0 + 15 * SEC + 3 * 3600 * SEC);
    assert_int_equal(pool_note(p, 1, 1, T0 + 61 * SEC, POOL_SIG_CALLED), ERR_OK);
    assert_int_equal(pool_explain(p, 1, T0 + 61 * SEC, &why), ERR_OK);
    assert_int_equal(why.release_at, T0 + 15 * SEC + 3 * 3600 * SEC); /* not lowered */
    assert_int_equal(pool_note(p, 9, 1, T0 + 62 * SEC, POOL_SIG_CLICK), ERR_NOTFOUND);
    assert_int_equal(pool_note(p, 1, 7, T0 + 62 * SEC, POOL_SIG_CLICK), ERR_NOTFOUND);
    check(p);
    pool_free(p);
    p = mk(10 * SEC, 0, POOL_SHARE, 2); /* zero rests: a tap changes nothing */
    assert_int_equal(lease(p, 1, 0, T0, NEW), 1);
    assert_int_equal(pool_note(p, 1, 1, T0 + SEC, POOL_SIG_CLICK), ERR_OK);
    assert_int_equal(lease(p, 2, 0, T0 + 2 * SEC, NEW), 2);
    assert_int_equal(lease(p, 3, 0, T0 + 60 * SEC, NEW), 1);
    pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(twenty_sessions_share_ten_numbers),
        cmocka_unit_test(fallback_refuses_eleventh),
        cmocka_unit_test(renew_on_touch_and_repeat_lease),
        cmocka_unit_test(expiry_after_ttl),
        cmocka_unit_test(cooling_number_not_reused_while_another_free),
        cmocka_unit_test(idle_longest_pick_and_ties),
        cmocka_unit_test(returning_session_gets_old_number),
        cmocka_unit_test(restore_rebuilds_state),
        cmocka_unit_test(add_and_remove_numbers),
        cmocka_unit_test(holders_lists_live_and_past),
        cmocka_unit_test(recommended_size_follows_demand),
        cmocka_unit_test(tapped_number_rests_longer),
        cmocka_unit_test(only_taps_rest_by_default),
        cmocka_unit_test(notes_on_past_holders),
        cmocka_unit_test(config_change_applies),
        cmocka_unit_test(clock_never_runs_backwards),
        cmocka_unit_test(grows_and_reuses_slots),
        cmocka_unit_test(random_against_model),
        cmocka_unit_test(unclaim_restores_free_number),
        cmocka_unit_test(unclaim_uncounts_exhaustion_and_peak),
        cmocka_unit_test(unclaim_returned_number_cools_again),
        cmocka_unit_test(unclaim_refused_claim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
