/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared by the SQLite backend's files (store_sqlite*.c) only: its store struct, the connection
 * per thread, the prepared-statement cache, small binding helpers, and the functions its ops
 * table (store_sqlite_ops) points at. The only header besides those files that names sqlite3.
 * THREADING: a struct sconn is used only by the thread that opened it; the store's list of
 * connections is guarded by store_sqlite.mu and only walked at close. */
#ifndef OPENDNI_STORE_STORE_SQLITE_INT_H
#define OPENDNI_STORE_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "base/log.h"
#include "store/store.h"
#include "store/store_int.h"

#define STORE__MAX_STMTS 160

struct sconn {
    sqlite3 *db;
    struct store *store;
    struct sconn *next;
    bool query_only; /* the test binary's store_readonly fault is applied to this connection */
    size_t n_stmts;
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } stmts[STORE__MAX_STMTS];
};

/* The SQLite store: the common head first (store_int.h), then the backend's own state. */
struct store_sqlite {
    struct store base;
    char *path;
    uint64_t serial; /* tells this store's connections apart in the per-thread cache */
    pthread_mutex_t mu;
    struct sconn *conns;
    /* Serving (store_serve_begin; store_sqlite_serve.c): set once before other threads start. */
    atomic_bool serving;
    int lock_fd;                 /* PATH.lock, flock()ed while serving; -1 otherwise */
    struct store_leases *leases; /* the lease engines while serving, else NULL */
    pthread_t checkpointer;
    pthread_mutex_t ck_mu; /* guards ck_stop; ck_cv wakes the checkpointer to stop */
    pthread_cond_t ck_cv;
    bool ck_stop;
    /* Logging of repeated failures: one line per condition per STORE__LOG_EVERY_MS. */
    struct log_throttle err_log[32]; /* store__err, by SQLite primary result code */
    struct log_throttle ck_log;      /* the checkpointer */
};

/* A failure that repeats (every write of a read-only store) is logged once per this interval,
 * with the count of lines held back. */
#define STORE__LOG_EVERY_MS 10000

/* The SQLite store behind s (s must come from store_sqlite__open). */
static inline struct store_sqlite *store__sqlite(struct store *s)
{
    return (struct store_sqlite *)s;
}

/* The calling thread's connection, opened on first use; NULL (and counted) on failure. */
struct sconn *store__conn(struct store *s);
/* A reset, cleared prepared statement for sql (a string literal: cached by address). */
sqlite3_stmt *store__prep(struct sconn *c, const char *sql);
/* Maps a SQLite result code to enum err, counting and logging backend errors. */
int store__err(struct sconn *c, int rc, const char *what);
/* Runs a statement with no result rows: ERR_OK, ERR_CONFLICT (constraint) or ERR_BACKEND. */
int store__exec(struct sconn *c, sqlite3_stmt *st, const char *what);

/* Text is bound without a copy: v must stay valid until the statement is stepped and reset. */
void store__bind_text(sqlite3_stmt *st, int i, const char *v);        /* "" binds "" */
void store__bind_opt(sqlite3_stmt *st, int i, const char *v);         /* NULL or "" binds NULL */
void store__bind_id(sqlite3_stmt *st, int i, int64_t id);             /* 0 binds NULL */
void store__col_text(sqlite3_stmt *st, int i, char *dst, size_t cap); /* NULL reads "" */

/* Tunes a new connection of a serving store (its WAL autocheckpoint size). */
void store__serve_tune(sqlite3 *db);
/* Ends serving (stops the checkpointer, releases the lock file); a no-op if not serving.
 * Called by store_close before it closes the connections. */
void store__serve_end(struct store_sqlite *sq);

/* ---- the lease engines of a serving store (store_sqlite_lease.c) ----
 * THREADING: safe from any thread; they hold no lock while a store query runs. */
struct store_leases;

/* Builds an engine for every pool in the store with its numbers and live leases, as of now.
 * out: *out, free with store__leases_free. */
int store__leases_load(struct store *s, int64_t now, struct store_leases **out);
/* NULL ok. */
void store__leases_free(struct store_leases *e);
/* Adds or reconfigures the engine of a pool. */
void store__leases_pool_put(struct store_leases *e, const struct st_pool *p);
/* Drops a pool's engine (a no-op for an unknown pool). */
void store__leases_pool_remove(struct store_leases *e, int64_t pool_id);
/* Adds a pool number to its pool's engine: ERR_NOTFOUND for an unknown pool, ERR_CONFLICT if
 * it is already there. */
int store__leases_number_add(struct store_leases *e, const struct st_number *n);
/* Takes a number out of its pool's engine: ERR_CONFLICT (nothing changes) while a live lease at
 * now holds it, ERR_NOTFOUND if unknown. */
int store__leases_number_remove(struct store_leases *e, int64_t pool_id, int64_t number_id,
                                int64_t now);
/* Whether a live lease at now holds the number in its pool's engine (false if unknown). */
bool store__leases_number_live(struct store_leases *e, int64_t pool_id, int64_t number_id,
                               int64_t now);

/* Whether path names a file (not ":memory:" or a "file:" URI) that does not exist. */
bool store__missing(const char *path);

/* A random external id "prefix" + 16 base32 chars (80 bits). */
void store__new_ext_id(const char *prefix, char out[STORE_ID_MAX]);

/* ---- the operations (store_sqlite_ops) ----
 * Each store_sqlite__<op> implements store_<op> of store.h with the same contract. */

bool store_sqlite__handles(const char *url);
int store_sqlite__open(const char *url, struct store **s, struct errbuf *eb);
void store_sqlite__close(struct store *s);
int store_sqlite__migrate(struct store *s, int64_t now, int *version, struct errbuf *eb);
int store_sqlite__check(struct store *s, struct errbuf *eb);
int store_sqlite__verify(struct store *s, bool full, struct errbuf *eb);
int store_sqlite__backup(struct store *s, const char *dest, struct errbuf *eb);
int store_sqlite__writable(struct store *s, int64_t now, struct errbuf *eb);
int store_sqlite__config_version(struct store *s, int64_t *version);
int store_sqlite__notify(struct store *s, const char *payload);
int store_sqlite__notify_wait(struct store *s, int timeout_ms, store_notify_fn fn, void *ctx);
int store_sqlite__serve_begin(struct store *s, int64_t now, struct errbuf *eb);
int store_sqlite__begin(struct store *s);
int store_sqlite__commit(struct store *s);
void store_sqlite__rollback(struct store *s);
int store_sqlite__read_begin(struct store *s);
void store_sqlite__read_end(struct store *s);
int store_sqlite__savepoint(struct store *s);
int store_sqlite__savepoint_release(struct store *s);
void store_sqlite__savepoint_rollback(struct store *s);
int store_sqlite__savepoints_max(struct store *s);
int store_sqlite__account_create(struct store *s, const char *ext_id, const char *name,
                                 const char *const *origins, size_t n_origins, const char *key_hash,
                                 int64_t now, struct st_account *a, struct errbuf *eb);
int store_sqlite__account_get(struct store *s, const char *ext_id, struct st_account *a);
int store_sqlite__account_by_id(struct store *s, int64_t id, struct st_account *a);
int store_sqlite__api_key_add(struct store *s, int64_t account_id, const char *key_hash,
                              int64_t now);
int store_sqlite__api_key_revoke_others(struct store *s, int64_t account_id, const char *keep_hash,
                                        int64_t now, int64_t *n_revoked);
int store_sqlite__account_by_key(struct store *s, const char *key_hash, struct st_account *a);
int store_sqlite__account_set_settings(struct store *s, int64_t id, const char *settings_json);
int store_sqlite__account_list(struct store *s, store_account_fn fn, void *ctx);
int store_sqlite__api_key_list(struct store *s, int64_t account_id, store_api_key_fn fn, void *ctx);
int store_sqlite__api_key_revoke(struct store *s, int64_t account_id, int64_t key_id, int64_t now);
int store_sqlite__origin_add(struct store *s, int64_t account_id, const char *origin);
int store_sqlite__origin_delete(struct store *s, int64_t account_id, const char *origin);
int store_sqlite__account_origins(struct store *s, int64_t account_id, store_origin_fn fn,
                                  void *ctx);
int store_sqlite__origin_exists(struct store *s, const char *origin, bool *exists);
int store_sqlite__pool_create(struct store *s, struct st_pool *p, int64_t now, struct errbuf *eb);
int store_sqlite__pool_get(struct store *s, int64_t account_id, const char *ext_id,
                           struct st_pool *p);
int store_sqlite__pool_by_id(struct store *s, int64_t account_id, int64_t id, struct st_pool *p);
int store_sqlite__pool_update(struct store *s, const struct st_pool *p, struct errbuf *eb);
int store_sqlite__pool_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now);
int store_sqlite__pool_list(struct store *s, int64_t account_id, store_pool_fn fn, void *ctx);
int store_sqlite__pool_set_counters(struct store *s, int64_t account_id, int64_t pool_id,
                                    int64_t exhaustion_events, int64_t peak_concurrent);
int store_sqlite__number_create(struct store *s, struct st_number *n, int64_t now,
                                struct errbuf *eb);
int store_sqlite__number_get(struct store *s, int64_t account_id, const char *ext_id,
                             struct st_number *n);
int store_sqlite__number_by_id(struct store *s, int64_t account_id, int64_t id,
                               struct st_number *n);
int store_sqlite__number_by_e164(struct store *s, const char *e164, struct st_number *n);
int store_sqlite__number_update(struct store *s, const struct st_number *n, int64_t now,
                                struct errbuf *eb);
int store_sqlite__number_delete(struct store *s, int64_t account_id, const char *ext_id,
                                int64_t now);
int store_sqlite__number_list(struct store *s, int64_t account_id, int64_t pool_id,
                              store_number_fn fn, void *ctx);
int store_sqlite__rule_create(struct store *s, struct st_rule *r, int64_t now, struct errbuf *eb);
int store_sqlite__rule_update(struct store *s, struct st_rule *r, struct errbuf *eb);
int store_sqlite__rule_delete(struct store *s, int64_t account_id, const char *ext_id);
int store_sqlite__rule_list(struct store *s, int64_t account_id, store_rule_fn fn, void *ctx);
int store_sqlite__session_put(struct store *s, struct st_session *ss);
int store_sqlite__session_get(struct store *s, const char *ext_id, struct st_session *ss);
int store_sqlite__session_by_id(struct store *s, int64_t account_id, int64_t id,
                                struct st_session *ss);
int store_sqlite__lease_add(struct store *s, struct st_lease *l);
int store_sqlite__visits_add(struct store *s, struct st_visit_add *v, size_t n);
int store_sqlite__lease_renew(struct store *s, int64_t account_id, int64_t session_id,
                              int64_t number_id, int64_t last_active_at, int64_t expires_at);
int store_sqlite__lease_delete(struct store *s, int64_t account_id, int64_t session_id,
                               int64_t number_id, int64_t leased_at);
int store_sqlite__lease_release(struct store *s, int64_t account_id, int64_t pool_id,
                                const struct st_lease_claim *claim, int64_t now);
int store_sqlite__session_leases(struct store *s, int64_t account_id, int64_t session_id,
                                 store_lease_fn fn, void *ctx);
int store_sqlite__session_held(struct store *s, int64_t account_id, int64_t session_id,
                               int64_t number_id, bool *held);
int store_sqlite__lease_claim(struct store *s, int64_t account_id, int64_t pool_id,
                              const char *session_ext_id, int64_t prev_number_id, int64_t now,
                              struct st_lease_claim *out);
int store_sqlite__lease_note(struct store *s, int64_t account_id, int64_t pool_id,
                             const char *session_ext_id, int64_t number_id, unsigned signals,
                             int64_t now);
int store_sqlite__lease_touch(struct store *s, int64_t account_id, int64_t pool_id,
                              const char *session_ext_id, int64_t now, struct st_lease_claim *out);
void store_sqlite__lease_times(struct store *s, const struct st_lease *l, int64_t now,
                               int64_t *last_active_at, int64_t *ends_at);
int store_sqlite__pool_stats(struct store *s, int64_t account_id, int64_t pool_id, int64_t now,
                             struct pool_stats *out);
int store_sqlite__lease_range(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                              int64_t until, size_t max, store_lease_fn fn, void *ctx);
int store_sqlite__lease_list_live(struct store *s, int64_t account_id, int64_t pool_id, int64_t at,
                                  store_lease_fn fn, void *ctx);
int store_sqlite__lease_history(struct store *s, int64_t account_id, int64_t number_id,
                                int64_t since, size_t max, store_lease_fn fn, void *ctx);
int store_sqlite__event_add(struct store *s, const struct st_event *e);
int store_sqlite__event_last_detail(struct store *s, int64_t account_id, int64_t session_id,
                                    const char *type, char *detail, size_t cap);
int store_sqlite__event_last(struct store *s, int64_t account_id, int64_t session_id,
                             const char *type, const char *number, int64_t before, int64_t *at);
int store_sqlite__event_list(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                             store_event_fn fn, void *ctx);
int store_sqlite__page_view_add(struct store *s, const struct st_page_view *pv, bool dedupe,
                                bool *added);
int store_sqlite__page_view_list(struct store *s, int64_t account_id, int64_t session_id,
                                 size_t max, store_page_view_fn fn, void *ctx);
int store_sqlite__count(struct store *s, const char *table, int64_t *n);
int store_sqlite__call_insert(struct store *s, struct st_call *c);
int store_sqlite__call_by_provider(struct store *s, const char *provider,
                                   const char *provider_call_id, struct st_call *c);
int store_sqlite__call_get(struct store *s, int64_t account_id, const char *ext_id,
                           struct st_call *c);
int store_sqlite__call_by_id(struct store *s, int64_t account_id, int64_t id, struct st_call *c);
int store_sqlite__call_update(struct store *s, const struct st_call *c);
int store_sqlite__call_recording_put(struct store *s, int64_t account_id, int64_t call_id,
                                     const char *url, int64_t duration_s);
int store_sqlite__call_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                            int64_t after_at, int64_t after_id, size_t max, store_call_fn fn,
                            void *ctx);
int store_sqlite__call_caller(struct store *s, int64_t account_id, const char *from,
                              int64_t before_id, struct st_caller *out);
int store_sqlite__call_session_credited(struct store *s, int64_t account_id, int64_t session_id,
                                        int64_t before, bool *out);
int store_sqlite__conversion_add(struct store *s, struct st_conversion *cv);
int store_sqlite__conversion_by_call(struct store *s, int64_t account_id, int64_t call_id,
                                     struct st_conversion *cv);
int store_sqlite__pool_by_fallback(struct store *s, const char *e164, struct st_pool *p);
int store_sqlite__call_outcome_get(struct store *s, int64_t account_id, int64_t call_id,
                                   struct st_call_outcome *o);
int store_sqlite__call_outcome_put(struct store *s, const struct st_call_outcome *o);
/* routing (store_sqlite_route.c) */
int store_sqlite__route_doc_put(struct store *s, struct st_route_doc *d);
int store_sqlite__route_doc_get(struct store *s, int64_t account_id, const char *kind,
                                const char *ext_id, struct st_route_doc *d);
int store_sqlite__route_doc_by_attach(struct store *s, int64_t account_id, const char *attach,
                                      struct st_route_doc *d);
int store_sqlite__route_doc_list(struct store *s, int64_t account_id, const char *kind,
                                 store_route_doc_fn fn, void *ctx);
int store_sqlite__route_doc_delete(struct store *s, int64_t account_id, const char *kind,
                                   const char *ext_id);
int store_sqlite__route_counter_next(struct store *s, int64_t account_id, const char *key,
                                     int64_t *n);
int store_sqlite__publisher_put(struct store *s, struct st_publisher *p);
int store_sqlite__publisher_get(struct store *s, int64_t account_id, const char *ext_id,
                                struct st_publisher *p);
int store_sqlite__publisher_list(struct store *s, int64_t account_id, store_publisher_fn fn,
                                 void *ctx);
int store_sqlite__publisher_delete(struct store *s, int64_t account_id, const char *ext_id);
int store_sqlite__call_payout_record(struct store *s, int64_t account_id, const char *provider,
                                     const char *provider_call_id, int64_t now);
int store_sqlite__call_route_put(struct store *s, const struct st_call_route *r);
int store_sqlite__call_route_get(struct store *s, const char *provider, const char *call_sid,
                                 struct st_call_route *r);
int store_sqlite__call_route_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                                  store_call_route_fn fn, void *ctx);
int store_sqlite__route_counts(struct store *s, int64_t account_id, const char *plan,
                               const char *day_prefix, int64_t live_since, store_route_count_fn fn,
                               void *ctx);
int store_sqlite__provider_cred_set(struct store *s, int64_t account_id, const char *provider,
                                    const char *account_sid, const char *secret, int64_t now);
int store_sqlite__provider_cred_get(struct store *s, int64_t account_id, const char *provider,
                                    struct st_provider_cred *c);
int store_sqlite__provider_cred_find(struct store *s, const char *provider, const char *account_sid,
                                     store_provider_cred_fn fn, void *ctx);
int store_sqlite__provider_cred_list(struct store *s, int64_t account_id, store_provider_cred_fn fn,
                                     void *ctx);
int store_sqlite__report_calls(struct store *s, int64_t account_id, int64_t since, int64_t until,
                               unsigned need, store_report_call_fn fn, void *ctx);
int store_sqlite__report_conversions(struct store *s, int64_t account_id, int64_t since,
                                     int64_t until, store_report_conversion_fn fn, void *ctx);
int store_sqlite__report_sessions(struct store *s, int64_t account_id, int64_t since, int64_t until,
                                  int64_t min_duration_s, store_report_session_fn fn, void *ctx);
int store_sqlite__report_cohort(struct store *s, int64_t account_id, int64_t since, int64_t until,
                                store_report_cohort_fn fn, void *ctx);
int store_sqlite__report_session_calls(struct store *s, int64_t account_id, int64_t since,
                                       int64_t until, bool by_first, int64_t min_duration_s,
                                       store_report_session_call_fn fn, void *ctx);
int store_sqlite__spend_replace(struct store *s, int64_t account_id, const char *platform,
                                const char *currency, const struct st_spend_row *rows, size_t n,
                                int64_t now);
int store_sqlite__spend_list(struct store *s, int64_t account_id, const char *since_day,
                             const char *until_day, store_spend_fn fn, void *ctx);
int store_sqlite__export_trace(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                               store_trace_fn fn, void *ctx);

int store_sqlite__user_create(struct store *s, struct st_user *u, int64_t now);
int store_sqlite__user_get(struct store *s, const char *email, struct st_user *u);
int store_sqlite__user_by_id(struct store *s, int64_t id, struct st_user *u);
int store_sqlite__user_set_password(struct store *s, int64_t user_id, const char *password_hash,
                                    int64_t now);
int store_sqlite__user_delete(struct store *s, int64_t user_id);
int store_sqlite__user_list(struct store *s, store_user_fn fn, void *ctx);
int store_sqlite__membership_set(struct store *s, int64_t user_id, int64_t account_id,
                                 const char *role, int64_t now);
int store_sqlite__membership_delete(struct store *s, int64_t user_id, int64_t account_id);
int store_sqlite__membership_list(struct store *s, int64_t user_id, int64_t account_id,
                                  store_membership_fn fn, void *ctx);
int store_sqlite__app_session_create(struct store *s, struct st_app_session *ss);
int store_sqlite__app_session_get(struct store *s, const char *token_hash,
                                  struct st_app_session *ss);
int store_sqlite__app_session_update(struct store *s, int64_t id, int64_t account_id,
                                     int64_t last_seen_at);
int store_sqlite__app_session_delete(struct store *s, const char *token_hash);
int store_sqlite__app_session_delete_user(struct store *s, int64_t user_id, int64_t *n);
int store_sqlite__app_session_purge(struct store *s, int64_t idle_before, int64_t now, int64_t *n);
int store_sqlite__audit_add(struct store *s, struct st_audit *a);
int store_sqlite__audit_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                             store_audit_fn fn, void *ctx);
/* store_sqlite_outbox.c */
int store_sqlite__destination_add(struct store *s, struct st_destination *d);
int store_sqlite__destination_get(struct store *s, int64_t account_id, const char *ext_id,
                                  struct st_destination *d);
int store_sqlite__destination_list(struct store *s, int64_t account_id, store_destination_fn fn,
                                   void *ctx);
int store_sqlite__destination_delete(struct store *s, int64_t account_id, const char *ext_id,
                                     int64_t now);
int store_sqlite__destination_result(struct store *s, int64_t account_id, int64_t id, bool ok,
                                     int64_t now, int64_t disable_after_ms, const char *error,
                                     bool *disabled);
int store_sqlite__destination_enable(struct store *s, int64_t account_id, const char *ext_id);
int store_sqlite__destination_secret_set(struct store *s, int64_t account_id, const char *ext_id,
                                         const char *sealed);
int store_sqlite__outbox_add(struct store *s, struct st_outbox_msg *m,
                             const int64_t *destination_ids, size_t n);
int store_sqlite__outbox_claim_batch(struct store *s, int64_t account_id, int64_t destination_id,
                                     int64_t now, int64_t lease_until, const char *owner,
                                     size_t max, store_outbox_fn fn, void *ctx);
int store_sqlite__outbox_claim(struct store *s, int64_t now, int64_t lease_until, const char *owner,
                               int64_t per_dest, size_t max, store_outbox_fn fn, void *ctx);
int store_sqlite__outbox_publish(struct store *s, struct st_outbox_msg *m,
                                 const int64_t *destination_ids, size_t n);
int store_sqlite__outbox_batch_done(struct store *s, int64_t account_id, int64_t destination_id,
                                    const char *owner);
int store_sqlite__outbox_finish(struct store *s, int64_t id, const char *owner,
                                const struct st_delivery *d, int state, int64_t next_at);
int store_sqlite__outbox_requeue(struct store *s, int64_t account_id, int64_t destination_id,
                                 const char *event_id, int64_t now);
int store_sqlite__outbox_get(struct store *s, int64_t account_id, int64_t destination_id,
                             const char *event_id, struct st_outbox_msg *m);
int store_sqlite__delivery_list(struct store *s, int64_t account_id, int64_t destination_id,
                                int64_t before_id, size_t max, store_delivery_fn fn, void *ctx);
int store_sqlite__alert_observe(struct store *s, int64_t account_id, const char *key, int64_t value,
                                int64_t now, int64_t cooldown_ms, bool *fired);

int store_sqlite__erase(struct store *s, struct st_erasure *e, const char *subject);
int store_sqlite__erase_flush(struct store *s, struct errbuf *eb);
int store_sqlite__erasure_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                               store_erasure_fn fn, void *ctx);
int store_sqlite__purge(struct store *s, int64_t account_id, const struct st_retention *r,
                        size_t max, struct st_purged *n, bool *busy);
int store_sqlite__traffic_add(struct store *s, int64_t account_id, int64_t bucket_at,
                              int64_t page_views, int64_t swap_misses, int64_t purge_before);
int store_sqlite__traffic_sum(struct store *s, int64_t account_id, int64_t since,
                              int64_t *page_views, int64_t *swap_misses);

int store_sqlite__feed_set(struct store *s, int64_t account_id, const char *ext_id,
                           const char *secret_hash, int64_t now);
int store_sqlite__feed_account(struct store *s, const char *ext_id, struct st_account *a,
                               char secret_hash[65]);
int store_sqlite__feed_delete(struct store *s, int64_t account_id);
/* store_sqlite_numbers.c */
int store_sqlite__numcfg_get(struct store *s, int64_t account_id, struct st_numcfg *c);
int store_sqlite__numcfg_put(struct store *s, const struct st_numcfg *c);
int store_sqlite__autoscale_get(struct store *s, int64_t account_id, int64_t pool_id,
                                struct st_autoscale *a);
int store_sqlite__autoscale_put(struct store *s, const struct st_autoscale *a);
int store_sqlite__autoscale_list(struct store *s, store_autoscale_fn fn, void *ctx);
int store_sqlite__intent_claim(struct store *s, int64_t account_id, int64_t pool_id,
                               int64_t target_size, const char *key, const char *provider,
                               int64_t now, struct st_intent *out);
int store_sqlite__intent_update(struct store *s, const struct st_intent *i);
int store_sqlite__intent_list(struct store *s, int64_t account_id, int64_t pool_id, int state,
                              store_intent_fn fn, void *ctx);
int store_sqlite__intent_spend(struct store *s, int64_t account_id, int64_t month_start,
                               int64_t *n);
int store_sqlite__number_action_add(struct store *s, struct st_number_action *a);
int store_sqlite__number_action_list(struct store *s, int64_t account_id, int64_t pool_id,
                                     int64_t before_id, size_t max, store_number_action_fn fn,
                                     void *ctx);
int store_sqlite__number_usage(struct store *s, int64_t account_id, int64_t pool_id,
                               store_number_usage_fn fn, void *ctx);
int store_sqlite__job_claim(struct store *s, const char *name, const char *holder, int64_t now,
                            int64_t until, bool *got);

#endif
