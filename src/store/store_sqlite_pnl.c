/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite: publishers and what they own (sql/0022; store.h "publishers"). */
#include "base/prelude.h"
#include "base/xalloc.h"
#include "store/store_sqlite_int.h"

#define CONN_OR_FAIL(c, s)                                                                         \
    struct sconn *c = store__conn(s);                                                              \
    if (!c)                                                                                        \
    return ERR_BACKEND

#define PUB_COLS "id, account_id, ext_id, name, payout, owns, created_at, updated_at"

static void read_pub(sqlite3_stmt *st, struct st_publisher *p)
{
    p->id = sqlite3_column_int64(st, 0);
    p->account_id = sqlite3_column_int64(st, 1);
    store__col_text(st, 2, p->ext_id, sizeof(p->ext_id));
    store__col_text(st, 3, p->name, sizeof(p->name));
    p->payout = sqlite3_column_int64(st, 4);
    store__col_text(st, 5, p->owns, sizeof(p->owns));
    p->created_at = sqlite3_column_int64(st, 6);
    p->updated_at = sqlite3_column_int64(st, 7);
    p->n_claims = 0;
}

/* Replaces publisher p->id's claims with p->claims; ERR_CONFLICT if one is another's. */
static int put_claims(struct sconn *c, const struct st_publisher *p)
{
    sqlite3_stmt *del = store__prep(c, "DELETE FROM publisher_claims WHERE account_id = ?1"
                                       " AND publisher_id = ?2");
    sqlite3_stmt *ins = store__prep(c, "INSERT INTO publisher_claims(account_id, kind, value,"
                                       " publisher_id) VALUES (?1, ?2, ?3, ?4)");
    if (!del || !ins)
        return ERR_BACKEND;
    sqlite3_bind_int64(del, 1, p->account_id);
    sqlite3_bind_int64(del, 2, p->id);
    int rc = store__exec(c, del, "replace publisher claims");
    for (size_t i = 0; rc == ERR_OK && i < p->n_claims; i++) {
        sqlite3_bind_int64(ins, 1, p->account_id);
        store__bind_text(ins, 2, p->claims[i].kind);
        store__bind_text(ins, 3, p->claims[i].value);
        sqlite3_bind_int64(ins, 4, p->id);
        rc = store__exec(c, ins, "insert publisher claim");
    }
    return rc;
}

int store_sqlite__publisher_put(struct store *s, struct st_publisher *p)
{
    CONN_OR_FAIL(c, s);
    int rc;
    if (p->id == 0) {
        sqlite3_stmt *st = store__prep(
            c, "INSERT INTO publishers(account_id, ext_id, name, payout, owns, created_at,"
               " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
        if (!st)
            return ERR_BACKEND;
        store__new_ext_id("pub_", p->ext_id);
        sqlite3_bind_int64(st, 1, p->account_id);
        store__bind_text(st, 2, p->ext_id);
        store__bind_text(st, 3, p->name);
        sqlite3_bind_int64(st, 4, p->payout);
        store__bind_text(st, 5, p->owns);
        sqlite3_bind_int64(st, 6, p->updated_at);
        rc = store__exec(c, st, "insert publisher");
        if (rc)
            return rc;
        p->id = sqlite3_last_insert_rowid(c->db);
        p->created_at = p->updated_at;
        return put_claims(c, p);
    }
    sqlite3_stmt *st = store__prep(c, "UPDATE publishers SET name = ?3, payout = ?4, owns = ?5,"
                                      " updated_at = ?6 WHERE account_id = ?1 AND ext_id = ?2"
                                      " RETURNING id, created_at");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, p->account_id);
    store__bind_text(st, 2, p->ext_id);
    store__bind_text(st, 3, p->name);
    sqlite3_bind_int64(st, 4, p->payout);
    store__bind_text(st, 5, p->owns);
    sqlite3_bind_int64(st, 6, p->updated_at);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        p->id = sqlite3_column_int64(st, 0);
        p->created_at = sqlite3_column_int64(st, 1);
    }
    int done = rc == SQLITE_ROW ? sqlite3_step(st) : rc;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return ERR_NOTFOUND;
    if (done != SQLITE_DONE)
        return store__err(c, done, "update publisher");
    return put_claims(c, p);
}

int store_sqlite__publisher_get(struct store *s, int64_t account_id, const char *ext_id,
                                struct st_publisher *p)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " PUB_COLS " FROM publishers WHERE account_id = ?1"
                                      " AND ext_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, ext_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_pub(st, p);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(c, rc, "read publisher");
}

int store_sqlite__publisher_list(struct store *s, int64_t account_id, store_publisher_fn fn,
                                 void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " PUB_COLS " FROM publishers WHERE account_id = ?1"
                                      " ORDER BY id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    struct st_publisher *p = xmalloc(sizeof(*p));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_pub(st, p);
        if (fn(ctx, p))
            break;
    }
    sqlite3_reset(st);
    free(p);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list publishers");
}

int store_sqlite__publisher_delete(struct store *s, int64_t account_id, const char *ext_id)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *claims =
        store__prep(c, "DELETE FROM publisher_claims WHERE account_id = ?1 AND publisher_id ="
                       " (SELECT id FROM publishers WHERE account_id = ?1 AND ext_id = ?2)");
    sqlite3_stmt *st =
        store__prep(c, "DELETE FROM publishers WHERE account_id = ?1 AND ext_id = ?2");
    if (!claims || !st)
        return ERR_BACKEND;
    sqlite3_bind_int64(claims, 1, account_id);
    store__bind_text(claims, 2, ext_id);
    int rc = store__exec(c, claims, "delete publisher claims");
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, ext_id);
    rc = store__exec(c, st, "delete publisher");
    return rc ? rc : sqlite3_changes(c->db) ? ERR_OK : ERR_NOTFOUND;
}

/* ---- payouts per call (sql/0024) ---- */

/* The publisher credited now: the one owning the tracking number, else the pool, else the
 * call's utm_source (its snapshot, else its session's) — app/pnl.c's order. */
#define PAYOUT_RECORD_SQL                                                                          \
    "INSERT INTO call_payouts(call_id, account_id, publisher, publisher_name, payout, at)"         \
    " SELECT c.id, c.account_id, COALESCE(p.ext_id, ''), COALESCE(p.name, ''),"                    \
    " COALESCE(p.payout, 0), ?4 FROM calls c"                                                      \
    " LEFT JOIN publishers p ON p.account_id = c.account_id AND p.id = COALESCE("                  \
    " (SELECT k.publisher_id FROM publisher_claims k WHERE k.account_id = c.account_id"            \
    " AND k.kind = 'number' AND k.value = c.to_number),"                                           \
    " (SELECT k.publisher_id FROM publisher_claims k JOIN pools pl ON pl.id = c.pool_id"           \
    " WHERE k.account_id = c.account_id AND k.kind = 'pool' AND k.value = pl.ext_id),"             \
    " (SELECT k.publisher_id FROM publisher_claims k LEFT JOIN sessions s ON s.id = c.session_id"  \
    " WHERE k.account_id = c.account_id AND k.kind = 'source'"                                     \
    " AND k.value = COALESCE(NULLIF(c.source, ''), s.source)))"                                    \
    " WHERE c.account_id = ?1 AND c.provider = ?2 AND c.provider_call_id = ?3"                     \
    " ON CONFLICT (call_id) DO NOTHING"

int store_sqlite__call_payout_record(struct store *s, int64_t account_id, const char *provider,
                                     const char *provider_call_id, int64_t now)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, PAYOUT_RECORD_SQL);
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, provider);
    store__bind_text(st, 3, provider_call_id);
    sqlite3_bind_int64(st, 4, now);
    return store__exec(c, st, "record call payout");
}
