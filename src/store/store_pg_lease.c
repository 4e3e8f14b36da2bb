/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PostgreSQL backend, leases: store_lease_claim, _touch, _release, _times and store_pool_stats,
 * decided
 * in the database so that any number of serving nodes share one pool with no coordinator of
 * their own. The decision is the SQL function od_lease_claim (sql_pg/0001_init.sql): it locks
 * the pool's lease_pools row (claims of one pool are serialized, as core/pool's engine is under
 * its mutex; different pools run in parallel), then follows core/pool.h's pool_lease over the
 * lease state tables, in O(log n) of the pool's size (sql_pg/0013: an ordered index for the
 * pick, live counts for the peaks). One round trip per claim.
 * Durability: a claim run outside a transaction commits with synchronous_commit off. It is
 * still never lost behind an acknowledged visit: the visit is acknowledged only after the
 * group-commit writer's durable commit of the lease row (store_lease_add), which comes later
 * in the same WAL, and flushing a commit flushes all WAL before it. A crash can only lose
 * claims whose visits were never answered.
 * THREADING: any thread, on that thread's connection. */
#include "base/prelude.h"
#include "store/store_pg_int.h"

#include "core/phone.h"
#include "core/pool.h"

/* od_lease_claim's rc column. */
enum { CLAIM_OK = 0, CLAIM_NOTFOUND = 1, CLAIM_EXHAUSTED = 2 };

static bool serving(struct store *s)
{
    return atomic_load(&store__pg(s)->serving);
}

/* idle_at of an undo whose number was never leased before the claim (od_lease_release's NULL). */
#define UNDO_NEVER_LEASED INT64_MIN

/* What store_pg__lease_release needs, from od_lease_claim's u_* columns (8..14). The fields of
 * core/pool.h's struct pool_undo mean here: session_id, a hash of the session's external id
 * (hashtextextended, computed by the server); idle_at, the number's latest activity before the
 * claim (not its release time), UNDO_NEVER_LEASED for none. */
static void fill_undo(const PGresult *r, struct st_lease_claim *out)
{
    struct pool_undo *u = &out->undo;
    u->valid = true;
    u->session_id = (uint64_t)store__pg_col_i64(r, 0, 8);
    u->number_id = (uint64_t)out->number_id;
    u->leased_at = store__pg_col_i64(r, 0, 4);
    u->idle_at = store__pg_col_opt(r, 0, 9, UNDO_NEVER_LEASED);
    u->exhausted = (out->flags & POOL_LEASE_EXHAUSTED) != 0;
    u->peak_concurrent = (uint32_t)store__pg_col_i64(r, 0, 10);
    u->peak_demand = (uint32_t)store__pg_col_i64(r, 0, 11);
    u->was_waiting = store__pg_col_bool(r, 0, 12);
    u->wait_leased_at = store__pg_col_i64(r, 0, 13);
    u->wait_active_at = store__pg_col_i64(r, 0, 14);
}

/* A server process keeps its plans, and PL/pgSQL's and the foreign key checks' plans, from
 * their first uses. On a fresh database those come while the lease and session tables are
 * nearly empty, when a sequential scan (or any index) is as good as the right one; nothing makes
 * them again as the tables grow until an ANALYZE of the table (autovacuum: a minute or more
 * later, and every 10 % of growth after). Measured on a fresh database (PG visit bench, five
 * 10 s runs): lease_holders read by three sequential scans per claim and sessions by one per
 * stored lease (its foreign key check), 811 and 350 buffers per call, PostgreSQL CPU per claim
 * 1.2 -> 5.0 ms, throughput 461 -> 151/s. So each thread's session drops its plans whenever its
 * count of claims and stored leases doubles (from 64): plans are made again at the tables'
 * current sizes (the planner scales the table's statistics by its current size in pages), at a
 * cost of one replan per statement per doubling. */
void store__pg_replan_tick(struct store *s)
{
    static _Thread_local uint64_t n;
    n++;
    if (n >= 64 && (n & (n - 1)) == 0)
        (void)store__pg_exec(s, "DISCARD PLANS", NULL, NULL, "replan");
}

static int claim(struct store *s, int64_t account_id, int64_t pool_id, const char *session_ext_id,
                 int64_t prev, int64_t now, bool touch, struct st_lease_claim *out)
{
    memset(out, 0, sizeof(*out));
    if (!serving(s))
        return ERR_UNSUPPORTED;
    store__pg_replan_tick(s);
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, pool_id);
    store__pg_text(&a, session_ext_id);
    store__pg_i64(&a, prev);
    store__pg_i64(&a, now);
    store__pg_text(&a, touch ? "true" : "false");
    /* Inside a caller's transaction the claim commits with it, at its durability. */
    store__pg_text(&a, store__pg_in_tx(s) ? "false" : "true");
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT rc, number_id, number, flags, leased_at, expires_at,"
                           " exhaustion_events, peak_concurrent, u_session, u_idle,"
                           " u_peak_concurrent, u_peak_demand, u_was_waiting, u_wait_leased,"
                           " u_wait_active FROM od_lease_claim($1, $2, $3, $4, $5, $6, $7)",
                           &a, &r, touch ? "touch lease" : "claim lease");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    int outcome = (int)store__pg_col_i64(r, 0, 0);
    out->flags = (unsigned)store__pg_col_i64(r, 0, 3);
    if (outcome == CLAIM_OK) {
        out->number_id = store__pg_col_i64(r, 0, 1);
        store__pg_col_text(r, 0, 2, out->number, sizeof(out->number));
        phone_format(out->number, out->display, sizeof(out->display));
        out->leased_at = store__pg_col_i64(r, 0, 4);
        out->expires_at = store__pg_col_i64(r, 0, 5);
    }
    out->exhaustion_events = (uint64_t)store__pg_col_i64(r, 0, 6);
    out->peak_concurrent = (uint32_t)store__pg_col_i64(r, 0, 7);
    if ((outcome == CLAIM_OK && (out->flags & POOL_LEASE_NEW)) || outcome == CLAIM_EXHAUSTED)
        fill_undo(r, out);
    PQclear(r);
    if (outcome == CLAIM_NOTFOUND)
        return ERR_NOTFOUND;
    return outcome == CLAIM_EXHAUSTED ? ERR_EXHAUSTED : ERR_OK;
}

int store_pg__lease_claim(struct store *s, int64_t account_id, int64_t pool_id,
                          const char *session_ext_id, int64_t prev_number_id, int64_t now,
                          struct st_lease_claim *out)
{
    return claim(s, account_id, pool_id, session_ext_id, prev_number_id, now, false, out);
}

int store_pg__lease_note(struct store *s, int64_t account_id, int64_t pool_id,
                         const char *session_ext_id, int64_t number_id, unsigned signals,
                         int64_t now)
{
    if (!serving(s))
        return ERR_UNSUPPORTED;
    /* The rest of every signal set, from core: od_lease_note applies the one the lease has. */
    struct pool_config cfg = {.ttl_ms = 1};
    pool_config_rests_default(&cfg);
    char rests[8 * 24 + 4] = "{";
    for (unsigned sig = 0; sig < 8; sig++) {
        size_t len = strlen(rests);
        snprintf(rests + len, sizeof(rests) - len, "%s%" PRId64, sig ? "," : "",
                 pool_rest_for(&cfg, sig));
    }
    snprintf(rests + strlen(rests), sizeof(rests) - strlen(rests), "}");
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, pool_id);
    store__pg_text(&a, session_ext_id);
    store__pg_i64(&a, number_id);
    store__pg_i64(&a, (int64_t)signals);
    store__pg_text(&a, rests);
    store__pg_i64(&a, now);
    PGresult *r = NULL;
    int rc = store__pg_row(s, "SELECT od_lease_note($1, $2, $3, $4, $5::int, $6::bigint[], $7)", &a,
                           &r, "note lease");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    int outcome = (int)store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return outcome == 0 ? ERR_OK : ERR_NOTFOUND;
}

int store_pg__lease_touch(struct store *s, int64_t account_id, int64_t pool_id,
                          const char *session_ext_id, int64_t now, struct st_lease_claim *out)
{
    return claim(s, account_id, pool_id, session_ext_id, 0, now, true, out);
}

int store_pg__lease_release(struct store *s, int64_t account_id, int64_t pool_id,
                            const struct st_lease_claim *claim, int64_t now)
{
    if (!serving(s))
        return ERR_UNSUPPORTED;
    const struct pool_undo *u = &claim->undo;
    if (!u->valid)
        return ERR_INVALID;
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, pool_id);
    store__pg_i64(&a, (int64_t)u->session_id);
    store__pg_i64(&a, (int64_t)u->number_id);
    store__pg_i64(&a, u->leased_at);
    if (u->idle_at == UNDO_NEVER_LEASED)
        store__pg_null(&a);
    else
        store__pg_i64(&a, u->idle_at);
    store__pg_text(&a, u->exhausted ? "true" : "false");
    store__pg_i64(&a, u->peak_concurrent);
    store__pg_i64(&a, u->peak_demand);
    store__pg_text(&a, u->was_waiting ? "true" : "false");
    store__pg_i64(&a, u->wait_leased_at);
    store__pg_i64(&a, u->wait_active_at);
    store__pg_i64(&a, now);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT od_lease_release($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
                           " $12, $13)",
                           &a, &r, "release lease");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    bool gone = store__pg_col_i64(r, 0, 0) != 0;
    PQclear(r);
    return gone ? ERR_NOTFOUND : ERR_OK;
}

/* The lease state keeps each session's latest lease per pool (lease_holders); it is the same
 * lease as l when number and start agree. Otherwise, or on any error, the stored times. */
void store_pg__lease_times(struct store *s, const struct st_lease *l, int64_t now,
                           int64_t *last_active_at, int64_t *ends_at)
{
    (void)now;
    *last_active_at = l->last_active_at;
    *ends_at = l->expires_at;
    if (!serving(s))
        return;
    struct pgargs a = {0};
    store__pg_i64(&a, l->pool_id);
    store__pg_text(&a, l->session_ext);
    store__pg_i64(&a, l->number_id);
    store__pg_i64(&a, l->leased_at);
    store__pg_i64(&a, l->account_id);
    PGresult *r = NULL;
    if (store__pg_row(s,
                      "SELECT h.last_active_at, h.last_active_at + GREATEST(p.lease_ttl * 1000, 1)"
                      " FROM lease_holders h JOIN pools p ON p.account_id = h.account_id"
                      " AND p.id = h.pool_id WHERE h.account_id = $5 AND h.pool_id = $1"
                      " AND h.session_ext = $2 AND h.number_id = $3 AND h.leased_at = $4",
                      &a, &r, "read lease times") != ERR_OK)
        return;
    *last_active_at = store__pg_col_i64(r, 0, 0);
    *ends_at = store__pg_col_i64(r, 0, 1);
    PQclear(r);
}

/* core/pool.h's recommended_size: max(D + 1, ceil(1.1 * D * (L + C) / L)), D the peak demand,
 * L the mean life of ended leases (ttl if none), C the cooldown. */
static uint32_t recommend(double demand, double ended, double ended_life, double ttl, double cool)
{
    double life = ended > 0 && ended_life > 0 ? ended_life / ended : ttl;
    double want = 1.1 * demand * (life + cool) / life;
    want -= want * 1e-12; /* an exact 11.0 computed as 11.000000000000002 stays 11 */
    if (want >= (double)UINT32_MAX)
        return UINT32_MAX;
    uint64_t size = (uint64_t)want;
    if ((double)size < want)
        size++;
    uint64_t floor_size = (uint64_t)demand + 1;
    if (size < floor_size)
        size = floor_size;
    return size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
}

int store_pg__pool_stats(struct store *s, int64_t account_id, int64_t pool_id, int64_t now,
                         struct pool_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!serving(s))
        return ERR_UNSUPPORTED;
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, pool_id);
    store__pg_i64(&a, now);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT size, leased, cooling, free, live_leases, exhaustion_events,"
                           " peak_concurrent, peak_demand, ended_leases, ended_life_ms, ttl_ms,"
                           " cooldown_ms FROM od_pool_stats($1, $2, $3)",
                           &a, &r, "pool stats");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    if (PQgetisnull(r, 0, 0)) { /* no such pool */
        PQclear(r);
        return ERR_NOTFOUND;
    }
    out->size = (uint32_t)store__pg_col_i64(r, 0, 0);
    out->leased = (uint32_t)store__pg_col_i64(r, 0, 1);
    out->cooling = (uint32_t)store__pg_col_i64(r, 0, 2);
    out->free = (uint32_t)store__pg_col_i64(r, 0, 3);
    out->live_leases = (uint32_t)store__pg_col_i64(r, 0, 4);
    out->exhaustion_events = (uint64_t)store__pg_col_i64(r, 0, 5);
    out->peak_concurrent = (uint32_t)store__pg_col_i64(r, 0, 6);
    int64_t demand = store__pg_col_i64(r, 0, 7);
    if (demand < out->peak_concurrent)
        demand = out->peak_concurrent;
    out->recommended_size =
        recommend((double)demand, (double)store__pg_col_i64(r, 0, 8), store__pg_col_f64(r, 0, 9),
                  (double)store__pg_col_i64(r, 0, 10), (double)store__pg_col_i64(r, 0, 11));
    PQclear(r);
    return ERR_OK;
}
