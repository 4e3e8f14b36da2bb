/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* store: telephony provider credentials (store.h "provider credentials", account_providers):
 * set/get/find/list, and migration 0005 from a database written by schema 3 (Twilio columns,
 * the Telnyx key in the settings, SignalWire calls stored as "twilio"). */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store/migrations.h"
#include "store/store.h"

struct fx {
    char path[64];
    struct store *s;
};

static void remove_db(const char *path)
{
    char p[80];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "/tmp/opendni-test-provider-%d.db", (int)getpid());
    remove_db(f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    remove_db(f->path);
    free(f);
    return 0;
}

static void open_migrated(struct fx *f)
{
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(store_open(f->path, &f->s, &eb), ERR_OK);
    assert_int_equal(store_migrate(f->s, 1000, NULL, &eb), ERR_OK);
    struct secrets_key k; /* provider secrets are sealed (store/secrets.h) */
    assert_int_equal(secrets_key_parse("0123456789abcdef0123456789abcdef"
                                       "0123456789abcdef0123456789abcdef",
                                       &k, NULL),
                     ERR_OK);
    store_secrets_keys(f->s, &k, NULL);
}

static int64_t new_account(struct fx *f, const char *name)
{
    const char *origins[] = {"https://a.example"};
    char hash[32];
    snprintf(hash, sizeof(hash), "hash-%s", name);
    struct st_account a;
    assert_int_equal(store_account_create(f->s, "", name, origins, 1, hash, 1000, &a, NULL),
                     ERR_OK);
    return a.id;
}

/* Collects "account_id:provider" of each row walked, comma-separated. */
static int collect(void *ctx, const struct st_provider_cred *c)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s%" PRId64 ":%s", n ? "," : "", c->account_id, c->provider);
    return 0;
}

/* ==== operations ============================================================================= */

static void set_get_keeps_unset_fields(void **state)
{
    struct fx *f = *state;
    open_migrated(f);
    int64_t a = new_account(f, "A");
    struct st_provider_cred c;
    assert_int_equal(store_provider_cred_get(f->s, a, "twilio", &c), ERR_NOTFOUND);
    assert_int_equal(store_provider_cred_set(f->s, a, "twilio", "AC1", NULL, 1000), ERR_OK);
    assert_int_equal(store_provider_cred_get(f->s, a, "twilio", &c), ERR_OK);
    assert_string_equal(c.account_sid, "AC1");
    assert_string_equal(c.secret, ""); /* a sid before its token */
    assert_int_equal(store_provider_cred_set(f->s, a, "twilio", NULL, "tok", 1000), ERR_OK);
    assert_int_equal(store_provider_cred_get(f->s, a, "twilio", &c), ERR_OK);
    assert_int_equal(c.account_id, a);
    assert_string_equal(c.provider, "twilio");
    assert_string_equal(c.account_sid, "AC1");
    assert_string_equal(c.secret, "tok");
    assert_true(c.updated_at > 0);
    assert_int_equal(store_provider_cred_set(f->s, a, "twilio", "AC2", "tok2", 1000), ERR_OK);
    assert_int_equal(store_provider_cred_get(f->s, a, "twilio", &c), ERR_OK);
    assert_string_equal(c.account_sid, "AC2");
    assert_string_equal(c.secret, "tok2");
    assert_int_equal(store_provider_cred_get(f->s, a, "telnyx", &c), ERR_NOTFOUND);
}

/* A secret opened once is opened from memory after (store_secrets.c keeps the last few per
 * thread by their sealed form), which must never answer for another row: the same sealed
 * value copied to another account does not authenticate there, and a new secret is read. */
static void exec_ok(sqlite3 *db, const char *sql);

static void opened_secrets_follow_the_row(void **state)
{
    struct fx *f = *state;
    open_migrated(f);
    int64_t a = new_account(f, "A");
    int64_t b = new_account(f, "B");
    struct st_provider_cred c;
    assert_int_equal(store_provider_cred_set(f->s, a, "twilio", NULL, "tok-a", 1000), ERR_OK);
    assert_int_equal(store_provider_cred_set(f->s, b, "twilio", NULL, "tok-b", 1000), ERR_OK);
    for (int i = 0; i < 2; i++) { /* opened, then from memory */
        assert_int_equal(store_provider_cred_get(f->s, a, "twilio", &c), ERR_OK);
        assert_string_equal(c.secret, "tok-a");
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    exec_ok(db, "UPDATE account_providers SET secret = (SELECT secret FROM account_providers "
                "WHERE account_id = 1) WHERE account_id = 2");
    sqlite3_close(db);
    assert_int_equal(a, 1);
    assert_int_equal(store_provider_cred_get(f->s, b, "twilio", &c), ERR_INVALID);
    assert_int_equal(store_provider_cred_set(f->s, a, "twilio", NULL, "tok-a2", 1001), ERR_OK);
    assert_int_equal(store_provider_cred_get(f->s, a, "twilio", &c), ERR_OK);
    assert_string_equal(c.secret, "tok-a2");
}

static void set_refuses_bad_input(void **state)
{
    struct fx *f = *state;
    open_migrated(f);
    int64_t a = new_account(f, "A");
    char big[STORE_SECRET_MAX + 1];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(store_provider_cred_set(f->s, a, "twilio", NULL, NULL, 1000), ERR_INVALID);
    assert_int_equal(store_provider_cred_set(f->s, a, "", NULL, "t", 1000), ERR_INVALID);
    assert_int_equal(store_provider_cred_set(f->s, a, NULL, NULL, "t", 1000), ERR_INVALID);
    assert_int_equal(store_provider_cred_set(f->s, a, "twilio", NULL, big, 1000), ERR_INVALID);
    assert_int_equal(store_provider_cred_set(f->s, a, "a-provider-name-too-long", NULL, "t", 1000),
                     ERR_INVALID);
    assert_int_equal(store_provider_cred_set(f->s, a + 1000, "twilio", NULL, "t", 1000),
                     ERR_NOTFOUND);
}

static void find_and_list(void **state)
{
    struct fx *f = *state;
    open_migrated(f);
    int64_t a = new_account(f, "A");
    int64_t b = new_account(f, "B");
    int64_t c = new_account(f, "C");
    assert_int_equal(store_provider_cred_set(f->s, b, "twilio", "ACshared", "tb", 1000), ERR_OK);
    assert_int_equal(store_provider_cred_set(f->s, a, "twilio", "ACshared", "ta", 1000), ERR_OK);
    assert_int_equal(store_provider_cred_set(f->s, c, "twilio", "ACother", "tc", 1000), ERR_OK);
    assert_int_equal(store_provider_cred_set(f->s, c, "signalwire", "ACshared", "sc", 1000),
                     ERR_OK);
    assert_int_equal(store_provider_cred_set(f->s, c, "telnyx", NULL, "kc", 1000), ERR_OK);
    assert_int_equal(store_provider_cred_set(f->s, a, "telnyx", NULL, "ka", 1000), ERR_OK);
    char want[256];
    char got[256] = "";
    /* by AccountSid: only that provider's rows with that sid, in account order */
    assert_int_equal(store_provider_cred_find(f->s, "twilio", "ACshared", collect, got), ERR_OK);
    snprintf(want, sizeof(want), "%" PRId64 ":twilio,%" PRId64 ":twilio", a, b);
    assert_string_equal(got, want);
    got[0] = '\0';
    assert_int_equal(store_provider_cred_find(f->s, "twilio", "ACnobody", collect, got), ERR_OK);
    assert_string_equal(got, "");
    /* every row of a provider */
    assert_int_equal(store_provider_cred_find(f->s, "telnyx", NULL, collect, got), ERR_OK);
    snprintf(want, sizeof(want), "%" PRId64 ":telnyx,%" PRId64 ":telnyx", a, c);
    assert_string_equal(got, want);
    /* one account's providers, by name */
    got[0] = '\0';
    assert_int_equal(store_provider_cred_list(f->s, c, collect, got), ERR_OK);
    snprintf(want, sizeof(want), "%" PRId64 ":signalwire,%" PRId64 ":telnyx,%" PRId64 ":twilio", c,
             c, c);
    assert_string_equal(got, want);
}

/* ==== migration 0005 ========================================================================= */

static int version_of(const struct asset *m)
{
    const char *base = strrchr(m->path, '/');
    return (int)strtol(base ? base + 1 : m->path, NULL, 10);
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* A database as schema 3 left it, with old-style provider secrets. */
static void write_schema3(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec_ok(db, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at "
                "INTEGER NOT NULL)");
    for (size_t i = 0; i < n_migrations && version_of(&migrations[i]) <= 3; i++) {
        exec_ok(db, (const char *)migrations[i].data);
        char sql[96];
        snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations VALUES (%d, 0)",
                 version_of(&migrations[i]));
        exec_ok(db, sql);
    }
    exec_ok(db, "INSERT INTO accounts(id, ext_id, name, twilio_account_sid, twilio_auth_token,"
                " settings, created_at) VALUES"
                " (1, 'acc_1', 'Twilio and Telnyx', 'AC1', 'tok1',"
                "  '{\"record_calls\":true,\"telnyx_public_key\":\"KEY1\"}', 5),"
                " (2, 'acc_2', 'Nothing', NULL, NULL, '{}', 6),"
                " (3, 'acc_3', 'Token only, odd settings', '', 'tok3', 'not json', 7),"
                " (4, 'acc_4', 'Telnyx only', NULL, NULL, '{\"telnyx_public_key\":\"KEY4\"}', 8)");
    exec_ok(db, "INSERT INTO calls(ext_id, account_id, provider, provider_call_id, to_number,"
                " from_number, started_at, status, method, updated_at) VALUES"
                " ('call_1', 1, 'twilio', 'CA00000000000000000000000000000001', '+1', '+2', 1,"
                "  'ringing', 'exact', 1),"
                " ('call_2', 1, 'twilio', 'b3877c40-da60-4998-90ad-b792e98472af', '+1', '+2', 1,"
                "  'ringing', 'exact', 1),"
                " ('call_3', 4, 'telnyx', 'v3:abc-def', '+1', '+2', 1, 'ringing', 'exact', 1)");
    sqlite3_close(db);
}

static const char *query_text(struct fx *f, const char *sql)
{
    static char out[256];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static void expect_cred(struct fx *f, int64_t account, const char *provider, const char *sid,
                        const char *secret)
{
    struct st_provider_cred c;
    assert_int_equal(store_provider_cred_get(f->s, account, provider, &c), ERR_OK);
    assert_string_equal(c.account_sid, sid);
    assert_string_equal(c.secret, secret);
}

static void migration_moves_old_secrets(void **state)
{
    struct fx *f = *state;
    write_schema3(f->path);
    open_migrated(f);
    assert_int_equal(store_check(f->s, NULL), ERR_OK);
    expect_cred(f, 1, "twilio", "AC1", "tok1");
    expect_cred(f, 1, "signalwire", "AC1", "tok1"); /* the token verified both until now */
    expect_cred(f, 1, "telnyx", "", "KEY1");
    expect_cred(f, 3, "twilio", "", "tok3");
    expect_cred(f, 3, "signalwire", "", "tok3");
    expect_cred(f, 4, "telnyx", "", "KEY4");
    char got[256] = "";
    assert_int_equal(store_provider_cred_list(f->s, 2, collect, got), ERR_OK);
    assert_string_equal(got, "");
    assert_int_equal(store_provider_cred_list(f->s, 4, collect, got), ERR_OK);
    assert_string_equal(got, "4:telnyx");
    /* one copy of each secret: the old places are emptied */
    assert_string_equal(query_text(f, "SELECT count(*) FROM accounts WHERE twilio_auth_token IS"
                                      " NOT NULL OR twilio_account_sid IS NOT NULL"),
                        "0");
    struct st_account a;
    assert_int_equal(store_account_by_id(f->s, 1, &a), ERR_OK);
    assert_string_equal(a.settings, "{\"record_calls\":true}");
    assert_int_equal(store_account_by_id(f->s, 3, &a), ERR_OK);
    assert_string_equal(a.settings, "not json");
    assert_int_equal(store_account_by_id(f->s, 4, &a), ERR_OK);
    assert_string_equal(a.settings, "{}");
    /* SignalWire's calls (UUID call ids) move to their provider; Twilio's and Telnyx's stay */
    struct st_call c;
    assert_int_equal(
        store_call_by_provider(f->s, "signalwire", "b3877c40-da60-4998-90ad-b792e98472af", &c),
        ERR_OK);
    assert_int_equal(
        store_call_by_provider(f->s, "twilio", "CA00000000000000000000000000000001", &c), ERR_OK);
    assert_int_equal(store_call_by_provider(f->s, "telnyx", "v3:abc-def", &c), ERR_OK);
    assert_int_equal(
        store_call_by_provider(f->s, "twilio", "b3877c40-da60-4998-90ad-b792e98472af", &c),
        ERR_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(set_get_keeps_unset_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(set_refuses_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(opened_secrets_follow_the_row, setup, teardown),
        cmocka_unit_test_setup_teardown(find_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(migration_moves_old_secrets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
