/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The store's public entry points: store_open picks a backend by URL, and every other store_*
 * function is a thin dispatcher through the store's ops table (store_int.h). No backend code
 * here: the SQLite backend is store_sqlite*.c, the PostgreSQL one store_pg*.c. This file holds
 * the build's one #ifdef for PostgreSQL (OPENDNI_WITH_PG, set by CMake when libpq is found). */
#include "base/prelude.h"
#include "store/store.h"

#include "base/log.h"
#include "base/testhooks.h"
#include "base/xalloc.h"
#include "store/store_int.h"

/* The compiled-in backends, tried in order. */
#ifdef OPENDNI_WITH_PG
static const struct store_ops *const backends[] = {&store_pg_ops, &store_sqlite_ops};
#else
static const struct store_ops *const backends[] = {&store_sqlite_ops};
#endif

static bool is_pg_url(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

/* Every member of struct store_ops after `name` is a function pointer (store_int.h), and a
 * backend must fill them all: a NULL one would crash the first call of its operation. */
typedef void (*any_op)(void);
#define OPS_FIRST offsetof(struct store_ops, handles)
_Static_assert((sizeof(struct store_ops) - OPS_FIRST) % sizeof(any_op) == 0,
               "struct store_ops holds only function pointers after name");

/* The position (0 = handles) of the first NULL member of o, or -1 when all are set. */
static long missing_op(const struct store_ops *o)
{
    const unsigned char *p = (const unsigned char *)o + OPS_FIRST;
    size_t n = (sizeof(*o) - OPS_FIRST) / sizeof(any_op);
    for (size_t i = 0; i < n; i++) {
        any_op f;
        memcpy(&f, p + i * sizeof(any_op), sizeof(f));
        if (!f)
            return (long)i;
    }
    return -1;
}

int store_open(const char *url, struct store **out, struct errbuf *eb)
{
    *out = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
        if (!backends[i]->handles(url))
            continue;
        long gap = missing_op(backends[i]);
        if (gap >= 0) /* a build error: every store runs the conformance suite, which opens */
            return errf(eb, ERR_UNSUPPORTED, "db",
                        "the %s store lacks operation %ld of struct store_ops (after name)",
                        backends[i]->name, gap + 1);
        return backends[i]->open(url, out, eb);
    }
    if (is_pg_url(url))
        return errf(eb, ERR_UNSUPPORTED, "db",
                    "this build has no PostgreSQL store (built without libpq); use a SQLite "
                    "file path");
    return errf(eb, ERR_INVALID, "db", "no store handles '%s'", url);
}

uint64_t store_errors(struct store *s)
{
    return atomic_load(&s->errors);
}

/* ---- faults on purpose (the test binary's hooks, base/testhooks.h) ----
 * Checked here, in the dispatch layer, so every backend fails the same way at the same points:
 * store_busy at store_begin, store_full at every write operation, store_io and store_commit at
 * store_commit. Reads never fail: a webhook can still be verified and forwarded. In the
 * production binary testhooks_fault is a weak function that returns false. */

static const char *const fault_what[TESTHOOK_N] = {
    [TESTHOOK_STORE_BUSY] = "database is locked",
    [TESTHOOK_STORE_FULL] = "database or disk is full",
    [TESTHOOK_STORE_IO] = "disk I/O error",
    [TESTHOOK_STORE_COMMIT] = "commit reported a failure after writing",
};

/* ERR_BACKEND (counted in store_errors and logged, as a real backend error is) when fault f
 * is switched on, else ERR_OK. */
static int fault(struct store *s, enum testhook_fault f, const char *op)
{
    if (!testhooks_fault(f))
        return ERR_OK;
    atomic_fetch_add(&s->errors, 1);
    log_error("store", "%s failed: %s (test fault)", op, fault_what[f]);
    return ERR_BACKEND;
}

int store__write_fault(struct store *s, const char *op)
{
    return fault(s, TESTHOOK_STORE_FULL, op);
}

/* ---- dispatchers: one per store.h operation, in store.h order ---- */

void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}

int store_migrate(struct store *s, int64_t now, int *version, struct errbuf *eb)
{
    return s->ops->migrate(s, now, version, eb);
}

int store_check(struct store *s, struct errbuf *eb)
{
    return s->ops->check(s, eb);
}

int store_verify(struct store *s, bool full, struct errbuf *eb)
{
    return s->ops->verify(s, full, eb);
}

int store_backup(struct store *s, const char *dest, struct errbuf *eb)
{
    return s->ops->backup(s, dest, eb);
}

int store_writable(struct store *s, int64_t now, struct errbuf *eb)
{
    return s->ops->writable(s, now, eb);
}

int store_config_version(struct store *s, int64_t *version)
{
    return s->ops->config_version(s, version);
}

int store_notify(struct store *s, const char *payload)
{
    if (strlen(payload) >= STORE_NOTIFY_MAX)
        return ERR_INVALID;
    return s->ops->notify(s, payload);
}

int store_notify_wait(struct store *s, int timeout_ms, store_notify_fn fn, void *ctx)
{
    return s->ops->notify_wait(s, timeout_ms, fn, ctx);
}

int store_serve_begin(struct store *s, int64_t now, struct errbuf *eb)
{
    return s->ops->serve_begin(s, now, eb);
}

int store_begin(struct store *s)
{
    int rc = fault(s, TESTHOOK_STORE_BUSY, "begin");
    return rc ? rc : s->ops->begin(s);
}

/* store_io: the transaction is rolled back, as SQLite does after an I/O error at commit;
 * store_commit: the transaction is on disk but the caller hears it failed (an fsync error
 * reported after the write), so the caller cannot know: a retry must find what was written. */
int store_commit(struct store *s)
{
    if (fault(s, TESTHOOK_STORE_IO, "commit")) {
        s->ops->rollback(s);
        return ERR_BACKEND;
    }
    int rc = s->ops->commit(s);
    return rc ? rc : fault(s, TESTHOOK_STORE_COMMIT, "commit");
}

void store_rollback(struct store *s)
{
    s->ops->rollback(s);
}

int store_read_begin(struct store *s)
{
    return s->ops->read_begin(s);
}

void store_read_end(struct store *s)
{
    s->ops->read_end(s);
}

int store_savepoint(struct store *s)
{
    return s->ops->savepoint(s);
}

int store_savepoint_release(struct store *s)
{
    return s->ops->savepoint_release(s);
}

void store_savepoint_rollback(struct store *s)
{
    s->ops->savepoint_rollback(s);
}

int store_savepoints_max(struct store *s)
{
    return s->ops->savepoints_max(s);
}

int store_account_create(struct store *s, const char *ext_id, const char *name,
                         const char *const *origins, size_t n_origins, const char *key_hash,
                         int64_t now, struct st_account *a, struct errbuf *eb)
{
    if (store__write_fault(s, "account create"))
        return errf(eb, ERR_BACKEND, NULL, "%s", fault_what[TESTHOOK_STORE_FULL]);
    return s->ops->account_create(s, ext_id, name, origins, n_origins, key_hash, now, a, eb);
}

int store_account_get(struct store *s, const char *ext_id, struct st_account *a)
{
    return s->ops->account_get(s, ext_id, a);
}

int store_account_by_id(struct store *s, int64_t id, struct st_account *a)
{
    return s->ops->account_by_id(s, id, a);
}

int store_api_key_add(struct store *s, int64_t account_id, const char *key_hash, int64_t now)
{
    if (store__write_fault(s, "api key add"))
        return ERR_BACKEND;
    return s->ops->api_key_add(s, account_id, key_hash, now);
}

int store_api_key_revoke_others(struct store *s, int64_t account_id, const char *keep_hash,
                                int64_t now, int64_t *n_revoked)
{
    if (store__write_fault(s, "api key revoke others"))
        return ERR_BACKEND;
    return s->ops->api_key_revoke_others(s, account_id, keep_hash, now, n_revoked);
}

int store_account_by_key(struct store *s, const char *key_hash, struct st_account *a)
{
    return s->ops->account_by_key(s, key_hash, a);
}

int store_account_set_settings(struct store *s, int64_t id, const char *settings_json)
{
    if (store__write_fault(s, "account set settings"))
        return ERR_BACKEND;
    return s->ops->account_set_settings(s, id, settings_json);
}

int store_account_list(struct store *s, store_account_fn fn, void *ctx)
{
    return s->ops->account_list(s, fn, ctx);
}

struct account_ids {
    int64_t *v;
    size_t n, cap;
};

static int add_account_id(void *ctx, const struct st_account *a)
{
    struct account_ids *ids = ctx;
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? 2 * ids->cap : 64;
        ids->v = xrealloc(ids->v, ids->cap * sizeof(*ids->v));
    }
    ids->v[ids->n++] = a->id;
    return 0;
}

int store_account_ids(struct store *s, int64_t **ids, size_t *n)
{
    struct account_ids a = {0};
    int rc = s->ops->account_list(s, add_account_id, &a);
    if (rc) {
        free(a.v);
        a.v = NULL;
        a.n = 0;
    }
    *ids = a.v;
    *n = a.n;
    return rc;
}

int store_account_origins(struct store *s, int64_t account_id, store_origin_fn fn, void *ctx)
{
    return s->ops->account_origins(s, account_id, fn, ctx);
}

int store_origin_exists(struct store *s, const char *origin, bool *exists)
{
    return s->ops->origin_exists(s, origin, exists);
}

int store_api_key_list(struct store *s, int64_t account_id, store_api_key_fn fn, void *ctx)
{
    return s->ops->api_key_list(s, account_id, fn, ctx);
}

int store_api_key_revoke(struct store *s, int64_t account_id, int64_t key_id, int64_t now)
{
    if (store__write_fault(s, "api key revoke"))
        return ERR_BACKEND;
    return s->ops->api_key_revoke(s, account_id, key_id, now);
}

int store_origin_add(struct store *s, int64_t account_id, const char *origin)
{
    if (store__write_fault(s, "origin add"))
        return ERR_BACKEND;
    return s->ops->origin_add(s, account_id, origin);
}

int store_origin_delete(struct store *s, int64_t account_id, const char *origin)
{
    if (store__write_fault(s, "origin delete"))
        return ERR_BACKEND;
    return s->ops->origin_delete(s, account_id, origin);
}

int store_pool_create(struct store *s, struct st_pool *p, int64_t now, struct errbuf *eb)
{
    if (store__write_fault(s, "pool create"))
        return errf(eb, ERR_BACKEND, NULL, "%s", fault_what[TESTHOOK_STORE_FULL]);
    return s->ops->pool_create(s, p, now, eb);
}

int store_pool_get(struct store *s, int64_t account_id, const char *ext_id, struct st_pool *p)
{
    return s->ops->pool_get(s, account_id, ext_id, p);
}

int store_pool_by_id(struct store *s, int64_t account_id, int64_t id, struct st_pool *p)
{
    return s->ops->pool_by_id(s, account_id, id, p);
}

int store_pool_update(struct store *s, const struct st_pool *p, struct errbuf *eb)
{
    if (store__write_fault(s, "pool update"))
        return errf(eb, ERR_BACKEND, NULL, "%s", fault_what[TESTHOOK_STORE_FULL]);
    return s->ops->pool_update(s, p, eb);
}

int store_pool_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now)
{
    if (store__write_fault(s, "pool delete"))
        return ERR_BACKEND;
    return s->ops->pool_delete(s, account_id, ext_id, now);
}

int store_pool_list(struct store *s, int64_t account_id, store_pool_fn fn, void *ctx)
{
    return s->ops->pool_list(s, account_id, fn, ctx);
}

int store_pool_set_counters(struct store *s, int64_t account_id, int64_t pool_id,
                            int64_t exhaustion_events, int64_t peak_concurrent)
{
    if (store__write_fault(s, "pool set counters"))
        return ERR_BACKEND;
    return s->ops->pool_set_counters(s, account_id, pool_id, exhaustion_events, peak_concurrent);
}

int store_number_create(struct store *s, struct st_number *n, int64_t now, struct errbuf *eb)
{
    if (store__write_fault(s, "number create"))
        return errf(eb, ERR_BACKEND, NULL, "%s", fault_what[TESTHOOK_STORE_FULL]);
    return s->ops->number_create(s, n, now, eb);
}

int store_number_get(struct store *s, int64_t account_id, const char *ext_id, struct st_number *n)
{
    return s->ops->number_get(s, account_id, ext_id, n);
}

int store_number_by_id(struct store *s, int64_t account_id, int64_t id, struct st_number *n)
{
    return s->ops->number_by_id(s, account_id, id, n);
}

int store_number_by_e164(struct store *s, const char *e164, struct st_number *n)
{
    return s->ops->number_by_e164(s, e164, n);
}

int store_number_update(struct store *s, const struct st_number *n, int64_t now, struct errbuf *eb)
{
    if (store__write_fault(s, "number update"))
        return errf(eb, ERR_BACKEND, NULL, "%s", fault_what[TESTHOOK_STORE_FULL]);
    return s->ops->number_update(s, n, now, eb);
}

int store_number_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now)
{
    if (store__write_fault(s, "number delete"))
        return ERR_BACKEND;
    return s->ops->number_delete(s, account_id, ext_id, now);
}

int store_number_list(struct store *s, int64_t account_id, int64_t pool_id, store_number_fn fn,
                      void *ctx)
{
    return s->ops->number_list(s, account_id, pool_id, fn, ctx);
}

int store_rule_create(struct store *s, struct st_rule *r, int64_t now, struct errbuf *eb)
{
    if (store__write_fault(s, "rule create"))
        return errf(eb, ERR_BACKEND, NULL, "%s", fault_what[TESTHOOK_STORE_FULL]);
    return s->ops->rule_create(s, r, now, eb);
}

int store_rule_update(struct store *s, struct st_rule *r, struct errbuf *eb)
{
    if (store__write_fault(s, "rule update"))
        return errf(eb, ERR_BACKEND, NULL, "%s", fault_what[TESTHOOK_STORE_FULL]);
    return s->ops->rule_update(s, r, eb);
}

int store_rule_delete(struct store *s, int64_t account_id, const char *ext_id)
{
    if (store__write_fault(s, "rule delete"))
        return ERR_BACKEND;
    return s->ops->rule_delete(s, account_id, ext_id);
}

int store_rule_list(struct store *s, int64_t account_id, store_rule_fn fn, void *ctx)
{
    return s->ops->rule_list(s, account_id, fn, ctx);
}

int store_session_put(struct store *s, struct st_session *ss)
{
    if (store__write_fault(s, "session put"))
        return ERR_BACKEND;
    return s->ops->session_put(s, ss);
}

int store_session_get(struct store *s, const char *ext_id, struct st_session *ss)
{
    return s->ops->session_get(s, ext_id, ss);
}

int store_session_by_id(struct store *s, int64_t account_id, int64_t id, struct st_session *ss)
{
    return s->ops->session_by_id(s, account_id, id, ss);
}

int store_lease_add(struct store *s, struct st_lease *l)
{
    if (store__write_fault(s, "lease add"))
        return ERR_BACKEND;
    return s->ops->lease_add(s, l);
}

int store_visits_add(struct store *s, struct st_visit_add *v, size_t n)
{
    if (store__write_fault(s, "visits add"))
        return ERR_BACKEND;
    return s->ops->visits_add(s, v, n);
}

int store_lease_renew(struct store *s, int64_t account_id, int64_t session_id, int64_t number_id,
                      int64_t last_active_at, int64_t expires_at)
{
    if (store__write_fault(s, "lease renew"))
        return ERR_BACKEND;
    return s->ops->lease_renew(s, account_id, session_id, number_id, last_active_at, expires_at);
}

int store_lease_delete(struct store *s, int64_t account_id, int64_t session_id, int64_t number_id,
                       int64_t leased_at)
{
    return s->ops->lease_delete(s, account_id, session_id, number_id, leased_at);
}

int store_session_leases(struct store *s, int64_t account_id, int64_t session_id, store_lease_fn fn,
                         void *ctx)
{
    return s->ops->session_leases(s, account_id, session_id, fn, ctx);
}

int store_lease_claim(struct store *s, int64_t account_id, int64_t pool_id,
                      const char *session_ext_id, int64_t prev_number_id, int64_t now,
                      struct st_lease_claim *out)
{
    return s->ops->lease_claim(s, account_id, pool_id, session_ext_id, prev_number_id, now, out);
}

int store_lease_note(struct store *s, int64_t account_id, int64_t pool_id,
                     const char *session_ext_id, int64_t number_id, unsigned signals, int64_t now)
{
    return s->ops->lease_note(s, account_id, pool_id, session_ext_id, number_id, signals, now);
}

int store_lease_touch(struct store *s, int64_t account_id, int64_t pool_id,
                      const char *session_ext_id, int64_t now, struct st_lease_claim *out)
{
    return s->ops->lease_touch(s, account_id, pool_id, session_ext_id, now, out);
}

int store_lease_release(struct store *s, int64_t account_id, int64_t pool_id,
                        const struct st_lease_claim *claim, int64_t now)
{
    return s->ops->lease_release(s, account_id, pool_id, claim, now);
}

void store_lease_times(struct store *s, const struct st_lease *l, int64_t now,
                       int64_t *last_active_at, int64_t *ends_at)
{
    s->ops->lease_times(s, l, now, last_active_at, ends_at);
}

int store_pool_stats(struct store *s, int64_t account_id, int64_t pool_id, int64_t now,
                     struct pool_stats *out)
{
    return s->ops->pool_stats(s, account_id, pool_id, now, out);
}

int store_session_held(struct store *s, int64_t account_id, int64_t session_id, int64_t number_id,
                       bool *held)
{
    return s->ops->session_held(s, account_id, session_id, number_id, held);
}

int store_lease_range(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                      int64_t until, size_t max, store_lease_fn fn, void *ctx)
{
    return s->ops->lease_range(s, account_id, pool_id, since, until, max, fn, ctx);
}

int store_lease_list_live(struct store *s, int64_t account_id, int64_t pool_id, int64_t at,
                          store_lease_fn fn, void *ctx)
{
    return s->ops->lease_list_live(s, account_id, pool_id, at, fn, ctx);
}

int store_lease_history(struct store *s, int64_t account_id, int64_t number_id, int64_t since,
                        size_t max, store_lease_fn fn, void *ctx)
{
    return s->ops->lease_history(s, account_id, number_id, since, max, fn, ctx);
}

int store_event_add(struct store *s, const struct st_event *e)
{
    if (store__write_fault(s, "event add"))
        return ERR_BACKEND;
    return s->ops->event_add(s, e);
}

int store_event_last(struct store *s, int64_t account_id, int64_t session_id, const char *type,
                     const char *number, int64_t before, int64_t *at)
{
    return s->ops->event_last(s, account_id, session_id, type, number, before, at);
}

int store_event_list(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                     store_event_fn fn, void *ctx)
{
    return s->ops->event_list(s, account_id, session_id, max, fn, ctx);
}

int store_page_view_add(struct store *s, const struct st_page_view *pv, bool dedupe, bool *added)
{
    if (added)
        *added = false;
    if (store__write_fault(s, "page view add"))
        return ERR_BACKEND;
    return s->ops->page_view_add(s, pv, dedupe, added);
}

int store_page_view_list(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                         store_page_view_fn fn, void *ctx)
{
    return s->ops->page_view_list(s, account_id, session_id, max, fn, ctx);
}

int store_event_last_detail(struct store *s, int64_t account_id, int64_t session_id,
                            const char *type, char *detail, size_t cap)
{
    if (cap)
        detail[0] = '\0';
    return cap ? s->ops->event_last_detail(s, account_id, session_id, type, detail, cap)
               : ERR_INVALID;
}

int store_count(struct store *s, const char *table, int64_t *n)
{
    return s->ops->count(s, table, n);
}

int store_call_insert(struct store *s, struct st_call *c)
{
    if (store__write_fault(s, "call insert"))
        return ERR_BACKEND;
    return s->ops->call_insert(s, c);
}

int store_call_by_provider(struct store *s, const char *provider, const char *provider_call_id,
                           struct st_call *c)
{
    return s->ops->call_by_provider(s, provider, provider_call_id, c);
}

int store_call_get(struct store *s, int64_t account_id, const char *ext_id, struct st_call *c)
{
    return s->ops->call_get(s, account_id, ext_id, c);
}

int store_call_by_id(struct store *s, int64_t account_id, int64_t id, struct st_call *c)
{
    return s->ops->call_by_id(s, account_id, id, c);
}

int store_call_update(struct store *s, const struct st_call *c)
{
    if (store__write_fault(s, "call update"))
        return ERR_BACKEND;
    return s->ops->call_update(s, c);
}

int store_call_recording_put(struct store *s, int64_t account_id, int64_t call_id, const char *url,
                             int64_t duration_s)
{
    if (!url || !url[0] || strlen(url) >= STORE_RECORDING_URL_MAX)
        return ERR_INVALID;
    if (store__write_fault(s, "call recording"))
        return ERR_BACKEND;
    return s->ops->call_recording_put(s, account_id, call_id, url,
                                      duration_s < 0 ? -1 : duration_s);
}

int store_call_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                    int64_t after_at, int64_t after_id, size_t max, store_call_fn fn, void *ctx)
{
    return s->ops->call_list(s, account_id, since, until, after_at, after_id, max, fn, ctx);
}

int store_call_session_credited(struct store *s, int64_t account_id, int64_t session_id,
                                int64_t before, bool *out)
{
    *out = false;
    return s->ops->call_session_credited(s, account_id, session_id, before, out);
}

int store_call_caller(struct store *s, int64_t account_id, const char *from, int64_t before_id,
                      struct st_caller *out)
{
    return s->ops->call_caller(s, account_id, from, before_id, out);
}

int store_conversion_add(struct store *s, struct st_conversion *cv)
{
    if (store__write_fault(s, "conversion add"))
        return ERR_BACKEND;
    return s->ops->conversion_add(s, cv);
}

int store_conversion_by_call(struct store *s, int64_t account_id, int64_t call_id,
                             struct st_conversion *cv)
{
    return s->ops->conversion_by_call(s, account_id, call_id, cv);
}

int store_pool_by_fallback(struct store *s, const char *e164, struct st_pool *p)
{
    return s->ops->pool_by_fallback(s, e164, p);
}

int store_call_outcome_get(struct store *s, int64_t account_id, int64_t call_id,
                           struct st_call_outcome *o)
{
    return s->ops->call_outcome_get(s, account_id, call_id, o);
}

int store_call_outcome_put(struct store *s, const struct st_call_outcome *o)
{
    if (store__write_fault(s, "call outcome put"))
        return ERR_BACKEND;
    return s->ops->call_outcome_put(s, o);
}

/* ---- publishers (sql/0022) ---- */

int store_publisher_put(struct store *s, struct st_publisher *p)
{
    if (store__write_fault(s, "publisher put"))
        return ERR_BACKEND;
    return s->ops->publisher_put(s, p);
}

int store_publisher_get(struct store *s, int64_t account_id, const char *ext_id,
                        struct st_publisher *p)
{
    return s->ops->publisher_get(s, account_id, ext_id, p);
}

int store_publisher_list(struct store *s, int64_t account_id, store_publisher_fn fn, void *ctx)
{
    return s->ops->publisher_list(s, account_id, fn, ctx);
}

int store_call_payout_record(struct store *s, int64_t account_id, const char *provider,
                             const char *provider_call_id, int64_t now)
{
    if (store__write_fault(s, "call payout record"))
        return ERR_BACKEND;
    return s->ops->call_payout_record(s, account_id, provider, provider_call_id, now);
}

int store_publisher_delete(struct store *s, int64_t account_id, const char *ext_id)
{
    if (store__write_fault(s, "publisher delete"))
        return ERR_BACKEND;
    return s->ops->publisher_delete(s, account_id, ext_id);
}

/* ---- routing (sql/0019) ---- */

int store_route_doc_put(struct store *s, struct st_route_doc *d)
{
    if (store__write_fault(s, "route doc put"))
        return ERR_BACKEND;
    return s->ops->route_doc_put(s, d);
}

int store_route_doc_get(struct store *s, int64_t account_id, const char *kind, const char *ext_id,
                        struct st_route_doc *d)
{
    return s->ops->route_doc_get(s, account_id, kind, ext_id, d);
}

int store_route_doc_by_attach(struct store *s, int64_t account_id, const char *attach,
                              struct st_route_doc *d)
{
    return s->ops->route_doc_by_attach(s, account_id, attach, d);
}

int store_route_doc_list(struct store *s, int64_t account_id, const char *kind,
                         store_route_doc_fn fn, void *ctx)
{
    return s->ops->route_doc_list(s, account_id, kind, fn, ctx);
}

int store_route_doc_delete(struct store *s, int64_t account_id, const char *kind,
                           const char *ext_id)
{
    if (store__write_fault(s, "route doc delete"))
        return ERR_BACKEND;
    return s->ops->route_doc_delete(s, account_id, kind, ext_id);
}

int store_route_counter_next(struct store *s, int64_t account_id, const char *key, int64_t *n)
{
    if (store__write_fault(s, "route counter"))
        return ERR_BACKEND;
    return s->ops->route_counter_next(s, account_id, key, n);
}

int store_call_route_put(struct store *s, const struct st_call_route *r)
{
    if (store__write_fault(s, "call route put"))
        return ERR_BACKEND;
    return s->ops->call_route_put(s, r);
}

int store_call_route_get(struct store *s, const char *provider, const char *call_sid,
                         struct st_call_route *r)
{
    return s->ops->call_route_get(s, provider, call_sid, r);
}

int store_call_route_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                          store_call_route_fn fn, void *ctx)
{
    return s->ops->call_route_list(s, account_id, since, until, fn, ctx);
}

int store_route_counts(struct store *s, int64_t account_id, const char *plan,
                       const char *day_prefix, int64_t live_since, store_route_count_fn fn,
                       void *ctx)
{
    return s->ops->route_counts(s, account_id, plan, day_prefix, live_since, fn, ctx);
}

/* store_provider_cred_* and store_secrets_*: store_secrets.c (they seal and open). */

int store_report_calls(struct store *s, int64_t account_id, int64_t since, int64_t until,
                       store_report_call_fn fn, void *ctx)
{
    return s->ops->report_calls(s, account_id, since, until, STORE_REPORT_NEED_ALL, fn, ctx);
}

int store_report_calls_need(struct store *s, int64_t account_id, int64_t since, int64_t until,
                            unsigned need, store_report_call_fn fn, void *ctx)
{
    return s->ops->report_calls(s, account_id, since, until, need & STORE_REPORT_NEED_ALL, fn, ctx);
}

int store_report_conversions(struct store *s, int64_t account_id, int64_t since, int64_t until,
                             store_report_conversion_fn fn, void *ctx)
{
    return s->ops->report_conversions(s, account_id, since, until, fn, ctx);
}

int store_report_sessions(struct store *s, int64_t account_id, int64_t since, int64_t until,
                          int64_t min_duration_s, store_report_session_fn fn, void *ctx)
{
    return s->ops->report_sessions(s, account_id, since, until, min_duration_s, fn, ctx);
}

int store_report_cohort(struct store *s, int64_t account_id, int64_t since, int64_t until,
                        store_report_cohort_fn fn, void *ctx)
{
    return s->ops->report_cohort(s, account_id, since, until, fn, ctx);
}

int store_report_session_calls(struct store *s, int64_t account_id, int64_t since, int64_t until,
                               bool by_first, int64_t min_duration_s,
                               store_report_session_call_fn fn, void *ctx)
{
    return s->ops->report_session_calls(s, account_id, since, until, by_first, min_duration_s, fn,
                                        ctx);
}

int store_spend_replace(struct store *s, int64_t account_id, const char *platform,
                        const char *currency, const struct st_spend_row *rows, size_t n,
                        int64_t now)
{
    if (store__write_fault(s, "spend replace"))
        return ERR_BACKEND;
    return s->ops->spend_replace(s, account_id, platform, currency, rows, n, now);
}

int store_spend_list(struct store *s, int64_t account_id, const char *since_day,
                     const char *until_day, store_spend_fn fn, void *ctx)
{
    return s->ops->spend_list(s, account_id, since_day, until_day, fn, ctx);
}

int store_export_trace(struct store *s, int64_t account_id, int64_t since, store_trace_fn fn,
                       void *ctx)
{
    return s->ops->export_trace(s, account_id, 0, since, fn, ctx);
}

int store_export_trace_pool(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                            store_trace_fn fn, void *ctx)
{
    return s->ops->export_trace(s, account_id, pool_id, since, fn, ctx);
}

/* ---- dashboard users ---- */

int store_user_create(struct store *s, struct st_user *u, int64_t now)
{
    return s->ops->user_create(s, u, now);
}

int store_user_get(struct store *s, const char *email, struct st_user *u)
{
    return s->ops->user_get(s, email, u);
}

int store_user_by_id(struct store *s, int64_t id, struct st_user *u)
{
    return s->ops->user_by_id(s, id, u);
}

int store_user_set_password(struct store *s, int64_t user_id, const char *password_hash,
                            int64_t now)
{
    return s->ops->user_set_password(s, user_id, password_hash, now);
}

int store_user_delete(struct store *s, int64_t user_id)
{
    return s->ops->user_delete(s, user_id);
}

int store_user_list(struct store *s, store_user_fn fn, void *ctx)
{
    return s->ops->user_list(s, fn, ctx);
}

int store_membership_set(struct store *s, int64_t user_id, int64_t account_id, const char *role,
                         int64_t now)
{
    return s->ops->membership_set(s, user_id, account_id, role, now);
}

int store_membership_delete(struct store *s, int64_t user_id, int64_t account_id)
{
    return s->ops->membership_delete(s, user_id, account_id);
}

int store_membership_list(struct store *s, int64_t user_id, int64_t account_id,
                          store_membership_fn fn, void *ctx)
{
    return s->ops->membership_list(s, user_id, account_id, fn, ctx);
}

int store_app_session_create(struct store *s, struct st_app_session *ss)
{
    return s->ops->app_session_create(s, ss);
}

int store_app_session_get(struct store *s, const char *token_hash, struct st_app_session *ss)
{
    return s->ops->app_session_get(s, token_hash, ss);
}

int store_app_session_update(struct store *s, int64_t id, int64_t account_id, int64_t last_seen_at)
{
    return s->ops->app_session_update(s, id, account_id, last_seen_at);
}

int store_app_session_delete(struct store *s, const char *token_hash)
{
    return s->ops->app_session_delete(s, token_hash);
}

int store_app_session_delete_user(struct store *s, int64_t user_id, int64_t *n)
{
    return s->ops->app_session_delete_user(s, user_id, n);
}

int store_app_session_purge(struct store *s, int64_t idle_before, int64_t now, int64_t *n)
{
    return s->ops->app_session_purge(s, idle_before, now, n);
}

int store_audit_add(struct store *s, struct st_audit *a)
{
    return s->ops->audit_add(s, a);
}

int store_audit_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                     store_audit_fn fn, void *ctx)
{
    return s->ops->audit_list(s, account_id, before_id, max, fn, ctx);
}

int store_destination_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now)
{
    return s->ops->destination_delete(s, account_id, ext_id, now);
}

int store_destination_result(struct store *s, int64_t account_id, int64_t id, bool ok, int64_t now,
                             int64_t disable_after_ms, const char *error, bool *disabled)
{
    return s->ops->destination_result(s, account_id, id, ok, now, disable_after_ms, error,
                                      disabled);
}

int store_destination_enable(struct store *s, int64_t account_id, const char *ext_id)
{
    return s->ops->destination_enable(s, account_id, ext_id);
}

int store_outbox_add(struct store *s, struct st_outbox_msg *m)
{
    int64_t id = m->destination_id;
    return s->ops->outbox_add(s, m, &id, 1);
}

int store_outbox_add_many(struct store *s, struct st_outbox_msg *m, const int64_t *destination_ids,
                          size_t n)
{
    return n ? s->ops->outbox_add(s, m, destination_ids, n) : ERR_OK;
}

int store_outbox_publish(struct store *s, struct st_outbox_msg *m, const int64_t *destination_ids,
                         size_t n)
{
    return n ? s->ops->outbox_publish(s, m, destination_ids, n) : ERR_OK;
}

int store_outbox_batch_done(struct store *s, int64_t account_id, int64_t destination_id,
                            const char *owner)
{
    return s->ops->outbox_batch_done(s, account_id, destination_id, owner);
}

int store_outbox_finish(struct store *s, int64_t id, const char *owner, const struct st_delivery *d,
                        int state, int64_t next_at)
{
    return s->ops->outbox_finish(s, id, owner, d, state, next_at);
}

int store_outbox_requeue(struct store *s, int64_t account_id, int64_t destination_id,
                         const char *event_id, int64_t now)
{
    return s->ops->outbox_requeue(s, account_id, destination_id, event_id, now);
}

int store_outbox_get(struct store *s, int64_t account_id, int64_t destination_id,
                     const char *event_id, struct st_outbox_msg *m)
{
    return s->ops->outbox_get(s, account_id, destination_id, event_id, m);
}

int store_delivery_list(struct store *s, int64_t account_id, int64_t destination_id,
                        int64_t before_id, size_t max, store_delivery_fn fn, void *ctx)
{
    return s->ops->delivery_list(s, account_id, destination_id, before_id, max, fn, ctx);
}

int store_alert_observe(struct store *s, int64_t account_id, const char *key, int64_t value,
                        int64_t now, int64_t cooldown_ms, bool *fired)
{
    return s->ops->alert_observe(s, account_id, key, value, now, cooldown_ms, fired);
}

int store_erase(struct store *s, struct st_erasure *e, const char *subject)
{
    if (store__write_fault(s, "erase"))
        return ERR_BACKEND;
    return s->ops->erase(s, e, subject);
}

int store_erase_flush(struct store *s, struct errbuf *eb)
{
    return s->ops->erase_flush(s, eb);
}

int store_erasure_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                       store_erasure_fn fn, void *ctx)
{
    return s->ops->erasure_list(s, account_id, before_id, max, fn, ctx);
}

int store_purge(struct store *s, int64_t account_id, const struct st_retention *r, size_t max,
                struct st_purged *n, bool *busy)
{
    if (store__write_fault(s, "purge"))
        return ERR_BACKEND;
    return s->ops->purge(s, account_id, r, max, n, busy);
}

int store_traffic_add(struct store *s, int64_t account_id, int64_t bucket_at, int64_t page_views,
                      int64_t swap_misses, int64_t purge_before)
{
    if (store__write_fault(s, "traffic add"))
        return ERR_BACKEND;
    return s->ops->traffic_add(s, account_id, bucket_at, page_views, swap_misses, purge_before);
}

int store_traffic_sum(struct store *s, int64_t account_id, int64_t since, int64_t *page_views,
                      int64_t *swap_misses)
{
    *page_views = *swap_misses = 0;
    return s->ops->traffic_sum(s, account_id, since, page_views, swap_misses);
}

int store_feed_set(struct store *s, int64_t account_id, const char *ext_id, const char *secret_hash,
                   int64_t now)
{
    if (store__write_fault(s, "feed set"))
        return ERR_BACKEND;
    return s->ops->feed_set(s, account_id, ext_id, secret_hash, now);
}

int store_feed_account(struct store *s, const char *ext_id, struct st_account *a,
                       char secret_hash[65])
{
    return s->ops->feed_account(s, ext_id, a, secret_hash);
}

int store_feed_delete(struct store *s, int64_t account_id)
{
    if (store__write_fault(s, "feed delete"))
        return ERR_BACKEND;
    return s->ops->feed_delete(s, account_id);
}

/* ---- numbers bought and released through the provider ---- */

int store_numcfg_get(struct store *s, int64_t account_id, struct st_numcfg *c)
{
    return s->ops->numcfg_get(s, account_id, c);
}

int store_numcfg_put(struct store *s, const struct st_numcfg *c)
{
    if (store__write_fault(s, "number settings put"))
        return ERR_BACKEND;
    return s->ops->numcfg_put(s, c);
}

int store_autoscale_get(struct store *s, int64_t account_id, int64_t pool_id,
                        struct st_autoscale *a)
{
    return s->ops->autoscale_get(s, account_id, pool_id, a);
}

int store_autoscale_put(struct store *s, const struct st_autoscale *a)
{
    if (store__write_fault(s, "autoscale put"))
        return ERR_BACKEND;
    return s->ops->autoscale_put(s, a);
}

int store_autoscale_list(struct store *s, store_autoscale_fn fn, void *ctx)
{
    return s->ops->autoscale_list(s, fn, ctx);
}

int store_intent_claim(struct store *s, int64_t account_id, int64_t pool_id, int64_t target_size,
                       const char *key, const char *provider, int64_t now, struct st_intent *out)
{
    if (store__write_fault(s, "intent claim"))
        return ERR_BACKEND;
    return s->ops->intent_claim(s, account_id, pool_id, target_size, key, provider, now, out);
}

int store_intent_update(struct store *s, const struct st_intent *i)
{
    if (store__write_fault(s, "intent update"))
        return ERR_BACKEND;
    return s->ops->intent_update(s, i);
}

int store_intent_list(struct store *s, int64_t account_id, int64_t pool_id, int state,
                      store_intent_fn fn, void *ctx)
{
    return s->ops->intent_list(s, account_id, pool_id, state, fn, ctx);
}

int store_intent_spend(struct store *s, int64_t account_id, int64_t month_start, int64_t *n)
{
    return s->ops->intent_spend(s, account_id, month_start, n);
}

int store_number_action_add(struct store *s, struct st_number_action *a)
{
    if (store__write_fault(s, "number action add"))
        return ERR_BACKEND;
    return s->ops->number_action_add(s, a);
}

int store_number_action_list(struct store *s, int64_t account_id, int64_t pool_id,
                             int64_t before_id, size_t max, store_number_action_fn fn, void *ctx)
{
    return s->ops->number_action_list(s, account_id, pool_id, before_id, max, fn, ctx);
}

int store_number_usage(struct store *s, int64_t account_id, int64_t pool_id,
                       store_number_usage_fn fn, void *ctx)
{
    return s->ops->number_usage(s, account_id, pool_id, fn, ctx);
}

int store_job_claim(struct store *s, const char *name, const char *holder, int64_t now,
                    int64_t until, bool *got)
{
    if (store__write_fault(s, "job claim"))
        return ERR_BACKEND;
    return s->ops->job_claim(s, name, holder, now, until, got);
}
