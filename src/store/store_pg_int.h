/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared by the PostgreSQL backend's files (store_pg*.c) only: its store struct, the connection
 * per thread, the per-connection prepared statements, parameter and column helpers, and the
 * functions its ops table (store_pg_ops) points at. With store_pg*.c, the only files that name
 * libpq.
 * THREADING: a struct pconn is used only by the thread that opened it; the store's list of
 * connections is guarded by store_pg.mu and only walked at close. */
#ifndef OPENDNI_STORE_STORE_PG_INT_H
#define OPENDNI_STORE_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/log.h"
#include "store/store.h"
#include "store/store_int.h"

#define STORE_PG__MAX_STMTS 256 /* prepared statements per connection */
#define STORE_PG__MAX_CONNS 64  /* connections per store (one per thread that uses it) */
#define STORE_PG__MAX_ARGS 32   /* parameters per statement */

/* One connection, owned by one thread. Statement i of stmts is prepared on it as "s<i>". */
struct pconn {
    PGconn *pg;
    struct store *store;
    struct pconn *next;
    bool read_only; /* the test binary's store_readonly fault is applied to this session */
    bool listening; /* LISTEN opendni_events was run on this session (store_notify_wait) */
    size_t n_stmts;
    const char *stmts[STORE_PG__MAX_STMTS]; /* the SQL text, keyed by its address */
};

/* The PostgreSQL store: the common head first (store_int.h), then the backend's own state. */
struct store_pg {
    struct store base;
    char *url;       /* as given: never logged (it may hold a password) */
    char *safe_url;  /* the URL with any password masked, for messages */
    uint64_t serial; /* tells this store's connections apart in the per-thread cache */
    pthread_mutex_t mu;
    struct pconn *conns;
    size_t n_conns;
    atomic_bool serving; /* store_serve_begin was called */
    /* While the server is unreachable, threads do not each try to connect on every statement:
     * after a failed attempt the others fail at once until this monotonic time (ms). */
    atomic_int_fast64_t retry_at;
    /* Logging of repeated failures: one line per condition per STORE_PG__LOG_EVERY_MS, by
     * SQLSTATE class (slot 0: no SQLSTATE, e.g. a lost connection). */
    struct log_throttle err_log[32];
};

/* A failure that repeats (every write of a read-only database) is logged once per this
 * interval, with the count of lines held back (as the SQLite backend). */
#define STORE_PG__LOG_EVERY_MS 10000

/* The PostgreSQL store behind s (s must come from store_pg__open). */
static inline struct store_pg *store__pg(struct store *s)
{
    return (struct store_pg *)s;
}

/* Parameters of one statement, as text (libpq's text format). Strings are not copied: they must
 * outlive the statement's execution. */
struct pgargs {
    int n;
    const char *v[STORE_PG__MAX_ARGS];
    char num[STORE_PG__MAX_ARGS][32];
};

void store__pg_text(struct pgargs *a, const char *v); /* NULL or "" binds "" */
void store__pg_opt(struct pgargs *a, const char *v);  /* NULL or "" binds NULL */
void store__pg_i64(struct pgargs *a, int64_t v);
void store__pg_id(struct pgargs *a, int64_t id); /* 0 binds NULL */
void store__pg_f64(struct pgargs *a, double v);
void store__pg_null(struct pgargs *a);

/* The calling thread's connection, opened on first use (or reset after it broke); NULL (and
 * counted) on failure. */
struct pconn *store__pg_conn(struct store *s);
/* Whether the calling thread's connection is inside a transaction (false without one). */
bool store__pg_in_tx(struct store *s);
/* Runs sql (a string literal: prepared once per connection, cached by address) with a's
 * parameters on the calling thread's connection. Returns ERR_OK, ERR_CONFLICT (an integrity
 * constraint: unique, foreign key, check) or ERR_BACKEND (counted and logged as `what`).
 * out: *res on ERR_OK when res is non-NULL (free with PQclear). */
int store__pg_exec(struct store *s, const char *sql, const struct pgargs *a, PGresult **res,
                   const char *what);
/* As store__pg_exec for a query of at most one row: ERR_NOTFOUND (and no *res) without a row. */
int store__pg_row(struct store *s, const char *sql, const struct pgargs *a, PGresult **res,
                  const char *what);
/* Runs n statements (sql[i], each a string literal as for store__pg_exec, with a[i]) in one
 * pipeline: one round trip, in order, inside the caller's transaction if there is one (a
 * failed statement aborts it, and the ones after it are not run). fn(ctx, i, r) is called for
 * each statement's result (its rows) while no statement failed. Returns as store__pg_exec: the
 * first failure's code. */
typedef void (*store__pg_result_fn)(void *ctx, size_t i, const PGresult *r);
int store__pg_pipeline(struct store *s, size_t n, const char *const *sql, const struct pgargs *a,
                       store__pg_result_fn fn, void *ctx, const char *what);
/* Runs a statement and gives the rows it changed. out: *n. */
int store__pg_changes(struct store *s, const char *sql, const struct pgargs *a, int64_t *n,
                      const char *what);

/* Column readers: NULL reads as 0, none, false or "". */
int64_t store__pg_col_i64(const PGresult *r, int row, int col);
int64_t store__pg_col_opt(const PGresult *r, int row, int col, int64_t none);
double store__pg_col_f64(const PGresult *r, int row, int col);
bool store__pg_col_bool(const PGresult *r, int row, int col);
void store__pg_col_text(const PGresult *r, int row, int col, char *dst, size_t cap);

/* A random external id "prefix" + 16 base32 chars (80 bits). */
void store__pg_new_ext_id(const char *prefix, char out[STORE_ID_MAX]);

/* ---- the operations (store_pg_ops) ----
 * Each store_pg__<op> implements store_<op> of store.h with the same contract. */

bool store_pg__handles(const char *url);
int store_pg__open(const char *url, struct store **s, struct errbuf *eb);
void store_pg__close(struct store *s);
int store_pg__migrate(struct store *s, int64_t now, int *version, struct errbuf *eb);
int store_pg__check(struct store *s, struct errbuf *eb);
int store_pg__verify(struct store *s, bool full, struct errbuf *eb);
int store_pg__backup(struct store *s, const char *dest, struct errbuf *eb);
int store_pg__writable(struct store *s, int64_t now, struct errbuf *eb);
int store_pg__config_version(struct store *s, int64_t *version);
int store_pg__notify(struct store *s, const char *payload);
int store_pg__notify_wait(struct store *s, int timeout_ms, store_notify_fn fn, void *ctx);
int store_pg__serve_begin(struct store *s, int64_t now, struct errbuf *eb);
int store_pg__begin(struct store *s);
int store_pg__commit(struct store *s);
void store_pg__rollback(struct store *s);
int store_pg__read_begin(struct store *s);
void store_pg__read_end(struct store *s);
int store_pg__savepoint(struct store *s);
int store_pg__savepoint_release(struct store *s);
void store_pg__savepoint_rollback(struct store *s);
int store_pg__savepoints_max(struct store *s);
int store_pg__account_create(struct store *s, const char *ext_id, const char *name,
                             const char *const *origins, size_t n_origins, const char *key_hash,
                             int64_t now, struct st_account *a, struct errbuf *eb);
int store_pg__account_get(struct store *s, const char *ext_id, struct st_account *a);
int store_pg__account_by_id(struct store *s, int64_t id, struct st_account *a);
int store_pg__api_key_add(struct store *s, int64_t account_id, const char *key_hash, int64_t now);
int store_pg__api_key_revoke_others(struct store *s, int64_t account_id, const char *keep_hash,
                                    int64_t now, int64_t *n_revoked);
int store_pg__account_by_key(struct store *s, const char *key_hash, struct st_account *a);
int store_pg__account_set_settings(struct store *s, int64_t id, const char *settings_json);
int store_pg__account_list(struct store *s, store_account_fn fn, void *ctx);
int store_pg__api_key_list(struct store *s, int64_t account_id, store_api_key_fn fn, void *ctx);
int store_pg__api_key_revoke(struct store *s, int64_t account_id, int64_t key_id, int64_t now);
int store_pg__origin_add(struct store *s, int64_t account_id, const char *origin);
int store_pg__origin_delete(struct store *s, int64_t account_id, const char *origin);
int store_pg__account_origins(struct store *s, int64_t account_id, store_origin_fn fn, void *ctx);
int store_pg__origin_exists(struct store *s, const char *origin, bool *exists);
int store_pg__pool_create(struct store *s, struct st_pool *p, int64_t now, struct errbuf *eb);
int store_pg__pool_get(struct store *s, int64_t account_id, const char *ext_id, struct st_pool *p);
int store_pg__pool_by_id(struct store *s, int64_t account_id, int64_t id, struct st_pool *p);
int store_pg__pool_update(struct store *s, const struct st_pool *p, struct errbuf *eb);
int store_pg__pool_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now);
int store_pg__pool_list(struct store *s, int64_t account_id, store_pool_fn fn, void *ctx);
int store_pg__pool_set_counters(struct store *s, int64_t account_id, int64_t pool_id,
                                int64_t exhaustion_events, int64_t peak_concurrent);
int store_pg__number_create(struct store *s, struct st_number *n, int64_t now, struct errbuf *eb);
int store_pg__number_get(struct store *s, int64_t account_id, const char *ext_id,
                         struct st_number *n);
int store_pg__number_by_id(struct store *s, int64_t account_id, int64_t id, struct st_number *n);
int store_pg__number_by_e164(struct store *s, const char *e164, struct st_number *n);
int store_pg__number_update(struct store *s, const struct st_number *n, int64_t now,
                            struct errbuf *eb);
int store_pg__number_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now);
int store_pg__number_list(struct store *s, int64_t account_id, int64_t pool_id, store_number_fn fn,
                          void *ctx);
int store_pg__rule_create(struct store *s, struct st_rule *r, int64_t now, struct errbuf *eb);
int store_pg__rule_update(struct store *s, struct st_rule *r, struct errbuf *eb);
int store_pg__rule_delete(struct store *s, int64_t account_id, const char *ext_id);
int store_pg__rule_list(struct store *s, int64_t account_id, store_rule_fn fn, void *ctx);
int store_pg__session_put(struct store *s, struct st_session *ss);
int store_pg__session_get(struct store *s, const char *ext_id, struct st_session *ss);
int store_pg__session_by_id(struct store *s, int64_t account_id, int64_t id, struct st_session *ss);
int store_pg__lease_add(struct store *s, struct st_lease *l);
int store_pg__visits_add(struct store *s, struct st_visit_add *v, size_t n);
int store_pg__lease_renew(struct store *s, int64_t account_id, int64_t session_id,
                          int64_t number_id, int64_t last_active_at, int64_t expires_at);
int store_pg__lease_delete(struct store *s, int64_t account_id, int64_t session_id,
                           int64_t number_id, int64_t leased_at);
int store_pg__session_held(struct store *s, int64_t account_id, int64_t session_id,
                           int64_t number_id, bool *held);
int store_pg__session_leases(struct store *s, int64_t account_id, int64_t session_id,
                             store_lease_fn fn, void *ctx);
int store_pg__lease_claim(struct store *s, int64_t account_id, int64_t pool_id,
                          const char *session_ext_id, int64_t prev_number_id, int64_t now,
                          struct st_lease_claim *out);
int store_pg__lease_note(struct store *s, int64_t account_id, int64_t pool_id,
                         const char *session_ext_id, int64_t number_id, unsigned signals,
                         int64_t now);
int store_pg__lease_touch(struct store *s, int64_t account_id, int64_t pool_id,
                          const char *session_ext_id, int64_t now, struct st_lease_claim *out);
int store_pg__lease_release(struct store *s, int64_t account_id, int64_t pool_id,
                            const struct st_lease_claim *claim, int64_t now);
void store_pg__lease_times(struct store *s, const struct st_lease *l, int64_t now,
                           int64_t *last_active_at, int64_t *ends_at);
int store_pg__pool_stats(struct store *s, int64_t account_id, int64_t pool_id, int64_t now,
                         struct pool_stats *out);
int store_pg__lease_range(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                          int64_t until, size_t max, store_lease_fn fn, void *ctx);
int store_pg__lease_list_live(struct store *s, int64_t account_id, int64_t pool_id, int64_t at,
                              store_lease_fn fn, void *ctx);
int store_pg__lease_history(struct store *s, int64_t account_id, int64_t number_id, int64_t since,
                            size_t max, store_lease_fn fn, void *ctx);
int store_pg__event_add(struct store *s, const struct st_event *e);
int store_pg__event_last_detail(struct store *s, int64_t account_id, int64_t session_id,
                                const char *type, char *detail, size_t cap);
int store_pg__event_last(struct store *s, int64_t account_id, int64_t session_id, const char *type,
                         const char *number, int64_t before, int64_t *at);
int store_pg__event_list(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                         store_event_fn fn, void *ctx);
int store_pg__page_view_add(struct store *s, const struct st_page_view *pv, bool dedupe,
                            bool *added);
int store_pg__page_view_list(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                             store_page_view_fn fn, void *ctx);
int store_pg__count(struct store *s, const char *table, int64_t *n);
int store_pg__call_insert(struct store *s, struct st_call *c);
int store_pg__call_by_provider(struct store *s, const char *provider, const char *provider_call_id,
                               struct st_call *c);
int store_pg__call_get(struct store *s, int64_t account_id, const char *ext_id, struct st_call *c);
int store_pg__call_by_id(struct store *s, int64_t account_id, int64_t id, struct st_call *c);
int store_pg__call_update(struct store *s, const struct st_call *c);
int store_pg__call_recording_put(struct store *s, int64_t account_id, int64_t call_id,
                                 const char *url, int64_t duration_s);
int store_pg__call_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                        int64_t after_at, int64_t after_id, size_t max, store_call_fn fn,
                        void *ctx);
int store_pg__call_caller(struct store *s, int64_t account_id, const char *from, int64_t before_id,
                          struct st_caller *out);
int store_pg__call_session_credited(struct store *s, int64_t account_id, int64_t session_id,
                                    int64_t before, bool *out);
int store_pg__conversion_add(struct store *s, struct st_conversion *cv);
int store_pg__conversion_by_call(struct store *s, int64_t account_id, int64_t call_id,
                                 struct st_conversion *cv);
int store_pg__pool_by_fallback(struct store *s, const char *e164, struct st_pool *p);
int store_pg__call_outcome_get(struct store *s, int64_t account_id, int64_t call_id,
                               struct st_call_outcome *o);
int store_pg__call_outcome_put(struct store *s, const struct st_call_outcome *o);
/* routing (store_pg_route.c) */
int store_pg__route_doc_put(struct store *s, struct st_route_doc *d);
int store_pg__route_doc_get(struct store *s, int64_t account_id, const char *kind,
                            const char *ext_id, struct st_route_doc *d);
int store_pg__route_doc_by_attach(struct store *s, int64_t account_id, const char *attach,
                                  struct st_route_doc *d);
int store_pg__route_doc_list(struct store *s, int64_t account_id, const char *kind,
                             store_route_doc_fn fn, void *ctx);
int store_pg__route_doc_delete(struct store *s, int64_t account_id, const char *kind,
                               const char *ext_id);
int store_pg__route_counter_next(struct store *s, int64_t account_id, const char *key, int64_t *n);
int store_pg__publisher_put(struct store *s, struct st_publisher *p);
int store_pg__publisher_get(struct store *s, int64_t account_id, const char *ext_id,
                            struct st_publisher *p);
int store_pg__publisher_list(struct store *s, int64_t account_id, store_publisher_fn fn, void *ctx);
int store_pg__publisher_delete(struct store *s, int64_t account_id, const char *ext_id);
int store_pg__call_payout_record(struct store *s, int64_t account_id, const char *provider,
                                 const char *provider_call_id, int64_t now);
int store_pg__call_route_put(struct store *s, const struct st_call_route *r);
int store_pg__call_route_get(struct store *s, const char *provider, const char *call_sid,
                             struct st_call_route *r);
int store_pg__call_route_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                              store_call_route_fn fn, void *ctx);
int store_pg__route_counts(struct store *s, int64_t account_id, const char *plan,
                           const char *day_prefix, int64_t live_since, store_route_count_fn fn,
                           void *ctx);
int store_pg__provider_cred_set(struct store *s, int64_t account_id, const char *provider,
                                const char *account_sid, const char *secret, int64_t now);
int store_pg__provider_cred_get(struct store *s, int64_t account_id, const char *provider,
                                struct st_provider_cred *c);
int store_pg__provider_cred_find(struct store *s, const char *provider, const char *account_sid,
                                 store_provider_cred_fn fn, void *ctx);
int store_pg__provider_cred_list(struct store *s, int64_t account_id, store_provider_cred_fn fn,
                                 void *ctx);
int store_pg__report_calls(struct store *s, int64_t account_id, int64_t since, int64_t until,
                           unsigned need, store_report_call_fn fn, void *ctx);
int store_pg__report_conversions(struct store *s, int64_t account_id, int64_t since, int64_t until,
                                 store_report_conversion_fn fn, void *ctx);
int store_pg__report_sessions(struct store *s, int64_t account_id, int64_t since, int64_t until,
                              int64_t min_duration_s, store_report_session_fn fn, void *ctx);
int store_pg__report_cohort(struct store *s, int64_t account_id, int64_t since, int64_t until,
                            store_report_cohort_fn fn, void *ctx);
int store_pg__report_session_calls(struct store *s, int64_t account_id, int64_t since,
                                   int64_t until, bool by_first, int64_t min_duration_s,
                                   store_report_session_call_fn fn, void *ctx);
int store_pg__spend_replace(struct store *s, int64_t account_id, const char *platform,
                            const char *currency, const struct st_spend_row *rows, size_t n,
                            int64_t now);
int store_pg__spend_list(struct store *s, int64_t account_id, const char *since_day,
                         const char *until_day, store_spend_fn fn, void *ctx);
int store_pg__export_trace(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                           store_trace_fn fn, void *ctx);

/* store_pg_users.c */
int store_pg__user_create(struct store *s, struct st_user *u, int64_t now);
int store_pg__user_get(struct store *s, const char *email, struct st_user *u);
int store_pg__user_by_id(struct store *s, int64_t id, struct st_user *u);
int store_pg__user_set_password(struct store *s, int64_t user_id, const char *password_hash,
                                int64_t now);
int store_pg__user_delete(struct store *s, int64_t user_id);
int store_pg__user_list(struct store *s, store_user_fn fn, void *ctx);
int store_pg__membership_set(struct store *s, int64_t user_id, int64_t account_id, const char *role,
                             int64_t now);
int store_pg__membership_delete(struct store *s, int64_t user_id, int64_t account_id);
int store_pg__membership_list(struct store *s, int64_t user_id, int64_t account_id,
                              store_membership_fn fn, void *ctx);
int store_pg__app_session_create(struct store *s, struct st_app_session *ss);
int store_pg__app_session_get(struct store *s, const char *token_hash, struct st_app_session *ss);
int store_pg__app_session_update(struct store *s, int64_t id, int64_t account_id,
                                 int64_t last_seen_at);
int store_pg__app_session_delete(struct store *s, const char *token_hash);
int store_pg__app_session_delete_user(struct store *s, int64_t user_id, int64_t *n);
int store_pg__app_session_purge(struct store *s, int64_t idle_before, int64_t now, int64_t *n);
int store_pg__audit_add(struct store *s, struct st_audit *a);
int store_pg__audit_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                         store_audit_fn fn, void *ctx);
/* store_pg_outbox.c */
int store_pg__destination_add(struct store *s, struct st_destination *d);
int store_pg__destination_get(struct store *s, int64_t account_id, const char *ext_id,
                              struct st_destination *d);
int store_pg__destination_list(struct store *s, int64_t account_id, store_destination_fn fn,
                               void *ctx);
int store_pg__destination_delete(struct store *s, int64_t account_id, const char *ext_id,
                                 int64_t now);
int store_pg__destination_result(struct store *s, int64_t account_id, int64_t id, bool ok,
                                 int64_t now, int64_t disable_after_ms, const char *error,
                                 bool *disabled);
int store_pg__destination_enable(struct store *s, int64_t account_id, const char *ext_id);
int store_pg__destination_secret_set(struct store *s, int64_t account_id, const char *ext_id,
                                     const char *sealed);
int store_pg__outbox_add(struct store *s, struct st_outbox_msg *m, const int64_t *destination_ids,
                         size_t n);
int store_pg__outbox_claim_batch(struct store *s, int64_t account_id, int64_t destination_id,
                                 int64_t now, int64_t lease_until, const char *owner, size_t max,
                                 store_outbox_fn fn, void *ctx);
int store_pg__outbox_claim(struct store *s, int64_t now, int64_t lease_until, const char *owner,
                           int64_t per_dest, size_t max, store_outbox_fn fn, void *ctx);
int store_pg__outbox_batch_done(struct store *s, int64_t account_id, int64_t destination_id,
                                const char *owner);
int store_pg__outbox_finish(struct store *s, int64_t id, const char *owner,
                            const struct st_delivery *d, int state, int64_t next_at);
int store_pg__outbox_requeue(struct store *s, int64_t account_id, int64_t destination_id,
                             const char *event_id, int64_t now);
int store_pg__outbox_get(struct store *s, int64_t account_id, int64_t destination_id,
                         const char *event_id, struct st_outbox_msg *m);
int store_pg__delivery_list(struct store *s, int64_t account_id, int64_t destination_id,
                            int64_t before_id, size_t max, store_delivery_fn fn, void *ctx);
int store_pg__alert_observe(struct store *s, int64_t account_id, const char *key, int64_t value,
                            int64_t now, int64_t cooldown_ms, bool *fired);

int store_pg__erase(struct store *s, struct st_erasure *e, const char *subject);
int store_pg__erase_flush(struct store *s, struct errbuf *eb);
int store_pg__erasure_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                           store_erasure_fn fn, void *ctx);
int store_pg__purge(struct store *s, int64_t account_id, const struct st_retention *r, size_t max,
                    struct st_purged *n, bool *busy);
int store_pg__traffic_add(struct store *s, int64_t account_id, int64_t bucket_at,
                          int64_t page_views, int64_t swap_misses, int64_t purge_before);
int store_pg__traffic_sum(struct store *s, int64_t account_id, int64_t since, int64_t *page_views,
                          int64_t *swap_misses);

int store_pg__feed_set(struct store *s, int64_t account_id, const char *ext_id,
                       const char *secret_hash, int64_t now);
int store_pg__feed_account(struct store *s, const char *ext_id, struct st_account *a,
                           char secret_hash[65]);
int store_pg__feed_delete(struct store *s, int64_t account_id);
/* Called once per claim and per stored lease on the calling thread's connection: when the
 * thread's count reaches 64, 128, 256, ... its session's cached plans are dropped (DISCARD PLANS)
 * and made again at the tables' current sizes (store_pg_lease.c). */
void store__pg_replan_tick(struct store *s);
/* store_pg_numbers.c */
int store_pg__numcfg_get(struct store *s, int64_t account_id, struct st_numcfg *c);
int store_pg__numcfg_put(struct store *s, const struct st_numcfg *c);
int store_pg__autoscale_get(struct store *s, int64_t account_id, int64_t pool_id,
                            struct st_autoscale *a);
int store_pg__autoscale_put(struct store *s, const struct st_autoscale *a);
int store_pg__autoscale_list(struct store *s, store_autoscale_fn fn, void *ctx);
int store_pg__intent_claim(struct store *s, int64_t account_id, int64_t pool_id,
                           int64_t target_size, const char *key, const char *provider, int64_t now,
                           struct st_intent *out);
int store_pg__intent_update(struct store *s, const struct st_intent *i);
int store_pg__intent_list(struct store *s, int64_t account_id, int64_t pool_id, int state,
                          store_intent_fn fn, void *ctx);
int store_pg__intent_spend(struct store *s, int64_t account_id, int64_t month_start, int64_t *n);
int store_pg__number_action_add(struct store *s, struct st_number_action *a);
int store_pg__number_action_list(struct store *s, int64_t account_id, int64_t pool_id,
                                 int64_t before_id, size_t max, store_number_action_fn fn,
                                 void *ctx);
int store_pg__number_usage(struct store *s, int64_t account_id, int64_t pool_id,
                           store_number_usage_fn fn, void *ctx);
int store_pg__job_claim(struct store *s, const char *name, const char *holder, int64_t now,
                        int64_t until, bool *got);

#endif
