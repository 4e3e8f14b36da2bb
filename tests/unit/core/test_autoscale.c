/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/autoscale: each rule of the pool autoscaling decision, with time as a parameter. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/autoscale.h"

#define MIN_MS 60000LL
#define DAY_MS (24 * 60 * MIN_MS)

static const struct autoscale_cfg cfg = {.min_size = 2,
                                         .max_size = 10,
                                         .cooldown_ms = 30 * MIN_MS,
                                         .idle_release_ms = 7 * DAY_MS,
                                         .window_ms = 30 * DAY_MS};

static struct autoscale_pool pool(int64_t size, int64_t exhaustion, int64_t recommended)
{
    return (struct autoscale_pool){.size = size,
                                   .new_exhaustion = exhaustion,
                                   .recommended_size = recommended,
                                   .affordable = 100};
}

static void under_the_minimum_adds_up_to_it(void **state)
{
    (void)state;
    struct autoscale_pool p = pool(0, 0, 0);
    struct autoscale_plan plan;
    autoscale_decide(&cfg, &p, NULL, 0, 0, &plan);
    assert_int_equal(plan.add, 2);
    assert_int_equal(plan.why, AUTOSCALE_UNDER_MIN);
    /* Pending purchases count as numbers: nothing more is bought. */
    p.pending = 2;
    autoscale_decide(&cfg, &p, NULL, 0, 0, &plan);
    assert_int_equal(plan.add, 0);
    assert_int_equal(plan.why, AUTOSCALE_STEADY);
}

static void exhaustion_adds_at_least_one_or_up_to_the_recommended_size(void **state)
{
    (void)state;
    struct autoscale_pool p = pool(4, 3, 4);
    struct autoscale_plan plan;
    autoscale_decide(&cfg, &p, NULL, 0, 0, &plan);
    assert_int_equal(plan.add, 1);
    assert_int_equal(plan.why, AUTOSCALE_EXHAUSTED);
    p.recommended_size = 7;
    autoscale_decide(&cfg, &p, NULL, 0, 0, &plan);
    assert_int_equal(plan.add, 3);
    assert_string_equal(autoscale_why_str(plan.why), "exhausted");
    /* No exhaustion since the last check, but a larger recommended size: grow to it. */
    p.new_exhaustion = 0;
    autoscale_decide(&cfg, &p, NULL, 0, 0, &plan);
    assert_int_equal(plan.add, 3);
    assert_int_equal(plan.why, AUTOSCALE_RECOMMENDED);
}

static void never_past_the_maximum_nor_the_cap(void **state)
{
    (void)state;
    struct autoscale_pool p = pool(8, 5, 20);
    struct autoscale_plan plan;
    autoscale_decide(&cfg, &p, NULL, 0, 0, &plan);
    assert_int_equal(plan.add, 2); /* max 10 */
    assert_int_equal(plan.wanted, 12);
    assert_false(plan.capped);
    p.affordable = 1;
    autoscale_decide(&cfg, &p, NULL, 0, 0, &plan);
    assert_int_equal(plan.add, 1);
    assert_true(plan.capped);
    p.affordable = 0;
    autoscale_decide(&cfg, &p, NULL, 0, 0, &plan);
    assert_int_equal(plan.add, 0);
    assert_true(plan.capped); /* the caller logs the refusal */
    p = pool(10, 5, 20);
    autoscale_decide(&cfg, &p, NULL, 0, 0, &plan);
    assert_int_equal(plan.add, 0);
    assert_false(plan.capped);
    assert_int_equal(plan.why, AUTOSCALE_STEADY);
}

static void releases_only_long_idle_uncalled_numbers_oldest_first(void **state)
{
    (void)state;
    int64_t now = 100 * DAY_MS;
    int64_t idle = cfg.cooldown_ms + cfg.idle_release_ms;
    const struct autoscale_number nums[] = {
        {.number_id = 1, .last_lease_end = now - idle - 5 * MIN_MS}, /* idle long enough */
        {.number_id = 2, .last_lease_end = now - idle + MIN_MS},     /* one minute short */
        {.number_id = 3,
         .last_lease_end = now - idle - DAY_MS,                /* idle, but called in */
         .last_call_at = now - 29 * DAY_MS},                   /* the window */
        {.number_id = 4, .last_lease_end = now + MIN_MS},      /* leased now */
        {.number_id = 5, .added_at = now - idle - 2 * DAY_MS}, /* never leased: oldest */
        {.number_id = 6,
         .last_lease_end = now - idle - DAY_MS, /* called before the */
         .last_call_at = now - 31 * DAY_MS},    /* window: releasable */
    };
    struct autoscale_pool p = pool(6, 0, 2);
    struct autoscale_plan plan;
    autoscale_decide(&cfg, &p, nums, ARRAY_SIZE(nums), now, &plan);
    assert_int_equal(plan.add, 0);
    assert_int_equal(plan.why, AUTOSCALE_IDLE);
    assert_int_equal(plan.n_release, 3);
    assert_int_equal(plan.release[0], 5);
    assert_int_equal(plan.release[1], 6);
    assert_int_equal(plan.release[2], 1);
    /* Never below the minimum or the recommended size. */
    p.recommended_size = 5;
    autoscale_decide(&cfg, &p, nums, ARRAY_SIZE(nums), now, &plan);
    assert_int_equal(plan.n_release, 1);
    assert_int_equal(plan.release[0], 5);
    /* Nothing is released right after an exhaustion, while a purchase is pending, or when
     * idle release is off. */
    p = pool(6, 1, 2);
    autoscale_decide(&cfg, &p, nums, ARRAY_SIZE(nums), now, &plan);
    assert_int_equal(plan.n_release, 0);
    p = pool(6, 0, 2);
    p.pending = 1;
    autoscale_decide(&cfg, &p, nums, ARRAY_SIZE(nums), now, &plan);
    assert_int_equal(plan.n_release, 0);
    struct autoscale_cfg off = cfg;
    off.idle_release_ms = 0;
    p.pending = 0;
    autoscale_decide(&off, &p, nums, ARRAY_SIZE(nums), now, &plan);
    assert_int_equal(plan.n_release, 0);
    assert_int_equal(plan.why, AUTOSCALE_STEADY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(under_the_minimum_adds_up_to_it),
        cmocka_unit_test(exhaustion_adds_at_least_one_or_up_to_the_recommended_size),
        cmocka_unit_test(never_past_the_maximum_nor_the_cap),
        cmocka_unit_test(releases_only_long_idle_uncalled_numbers_oldest_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
