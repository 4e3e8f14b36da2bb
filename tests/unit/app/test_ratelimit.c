/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* http/ratelimit: token buckets with time as a parameter. Burst size, refill, the cap on
 * saved-up tokens, Retry-After (never too early, at most a second late), independent keys, the
 * disabled limiter, a clock that steps back, and the bounded table: a flood of other keys must
 * not evict a drained key and so hand it a fresh burst (DESIGN.md: "a bot that leases every
 * number exhausts the pool", which is what the per-address limit stops). */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "app/ratelimit.h"

#define T0 1790000000000LL

/* Takes n tokens for key at now; returns how many were granted. */
static int take_n(struct ratelimit *r, const char *key, int64_t now, int n)
{
    int ok = 0;
    for (int i = 0; i < n; i++)
        ok += ratelimit_take(r, key, now, NULL);
    return ok;
}

static void disabled_limiter(void **state)
{
    (void)state;
    assert_null(ratelimit_new(0)); /* "per_minute 0 disables the limiter" */
    assert_null(ratelimit_new(-5));
    int retry = -7;
    for (int i = 0; i < 100000; i++)
        assert_true(ratelimit_take(NULL, "1.2.3.4", T0, &retry));
    assert_int_equal(retry, -7); /* untouched: nothing to wait for */
    ratelimit_free(NULL);
}

/* "each key may spend per_minute tokens a minute with a burst of the same size". */
static void burst_is_per_minute(void **state)
{
    (void)state;
    static const long long rates[] = {1, 6, 60, 600, 6000};
    for (size_t i = 0; i < ARRAY_SIZE(rates); i++) {
        struct ratelimit *r = ratelimit_new(rates[i]);
        assert_non_null(r);
        assert_int_equal(take_n(r, "client", T0, (int)rates[i]), (int)rates[i]);
        int retry = 0;
        assert_false(ratelimit_take(r, "client", T0, &retry));
        assert_true(retry >= 1);
        ratelimit_free(r);
    }
}

/* 60 a minute is one token a second: after 999 ms nothing, after 1000 ms exactly one; half a
 * token saved earlier counts towards the next. */
static void refill_over_time(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(60);
    assert_int_equal(take_n(r, "k", T0, 60), 60);
    assert_false(ratelimit_take(r, "k", T0 + 999, NULL));
    assert_true(ratelimit_take(r, "k", T0 + 1000, NULL));
    assert_false(ratelimit_take(r, "k", T0 + 1000, NULL));
    assert_false(ratelimit_take(r, "k", T0 + 1500, NULL)); /* half a token */
    assert_true(ratelimit_take(r, "k", T0 + 2000, NULL));  /* the other half */
    /* ten seconds give ten tokens, not more */
    assert_int_equal(take_n(r, "k", T0 + 12000, 20), 10);
    /* steady state: one request a second is always served, two a second only half */
    int ok = 0;
    for (int s = 1; s <= 100; s++) {
        ok += ratelimit_take(r, "k", T0 + 12000 + s * 1000, NULL);
        ok += ratelimit_take(r, "k", T0 + 12000 + s * 1000 + 500, NULL);
    }
    assert_int_equal(ok, 100);
    ratelimit_free(r);
}

/* Idle time saves up at most one burst. */
static void refill_capped_at_burst(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(60);
    assert_int_equal(take_n(r, "k", T0, 60), 60);
    int64_t later = T0 + 10LL * 60 * 1000; /* ten minutes idle */
    assert_int_equal(take_n(r, "k", later, 200), 60);
    ratelimit_free(r);
}

/* Retry-After (API.md: 429 "with Retry-After") must not send the client back too early: at
 * now + retry_after s a token is there, and retry_after is at most one second more than the
 * real wait (the header is whole seconds). */
static void retry_after_is_honest(void **state)
{
    (void)state;
    static const struct {
        long long per_minute;
        int64_t since_ms; /* time since the bucket ran dry */
        int64_t wait_ms;  /* real time until one token is back */
    } cases[] = {
        {60, 0, 1000}, {6, 0, 10000},    {6, 4000, 6000}, {6, 9999, 1},
        {1, 0, 60000}, {1, 59000, 1000}, {600, 0, 100},   {7, 0, 8572},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct ratelimit *r = ratelimit_new(cases[i].per_minute);
        assert_int_equal(take_n(r, "k", T0, (int)cases[i].per_minute), (int)cases[i].per_minute);
        int64_t now = T0 + cases[i].since_ms;
        int retry = -1;
        assert_false(ratelimit_take(r, "k", now, &retry));
        int64_t min_s = (cases[i].wait_ms + 999) / 1000; /* whole seconds, rounded up */
        if (retry < min_s || retry > min_s + 1)
            fail_msg("case %zu (%lld/min, %" PRId64 " ms dry): Retry-After %d, want %" PRId64
                     " or %" PRId64,
                     i, cases[i].per_minute, cases[i].since_ms, retry, min_s, min_s + 1);
        assert_true(ratelimit_take(r, "k", now + (int64_t)retry * 1000, NULL));
        ratelimit_free(r);
    }
}

/* A refused take costs nothing: hammering while limited does not push the next token back. */
static void refused_takes_are_free(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(60);
    assert_int_equal(take_n(r, "k", T0, 60), 60);
    for (int ms = 0; ms < 1000; ms += 10)
        assert_false(ratelimit_take(r, "k", T0 + ms, NULL));
    assert_true(ratelimit_take(r, "k", T0 + 1000, NULL));
    ratelimit_free(r);
}

static void keys_are_independent(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(10);
    assert_int_equal(take_n(r, "198.51.100.1", T0, 11), 10);
    assert_int_equal(take_n(r, "198.51.100.2", T0, 11), 10);
    assert_int_equal(take_n(r, "2001:db8::1", T0, 11), 10);
    assert_int_equal(take_n(r, "", T0, 11), 10); /* an empty key is a key like any other */
    assert_false(ratelimit_take(r, "198.51.100.1", T0, NULL));
    ratelimit_free(r);
}

/* Requests are timed by several threads, so now can step back a little: that must neither
 * refill nor take away tokens. */
static void clock_stepping_back(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(60);
    assert_int_equal(take_n(r, "k", T0 + 5000, 60), 60);
    assert_false(ratelimit_take(r, "k", T0, NULL));
    assert_false(ratelimit_take(r, "k", T0 + 5000, NULL));
    assert_true(ratelimit_take(r, "k", T0 + 6000, NULL)); /* one second after the last */
    ratelimit_free(r);
}

/* Many keys (far more than the table holds) each keep their own limit while they are active. */
static void many_keys_each_limited(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(3);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        int64_t now = T0 + i / 10;
        if (take_n(r, key, now, 4) != 3)
            fail_msg("key %s: not exactly 3 of 4 granted", key);
    }
    ratelimit_free(r);
}

/* A drained key goes quiet while a flood of other keys (a botnet, or a busy site) overflows
 * the table. When it comes back before a token has refilled, it must still be refused: if the
 * table forgot it, it would get a fresh full burst (the escape the limiter exists to stop).
 * "keys idle for a full refill are forgotten first": the flood keys just spent one token of 60
 * and are nearly full; the drained key is the last one to forget. */
static void flood_does_not_free_drained_key(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(60);
    assert_int_equal(take_n(r, "hot", T0, 61), 60);
    char key[32];
    const int flood = 200000;
    for (int i = 0; i < flood; i++) {
        snprintf(key, sizeof(key), "flood-%d", i);
        assert_true(ratelimit_take(r, key, T0 + 1 + i / 400, NULL)); /* 500 ms in all */
    }
    int64_t back = T0 + 900; /* less than one token refilled */
    int ok = take_n(r, "hot", back, 60);
    if (ok != 0)
        fail_msg("a drained key got %d tokens back after a flood of other keys", ok);
    ratelimit_free(r);
}

/* The same with the drained key hammering throughout the flood: over 10 s at 60/min it may get
 * 10 tokens (rounding aside), not another burst. */
static void flood_does_not_free_hammering_key(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(60);
    assert_int_equal(take_n(r, "hot", T0, 60), 60);
    char key[32];
    int granted = 0;
    for (int i = 0; i < 400000; i++) {
        int64_t now = T0 + i / 40; /* 10 s */
        snprintf(key, sizeof(key), "flood-%d", i);
        ratelimit_take(r, key, now, NULL);
        if (i % 1000 == 0)
            granted += ratelimit_take(r, "hot", now, NULL);
    }
    if (granted > 11)
        fail_msg("the hammering key got %d tokens in 10 s at 60/min", granted);
    ratelimit_free(r);
}

struct spent_seen {
    int n;
    uint64_t key;
    uint32_t tokens;
};

static void note_spent(void *ctx, uint64_t key, uint32_t n)
{
    struct spent_seen *s = ctx;
    s->n++;
    s->key = key;
    s->tokens = n;
}

/* Two nodes' limiters: what one lets through, told to the other, empties the other's bucket,
 * so the two together give the key one limit's worth. */
static void shared_between_two_nodes(void **state)
{
    (void)state;
    struct ratelimit *a = ratelimit_new(10);
    struct ratelimit *b = ratelimit_new(10);
    struct spent_seen seen = {0};
    assert_true(ratelimit_take(a, "acc_1", T0, NULL));
    ratelimit_spent(a, note_spent, &seen);
    assert_int_equal(seen.n, 0); /* not shared: nothing counted */
    ratelimit_share(a);
    ratelimit_share(b);
    for (int i = 0; i < 6; i++)
        assert_true(ratelimit_take(a, "acc_1", T0, NULL));
    ratelimit_spent(a, note_spent, &seen);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.tokens, 6);
    ratelimit_charge(b, seen.key, T0, seen.tokens);
    int granted = 0;
    for (int i = 0; i < 10; i++)
        granted += ratelimit_take(b, "acc_1", T0, NULL);
    assert_int_equal(granted, 4); /* 10 - 6 */
    seen = (struct spent_seen){0};
    ratelimit_spent(a, note_spent, &seen);
    assert_int_equal(seen.n, 0);             /* handed over once */
    ratelimit_charge(b, seen.key, T0, 1000); /* never into debt: refills as usual */
    ratelimit_charge(b, 12345, T0, 1000);
    assert_true(ratelimit_take(b, "acc_1", T0 + 6000, NULL));
    ratelimit_free(a);
    ratelimit_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(disabled_limiter),
        cmocka_unit_test(burst_is_per_minute),
        cmocka_unit_test(refill_over_time),
        cmocka_unit_test(refill_capped_at_burst),
        cmocka_unit_test(retry_after_is_honest),
        cmocka_unit_test(refused_takes_are_free),
        cmocka_unit_test(keys_are_independent),
        cmocka_unit_test(clock_stepping_back),
        cmocka_unit_test(many_keys_each_limited),
        cmocka_unit_test(flood_does_not_free_drained_key),
        cmocka_unit_test(flood_does_not_free_hammering_key),
        cmocka_unit_test(shared_between_two_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
