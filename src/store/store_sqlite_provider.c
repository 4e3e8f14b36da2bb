/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend: telephony provider credentials (account_providers, sql/0005), one row per
 * (account, provider). The secret column holds what store.c's dispatchers hand down: the
 * sealed value (store/secrets.h), never the clear secret. The SQL is portable: the upsert's ON
 * CONFLICT … DO UPDATE reads the same on PostgreSQL. */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

#define COLS "account_id, provider, account_sid, secret, updated_at"

static void read_cred(sqlite3_stmt *st, struct st_provider_cred *c)
{
    c->account_id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, c->provider, sizeof(c->provider));
    store__col_text(st, 2, c->account_sid, sizeof(c->account_sid));
    store__col_text(st, 3, c->secret, sizeof(c->secret));
    c->updated_at = sqlite3_column_int64(st, 4);
}

static bool fits(const char *v, size_t cap)
{
    return !v || strlen(v) < cap;
}

int store_sqlite__provider_cred_set(struct store *s, int64_t account_id, const char *provider,
                                    const char *account_sid, const char *secret, int64_t now)
{
    if (!provider || !*provider || (!account_sid && !secret) ||
        !fits(provider, STORE_PROVIDER_MAX) || !fits(account_sid, STORE_PROVIDER_SID_MAX) ||
        !fits(secret, STORE_SECRET_SEALED_MAX))
        return ERR_INVALID;
    struct sconn *c = store__conn(s);
    if (!c)
        return ERR_BACKEND;
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO account_providers(" COLS ") VALUES (?1, ?2, ?3, ?4, ?5)"
           " ON CONFLICT (account_id, provider) DO UPDATE SET"
           " account_sid = COALESCE(excluded.account_sid, account_providers.account_sid),"
           " secret = COALESCE(excluded.secret, account_providers.secret),"
           " updated_at = excluded.updated_at");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, provider);
    store__bind_opt(st, 3, account_sid);
    store__bind_opt(st, 4, secret);
    sqlite3_bind_int64(st, 5, now);
    int rc = store__exec(c, st, "set provider credentials");
    return rc == ERR_CONFLICT ? ERR_NOTFOUND : rc; /* the only constraint left: the account */
}

int store_sqlite__provider_cred_get(struct store *s, int64_t account_id, const char *provider,
                                    struct st_provider_cred *out)
{
    struct sconn *c = store__conn(s);
    if (!c)
        return ERR_BACKEND;
    sqlite3_stmt *st = store__prep(c, "SELECT " COLS " FROM account_providers"
                                      " WHERE account_id = ?1 AND provider = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, provider);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_cred(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(c, rc, "read provider credentials");
}

static int walk(struct sconn *c, sqlite3_stmt *st, store_provider_cred_fn fn, void *ctx)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_provider_cred cred;
        read_cred(st, &cred);
        if (fn(ctx, &cred))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK
                                                 : store__err(c, rc, "list provider credentials");
}

int store_sqlite__provider_cred_find(struct store *s, const char *provider, const char *account_sid,
                                     store_provider_cred_fn fn, void *ctx)
{
    struct sconn *c = store__conn(s);
    if (!c)
        return ERR_BACKEND;
    sqlite3_stmt *st;
    if (!account_sid)
        st = store__prep(c, "SELECT " COLS " FROM account_providers"
                            " WHERE provider = ?1 ORDER BY account_id");
    else if (!*account_sid) /* an empty id is stored as NULL (store__bind_opt) */
        st = store__prep(c, "SELECT " COLS " FROM account_providers"
                            " WHERE provider = ?1 AND account_sid IS NULL ORDER BY account_id");
    else
        st = store__prep(c, "SELECT " COLS " FROM account_providers"
                            " WHERE provider = ?1 AND account_sid = ?2 ORDER BY account_id");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, provider);
    if (account_sid && *account_sid)
        store__bind_text(st, 2, account_sid);
    return walk(c, st, fn, ctx);
}

int store_sqlite__provider_cred_list(struct store *s, int64_t account_id, store_provider_cred_fn fn,
                                     void *ctx)
{
    struct sconn *c = store__conn(s);
    if (!c)
        return ERR_BACKEND;
    sqlite3_stmt *st = store__prep(c, "SELECT " COLS " FROM account_providers"
                                      " WHERE account_id = ?1 ORDER BY provider");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    return walk(c, st, fn, ctx);
}
