/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* app/users: scrypt hashes (salted, parameters stored, tampering refused), the CLI's use cases
 * (add, a role in a second account, set-password ending sessions, remove; each audited) and
 * app sessions on a real SQLite store with time as a parameter: login, wrong passwords and
 * unknown emails alike, rate limits per email, idle and absolute expiry, switching accounts,
 * a role taken away, the CSRF token, logout. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>

#include "app/app.h"
#include "app/ratelimit.h"
#include "app/users.h"
#include "store/store.h"

#define T0 1790000000000LL
#define PW "correct horse battery"
#define MIN_MS 60000LL

struct fx {
    char path[64];
    struct app app;
    struct st_account a, b;
};

static void remove_db(const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
        char p[80];
        snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
        unlink(p);
    }
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "/tmp/opendni-users-%d.db", (int)getpid());
    remove_db(f->path);
    struct errbuf eb = {{0}, NULL};
    const char *o[] = {"https://a.example"};
    if (store_open(f->path, &f->app.store, &eb) || store_migrate(f->app.store, T0, NULL, &eb) ||
        store_account_create(f->app.store, "acc_a", "A", o, 1, "ha", T0, &f->a, &eb) ||
        store_account_create(f->app.store, "acc_b", "B", o, 1, "hb", T0, &f->b, &eb))
        return -1;
    f->app.cfg.session_idle_s = 3600;
    f->app.cfg.session_max_s = 4 * 3600;
    f->app.login_addr_limit = ratelimit_new(1000);
    f->app.login_email_limit = ratelimit_new(USERS_LOGIN_PER_EMAIL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ratelimit_free(f->app.login_addr_limit);
    ratelimit_free(f->app.login_email_limit);
    store_close(f->app.store);
    remove_db(f->path);
    free(f);
    return 0;
}

static int login(struct fx *f, const char *email, const char *pw, int64_t now,
                 struct users_login *out)
{
    int retry = 0;
    struct errbuf eb = {{0}, NULL};
    return users_login(&f->app, email, pw, strlen(pw), "127.0.0.1", now, out, &retry, &eb);
}

static int count_audit(void *ctx, const struct st_audit *a)
{
    (void)a;
    (*(int *)ctx)++;
    return 0;
}

static void password_hashes_are_salted_and_checked(void **state)
{
    (void)state;
    char h1[STORE_PWHASH_MAX], h2[STORE_PWHASH_MAX];
    assert_int_equal(users_password_hash(PW, strlen(PW), h1), ERR_OK);
    assert_int_equal(users_password_hash(PW, strlen(PW), h2), ERR_OK);
    assert_true(strncmp(h1, "scrypt$15$8$1$", 14) == 0);
    assert_string_not_equal(h1, h2); /* a fresh salt each time */
    assert_true(users_password_verify(PW, strlen(PW), h1));
    assert_true(users_password_verify(PW, strlen(PW), h2));
    assert_false(users_password_verify("correct horse batterz", strlen(PW), h1));
    assert_false(users_password_verify(PW, strlen(PW) - 1, h1));
    assert_int_equal(users_password_hash("short", 5, h2), ERR_INVALID);
    /* tampered or hostile hashes: refused, never run with silly parameters */
    char bad[STORE_PWHASH_MAX];
    snprintf(bad, sizeof(bad), "scrypt$30%s", h1 + 9);
    assert_false(users_password_verify(PW, strlen(PW), bad));
    snprintf(bad, sizeof(bad), "%.*sX", (int)strlen(h1) - 2, h1);
    assert_false(users_password_verify(PW, strlen(PW), bad));
    assert_false(users_password_verify(PW, strlen(PW), "sha256$abc"));
    assert_false(users_password_verify(PW, strlen(PW), ""));
}

static void cli_use_cases_are_audited(void **state)
{
    struct fx *f = *state;
    struct store *s = f->app.store;
    struct errbuf eb = {{0}, NULL};
    bool created = false;
    assert_int_equal(
        users_add(s, "Ann@Example.com", "acc_a", "owner", PW, strlen(PW), "cli", T0, &created, &eb),
        ERR_OK);
    assert_true(created);
    /* a role in a second account: the same user, the password untouched */
    assert_int_equal(
        users_add(s, "ann@example.com", "acc_b", "viewer", NULL, 0, "cli", T0, &created, &eb),
        ERR_OK);
    assert_false(created);
    assert_int_equal(
        users_add(s, "bob@example.com", "acc_a", "viewer", NULL, 0, "cli", T0, &created, &eb),
        ERR_INVALID); /* a new user needs a password */
    assert_int_equal(
        users_add(s, "bob@example.com", "acc_a", "boss", PW, strlen(PW), "cli", T0, NULL, &eb),
        ERR_INVALID);
    assert_int_equal(
        users_add(s, "bob@example.com", "acc_zz", "viewer", PW, strlen(PW), "cli", T0, NULL, &eb),
        ERR_NOTFOUND);
    assert_int_equal(store_user_get(s, "bob@example.com", &(struct st_user){0}), ERR_NOTFOUND);
    struct users_login in;
    assert_int_equal(login(f, "ann@example.com", PW, T0, &in), ERR_OK);
    assert_int_equal(
        users_set_password(s, "ANN@example.com", "another good one", 16, "cli", T0 + 1, &eb),
        ERR_OK);
    struct users_session us;
    assert_int_equal(users_session(&f->app, in.token, T0 + 2, &us), ERR_AUTH); /* ended */
    assert_int_equal(login(f, "ann@example.com", PW, T0 + 3, &in), ERR_AUTH);
    assert_int_equal(login(f, "ann@example.com", "another good one", T0 + 4, &in), ERR_OK);
    assert_int_equal(users_remove(s, "ann@example.com", "acc_b", "cli", T0 + 5, &eb), ERR_OK);
    assert_int_equal(users_remove(s, "ann@example.com", "acc_b", "cli", T0 + 5, &eb), ERR_NOTFOUND);
    int n_a = 0, n_b = 0, n_none = 0;
    assert_int_equal(store_audit_list(s, f->a.id, INT64_MAX, 100, count_audit, &n_a), ERR_OK);
    assert_int_equal(store_audit_list(s, f->b.id, INT64_MAX, 100, count_audit, &n_b), ERR_OK);
    assert_int_equal(store_audit_list(s, 0, INT64_MAX, 100, count_audit, &n_none), ERR_OK);
    assert_int_equal(n_a, 1);    /* add */
    assert_int_equal(n_b, 2);    /* add, remove */
    assert_int_equal(n_none, 1); /* set-password */
    assert_int_equal(users_remove(s, "ann@example.com", NULL, "cli", T0 + 6, &eb), ERR_OK);
    assert_int_equal(users_session(&f->app, in.token, T0 + 7, &us), ERR_AUTH);
}

static void sessions_expire_switch_and_end(void **state)
{
    struct fx *f = *state;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(
        users_add(f->app.store, "ann@example.com", "acc_a", "admin", PW, 21, "cli", T0, NULL, &eb),
        ERR_OK);
    assert_int_equal(users_add(f->app.store, "ann@example.com", "acc_b", "viewer", NULL, 0, "cli",
                               T0, NULL, &eb),
                     ERR_OK);
    struct users_login in;
    assert_int_equal(login(f, "ann@example.com", "wrong password!", T0, &in), ERR_AUTH);
    assert_int_equal(login(f, "nobody@example.com", PW, T0, &in), ERR_AUTH);
    assert_int_equal(login(f, "ann@example.com", PW, T0, &in), ERR_OK);
    assert_int_equal(in.session.role, ACCESS_ADMIN);
    assert_int_equal(in.session.row.account_id, f->a.id); /* the first account */
    assert_true(strlen(in.token) >= 52);
    assert_true(users_csrf_ok(in.token, in.session.csrf));
    assert_false(users_csrf_ok(in.token, "00"));
    char other[USERS_CSRF_MAX];
    snprintf(other, sizeof(other), "%s", in.session.csrf);
    other[0] = other[0] == 'a' ? 'b' : 'a';
    assert_false(users_csrf_ok(in.token, other));
    /* idle expiry moves with activity (written once a minute), absolute expiry does not */
    struct users_session us;
    int64_t t = T0;
    for (int i = 0; i < 4; i++) { /* 200 minutes, never 60 idle */
        t += 50 * MIN_MS;
        assert_int_equal(users_session(&f->app, in.token, t, &us), ERR_OK);
    }
    assert_int_equal(users_session(&f->app, in.token, T0 + 4 * 60 * MIN_MS, &us), ERR_AUTH);
    assert_int_equal(login(f, "ann@example.com", PW, t, &in), ERR_OK);
    assert_int_equal(users_session(&f->app, in.token, t + 60 * MIN_MS, &us), ERR_AUTH); /* idle */
    assert_int_equal(login(f, "ann@example.com", PW, t, &in), ERR_OK);
    assert_int_equal(users_session(&f->app, in.token, t + 1, &us), ERR_OK);
    assert_int_equal(users_switch(&f->app, &us, "acc_b", t + 2), ERR_OK);
    assert_int_equal(us.role, ACCESS_VIEWER);
    assert_int_equal(users_session(&f->app, in.token, t + 3, &us), ERR_OK);
    assert_int_equal(us.row.account_id, f->b.id);
    assert_int_equal(users_switch(&f->app, &us, "acc_nope", t + 4), ERR_NOTFOUND);
    /* the role taken away while logged in: the session no longer opens that account */
    assert_int_equal(users_remove(f->app.store, "ann@example.com", "acc_b", "cli", t + 5, &eb),
                     ERR_OK);
    assert_int_equal(users_session(&f->app, in.token, t + 6, &us), ERR_AUTH);
    assert_int_equal(login(f, "ann@example.com", PW, t + 7, &in), ERR_OK);
    assert_int_equal(users_logout(&f->app, in.token), ERR_OK);
    assert_int_equal(users_session(&f->app, in.token, t + 8, &us), ERR_AUTH);
    assert_int_equal(users_logout(&f->app, in.token), ERR_NOTFOUND);
}

static void logins_are_rate_limited_per_email(void **state)
{
    struct fx *f = *state;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(
        users_add(f->app.store, "ann@example.com", "acc_a", "viewer", PW, 21, "cli", T0, NULL, &eb),
        ERR_OK);
    struct users_login in;
    for (int i = 0; i < USERS_LOGIN_PER_EMAIL; i++)
        assert_int_equal(login(f, "ann@example.com", "wrong password!", T0, &in), ERR_AUTH);
    int retry = 0;
    assert_int_equal(
        users_login(&f->app, "ANN@example.com", PW, 21, "10.0.0.9", T0, &in, &retry, &eb),
        ERR_LIMITED); /* even with the right password, from elsewhere */
    assert_true(retry > 0);
    assert_int_equal(login(f, "ann@example.com", PW, T0 + 60 * 1000, &in), ERR_OK);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(password_hashes_are_salted_and_checked),
        T(cli_use_cases_are_audited),
        T(sessions_expire_switch_and_end),
        T(logins_are_rate_limited_per_email),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
