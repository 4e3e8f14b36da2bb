/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* app/guard: the per-client flood guard with time as a parameter. A client's unproven sessions
 * hold at most their share of a pool and reuse their own numbers beyond it; a ping frees the
 * share; a client that starts new sessions faster than its bucket allows is a flood, once (its
 * held numbers handed back, claims in flight handed back at their commit), and stays one while
 * it keeps coming; a visitor id is a client too; the table stays bounded. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "app/guard.h"

#define T0 1790000000000LL

static struct guard *mk(long long per_min)
{
    struct guard_config c = {
        .new_per_min = per_min, .share_pct = 10, .max_numbers = 4, .flood_s = 600};
    return guard_new(&c);
}

/* A new session of keys that claims number `number` in pool 1 (size 20) and commits. */
static bool claim(struct guard *g, const char *const *keys, int n_keys, int64_t number,
                  const char *ext, int64_t now, struct guard_hold *reuse)
{
    uint64_t token = 0;
    if (!guard_reserve(g, keys, n_keys, 1, 20, now, &token, reuse))
        return false;
    struct guard_hold h = {.pool_id = 1, .number_id = number, .expires_at = now + 1200000};
    h.undo.leased_at = now;
    snprintf(h.number, sizeof(h.number), "+1555555%04lld", (long long)number);
    snprintf(h.session_ext, sizeof(h.session_ext), "%s", ext);
    guard_fill(g, token, &h);
    struct guard_hold back;
    assert_false(guard_commit(g, token, number * 10, &back));
    return true;
}

static void share_cap_then_reuse_own_numbers(void **state)
{
    (void)state;
    struct guard *g = mk(0); /* no flood detection here */
    const char *a[] = {"a:198.51.100.7"};
    struct guard_hold reuse;
    assert_true(claim(g, a, 1, 1, "s1", T0, &reuse));
    assert_true(claim(g, a, 1, 2, "s2", T0, &reuse));
    /* 10 % of 20 = 2: the third session reuses the client's numbers, in turn */
    assert_false(claim(g, a, 1, 3, "s3", T0, &reuse));
    int64_t first = reuse.number_id;
    assert_false(claim(g, a, 1, 3, "s4", T0, &reuse));
    assert_true(first != reuse.number_id && (first == 1 || first == 2));
    /* another client has its own share */
    const char *b[] = {"a:198.51.100.8"};
    assert_true(claim(g, b, 1, 3, "s5", T0, &reuse));
    /* a ping proves s1: its number stops counting */
    guard_proven(g, a, 1, "s1", T0 + 1000);
    assert_true(claim(g, a, 1, 4, "s6", T0 + 1000, &reuse));
    /* leases that ended stop counting */
    assert_true(claim(g, a, 1, 5, "s7", T0 + 1200000 + 1, &reuse));
    uint64_t floods, cut;
    guard_counts(g, &floods, &cut);
    assert_int_equal(floods, 0);
    assert_int_equal(cut, 2);
    guard_free(g);
}

static void cancelled_reservation_frees_the_place(void **state)
{
    (void)state;
    struct guard *g = mk(0);
    const char *a[] = {"a:10.0.0.1"};
    struct guard_hold reuse;
    uint64_t t1, t2, t3;
    assert_true(guard_reserve(g, a, 1, 1, 20, T0, &t1, &reuse));
    assert_true(guard_reserve(g, a, 1, 1, 20, T0, &t2, &reuse)); /* in flight counts */
    assert_false(guard_reserve(g, a, 1, 1, 20, T0, &t3, &reuse));
    assert_int_equal(reuse.number_id, 0); /* nothing filled yet: nothing to reuse */
    guard_cancel(g, t1);
    assert_true(guard_reserve(g, a, 1, 1, 20, T0, &t3, &reuse));
    guard_cancel(g, t1); /* stale token: no effect */
    assert_false(guard_reserve(g, a, 1, 1, 20, T0, &t1, &reuse));
    guard_free(g);
}

static void flood_flagged_once_and_hands_back(void **state)
{
    (void)state;
    struct guard *g = mk(5);
    const char *a[] = {"a:203.0.113.9"};
    struct guard_hold rel[GUARD_HOLDS];
    int n_rel = 0;
    bool newly = false;
    struct guard_hold reuse;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(guard_session(g, a, 1, T0, &newly, rel, GUARD_HOLDS, &n_rel), GUARD_OK);
        assert_false(newly);
    }
    assert_true(claim(g, a, 1, 7, "s1", T0, &reuse));
    uint64_t in_flight;
    assert_true(guard_reserve(g, a, 1, 1, 20, T0, &in_flight, &reuse));
    struct guard_hold h = {.pool_id = 1, .number_id = 8, .expires_at = T0 + 1200000};
    h.undo.leased_at = T0;
    guard_fill(g, in_flight, &h);
    /* the sixth new session within the minute: a flood, and its held number comes back */
    assert_int_equal(guard_session(g, a, 1, T0 + 1, &newly, rel, GUARD_HOLDS, &n_rel), GUARD_FLOOD);
    assert_true(newly);
    assert_int_equal(n_rel, 1);
    assert_int_equal(rel[0].number_id, 7);
    assert_int_equal(rel[0].session_id, 70);
    /* the claim in flight comes back at its commit */
    struct guard_hold back;
    assert_true(guard_commit(g, in_flight, 80, &back));
    assert_int_equal(back.number_id, 8);
    /* still a flood while it keeps coming, logged once; refilled tokens do not end it */
    assert_int_equal(guard_session(g, a, 1, T0 + 599000, &newly, rel, GUARD_HOLDS, &n_rel),
                     GUARD_FLOOD);
    assert_false(newly);
    assert_int_equal(guard_session(g, a, 1, T0 + 599000 + 599999, &newly, rel, GUARD_HOLDS, &n_rel),
                     GUARD_FLOOD);
    /* quiet for flood_s: an ordinary client again */
    assert_int_equal(
        guard_session(g, a, 1, T0 + 599000 + 599999 + 600000, &newly, rel, GUARD_HOLDS, &n_rel),
        GUARD_OK);
    uint64_t floods, cut;
    guard_counts(g, &floods, &cut);
    assert_int_equal(floods, 1);
    assert_int_equal(cut, 3);
    guard_free(g);
}

static void visitor_id_is_a_client_too(void **state)
{
    (void)state;
    struct guard *g = mk(3);
    struct guard_hold rel[GUARD_HOLDS];
    int n_rel = 0;
    bool newly = false;
    char addr[32];
    for (int i = 0; i < 3; i++) {
        snprintf(addr, sizeof(addr), "a:192.0.2.%d", i);
        const char *k[] = {addr, "v:v_same"};
        assert_int_equal(guard_session(g, k, 2, T0, &newly, rel, GUARD_HOLDS, &n_rel), GUARD_OK);
    }
    const char *k[] = {"a:192.0.2.99", "v:v_same"};
    assert_int_equal(guard_session(g, k, 2, T0, &newly, rel, GUARD_HOLDS, &n_rel), GUARD_FLOOD);
    const char *other[] = {"a:192.0.2.98", ""};
    assert_int_equal(guard_session(g, other, 2, T0, &newly, rel, GUARD_HOLDS, &n_rel), GUARD_OK);
    guard_free(g);
}

static void table_stays_bounded_and_keeps_floods(void **state)
{
    (void)state;
    struct guard *g = mk(1);
    struct guard_hold rel[GUARD_HOLDS];
    int n_rel = 0;
    bool newly = false;
    const char *bad[] = {"a:203.0.113.1"};
    guard_session(g, bad, 1, T0, &newly, rel, GUARD_HOLDS, &n_rel);
    assert_int_equal(guard_session(g, bad, 1, T0, &newly, rel, GUARD_HOLDS, &n_rel), GUARD_FLOOD);
    /* ten times the table's size of other clients, each seen once */
    char key[32];
    for (int i = 0; i < 10 * GUARD_SLOTS; i++) {
        snprintf(key, sizeof(key), "a:10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
        const char *k[] = {key};
        guard_session(g, k, 1, T0 + 1, &newly, rel, GUARD_HOLDS, &n_rel);
    }
    /* the flagged client was busy, so idle ones went first */
    assert_int_equal(guard_session(g, bad, 1, T0 + 2, &newly, rel, GUARD_HOLDS, &n_rel),
                     GUARD_FLOOD);
    guard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(share_cap_then_reuse_own_numbers),
        cmocka_unit_test(cancelled_reservation_frees_the_place),
        cmocka_unit_test(flood_flagged_once_and_hands_back),
        cmocka_unit_test(visitor_id_is_a_client_too),
        cmocka_unit_test(table_stays_bounded_and_keeps_floods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
