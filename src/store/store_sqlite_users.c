/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend: dashboard users, memberships (role per account), app sessions (stored by the
 * token's hash) and the audit log; tables of sql/0008. The SQL is portable: the upsert's
 * ON CONFLICT … DO UPDATE reads the same on PostgreSQL. */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

#define CONN_OR_FAIL(c, s)                                                                         \
    struct sconn *c = store__conn(s);                                                              \
    if (!c)                                                                                        \
    return ERR_BACKEND

/* Steps a statement expected to yield at most one row, reading it with read(). ERR_OK with a
 * row, ERR_NOTFOUND without, ERR_BACKEND on error; the statement is reset either way. */
static int one_row(struct sconn *c, sqlite3_stmt *st, void (*read)(sqlite3_stmt *, void *),
                   void *out, const char *what)
{
    if (!st)
        return ERR_BACKEND;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(c, rc, what);
}

/* Runs a write that must touch a row: ERR_NOTFOUND when it changed none. */
static int exec_changed(struct sconn *c, sqlite3_stmt *st, const char *what)
{
    int rc = store__exec(c, st, what);
    if (rc == ERR_OK && sqlite3_changes(c->db) == 0)
        return ERR_NOTFOUND;
    return rc;
}

static bool role_valid(const char *role)
{
    static const char *const roles[] = {"owner", "admin", "analyst", "viewer"};
    for (size_t i = 0; role && i < ARRAY_SIZE(roles); i++)
        if (strcmp(role, roles[i]) == 0)
            return true;
    return false;
}

/* ---- users ---- */

#define USER_COLS "id, email, password_hash, created_at, updated_at"

static void read_user(sqlite3_stmt *st, void *out)
{
    struct st_user *u = out;
    u->id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, u->email, sizeof(u->email));
    store__col_text(st, 2, u->password_hash, sizeof(u->password_hash));
    u->created_at = sqlite3_column_int64(st, 3);
    u->updated_at = sqlite3_column_int64(st, 4);
}

int store_sqlite__user_create(struct store *s, struct st_user *u, int64_t now)
{
    if (!u->email[0] || !u->password_hash[0])
        return ERR_INVALID;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "INSERT INTO users(email, password_hash, created_at,"
                                      " updated_at) VALUES (?1, ?2, ?3, ?3)");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, u->email);
    store__bind_text(st, 2, u->password_hash);
    sqlite3_bind_int64(st, 3, now);
    int rc = store__exec(c, st, "insert user");
    if (rc)
        return rc;
    u->id = sqlite3_last_insert_rowid(c->db);
    u->created_at = u->updated_at = now;
    return ERR_OK;
}

int store_sqlite__user_get(struct store *s, const char *email, struct st_user *u)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " USER_COLS " FROM users WHERE email = ?1");
    if (st)
        store__bind_text(st, 1, email);
    return one_row(c, st, read_user, u, "read user");
}

int store_sqlite__user_by_id(struct store *s, int64_t id, struct st_user *u)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " USER_COLS " FROM users WHERE id = ?1");
    if (st)
        sqlite3_bind_int64(st, 1, id);
    return one_row(c, st, read_user, u, "read user");
}

int store_sqlite__user_set_password(struct store *s, int64_t user_id, const char *password_hash,
                                    int64_t now)
{
    if (!password_hash || !*password_hash || strlen(password_hash) >= STORE_PWHASH_MAX)
        return ERR_INVALID;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, user_id);
    store__bind_text(st, 2, password_hash);
    sqlite3_bind_int64(st, 3, now);
    return exec_changed(c, st, "set password");
}

int store_sqlite__user_delete(struct store *s, int64_t user_id)
{
    CONN_OR_FAIL(c, s);
    /* memberships and app_sessions go with it (ON DELETE CASCADE) */
    sqlite3_stmt *st = store__prep(c, "DELETE FROM users WHERE id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, user_id);
    return exec_changed(c, st, "delete user");
}

int store_sqlite__user_list(struct store *s, store_user_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " USER_COLS " FROM users ORDER BY email");
    if (!st)
        return ERR_BACKEND;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_user u;
        read_user(st, &u);
        if (fn(ctx, &u))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list users");
}

/* ---- memberships ---- */

int store_sqlite__membership_set(struct store *s, int64_t user_id, int64_t account_id,
                                 const char *role, int64_t now)
{
    if (!role_valid(role))
        return ERR_INVALID;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO memberships(user_id, account_id, role, created_at) VALUES (?1, ?2, ?3, ?4)"
           " ON CONFLICT (user_id, account_id) DO UPDATE SET role = excluded.role");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, account_id);
    store__bind_text(st, 3, role);
    sqlite3_bind_int64(st, 4, now);
    int rc = store__exec(c, st, "set membership");
    return rc == ERR_CONFLICT ? ERR_NOTFOUND : rc; /* the foreign keys: no such user or account */
}

int store_sqlite__membership_delete(struct store *s, int64_t user_id, int64_t account_id)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "DELETE FROM memberships WHERE user_id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, account_id);
    return exec_changed(c, st, "delete membership");
}

int store_sqlite__membership_list(struct store *s, int64_t user_id, int64_t account_id,
                                  store_membership_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    /* 0 for either id means "any": one statement serves the three uses */
    sqlite3_stmt *st = store__prep(
        c, "SELECT m.user_id, m.account_id, m.role, m.created_at, u.email, a.ext_id, a.name"
           " FROM memberships m JOIN users u ON u.id = m.user_id"
           " JOIN accounts a ON a.id = m.account_id"
           " WHERE (?1 = 0 OR m.user_id = ?1) AND (?2 = 0 OR m.account_id = ?2)"
           " ORDER BY m.account_id, u.email");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, account_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_membership m;
        m.user_id = sqlite3_column_int64(st, 0);
        m.account_id = sqlite3_column_int64(st, 1);
        store__col_text(st, 2, m.role, sizeof(m.role));
        m.created_at = sqlite3_column_int64(st, 3);
        store__col_text(st, 4, m.email, sizeof(m.email));
        store__col_text(st, 5, m.account_ext, sizeof(m.account_ext));
        store__col_text(st, 6, m.account_name, sizeof(m.account_name));
        if (fn(ctx, &m))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list memberships");
}

/* ---- app sessions ---- */

static void read_session(sqlite3_stmt *st, void *out)
{
    struct st_app_session *ss = out;
    ss->id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, ss->token_hash, sizeof(ss->token_hash));
    ss->user_id = sqlite3_column_int64(st, 2);
    ss->account_id = sqlite3_column_int64(st, 3);
    ss->created_at = sqlite3_column_int64(st, 4);
    ss->last_seen_at = sqlite3_column_int64(st, 5);
    ss->expires_at = sqlite3_column_int64(st, 6);
    store__col_text(st, 7, ss->role, sizeof(ss->role));
}

int store_sqlite__app_session_create(struct store *s, struct st_app_session *ss)
{
    if (!ss->token_hash[0])
        return ERR_INVALID;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO app_sessions(token_hash, user_id, account_id, created_at, last_seen_at,"
           " expires_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6"
           " WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2)"
           " AND EXISTS (SELECT 1 FROM accounts WHERE id = ?3)");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, ss->token_hash);
    sqlite3_bind_int64(st, 2, ss->user_id);
    sqlite3_bind_int64(st, 3, ss->account_id);
    sqlite3_bind_int64(st, 4, ss->created_at);
    sqlite3_bind_int64(st, 5, ss->last_seen_at);
    sqlite3_bind_int64(st, 6, ss->expires_at);
    int rc = exec_changed(c, st, "insert app session"); /* ERR_CONFLICT: the token hash */
    if (rc == ERR_OK)
        ss->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

int store_sqlite__app_session_get(struct store *s, const char *token_hash,
                                  struct st_app_session *ss)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "SELECT s.id, s.token_hash, s.user_id, s.account_id, s.created_at, s.last_seen_at,"
           " s.expires_at, m.role FROM app_sessions s LEFT JOIN memberships m"
           " ON m.user_id = s.user_id AND m.account_id = s.account_id WHERE s.token_hash = ?1");
    if (st)
        store__bind_text(st, 1, token_hash);
    return one_row(c, st, read_session, ss, "read app session");
}

int store_sqlite__app_session_update(struct store *s, int64_t id, int64_t account_id,
                                     int64_t last_seen_at)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "UPDATE app_sessions SET account_id = ?2,"
                       " last_seen_at = CASE WHEN last_seen_at > ?3 THEN last_seen_at ELSE ?3 END"
                       " WHERE id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    sqlite3_bind_int64(st, 3, last_seen_at);
    int rc = exec_changed(c, st, "update app session");
    return rc == ERR_CONFLICT ? ERR_NOTFOUND : rc; /* an account that does not exist */
}

int store_sqlite__app_session_delete(struct store *s, const char *token_hash)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "DELETE FROM app_sessions WHERE token_hash = ?1");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, token_hash);
    return exec_changed(c, st, "delete app session");
}

/* Runs a DELETE and reports how many rows went. */
static int delete_counted(struct sconn *c, sqlite3_stmt *st, int64_t *n, const char *what)
{
    int rc = store__exec(c, st, what);
    if (n)
        *n = rc == ERR_OK ? sqlite3_changes(c->db) : 0;
    return rc;
}

int store_sqlite__app_session_delete_user(struct store *s, int64_t user_id, int64_t *n)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "DELETE FROM app_sessions WHERE user_id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, user_id);
    return delete_counted(c, st, n, "end user's sessions");
}

int store_sqlite__app_session_purge(struct store *s, int64_t idle_before, int64_t now, int64_t *n)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "DELETE FROM app_sessions WHERE last_seen_at < ?1 OR expires_at <= ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, idle_before);
    sqlite3_bind_int64(st, 2, now);
    return delete_counted(c, st, n, "purge app sessions");
}

/* ---- audit log ---- */

#define AUDIT_COLS "id, COALESCE(account_id, 0), actor, action, subject, detail, at"

int store_sqlite__audit_add(struct store *s, struct st_audit *a)
{
    if (!a->actor[0] || !a->action[0])
        return ERR_INVALID;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "INSERT INTO audit_log(account_id, actor, action, subject,"
                                      " detail, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st)
        return ERR_BACKEND;
    store__bind_id(st, 1, a->account_id);
    store__bind_text(st, 2, a->actor);
    store__bind_text(st, 3, a->action);
    store__bind_text(st, 4, a->subject);
    store__bind_text(st, 5, a->detail);
    sqlite3_bind_int64(st, 6, a->at);
    int rc = store__exec(c, st, "insert audit entry");
    if (rc == ERR_CONFLICT)
        return ERR_NOTFOUND; /* no such account */
    if (rc == ERR_OK)
        a->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

int store_sqlite__audit_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                             store_audit_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        account_id ? store__prep(c, "SELECT " AUDIT_COLS " FROM audit_log WHERE account_id = ?1"
                                    " AND id < ?2 ORDER BY id DESC LIMIT ?3")
                   : store__prep(c, "SELECT " AUDIT_COLS " FROM audit_log WHERE account_id IS NULL"
                                    " AND ?1 = 0 AND id < ?2 ORDER BY id DESC LIMIT ?3");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, before_id);
    sqlite3_bind_int64(st, 3, (int64_t)(max > (size_t)INT64_MAX ? (size_t)INT64_MAX : max));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_audit a;
        a.id = sqlite3_column_int64(st, 0);
        a.account_id = sqlite3_column_int64(st, 1);
        store__col_text(st, 2, a.actor, sizeof(a.actor));
        store__col_text(st, 3, a.action, sizeof(a.action));
        store__col_text(st, 4, a.subject, sizeof(a.subject));
        store__col_text(st, 5, a.detail, sizeof(a.detail));
        a.at = sqlite3_column_int64(st, 6);
        if (fn(ctx, &a))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list audit log");
}
