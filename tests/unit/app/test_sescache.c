/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* http/sescache: the bounded session cache the ping path reads instead of the store. A put is
 * found again, a second put of the same id updates it in place, a full set replaces its oldest
 * entry (never a newer one), drop forgets, ids that cannot fit are refused, and a flood of other
 * ids never returns a wrong entry for an id: a hit is always what was last put for that id. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "app/sescache.h"
#include "store/store.h"

static void put_get_update_drop(void **state)
{
    (void)state;
    struct sescache *c = sescache_new(64);
    struct sescache_entry e = {0};
    assert_false(sescache_get(c, "s_a", &e));
    sescache_put(
        c, "s_a",
        &(struct sescache_entry){.id = 7, .account_id = 3, .n_pools = 1, .pools = {{4, 1000}}});
    assert_true(sescache_get(c, "s_a", &e));
    assert_int_equal(e.id, 7);
    assert_int_equal(e.account_id, 3);
    assert_int_equal(e.n_pools, 1);
    assert_int_equal(e.pools[0].pool_id, 4);
    assert_int_equal(e.pools[0].stored_until, 1000);
    sescache_put(c, "s_a",
                 &(struct sescache_entry){
                     .id = 7, .account_id = 3, .n_pools = 2, .pools = {{4, 5000}, {9, 6000}}});
    assert_true(sescache_get(c, "s_a", &e));
    assert_int_equal(e.n_pools, 2);
    assert_int_equal(e.pools[0].stored_until, 5000);
    assert_int_equal(e.pools[1].pool_id, 9);
    assert_int_equal(e.pools[1].stored_until, 6000);
    assert_false(sescache_get(c, "s_ab", &e)); /* whole ids only */
    sescache_drop(c, "s_a");
    assert_false(sescache_get(c, "s_a", &e));
    sescache_drop(c, "s_never"); /* dropping an unknown id is harmless */
    sescache_free(c);
    sescache_free(NULL);
}

static void refuses_ids_that_do_not_fit(void **state)
{
    (void)state;
    struct sescache *c = sescache_new(64);
    char id[STORE_ID_MAX + 8];
    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    sescache_put(c, id, &(struct sescache_entry){.id = 1, .account_id = 1});
    struct sescache_entry e;
    assert_false(sescache_get(c, id, &e));
    id[STORE_ID_MAX - 1] = '\0'; /* the truncated id must not have been stored either */
    assert_false(sescache_get(c, id, &e));
    sescache_put(c, "", &(struct sescache_entry){.id = 1, .account_id = 1});
    assert_false(sescache_get(c, "", &e));
    sescache_free(c);
}

/* With a single set (slots = 4) the fifth id evicts the oldest put; a re-put refreshes age. */
static void full_set_replaces_its_oldest(void **state)
{
    (void)state;
    struct sescache *c = sescache_new(4);
    const char *ids[] = {"s_1", "s_2", "s_3", "s_4"};
    for (int i = 0; i < 4; i++)
        sescache_put(c, ids[i], &(struct sescache_entry){.id = i + 1, .account_id = 1});
    sescache_put(c, "s_1",
                 &(struct sescache_entry){.id = 1, .account_id = 2}); /* s_2 is now the oldest */
    sescache_put(c, "s_5", &(struct sescache_entry){.id = 5, .account_id = 1});
    struct sescache_entry e;
    assert_false(sescache_get(c, "s_2", &e));
    assert_true(sescache_get(c, "s_1", &e));
    assert_int_equal(e.account_id, 2);
    assert_true(sescache_get(c, "s_3", &e));
    assert_true(sescache_get(c, "s_4", &e));
    assert_true(sescache_get(c, "s_5", &e));
    assert_int_equal(e.id, 5);
    sescache_free(c);
}

/* Many more ids than slots: every hit carries the entry last put for that id, and the most
 * recent puts (one set's worth at least) are still there. */
static void flood_never_mixes_entries(void **state)
{
    (void)state;
    struct sescache *c = sescache_new(256);
    char id[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "s_%d", i);
        sescache_put(
            c, id,
            &(struct sescache_entry){
                .id = i, .account_id = i % 7, .n_pools = 1, .pools = {{i % 5, (int64_t)i * 10}}});
    }
    int hits = 0;
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "s_%d", i);
        struct sescache_entry e;
        if (!sescache_get(c, id, &e))
            continue;
        hits++;
        assert_int_equal(e.id, i);
        assert_int_equal(e.account_id, i % 7);
        assert_int_equal(e.pools[0].pool_id, i % 5);
        assert_int_equal(e.pools[0].stored_until, (int64_t)i * 10);
    }
    assert_true(hits > 0 && hits <= 256);
    snprintf(id, sizeof(id), "s_%d", 19999);
    struct sescache_entry last;
    assert_true(sescache_get(c, id, &last));
    sescache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_update_drop),
        cmocka_unit_test(refuses_ids_that_do_not_fit),
        cmocka_unit_test(full_set_replaces_its_oldest),
        cmocka_unit_test(flood_never_mixes_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
