/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* app/traffic: per-account page-view and swap-miss counters (alert.swap_miss_rate). Counts add
 * up per account from several threads, a drain takes them (and a refused drain puts them back),
 * and a full table stops counting new accounts without losing the ones it has. */
#include "base/prelude.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "app/traffic.h"

struct seen {
    uint64_t pv[TRAFFIC_SLOTS + 2];
    uint64_t sm[TRAFFIC_SLOTS + 2];
    int calls;
    bool refuse;
};

static int take(void *ctx, int64_t account_id, uint64_t page_views, uint64_t swap_misses)
{
    struct seen *s = ctx;
    s->calls++;
    if (s->refuse)
        return 1;
    s->pv[account_id] += page_views;
    s->sm[account_id] += swap_misses;
    return 0;
}

static void counts_add_up_and_drain(void **state)
{
    (void)state;
    struct traffic *t = traffic_new();
    static struct seen s;
    memset(&s, 0, sizeof(s));
    traffic_count(t, 7, 3, 0);
    traffic_count(t, 7, 0, 1);
    traffic_count(t, 9, 5, 2);
    traffic_count(t, 0, 1, 1);    /* no account: ignored */
    traffic_count(NULL, 7, 1, 1); /* no table: ignored */
    s.refuse = true;              /* the store refuses: counted again later */
    traffic_drain(t, take, &s);
    assert_int_equal(s.calls, 2);
    s.refuse = false;
    s.calls = 0;
    traffic_drain(t, take, &s);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.pv[7], 3);
    assert_int_equal(s.sm[7], 1);
    assert_int_equal(s.pv[9], 5);
    assert_int_equal(s.sm[9], 2);
    s.calls = 0;
    traffic_drain(t, take, &s); /* nothing new: fn is not called */
    assert_int_equal(s.calls, 0);
    traffic_free(t);
    traffic_free(NULL);
}

#define N_THREADS 4
#define N_EACH 100000

static void *counter(void *arg)
{
    struct traffic *t = arg;
    for (int i = 0; i < N_EACH; i++)
        traffic_count(t, 1 + i % 3, 1, i % 10 == 0);
    return NULL;
}

static void threads_lose_nothing(void **state)
{
    (void)state;
    struct traffic *t = traffic_new();
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, counter, t), 0);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    for (int k = 0; k < 50; k++) /* drains while they count */
        traffic_drain(t, take, &s);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    traffic_drain(t, take, &s);
    assert_int_equal(s.pv[1] + s.pv[2] + s.pv[3], (uint64_t)N_THREADS * N_EACH);
    assert_int_equal(s.sm[1] + s.sm[2] + s.sm[3], (uint64_t)N_THREADS * (N_EACH / 10));
    traffic_free(t);
}

static void a_full_table_keeps_its_accounts(void **state)
{
    (void)state;
    struct traffic *t = traffic_new();
    for (int64_t id = 1; id <= TRAFFIC_SLOTS; id++)
        traffic_count(t, id, 1, 0);
    traffic_count(t, TRAFFIC_SLOTS + 1, 1, 0); /* no slot left: not counted */
    traffic_count(t, 1, 1, 1);                 /* an account it has still counts */
    static struct seen s;
    memset(&s, 0, sizeof(s));
    traffic_drain(t, take, &s);
    assert_int_equal(s.calls, TRAFFIC_SLOTS);
    assert_int_equal(s.pv[1], 2);
    assert_int_equal(s.sm[1], 1);
    assert_int_equal(s.pv[TRAFFIC_SLOTS + 1], 0);
    traffic_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_add_up_and_drain),
        cmocka_unit_test(threads_lose_nothing),
        cmocka_unit_test(a_full_table_keeps_its_accounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
