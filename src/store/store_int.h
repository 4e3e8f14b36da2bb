/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared inside src/store/ only: the ops table every backend fills (one member per store.h
 * operation, like curl's struct Curl_ssl for its TLS backends) and the head of struct store that
 * every backend embeds first. store.c dispatches each store_* call through s->ops; nothing above
 * src/store sees this header.
 * Adding a backend: define a `const struct store_ops store_<name>_ops` with every member set and
 * list it once in store.c's backends[] (first match of handles() wins). */
#ifndef OPENDNI_STORE_STORE_INT_H
#define OPENDNI_STORE_STORE_INT_H

#include <stdatomic.h>

#include "store/secrets.h"
#include "store/store.h"

/* One backend. `name` and `handles` pick it in store_open; `open` creates a store whose head
 * points back at this table. Every other member implements the store.h function of the same name
 * (store_<member>) with exactly that contract: same arguments, return codes, ownership and
 * threading. All members are non-NULL. */
/* Destination formats the store takes (st_destination.format); ga4, meta and google_ads are ad
 * platforms, stored with format json and their platform (sql/0021). */
static inline bool store__destination_format_ad(const char *f)
{
    return strcmp(f, "ga4") == 0 || strcmp(f, "meta") == 0 || strcmp(f, "google_ads") == 0;
}

static inline bool store__destination_format_ok(const char *f)
{
    return strcmp(f, "json") == 0 || strcmp(f, "slack") == 0 || strcmp(f, "email") == 0 ||
           store__destination_format_ad(f);
}

struct store_ops {
    const char *name; /* "sqlite", "postgres": for logs */
    /* Whether this backend serves url (a path, a postgres:// URL…). */
    bool (*handles)(const char *url);
    /* Opens the store at url. out: *s (its head's ops set to this table). */
    int (*open)(const char *url, struct store **s, struct errbuf *eb);
    void (*close)(struct store *s);
    int (*migrate)(struct store *s, int64_t now, int *version, struct errbuf *eb);
    int (*check)(struct store *s, struct errbuf *eb);
    int (*verify)(struct store *s, bool full, struct errbuf *eb);
    int (*backup)(struct store *s, const char *dest, struct errbuf *eb);
    int (*writable)(struct store *s, int64_t now, struct errbuf *eb);
    int (*config_version)(struct store *s, int64_t *version);
    int (*notify)(struct store *s, const char *payload);
    int (*notify_wait)(struct store *s, int timeout_ms, store_notify_fn fn, void *ctx);
    int (*serve_begin)(struct store *s, int64_t now, struct errbuf *eb);
    int (*begin)(struct store *s);
    int (*commit)(struct store *s);
    void (*rollback)(struct store *s);
    int (*read_begin)(struct store *s);
    void (*read_end)(struct store *s);
    int (*savepoint)(struct store *s);
    int (*savepoint_release)(struct store *s);
    void (*savepoint_rollback)(struct store *s);
    int (*savepoints_max)(struct store *s);
    int (*account_create)(struct store *s, const char *ext_id, const char *name,
                          const char *const *origins, size_t n_origins, const char *key_hash,
                          int64_t now, struct st_account *a, struct errbuf *eb);
    int (*account_get)(struct store *s, const char *ext_id, struct st_account *a);
    int (*account_by_id)(struct store *s, int64_t id, struct st_account *a);
    int (*api_key_add)(struct store *s, int64_t account_id, const char *key_hash, int64_t now);
    int (*api_key_revoke_others)(struct store *s, int64_t account_id, const char *keep_hash,
                                 int64_t now, int64_t *n_revoked);
    int (*account_by_key)(struct store *s, const char *key_hash, struct st_account *a);
    int (*account_set_settings)(struct store *s, int64_t id, const char *settings_json);
    int (*account_list)(struct store *s, store_account_fn fn, void *ctx);
    int (*account_origins)(struct store *s, int64_t account_id, store_origin_fn fn, void *ctx);
    int (*origin_exists)(struct store *s, const char *origin, bool *exists);
    int (*api_key_list)(struct store *s, int64_t account_id, store_api_key_fn fn, void *ctx);
    int (*api_key_revoke)(struct store *s, int64_t account_id, int64_t key_id, int64_t now);
    int (*origin_add)(struct store *s, int64_t account_id, const char *origin);
    int (*origin_delete)(struct store *s, int64_t account_id, const char *origin);
    int (*pool_create)(struct store *s, struct st_pool *p, int64_t now, struct errbuf *eb);
    int (*pool_get)(struct store *s, int64_t account_id, const char *ext_id, struct st_pool *p);
    int (*pool_by_id)(struct store *s, int64_t account_id, int64_t id, struct st_pool *p);
    int (*pool_update)(struct store *s, const struct st_pool *p, struct errbuf *eb);
    int (*pool_delete)(struct store *s, int64_t account_id, const char *ext_id, int64_t now);
    int (*pool_list)(struct store *s, int64_t account_id, store_pool_fn fn, void *ctx);
    int (*pool_set_counters)(struct store *s, int64_t account_id, int64_t pool_id,
                             int64_t exhaustion_events, int64_t peak_concurrent);
    int (*number_create)(struct store *s, struct st_number *n, int64_t now, struct errbuf *eb);
    int (*number_get)(struct store *s, int64_t account_id, const char *ext_id, struct st_number *n);
    int (*number_by_id)(struct store *s, int64_t account_id, int64_t id, struct st_number *n);
    int (*number_by_e164)(struct store *s, const char *e164, struct st_number *n);
    int (*number_update)(struct store *s, const struct st_number *n, int64_t now,
                         struct errbuf *eb);
    int (*number_delete)(struct store *s, int64_t account_id, const char *ext_id, int64_t now);
    int (*number_list)(struct store *s, int64_t account_id, int64_t pool_id, store_number_fn fn,
                       void *ctx);
    int (*rule_create)(struct store *s, struct st_rule *r, int64_t now, struct errbuf *eb);
    int (*rule_update)(struct store *s, struct st_rule *r, struct errbuf *eb);
    int (*rule_delete)(struct store *s, int64_t account_id, const char *ext_id);
    int (*rule_list)(struct store *s, int64_t account_id, store_rule_fn fn, void *ctx);
    int (*session_put)(struct store *s, struct st_session *ss);
    int (*session_get)(struct store *s, const char *ext_id, struct st_session *ss);
    int (*session_by_id)(struct store *s, int64_t account_id, int64_t id, struct st_session *ss);
    int (*lease_add)(struct store *s, struct st_lease *l);
    int (*visits_add)(struct store *s, struct st_visit_add *v, size_t n);
    int (*lease_renew)(struct store *s, int64_t account_id, int64_t session_id, int64_t number_id,
                       int64_t last_active_at, int64_t expires_at);
    int (*lease_delete)(struct store *s, int64_t account_id, int64_t session_id, int64_t number_id,
                        int64_t leased_at);
    int (*session_leases)(struct store *s, int64_t account_id, int64_t session_id,
                          store_lease_fn fn, void *ctx);
    int (*session_held)(struct store *s, int64_t account_id, int64_t session_id, int64_t number_id,
                        bool *held);
    int (*lease_claim)(struct store *s, int64_t account_id, int64_t pool_id,
                       const char *session_ext_id, int64_t prev_number_id, int64_t now,
                       struct st_lease_claim *out);
    int (*lease_note)(struct store *s, int64_t account_id, int64_t pool_id,
                      const char *session_ext_id, int64_t number_id, unsigned signals, int64_t now);
    int (*lease_touch)(struct store *s, int64_t account_id, int64_t pool_id,
                       const char *session_ext_id, int64_t now, struct st_lease_claim *out);
    int (*lease_release)(struct store *s, int64_t account_id, int64_t pool_id,
                         const struct st_lease_claim *claim, int64_t now);
    void (*lease_times)(struct store *s, const struct st_lease *l, int64_t now,
                        int64_t *last_active_at, int64_t *ends_at);
    int (*pool_stats)(struct store *s, int64_t account_id, int64_t pool_id, int64_t now,
                      struct pool_stats *out);
    int (*lease_range)(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                       int64_t until, size_t max, store_lease_fn fn, void *ctx);
    int (*lease_list_live)(struct store *s, int64_t account_id, int64_t pool_id, int64_t at,
                           store_lease_fn fn, void *ctx);
    int (*lease_history)(struct store *s, int64_t account_id, int64_t number_id, int64_t since,
                         size_t max, store_lease_fn fn, void *ctx);
    int (*event_add)(struct store *s, const struct st_event *e);
    int (*event_last)(struct store *s, int64_t account_id, int64_t session_id, const char *type,
                      const char *number, int64_t before, int64_t *at);
    int (*event_list)(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                      store_event_fn fn, void *ctx);
    int (*page_view_add)(struct store *s, const struct st_page_view *pv, bool dedupe, bool *added);
    int (*page_view_list)(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                          store_page_view_fn fn, void *ctx);
    int (*event_last_detail)(struct store *s, int64_t account_id, int64_t session_id,
                             const char *type, char *detail, size_t cap);
    int (*count)(struct store *s, const char *table, int64_t *n);
    int (*call_insert)(struct store *s, struct st_call *c);
    int (*call_by_provider)(struct store *s, const char *provider, const char *provider_call_id,
                            struct st_call *c);
    int (*call_get)(struct store *s, int64_t account_id, const char *ext_id, struct st_call *c);
    int (*call_by_id)(struct store *s, int64_t account_id, int64_t id, struct st_call *c);
    int (*call_update)(struct store *s, const struct st_call *c);
    int (*call_recording_put)(struct store *s, int64_t account_id, int64_t call_id, const char *url,
                              int64_t duration_s);
    int (*call_list)(struct store *s, int64_t account_id, int64_t since, int64_t until,
                     int64_t after_at, int64_t after_id, size_t max, store_call_fn fn, void *ctx);
    int (*call_caller)(struct store *s, int64_t account_id, const char *from, int64_t before_id,
                       struct st_caller *out);
    int (*call_session_credited)(struct store *s, int64_t account_id, int64_t session_id,
                                 int64_t before, bool *out);
    int (*conversion_add)(struct store *s, struct st_conversion *cv);
    int (*conversion_by_call)(struct store *s, int64_t account_id, int64_t call_id,
                              struct st_conversion *cv);
    int (*pool_by_fallback)(struct store *s, const char *e164, struct st_pool *p);
    int (*call_outcome_get)(struct store *s, int64_t account_id, int64_t call_id,
                            struct st_call_outcome *o);
    int (*call_outcome_put)(struct store *s, const struct st_call_outcome *o);
    int (*route_doc_put)(struct store *s, struct st_route_doc *d);
    int (*route_doc_get)(struct store *s, int64_t account_id, const char *kind, const char *ext_id,
                         struct st_route_doc *d);
    int (*route_doc_by_attach)(struct store *s, int64_t account_id, const char *attach,
                               struct st_route_doc *d);
    int (*route_doc_list)(struct store *s, int64_t account_id, const char *kind,
                          store_route_doc_fn fn, void *ctx);
    int (*route_doc_delete)(struct store *s, int64_t account_id, const char *kind,
                            const char *ext_id);
    int (*route_counter_next)(struct store *s, int64_t account_id, const char *key, int64_t *n);
    int (*publisher_put)(struct store *s, struct st_publisher *p);
    int (*publisher_get)(struct store *s, int64_t account_id, const char *ext_id,
                         struct st_publisher *p);
    int (*publisher_list)(struct store *s, int64_t account_id, store_publisher_fn fn, void *ctx);
    int (*publisher_delete)(struct store *s, int64_t account_id, const char *ext_id);
    int (*call_payout_record)(struct store *s, int64_t account_id, const char *provider,
                              const char *provider_call_id, int64_t now);
    int (*call_route_put)(struct store *s, const struct st_call_route *r);
    int (*call_route_get)(struct store *s, const char *provider, const char *call_sid,
                          struct st_call_route *r);
    int (*call_route_list)(struct store *s, int64_t account_id, int64_t since, int64_t until,
                           store_call_route_fn fn, void *ctx);
    int (*route_counts)(struct store *s, int64_t account_id, const char *plan,
                        const char *day_prefix, int64_t live_since, store_route_count_fn fn,
                        void *ctx);
    int (*provider_cred_set)(struct store *s, int64_t account_id, const char *provider,
                             const char *account_sid, const char *secret, int64_t now);
    int (*provider_cred_get)(struct store *s, int64_t account_id, const char *provider,
                             struct st_provider_cred *c);
    int (*provider_cred_find)(struct store *s, const char *provider, const char *account_sid,
                              store_provider_cred_fn fn, void *ctx);
    int (*provider_cred_list)(struct store *s, int64_t account_id, store_provider_cred_fn fn,
                              void *ctx);
    int (*report_calls)(struct store *s, int64_t account_id, int64_t since, int64_t until,
                        unsigned need, store_report_call_fn fn, void *ctx);
    int (*report_conversions)(struct store *s, int64_t account_id, int64_t since, int64_t until,
                              store_report_conversion_fn fn, void *ctx);
    int (*report_sessions)(struct store *s, int64_t account_id, int64_t since, int64_t until,
                           int64_t min_duration_s, store_report_session_fn fn, void *ctx);
    int (*report_cohort)(struct store *s, int64_t account_id, int64_t since, int64_t until,
                         store_report_cohort_fn fn, void *ctx);
    int (*report_session_calls)(struct store *s, int64_t account_id, int64_t since, int64_t until,
                                bool by_first, int64_t min_duration_s,
                                store_report_session_call_fn fn, void *ctx);
    int (*spend_replace)(struct store *s, int64_t account_id, const char *platform,
                         const char *currency, const struct st_spend_row *rows, size_t n,
                         int64_t now);
    int (*spend_list)(struct store *s, int64_t account_id, const char *since_day,
                      const char *until_day, store_spend_fn fn, void *ctx);
    int (*export_trace)(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                        store_trace_fn fn, void *ctx);
    int (*user_create)(struct store *s, struct st_user *u, int64_t now);
    int (*user_get)(struct store *s, const char *email, struct st_user *u);
    int (*user_by_id)(struct store *s, int64_t id, struct st_user *u);
    int (*user_set_password)(struct store *s, int64_t user_id, const char *password_hash,
                             int64_t now);
    int (*user_delete)(struct store *s, int64_t user_id);
    int (*user_list)(struct store *s, store_user_fn fn, void *ctx);
    int (*membership_set)(struct store *s, int64_t user_id, int64_t account_id, const char *role,
                          int64_t now);
    int (*membership_delete)(struct store *s, int64_t user_id, int64_t account_id);
    int (*membership_list)(struct store *s, int64_t user_id, int64_t account_id,
                           store_membership_fn fn, void *ctx);
    int (*app_session_create)(struct store *s, struct st_app_session *ss);
    int (*app_session_get)(struct store *s, const char *token_hash, struct st_app_session *ss);
    int (*app_session_update)(struct store *s, int64_t id, int64_t account_id,
                              int64_t last_seen_at);
    int (*app_session_delete)(struct store *s, const char *token_hash);
    int (*app_session_delete_user)(struct store *s, int64_t user_id, int64_t *n);
    int (*app_session_purge)(struct store *s, int64_t idle_before, int64_t now, int64_t *n);
    int (*audit_add)(struct store *s, struct st_audit *a);
    int (*audit_list)(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                      store_audit_fn fn, void *ctx);
    int (*destination_add)(struct store *s, struct st_destination *d);
    int (*destination_get)(struct store *s, int64_t account_id, const char *ext_id,
                           struct st_destination *d);
    int (*destination_list)(struct store *s, int64_t account_id, store_destination_fn fn,
                            void *ctx);
    int (*destination_delete)(struct store *s, int64_t account_id, const char *ext_id, int64_t now);
    int (*destination_result)(struct store *s, int64_t account_id, int64_t id, bool ok, int64_t now,
                              int64_t disable_after_ms, const char *error, bool *disabled);
    int (*destination_enable)(struct store *s, int64_t account_id, const char *ext_id);
    /* Replaces the stored (sealed) signing secret of the account's destination ext_id, deleted
     * or not: only store_secrets.c's re-sealing calls it. ERR_OK, ERR_NOTFOUND. */
    int (*destination_secret_set)(struct store *s, int64_t account_id, const char *ext_id,
                                  const char *sealed);
    /* store_outbox_add_many (store_outbox_add: n = 1, m->destination_id) */
    int (*outbox_add)(struct store *s, struct st_outbox_msg *m, const int64_t *destination_ids,
                      size_t n);
    int (*outbox_publish)(struct store *s, struct st_outbox_msg *m, const int64_t *destination_ids,
                          size_t n);
    int (*outbox_batch_done)(struct store *s, int64_t account_id, int64_t destination_id,
                             const char *owner);
    int (*outbox_claim)(struct store *s, int64_t now, int64_t lease_until, const char *owner,
                        int64_t per_dest, size_t max, store_outbox_fn fn, void *ctx);
    int (*outbox_claim_batch)(struct store *s, int64_t account_id, int64_t destination_id,
                              int64_t now, int64_t lease_until, const char *owner, size_t max,
                              store_outbox_fn fn, void *ctx);
    int (*outbox_finish)(struct store *s, int64_t id, const char *owner,
                         const struct st_delivery *d, int state, int64_t next_at);
    int (*outbox_requeue)(struct store *s, int64_t account_id, int64_t destination_id,
                          const char *event_id, int64_t now);
    int (*outbox_get)(struct store *s, int64_t account_id, int64_t destination_id,
                      const char *event_id, struct st_outbox_msg *m);
    int (*delivery_list)(struct store *s, int64_t account_id, int64_t destination_id,
                         int64_t before_id, size_t max, store_delivery_fn fn, void *ctx);
    int (*alert_observe)(struct store *s, int64_t account_id, const char *key, int64_t value,
                         int64_t now, int64_t cooldown_ms, bool *fired);
    int (*erase)(struct store *s, struct st_erasure *e, const char *subject);
    int (*erase_flush)(struct store *s, struct errbuf *eb);
    int (*erasure_list)(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                        store_erasure_fn fn, void *ctx);
    int (*purge)(struct store *s, int64_t account_id, const struct st_retention *r, size_t max,
                 struct st_purged *n, bool *busy);
    int (*traffic_add)(struct store *s, int64_t account_id, int64_t bucket_at, int64_t page_views,
                       int64_t swap_misses, int64_t purge_before);
    int (*traffic_sum)(struct store *s, int64_t account_id, int64_t since, int64_t *page_views,
                       int64_t *swap_misses);
    int (*feed_set)(struct store *s, int64_t account_id, const char *ext_id,
                    const char *secret_hash, int64_t now);
    int (*feed_account)(struct store *s, const char *ext_id, struct st_account *a,
                        char secret_hash[65]);
    int (*feed_delete)(struct store *s, int64_t account_id);
    int (*numcfg_get)(struct store *s, int64_t account_id, struct st_numcfg *c);
    int (*numcfg_put)(struct store *s, const struct st_numcfg *c);
    int (*autoscale_get)(struct store *s, int64_t account_id, int64_t pool_id,
                         struct st_autoscale *a);
    int (*autoscale_put)(struct store *s, const struct st_autoscale *a);
    int (*autoscale_list)(struct store *s, store_autoscale_fn fn, void *ctx);
    int (*intent_claim)(struct store *s, int64_t account_id, int64_t pool_id, int64_t target_size,
                        const char *key, const char *provider, int64_t now, struct st_intent *out);
    int (*intent_update)(struct store *s, const struct st_intent *i);
    int (*intent_list)(struct store *s, int64_t account_id, int64_t pool_id, int state,
                       store_intent_fn fn, void *ctx);
    int (*intent_spend)(struct store *s, int64_t account_id, int64_t month_start, int64_t *n);
    int (*number_action_add)(struct store *s, struct st_number_action *a);
    int (*number_action_list)(struct store *s, int64_t account_id, int64_t pool_id,
                              int64_t before_id, size_t max, store_number_action_fn fn, void *ctx);
    int (*number_usage)(struct store *s, int64_t account_id, int64_t pool_id,
                        store_number_usage_fn fn, void *ctx);
    int (*job_claim)(struct store *s, const char *name, const char *holder, int64_t now,
                     int64_t until, bool *got);
};

/* The head of every backend's store struct (its first member, so a backend converts a
 * struct store * to its own type with a cast).
 * THREADING: ops is set by open and never changes; errors is atomic. */
struct store {
    const struct store_ops *ops;
    atomic_uint_fast64_t errors; /* backend errors since open: store_errors() */
    /* Provider secrets (secrets.h), set by store_secrets_keys before other threads use the
     * store: keys[0] seals and opens, keys[1] (a rotation's old key) only opens. */
    struct secrets_key keys[2];
    int n_keys;
};

/* The write operations' fault check (store.c; test binary only): ERR_BACKEND, counted and
 * logged, when the store_full fault is on, else ERR_OK. */
int store__write_fault(struct store *s, const char *op);

/* What a backend's provider credential rows hold in `secret`: the sealed value (secrets.h).
 * The dispatchers of store.c seal before provider_cred_set and open after the reads, so the
 * backend members see and return sealed text only (up to SECRETS_SEALED_MAX - 1 bytes). */

/* The SQLite backend (store_sqlite*.c). */
extern const struct store_ops store_sqlite_ops;
/* The PostgreSQL backend (store_pg*.c), compiled in when libpq is (CMake WITH_PG). */
extern const struct store_ops store_pg_ops;

/* ---- erasure helpers shared by the backends (store_privacy.c) ---- */

/* A set of rows (id and external id), in insertion order. */
struct store__idset {
    int64_t *id;
    char (*ext)[STORE_ID_MAX];
    size_t n, cap;
};
/* Adds a row unless its id is there: true if added. */
bool store__idset_add(struct store__idset *set, int64_t id, const char *ext);
void store__idset_free(struct store__idset *set);
/* Cuts a URL at its query or fragment ("https://a/b?gclid=x#y" -> "https://a/b"), in place. */
void store__strip_query(char *url);
/* Whether an outbox body names the subject or one of the rows' external ids. */
bool store__erase_names(const char *body, const char *subject, const struct store__idset *calls,
                        const struct store__idset *sessions);
/* Lists a message that had left in e->sent (and counts it in e->outbox_sent). */
void store__erase_sent(struct st_erasure *e, const char *destination, const char *event_id,
                       const char *type, int state, int64_t attempts, int64_t at);
/* The body a scrubbed message keeps: {"id":event_id,"type":type,"erased":true}. */
void store__erase_stub(const char *event_id, const char *type, char *out, size_t cap);

#endif
