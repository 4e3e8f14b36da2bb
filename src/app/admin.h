/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The admin use cases behind the Bearer-key API: API keys, pools, numbers, rules, sessions,
 * calls and the report streams, each scoped to one account (another account's external id is
 * ERR_NOTFOUND). Writes keep the visit path's caches in step (the account snapshot of
 * app/accounts.h), so a change is seen by the next visit. The row types are the store's
 * (store/store.h), which this header re-exports: they are the records every layer passes.
 * Ownership: arguments are borrowed for the call; rows go to caller-owned storage; list
 * callbacks get rows borrowed for the callback, and must not call back into the store on the
 * same thread while a list is running unless store.h allows it.
 * THREADING: every function may be called from any HTTP thread at once. */
#ifndef OPENDNI_APP_ADMIN_H
#define OPENDNI_APP_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "core/pool.h"
#include "app/records.h"

struct app;

/* ---- keys, origins, health ---- */

/* Longest credential string of admin_account_by_key, NUL included (as STREAM_CRED_MAX). */
#define ADMIN_CRED_MAX 80

/* The account owning API key `key` (unrevoked). ERR_NOTFOUND for an unknown key, ERR_BACKEND
 * when the store cannot answer. out: *a; and, when cred is not NULL, the key's credential
 * string ("key:" and the key's hex SHA-256; never the key itself) for admin_credential_check,
 * set whatever the result. */
int admin_account_by_key(struct app *app, const char *key, struct st_account *a,
                         char cred[ADMIN_CRED_MAX]);
/* The credential kind of a dashboard session: "ses:" and its token's hex SHA-256 (the stored
 * hash; never the token), checked by users_session_check. */
#define ADMIN_SESSION_CRED "ses:"
/* Checks again, against the store, a credential that authorized account_id earlier (an API key's
 * from admin_account_by_key, or a dashboard session's, ADMIN_SESSION_CRED). Returns ERR_OK
 * while it still authorizes that account; ERR_AUTH when it does not (revoked or unknown key,
 * another account's, an unknown kind); ERR_BACKEND when the store cannot answer (undecided).
 * Any thread (the stream's wake thread calls it through stream_set_check). */
int admin_credential_check(struct app *app, int64_t account_id, const char *cred);
/* The account with internal id `id`. ERR_NOTFOUND if none; the store's code otherwise. */
int admin_account_by_id(struct app *app, int64_t id, struct st_account *a);
/* ---- the dashboard's Settings: keys, origins, provider credentials (admin+) ---- */

#define ADMIN_KEY_MAX 64 /* an API key as shown once ("odk_" + 52), NUL included */

/* Creates an API key for the account: out_key gets the key itself (shown once: only its SHA-256
 * is stored), *k its row as the key list shows it. */
int admin_key_create(struct app *app, int64_t account_id, int64_t now, char out_key[ADMIN_KEY_MAX],
                     struct st_api_key *k);
/* The account's keys, revoked ones too, oldest first. */
int admin_key_list(struct app *app, int64_t account_id, store_api_key_fn fn, void *ctx);
/* Revokes one of the account's keys (ERR_NOTFOUND: none such, or revoked already). Open streams
 * of that key end at their next credential check. */
int admin_key_revoke(struct app *app, int64_t account_id, int64_t key_id, int64_t now);
/* The account's allowed origins; adding (ERR_INVALID unless scheme://host[:port], http or
 * https, lowercase, no path) and removing one (ERR_NOTFOUND) reloads the visit path's snapshot. */
int admin_origins(struct app *app, int64_t account_id, store_origin_fn fn, void *ctx);
int admin_origin_add(struct app *app, int64_t account_id, const char *origin, struct errbuf *eb);
int admin_origin_delete(struct app *app, int64_t account_id, const char *origin);
/* Provider credentials (store_secrets: sealed at rest). list: each provider the account has
 * credentials for; set: account_sid and/or secret (NULL keeps what is stored). */
int admin_provider_list(struct app *app, int64_t account_id, store_provider_cred_fn fn, void *ctx);
int admin_provider_set(struct app *app, int64_t account_id, const char *provider,
                       const char *account_sid, const char *secret, int64_t now);

/* Constant-time comparison of a presented token with the expected one (metrics token): true when
 * equal. Both NUL-terminated; the time depends on the expected length only. */
bool admin_token_equal(const char *got, const char *want);
/* true if any account allows origin (CORS preflights carry no account). */
bool admin_origin_known(struct app *app, const char *origin);
/* ERR_OK when the store answers and its schema is current; detail in eb. */
int admin_store_check(struct app *app, struct errbuf *eb);
/* Readiness (GET /readyz): ERR_OK when the store can commit now (app/health.h: probed at most
 * once a second on the clock of time_now_ms), ERR_UNAVAILABLE with the reason in eb when not.
 * Any HTTP thread. */
int admin_ready(struct app *app, struct errbuf *eb);
/* Appends the Prometheus text exposition of the process's metrics to out. */
void admin_metrics(struct app *app, struct buf *out);

/* ---- pools ---- */

/* Inserts p (p->account_id set by the caller; ext_id, id and created_at set on return). */
int admin_pool_create(struct app *app, struct st_pool *p, int64_t now, struct errbuf *eb);
int admin_pool_get(struct app *app, int64_t account_id, const char *ext_id, struct st_pool *p);
int admin_pool_by_id(struct app *app, int64_t account_id, int64_t id, struct st_pool *p);
int admin_pool_list(struct app *app, int64_t account_id, store_pool_fn fn, void *ctx);
/* The pool's numbers in use over time: in_use[i] is how many of its numbers were held by at least
 * one lease at since + i * step (i < n, n <= ADMIN_USAGE_MAX_POINTS), from the stored leases
 * (at most ADMIN_USAGE_MAX_LEASES are read: *truncated then says the later points are short). */
#define ADMIN_USAGE_MAX_POINTS 1000
#define ADMIN_USAGE_MAX_LEASES 2000000
int admin_pool_usage(struct app *app, const struct st_pool *p, int64_t since, int64_t step,
                     size_t n, int64_t *in_use, bool *truncated);
/* Writes p's settings (p read with admin_pool_get and changed). */
int admin_pool_update(struct app *app, const struct st_pool *p, struct errbuf *eb);
/* ERR_CONFLICT while a lease on one of its numbers is live at now, or while it holds numbers
 * opendni bought (or is buying): release them first. */
int admin_pool_delete(struct app *app, const struct st_pool *p, int64_t now);
/* The pool's live figures (size, leased, cooling, exhaustion, recommended size). */
int admin_pool_stats(struct app *app, const struct st_pool *p, int64_t now, struct pool_stats *out);

/* ---- numbers ---- */

/* Inserts n. ERR_CONFLICT if the number exists in any account. */
int admin_number_create(struct app *app, struct st_number *n, int64_t now, struct errbuf *eb);
int admin_number_get(struct app *app, int64_t account_id, const char *ext_id, struct st_number *n);
int admin_number_by_id(struct app *app, int64_t account_id, int64_t id, struct st_number *n);
/* pool_id > 0: that pool's numbers; 0: all of the account's. */
int admin_number_list(struct app *app, int64_t account_id, int64_t pool_id, store_number_fn fn,
                      void *ctx);
int admin_number_update(struct app *app, const struct st_number *n, int64_t now, struct errbuf *eb);
/* ERR_CONFLICT while a live lease holds it. */
int admin_number_delete(struct app *app, const struct st_number *n, int64_t now);

/* ---- rules ---- */

/* Creates (or, update, replaces the account's rule r->ext_id with) r. ERR_INVALID (field
 * location_id) when r->location is not one of the account's locations; ERR_NOTFOUND (update): no
 * such rule. */
int admin_rule_create(struct app *app, struct st_rule *r, int64_t now, struct errbuf *eb);
int admin_rule_update(struct app *app, struct st_rule *r, struct errbuf *eb);
int admin_rule_list(struct app *app, int64_t account_id, store_rule_fn fn, void *ctx);
int admin_rule_delete(struct app *app, int64_t account_id, const char *ext_id);

/* ---- sessions ---- */

/* The account's session with this external id. ERR_NOTFOUND for another account's. */
int admin_session_get(struct app *app, int64_t account_id, const char *ext_id,
                      struct st_session *ss);
/* One lease of a session as GET /v1/sessions shows it: the number and the exact times. */
struct admin_lease {
    char number[STORE_E164_MAX];
    int64_t leased_at;
    int64_t last_active_at;
    int64_t expires_at;
    bool shared;
};
typedef int (*admin_lease_fn)(void *ctx, const struct admin_lease *l);
/* The session's latest lease per pool, with the live engine's exact times while it knows the
 * lease (the stored ones may trail a pinged renewal by up to a minute). */
int admin_session_leases(struct app *app, int64_t account_id, int64_t session_id, int64_t now,
                         admin_lease_fn fn, void *ctx);
/* The session's events in time order, at most max. */
int admin_session_events(struct app *app, int64_t account_id, int64_t session_id, size_t max,
                         store_event_fn fn, void *ctx);
/* The session's page views after its landing page, in order, at most max. */
int admin_session_page_views(struct app *app, int64_t account_id, int64_t session_id, size_t max,
                             store_page_view_fn fn, void *ctx);

/* ---- calls and reports (read-only) ---- */

int admin_call_get(struct app *app, int64_t account_id, const char *ext_id, struct st_call *c);
/* See store_call_list. */
int admin_call_list(struct app *app, int64_t account_id, int64_t since, int64_t until,
                    int64_t after_at, int64_t after_id, size_t max, store_call_fn fn, void *ctx);

/* The keyset cursor of GET /v1/calls (opaque to clients: it only has to round-trip), naming
 * the last call of a page by (started_at, id), admin_call_list's after_at and after_id:
 * "c" + lowercase hex of each as uint64, without leading zeros, joined by ".". Pure; in
 * app/cursor.c. A buffer of ADMIN_CURSOR_MAX bytes holds any cursor. */
#define ADMIN_CURSOR_MAX 35
/* Writes the cursor of (at, id) into out (cap bytes, truncated to fit, NUL-terminated when
 * cap > 0). */
void admin_cursor_format(int64_t at, int64_t id, char *out, size_t cap);
/* Parses a cursor: "c", 1..16 hex digits [0-9a-f], ".", 1..16 hex digits, nothing else (leading
 * zeros allowed). Returns true with *at and *id set (each the uint64 read as int64), or false
 * leaving them unchanged. */
bool admin_cursor_parse(const char *s, int64_t *at, int64_t *id);
/* See store_report_calls and store_report_conversions. */
int admin_report_calls(struct app *app, int64_t account_id, int64_t since, int64_t until,
                       store_report_call_fn fn, void *ctx);
int admin_report_conversions(struct app *app, int64_t account_id, int64_t since, int64_t until,
                             store_report_conversion_fn fn, void *ctx);

/* ---- the Google Ads scheduled-import feed (docs/reports.md) ---- */

#define ADMIN_FEED_ID_MAX 48
#define ADMIN_FEED_PASSWORD_MAX 64

/* Gives the account a new feed credential, replacing the one it had: out: id (the Basic
 * username, "feed_…") and password (shown once; stored as its SHA-256). ERR_OK, ERR_BACKEND. */
int admin_feed_create(struct app *app, int64_t account_id, char id[ADMIN_FEED_ID_MAX],
                      char password[ADMIN_FEED_PASSWORD_MAX]);
/* The account of feed credential (id, password), the password compared in constant time.
 * out: *a. ERR_OK, ERR_AUTH (unknown id or wrong password), ERR_BACKEND. */
int admin_feed_auth(struct app *app, const char *id, const char *password, struct st_account *a);
/* Revokes the account's feed credential. ERR_OK, ERR_NOTFOUND. */
int admin_feed_delete(struct app *app, int64_t account_id);

#endif
