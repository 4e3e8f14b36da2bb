/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Privacy (issue #17 item 3): an account's privacy settings (retention, Global Privacy Control
 * and Do-Not-Track), the erasure of a visitor or a caller (POST /v1/erasures, `opendni erase`),
 * and the retention purge that runs inside `serve`.
 * Settings (the account's settings object, written by `opendni account set --settings`):
 *   "retention": {"sessions_days": N, "calls_days": N, "events_days": N, "recordings_days": N}
 *   (0 = keep forever)
 *   "privacy": {"honor_gpc": true|false, "honor_dnt": true|false}
 * Ownership: arguments are borrowed for the call; JSON results are new references.
 * THREADING: privacy_erase and privacy_purge_account run on the calling thread's store
 * connection in transactions of their own; the purger is one thread (privacy_start). */
#ifndef OPENDNI_APP_PRIVACY_H
#define OPENDNI_APP_PRIVACY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "app/records.h"

struct app;

#define PRIVACY_SESSIONS_DAYS 395   /* sessions no call refers to: 13 months */
#define PRIVACY_CALLS_DAYS 760      /* calls, with their conversion and outcome: 25 months */
#define PRIVACY_EVENTS_DAYS 395     /* tracker events (tel: clicks, forms…) */
#define PRIVACY_RECORDINGS_DAYS 395 /* call recordings (their URL at the provider, duration) */
#define PRIVACY_MAX_DAYS 36500
#define PRIVACY_PURGE_BATCH 200       /* rows of each kind per purge transaction */
#define PRIVACY_PURGE_EVERY_MS 600000 /* one pass over the accounts every 10 minutes */

struct privacy_settings {
    int64_t sessions_days, calls_days, events_days, recordings_days; /* 0 = keep forever */
    bool honor_gpc;                                                  /* default true */
    bool honor_dnt;                                                  /* default false */
};

/* Parses the privacy part of an account's settings JSON (other keys ignored) into out, the
 * defaults for what is absent. ERR_INVALID (eb names the field) leaves the defaults in out. */
int privacy_settings_parse(const char *json, struct privacy_settings *out, struct errbuf *eb);
/* The cutoffs of s at now (pure). */
void privacy_retention(const struct privacy_settings *s, int64_t now, struct st_retention *r);

/* Erases subject of kind "visitor" (a visitor id) or "caller" (a phone number as humans write
 * it, normalised to E.164) from account_id at now (store_erase), then removes the old bytes
 * from the SQLite WAL (store_erase_flush: a failure there is logged, the erasure stands).
 * actor and reference go to the erasure's record. ERR_INVALID (eb->field "kind", "visitor_id" or
 * "caller"), ERR_BACKEND. out: *e. */
int privacy_erase(struct store *s, int64_t account_id, const char *kind, const char *subject,
                  const char *actor, const char *reference, int64_t now, struct st_erasure *e,
                  struct errbuf *eb);
/* The account's erasures, newest first, at most max (store_erasure_list). */
int privacy_erasures(struct store *s, int64_t account_id, size_t max, store_erasure_fn fn,
                     void *ctx);
/* The ERASURE object of the API. */
json_t *privacy_erasure_json(const struct st_erasure *e);

/* Purges one account by its settings at now, in transactions of at most PRIVACY_PURGE_BATCH
 * rows of each kind, until nothing is left to purge, max_batches ran or stop(ctx) (asked before
 * each batch; NULL: never) says so. out: *total (added to). ERR_OK, ERR_BACKEND; *busy when
 * another node is purging (PostgreSQL). */
int privacy_purge_account(struct store *s, const struct st_account *a, int64_t now, int max_batches,
                          bool (*stop)(void *ctx), void *ctx, struct st_purged *total, bool *busy);

/* The purge thread of `serve`: every PRIVACY_PURGE_EVERY_MS (of time_now_ms, so the test
 * clock moves it), each account in turn. */
struct purger;
struct purger *privacy_start(struct app *app);
void privacy_stop(struct purger *p);

#endif
