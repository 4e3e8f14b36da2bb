/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PostgreSQL backend: dashboard users, memberships (role per account), app sessions (stored by
 * the token's hash) and the audit log; tables of sql_pg/0008. The semantics are those of
 * store_sqlite_users.c; parameters carry explicit types where PostgreSQL cannot infer them. */
#include "base/prelude.h"
#include "store/store_pg_int.h"

static bool role_valid(const char *role)
{
    static const char *const roles[] = {"owner", "admin", "analyst", "viewer"};
    for (size_t i = 0; role && i < ARRAY_SIZE(roles); i++)
        if (strcmp(role, roles[i]) == 0)
            return true;
    return false;
}

/* Runs a write that must touch a row: ERR_NOTFOUND when it changed none. */
static int exec_changed(struct store *s, const char *sql, const struct pgargs *a, const char *what)
{
    int64_t n = 0;
    int rc = store__pg_changes(s, sql, a, &n, what);
    return rc == ERR_OK && n == 0 ? ERR_NOTFOUND : rc;
}

/* ---- users ---- */

#define USER_COLS "id, email, password_hash, created_at, updated_at"

static void read_user(const PGresult *r, int row, struct st_user *u)
{
    u->id = store__pg_col_i64(r, row, 0);
    store__pg_col_text(r, row, 1, u->email, sizeof(u->email));
    store__pg_col_text(r, row, 2, u->password_hash, sizeof(u->password_hash));
    u->created_at = store__pg_col_i64(r, row, 3);
    u->updated_at = store__pg_col_i64(r, row, 4);
}

/* One user by the statement sql of one parameter a. */
static int user_one(struct store *s, const char *sql, const struct pgargs *a, struct st_user *u)
{
    PGresult *r = NULL;
    int rc = store__pg_row(s, sql, a, &r, "read user");
    if (rc)
        return rc;
    read_user(r, 0, u);
    PQclear(r);
    return ERR_OK;
}

int store_pg__user_create(struct store *s, struct st_user *u, int64_t now)
{
    if (!u->email[0] || !u->password_hash[0])
        return ERR_INVALID;
    struct pgargs a = {0};
    store__pg_text(&a, u->email);
    store__pg_text(&a, u->password_hash);
    store__pg_i64(&a, now);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "INSERT INTO users(email, password_hash, created_at, updated_at)"
                           " VALUES ($1, $2, $3, $3) RETURNING id",
                           &a, &r, "insert user");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc; /* ERR_CONFLICT: the email */
    u->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    u->created_at = u->updated_at = now;
    return ERR_OK;
}

int store_pg__user_get(struct store *s, const char *email, struct st_user *u)
{
    struct pgargs a = {0};
    store__pg_text(&a, email);
    return user_one(s, "SELECT " USER_COLS " FROM users WHERE email = $1", &a, u);
}

int store_pg__user_by_id(struct store *s, int64_t id, struct st_user *u)
{
    struct pgargs a = {0};
    store__pg_i64(&a, id);
    return user_one(s, "SELECT " USER_COLS " FROM users WHERE id = $1", &a, u);
}

int store_pg__user_set_password(struct store *s, int64_t user_id, const char *password_hash,
                                int64_t now)
{
    if (!password_hash || !*password_hash || strlen(password_hash) >= STORE_PWHASH_MAX)
        return ERR_INVALID;
    struct pgargs a = {0};
    store__pg_i64(&a, user_id);
    store__pg_text(&a, password_hash);
    store__pg_i64(&a, now);
    return exec_changed(s, "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1", &a,
                        "set password");
}

int store_pg__user_delete(struct store *s, int64_t user_id)
{
    struct pgargs a = {0};
    store__pg_i64(&a, user_id);
    /* memberships and app_sessions go with it (ON DELETE CASCADE) */
    return exec_changed(s, "DELETE FROM users WHERE id = $1", &a, "delete user");
}

int store_pg__user_list(struct store *s, store_user_fn fn, void *ctx)
{
    PGresult *r = NULL;
    int rc =
        store__pg_exec(s, "SELECT " USER_COLS " FROM users ORDER BY email", NULL, &r, "list users");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_user u;
        read_user(r, i, &u);
        if (fn(ctx, &u))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* ---- memberships ---- */

int store_pg__membership_set(struct store *s, int64_t user_id, int64_t account_id, const char *role,
                             int64_t now)
{
    if (!role_valid(role))
        return ERR_INVALID;
    struct pgargs a = {0};
    store__pg_i64(&a, user_id);
    store__pg_i64(&a, account_id);
    store__pg_text(&a, role);
    store__pg_i64(&a, now);
    int rc = store__pg_exec(
        s,
        "INSERT INTO memberships(user_id, account_id, role, created_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (user_id, account_id) DO UPDATE SET role = excluded.role",
        &a, NULL, "set membership");
    return rc == ERR_CONFLICT ? ERR_NOTFOUND : rc; /* the foreign keys: no such user or account */
}

int store_pg__membership_delete(struct store *s, int64_t user_id, int64_t account_id)
{
    struct pgargs a = {0};
    store__pg_i64(&a, user_id);
    store__pg_i64(&a, account_id);
    return exec_changed(s, "DELETE FROM memberships WHERE user_id = $1 AND account_id = $2", &a,
                        "delete membership");
}

int store_pg__membership_list(struct store *s, int64_t user_id, int64_t account_id,
                              store_membership_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, user_id);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    /* 0 for either id means "any": one statement serves the three uses */
    int rc = store__pg_exec(
        s,
        "SELECT m.user_id, m.account_id, m.role, m.created_at, u.email, a.ext_id, a.name"
        " FROM memberships m JOIN users u ON u.id = m.user_id"
        " JOIN accounts a ON a.id = m.account_id"
        " WHERE ($1::bigint = 0 OR m.user_id = $1::bigint)"
        " AND ($2::bigint = 0 OR m.account_id = $2::bigint)"
        " ORDER BY m.account_id, u.email",
        &a, &r, "list memberships");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_membership m;
        m.user_id = store__pg_col_i64(r, i, 0);
        m.account_id = store__pg_col_i64(r, i, 1);
        store__pg_col_text(r, i, 2, m.role, sizeof(m.role));
        m.created_at = store__pg_col_i64(r, i, 3);
        store__pg_col_text(r, i, 4, m.email, sizeof(m.email));
        store__pg_col_text(r, i, 5, m.account_ext, sizeof(m.account_ext));
        store__pg_col_text(r, i, 6, m.account_name, sizeof(m.account_name));
        if (fn(ctx, &m))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* ---- app sessions ---- */

int store_pg__app_session_create(struct store *s, struct st_app_session *ss)
{
    if (!ss->token_hash[0])
        return ERR_INVALID;
    struct pgargs a = {0};
    store__pg_text(&a, ss->token_hash);
    store__pg_i64(&a, ss->user_id);
    store__pg_i64(&a, ss->account_id);
    store__pg_i64(&a, ss->created_at);
    store__pg_i64(&a, ss->last_seen_at);
    store__pg_i64(&a, ss->expires_at);
    PGresult *r = NULL;
    int rc = store__pg_row(
        s,
        "INSERT INTO app_sessions(token_hash, user_id, account_id, created_at, last_seen_at,"
        " expires_at) SELECT $1::text, $2::bigint, $3::bigint, $4::bigint, $5::bigint, $6::bigint"
        " WHERE EXISTS (SELECT 1 FROM users WHERE id = $2::bigint)"
        " AND EXISTS (SELECT 1 FROM accounts WHERE id = $3::bigint) RETURNING id",
        &a, &r, "insert app session");
    if (rc)
        return rc; /* ERR_NOTFOUND: no such user or account; ERR_CONFLICT: the token hash */
    ss->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__app_session_get(struct store *s, const char *token_hash, struct st_app_session *ss)
{
    struct pgargs a = {0};
    store__pg_text(&a, token_hash);
    PGresult *r = NULL;
    int rc = store__pg_row(
        s,
        "SELECT s.id, s.token_hash, s.user_id, s.account_id, s.created_at, s.last_seen_at,"
        " s.expires_at, m.role FROM app_sessions s LEFT JOIN memberships m"
        " ON m.user_id = s.user_id AND m.account_id = s.account_id WHERE s.token_hash = $1",
        &a, &r, "read app session");
    if (rc)
        return rc;
    ss->id = store__pg_col_i64(r, 0, 0);
    store__pg_col_text(r, 0, 1, ss->token_hash, sizeof(ss->token_hash));
    ss->user_id = store__pg_col_i64(r, 0, 2);
    ss->account_id = store__pg_col_i64(r, 0, 3);
    ss->created_at = store__pg_col_i64(r, 0, 4);
    ss->last_seen_at = store__pg_col_i64(r, 0, 5);
    ss->expires_at = store__pg_col_i64(r, 0, 6);
    store__pg_col_text(r, 0, 7, ss->role, sizeof(ss->role));
    PQclear(r);
    return ERR_OK;
}

int store_pg__app_session_update(struct store *s, int64_t id, int64_t account_id,
                                 int64_t last_seen_at)
{
    struct pgargs a = {0};
    store__pg_i64(&a, id);
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, last_seen_at);
    int rc = exec_changed(s,
                          "UPDATE app_sessions SET account_id = $2,"
                          " last_seen_at = GREATEST(last_seen_at, $3::bigint) WHERE id = $1",
                          &a, "update app session");
    return rc == ERR_CONFLICT ? ERR_NOTFOUND : rc; /* an account that does not exist */
}

int store_pg__app_session_delete(struct store *s, const char *token_hash)
{
    struct pgargs a = {0};
    store__pg_text(&a, token_hash);
    return exec_changed(s, "DELETE FROM app_sessions WHERE token_hash = $1", &a,
                        "delete app session");
}

int store_pg__app_session_delete_user(struct store *s, int64_t user_id, int64_t *n)
{
    struct pgargs a = {0};
    store__pg_i64(&a, user_id);
    int64_t k = 0;
    int rc = store__pg_changes(s, "DELETE FROM app_sessions WHERE user_id = $1", &a, &k,
                               "end user's sessions");
    if (n)
        *n = k;
    return rc;
}

int store_pg__app_session_purge(struct store *s, int64_t idle_before, int64_t now, int64_t *n)
{
    struct pgargs a = {0};
    store__pg_i64(&a, idle_before);
    store__pg_i64(&a, now);
    int64_t k = 0;
    int rc =
        store__pg_changes(s, "DELETE FROM app_sessions WHERE last_seen_at < $1 OR expires_at <= $2",
                          &a, &k, "purge app sessions");
    if (n)
        *n = k;
    return rc;
}

/* ---- audit log ---- */

#define AUDIT_COLS "id, COALESCE(account_id, 0), actor, action, subject, detail, at"

int store_pg__audit_add(struct store *s, struct st_audit *a)
{
    if (!a->actor[0] || !a->action[0])
        return ERR_INVALID;
    struct pgargs p = {0};
    store__pg_id(&p, a->account_id);
    store__pg_text(&p, a->actor);
    store__pg_text(&p, a->action);
    store__pg_text(&p, a->subject);
    store__pg_text(&p, a->detail);
    store__pg_i64(&p, a->at);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "INSERT INTO audit_log(account_id, actor, action, subject, detail, at)"
                           " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                           &p, &r, "insert audit entry");
    if (rc == ERR_CONFLICT)
        return ERR_NOTFOUND; /* no such account */
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    a->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__audit_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                         store_audit_fn fn, void *ctx)
{
    int64_t limit = (int64_t)(max > (size_t)INT64_MAX ? (size_t)INT64_MAX : max);
    struct pgargs a = {0};
    if (account_id)
        store__pg_i64(&a, account_id);
    store__pg_i64(&a, before_id);
    store__pg_i64(&a, limit);
    PGresult *r = NULL;
    int rc = account_id
                 ? store__pg_exec(s,
                                  "SELECT " AUDIT_COLS " FROM audit_log WHERE account_id = $1"
                                  " AND id < $2 ORDER BY id DESC LIMIT $3",
                                  &a, &r, "list audit log")
                 : store__pg_exec(s,
                                  "SELECT " AUDIT_COLS " FROM audit_log"
                                  " WHERE account_id IS NULL AND id < $1"
                                  " ORDER BY id DESC LIMIT $2",
                                  &a, &r, "list audit log");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_audit e;
        e.id = store__pg_col_i64(r, i, 0);
        e.account_id = store__pg_col_i64(r, i, 1);
        store__pg_col_text(r, i, 2, e.actor, sizeof(e.actor));
        store__pg_col_text(r, i, 3, e.action, sizeof(e.action));
        store__pg_col_text(r, i, 4, e.subject, sizeof(e.subject));
        store__pg_col_text(r, i, 5, e.detail, sizeof(e.detail));
        e.at = store__pg_col_i64(r, i, 6);
        if (fn(ctx, &e))
            break;
    }
    PQclear(r);
    return ERR_OK;
}
