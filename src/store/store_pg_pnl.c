/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PostgreSQL: publishers and what they own (sql_pg/0022; store.h "publishers"). A claim's
 * primary key refuses a thing owned twice, whichever node writes it (ERR_CONFLICT). */
#include "base/prelude.h"
#include "base/xalloc.h"
#include "store/store_pg_int.h"

#define PUB_COLS "id, account_id, ext_id, name, payout, owns, created_at, updated_at"

static void read_pub(const PGresult *r, int i, struct st_publisher *p)
{
    p->id = store__pg_col_i64(r, i, 0);
    p->account_id = store__pg_col_i64(r, i, 1);
    store__pg_col_text(r, i, 2, p->ext_id, sizeof(p->ext_id));
    store__pg_col_text(r, i, 3, p->name, sizeof(p->name));
    p->payout = store__pg_col_i64(r, i, 4);
    store__pg_col_text(r, i, 5, p->owns, sizeof(p->owns));
    p->created_at = store__pg_col_i64(r, i, 6);
    p->updated_at = store__pg_col_i64(r, i, 7);
    p->n_claims = 0;
}

static int put_claims(struct store *s, const struct st_publisher *p)
{
    struct pgargs a = {0};
    store__pg_i64(&a, p->account_id);
    store__pg_i64(&a, p->id);
    int64_t n = 0;
    int rc = store__pg_changes(s,
                               "DELETE FROM publisher_claims WHERE account_id = $1::bigint"
                               " AND publisher_id = $2::bigint",
                               &a, &n, "replace publisher claims");
    for (size_t i = 0; rc == ERR_OK && i < p->n_claims; i++) {
        struct pgargs b = {0};
        store__pg_i64(&b, p->account_id);
        store__pg_text(&b, p->claims[i].kind);
        store__pg_text(&b, p->claims[i].value);
        store__pg_i64(&b, p->id);
        rc = store__pg_changes(s,
                               "INSERT INTO publisher_claims(account_id, kind, value, publisher_id)"
                               " VALUES ($1::bigint, $2::text, $3::text, $4::bigint)",
                               &b, &n, "insert publisher claim");
    }
    return rc;
}

int store_pg__publisher_put(struct store *s, struct st_publisher *p)
{
    struct pgargs a = {0};
    PGresult *r = NULL;
    int rc;
    if (p->id == 0) {
        store__pg_new_ext_id("pub_", p->ext_id);
        store__pg_i64(&a, p->account_id);
        store__pg_text(&a, p->ext_id);
        store__pg_text(&a, p->name);
        store__pg_i64(&a, p->payout);
        store__pg_text(&a, p->owns);
        store__pg_i64(&a, p->updated_at);
        rc =
            store__pg_row(s,
                          "INSERT INTO publishers(account_id, ext_id, name, payout, owns,"
                          " created_at, updated_at) VALUES ($1::bigint, $2::text, $3::text,"
                          " $4::bigint, $5::text, $6::bigint, $6::bigint) RETURNING id, created_at",
                          &a, &r, "insert publisher");
    } else {
        store__pg_i64(&a, p->account_id);
        store__pg_text(&a, p->ext_id);
        store__pg_text(&a, p->name);
        store__pg_i64(&a, p->payout);
        store__pg_text(&a, p->owns);
        store__pg_i64(&a, p->updated_at);
        rc = store__pg_row(s,
                           "UPDATE publishers SET name = $3::text, payout = $4::bigint,"
                           " owns = $5::text, updated_at = $6::bigint WHERE account_id = $1::bigint"
                           " AND ext_id = $2::text RETURNING id, created_at",
                           &a, &r, "update publisher");
    }
    if (rc)
        return rc;
    p->id = store__pg_col_i64(r, 0, 0);
    p->created_at = store__pg_col_i64(r, 0, 1);
    PQclear(r);
    return put_claims(s, p);
}

int store_pg__publisher_get(struct store *s, int64_t account_id, const char *ext_id,
                            struct st_publisher *p)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, ext_id);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT " PUB_COLS " FROM publishers WHERE account_id = $1::bigint"
                           " AND ext_id = $2::text",
                           &a, &r, "read publisher");
    if (rc)
        return rc;
    read_pub(r, 0, p);
    PQclear(r);
    return ERR_OK;
}

int store_pg__publisher_list(struct store *s, int64_t account_id, store_publisher_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT " PUB_COLS " FROM publishers WHERE account_id = $1::bigint"
                            " ORDER BY id",
                            &a, &r, "list publishers");
    if (rc)
        return rc;
    struct st_publisher *p = xmalloc(sizeof(*p));
    for (int i = 0; i < PQntuples(r); i++) {
        read_pub(r, i, p);
        if (fn(ctx, p))
            break;
    }
    free(p);
    PQclear(r);
    return ERR_OK;
}

int store_pg__publisher_delete(struct store *s, int64_t account_id, const char *ext_id)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, ext_id);
    int64_t n = 0;
    /* the claims go with the row (ON DELETE CASCADE) */
    int rc = store__pg_changes(s,
                               "DELETE FROM publishers WHERE account_id = $1::bigint"
                               " AND ext_id = $2::text",
                               &a, &n, "delete publisher");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

/* ---- payouts per call (sql/0024) ---- */

/* The publisher credited now: the one owning the tracking number, else the pool, else the
 * call's utm_source (its snapshot, else its session's) — app/pnl.c's order. */
#define PAYOUT_RECORD_SQL                                                                          \
    "INSERT INTO call_payouts(call_id, account_id, publisher, publisher_name, payout, at)"         \
    " SELECT c.id, c.account_id, COALESCE(p.ext_id, ''), COALESCE(p.name, ''),"                    \
    " COALESCE(p.payout, 0), $4::bigint FROM calls c"                                              \
    " LEFT JOIN publishers p ON p.account_id = c.account_id AND p.id = COALESCE("                  \
    " (SELECT k.publisher_id FROM publisher_claims k WHERE k.account_id = c.account_id"            \
    " AND k.kind = 'number' AND k.value = c.to_number),"                                           \
    " (SELECT k.publisher_id FROM publisher_claims k JOIN pools pl ON pl.id = c.pool_id"           \
    " AND pl.account_id = c.account_id"                                                            \
    " WHERE k.account_id = c.account_id AND k.kind = 'pool' AND k.value = pl.ext_id),"             \
    " (SELECT k.publisher_id FROM publisher_claims k LEFT JOIN sessions s ON s.id = c.session_id"  \
    " AND s.account_id = c.account_id"                                                             \
    " WHERE k.account_id = c.account_id AND k.kind = 'source'"                                     \
    " AND k.value = COALESCE(NULLIF(c.source, ''), s.source)))"                                    \
    " WHERE c.account_id = $1::bigint AND c.provider = $2::text AND c.provider_call_id = $3::text" \
    " ON CONFLICT (call_id) DO NOTHING"

int store_pg__call_payout_record(struct store *s, int64_t account_id, const char *provider,
                                 const char *provider_call_id, int64_t now)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, provider);
    store__pg_text(&a, provider_call_id);
    store__pg_i64(&a, now);
    int64_t n = 0;
    return store__pg_changes(s, PAYOUT_RECORD_SQL, &a, &n, "record call payout");
}
