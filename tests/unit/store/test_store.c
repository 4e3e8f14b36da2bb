/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* store: the SQLite backend against its contract (store.h): migrations, accounts and keys,
 * pools and numbers with their conflicts, sessions, leases and events, and savepoints. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/store.h"

struct fx {
    char path[64];
    struct store *s;
    struct st_account a;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "/tmp/opendni-test-store-%d.db", (int)getpid());
    unlink(f->path);
    struct errbuf eb = {{0}, NULL};
    int version = 0;
    if (store_open(f->path, &f->s, &eb) || store_migrate(f->s, 1, &version, &eb) || version < 1)
        return -1;
    const char *origins[] = {"https://a.example"};
    if (store_account_create(f->s, "", "A", origins, 1, "hash-a", 1, &f->a, &eb))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    char p[80];
    unlink(f->path);
    snprintf(p, sizeof(p), "%s-wal", f->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", f->path);
    unlink(p);
    free(f);
    return 0;
}

static void migrate_is_idempotent(void **state)
{
    struct fx *f = *state;
    int v1 = 0, v2 = 0;
    assert_int_equal(store_migrate(f->s, 2, &v1, NULL), ERR_OK);
    assert_int_equal(store_migrate(f->s, 3, &v2, NULL), ERR_OK);
    assert_int_equal(v1, v2);
    assert_int_equal(store_check(f->s, NULL), ERR_OK);
}

static void keys_find_their_account(void **state)
{
    struct fx *f = *state;
    struct st_account got;
    assert_int_equal(store_account_by_key(f->s, "hash-a", &got), ERR_OK);
    assert_string_equal(got.ext_id, f->a.ext_id);
    assert_int_equal(store_account_by_key(f->s, "hash-b", &got), ERR_NOTFOUND);
    struct errbuf eb = {{0}, NULL};
    const char *origins[] = {"https://b.example"};
    assert_int_equal(
        store_account_create(f->s, f->a.ext_id, "dup", origins, 1, "hash-c", 1, &got, &eb),
        ERR_CONFLICT);
    assert_int_equal(store_account_by_key(f->s, "hash-c", &got), ERR_NOTFOUND); /* nothing kept */
    bool known = false;
    assert_int_equal(store_origin_exists(f->s, "https://a.example", &known), ERR_OK);
    assert_true(known);
    assert_int_equal(store_origin_exists(f->s, "https://b.example", &known), ERR_OK);
    assert_false(known);
}

/* store_lease_fn: keeps the (only) lease. */
static int copy_lease(void *ctx, const struct st_lease *l)
{
    *(struct st_lease *)ctx = *l;
    return 0;
}

static void numbers_are_unique_and_leases_block_deletes(void **state)
{
    struct fx *f = *state;
    struct st_pool p = {.account_id = f->a.id, .lease_ttl_s = 60, .cooldown_s = 0};
    snprintf(p.name, sizeof(p.name), "main");
    snprintf(p.target, sizeof(p.target), "+15555550100");
    snprintf(p.forward_to, sizeof(p.forward_to), "+15555550100");
    assert_int_equal(store_pool_create(f->s, &p, 1, NULL), ERR_OK);
    struct st_number n = {.account_id = f->a.id, .pool_id = p.id};
    snprintf(n.number, sizeof(n.number), "+15555550101");
    assert_int_equal(store_number_create(f->s, &n, 1, NULL), ERR_OK);
    struct st_number dup = n;
    assert_int_equal(store_number_create(f->s, &dup, 1, NULL), ERR_CONFLICT);
    struct st_session ss = {.account_id = f->a.id, .created_at = 1000, .last_active_at = 1000};
    snprintf(ss.ext_id, sizeof(ss.ext_id), "s_test");
    snprintf(ss.visitor_id, sizeof(ss.visitor_id), "v_test");
    assert_int_equal(store_session_put(f->s, &ss), ERR_OK);
    assert_true(ss.id > 0);
    struct st_lease l = {.session_id = ss.id,
                         .number_id = n.id,
                         .pool_id = p.id,
                         .leased_at = 1000,
                         .last_active_at = 1000,
                         .expires_at = 61000};
    assert_int_equal(store_lease_add(f->s, &l), ERR_OK);
    assert_int_equal(store_number_delete(f->s, f->a.id, n.ext_id, 2000), ERR_CONFLICT);
    assert_int_equal(store_pool_delete(f->s, f->a.id, p.ext_id, 2000), ERR_CONFLICT);
    assert_int_equal(store_lease_renew(f->s, ss.id, n.id, 5000, 65000), ERR_OK);
    struct st_lease last = {0};
    assert_int_equal(store_session_leases(f->s, ss.id, copy_lease, &last), ERR_OK);
    assert_int_equal(last.expires_at, 65000);
    assert_string_equal(last.session_ext, "s_test");
    /* after the lease ended, the pool can go, and its numbers with it */
    assert_int_equal(store_pool_delete(f->s, f->a.id, p.ext_id, 70000), ERR_OK);
    struct st_number gone;
    assert_int_equal(store_number_get(f->s, f->a.id, n.ext_id, &gone), ERR_NOTFOUND);
}

static int collect(void *ctx, const struct st_lease *l)
{
    int64_t *ends = ctx;
    for (int i = 0; i < 4; i++)
        if (!ends[i]) {
            ends[i] = l->expires_at;
            break;
        }
    return 0;
}

static void history_is_newest_first_and_events_are_found(void **state)
{
    struct fx *f = *state;
    struct st_pool p = {.account_id = f->a.id, .lease_ttl_s = 60};
    snprintf(p.name, sizeof(p.name), "h");
    snprintf(p.target, sizeof(p.target), "+15555550200");
    snprintf(p.forward_to, sizeof(p.forward_to), "+15555550200");
    assert_int_equal(store_pool_create(f->s, &p, 1, NULL), ERR_OK);
    struct st_number n = {.account_id = f->a.id, .pool_id = p.id};
    snprintf(n.number, sizeof(n.number), "+15555550201");
    assert_int_equal(store_number_create(f->s, &n, 1, NULL), ERR_OK);
    for (int i = 0; i < 3; i++) {
        struct st_session ss = {.account_id = f->a.id, .created_at = i, .last_active_at = i};
        snprintf(ss.ext_id, sizeof(ss.ext_id), "s_h%d", i);
        snprintf(ss.visitor_id, sizeof(ss.visitor_id), "v");
        assert_int_equal(store_session_put(f->s, &ss), ERR_OK);
        struct st_lease l = {.session_id = ss.id,
                             .number_id = n.id,
                             .pool_id = p.id,
                             .leased_at = i * 100000,
                             .last_active_at = i * 100000,
                             .expires_at = i * 100000 + 60000};
        assert_int_equal(store_lease_add(f->s, &l), ERR_OK);
        struct st_event e = {.session_id = ss.id, .at = i * 100000 + 5};
        snprintf(e.type, sizeof(e.type), "tel_click");
        snprintf(e.number, sizeof(e.number), "+15555550201");
        assert_int_equal(store_event_add(f->s, &e), ERR_OK);
    }
    int64_t ends[4] = {0};
    assert_int_equal(store_lease_history(f->s, n.id, 100000, 10, collect, ends), ERR_OK);
    assert_int_equal(ends[0], 260000);
    assert_int_equal(ends[1], 160000);
    assert_int_equal(ends[2], 0); /* the first lease ended before `since` */
    struct st_session s1;
    assert_int_equal(store_session_get(f->s, "s_h1", &s1), ERR_OK);
    int64_t at = -1;
    assert_int_equal(store_event_last(f->s, s1.id, "tel_click", "+15555550201", 200000, &at),
                     ERR_OK);
    assert_int_equal(at, 100005);
    assert_int_equal(store_event_last(f->s, s1.id, "tel_click", "+15555550201", 100000, &at),
                     ERR_OK);
    assert_int_equal(at, 0);
}

static void savepoint_rollback_keeps_the_rest(void **state)
{
    struct fx *f = *state;
    int64_t before = 0, after = 0;
    assert_int_equal(store_count(f->s, "sessions", &before), ERR_OK);
    assert_int_equal(store_begin(f->s), ERR_OK);
    struct st_session a = {.account_id = f->a.id};
    snprintf(a.ext_id, sizeof(a.ext_id), "s_keep");
    snprintf(a.visitor_id, sizeof(a.visitor_id), "v");
    assert_int_equal(store_savepoint(f->s), ERR_OK);
    assert_int_equal(store_session_put(f->s, &a), ERR_OK);
    assert_int_equal(store_savepoint_release(f->s), ERR_OK);
    struct st_session b = a;
    b.id = 0;
    assert_int_equal(store_savepoint(f->s), ERR_OK);
    assert_int_equal(store_session_put(f->s, &b), ERR_CONFLICT); /* same ext_id */
    store_savepoint_rollback(f->s);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(store_count(f->s, "sessions", &after), ERR_OK);
    assert_int_equal(after, before + 1);
    assert_int_equal(store_count(f->s, "no_such_table", &after), ERR_INVALID);
}

static void postgres_urls_are_refused_clearly(void **state)
{
    struct store *s = NULL;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(store_open("postgres://localhost/x", &s, &eb), ERR_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(eb.msg, "PostgreSQL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(migrate_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(keys_find_their_account, setup, teardown),
        cmocka_unit_test_setup_teardown(numbers_are_unique_and_leases_block_deletes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(history_is_newest_first_and_events_are_found, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(savepoint_rollback_keeps_the_rest, setup, teardown),
        cmocka_unit_test(postgres_urls_are_refused_clearly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
