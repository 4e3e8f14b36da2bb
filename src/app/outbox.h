/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The outbox (DESIGN.md "Outbound messages and users"; API.md "Outbound webhooks"): the account's
 * destinations (signed JSON webhooks, Slack-compatible incoming webhooks, email), the messages
 * written in the transaction of the fact that caused them (outbox_emit, from calls.c's apply
 * functions on the writer thread, and from the periodic checks), and the sender: one thread
 * that claims due messages from the store with a lease (so with several nodes each message is
 * sent by one node at a time, and a claim left by a killed process is taken again once its
 * lease runs out), sends them through the one outbound client (app/outbound.h, libcurl multi:
 * no HTTP worker ever waits on it), logs every attempt, retries with exponential backoff and
 * jitter for up to 3 days, and disables a destination that failed for 3 days
 * (alert.destination_failing). The same thread runs the periodic checks: alert.pool_exhausted
 * (at most once per cool-down per pool) and summary.daily.
 * Ownership: arguments are borrowed for the call; JSON passed to outbox_emit is taken.
 * THREADING: outbox_emit runs on the thread that owns the caller's transaction; the API
 * functions from any thread; the sender is private to its thread. */
#ifndef OPENDNI_APP_OUTBOX_H
#define OPENDNI_APP_OUTBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

struct app;
struct outbox;

#define OUTBOX_RETRY_FOR_MS (3LL * 86400 * 1000)    /* retried this long, then given up */
#define OUTBOX_DISABLE_AFTER_MS OUTBOX_RETRY_FOR_MS /* failing this long: destination disabled */
#define OUTBOX_MAX_BACKOFF_MS 3600000               /* the longest wait between two attempts */
#define OUTBOX_LEASE_MS 60000 /* a claim's lease: longer than any attempt can take */
#define OUTBOX_PER_DEST 4     /* requests in flight per destination (all nodes) */
/* A google_ads request carries up to this many conversions (the Data Manager API takes 2000 per
 * request; each message held while it is sent takes ~20 KiB here, so a batch ~10 MiB). */
#define OUTBOX_GADS_BATCH 500
#define OUTBOX_MAX_IN_FLIGHT 256    /* requests in flight per node */
#define OUTBOX_TIMEOUT_MS 10000     /* API.md: a 2xx within 10 s is delivered */
#define OUTBOX_CHECK_EVERY_MS 60000 /* periodic checks */
#define OUTBOX_STEP_MS 10           /* the sender records and claims at most this often */
#define OUTBOX_BUSY_STEP_MS 50      /* … or this often with 16 requests in flight or more */
#define OUTBOX_POLL_MS 100          /* … and claims at least this often */
#define OUTBOX_ALERT_COOLDOWN_MS (3600LL * 1000)
/* alert.swap_miss_rate: more than OUTBOX_SWAP_MISS_PCT % of the account's page views over the
 * last hour (at least OUTBOX_SWAP_MISS_MIN_VIEWS of them) found no number to swap. */
#define OUTBOX_SWAP_MISS_WINDOW_MS (3600LL * 1000)
#define OUTBOX_SWAP_MISS_BUCKET_MS (300LL * 1000) /* store_traffic_add's buckets */
#define OUTBOX_SWAP_MISS_PCT 5
#define OUTBOX_SWAP_MISS_MIN_VIEWS 20
#define OUTBOX_SWAP_MISS_COOLDOWN_MS (6 * 3600LL * 1000)
/* alert.static_use: a pool number called while no session held it for this long (and in the
 * store at least as long): it is printed or hard-coded somewhere. Per number, once a day. */
#define OUTBOX_STATIC_IDLE_MS (30 * 86400LL * 1000)
#define OUTBOX_STATIC_COOLDOWN_MS (86400LL * 1000)

/* Settings of the sender. */
struct outbox_config {
    bool allow_private;   /* serve --outbound-allow-private */
    const char *smtp_url; /* smtp[s]://[user:pass@]host[:port] for email destinations ("": none) */
    const char *smtp_from;
};

/* Starts the sender thread for app (its store, settings). Never NULL. */
struct outbox *outbox_start(struct app *app, const struct outbox_config *cfg);
/* Stops the sender (what is in flight is abandoned: its claims run out and are retried).
 * NULL ok. */
void outbox_stop(struct outbox *o);
/* Tells the sender that messages were committed, if any were written since its last claim
 * (outbox_written; it also polls). NULL ok; any thread. */
void outbox_wake(struct outbox *o);
/* Notes that messages were written in the caller's transaction (outbox_emit does; adplat_emit
 * too): the sender claims at its next step. NULL ok; any thread. */
void outbox_written(struct app *app);

/* Whether type is an event type a destination may subscribe to. */
bool outbox_event_known(const char *type);

/* Builds an event's data when some destination wants it (called at most once). Returns a new
 * reference, NULL on failure. */
typedef json_t *(*outbox_data_fn)(void *ctx);

/* Writes one message of event type for each of the account's enabled destinations that takes
 * it, on s inside the caller's transaction, with the body of API.md ({"id","type","created",
 * "account","data"}) and a new event id. data(ctx) is called only when a destination takes the
 * event. Returns ERR_OK (also when none does) or the store's error (the caller rolls back). */
int outbox_emit(struct app *app, struct store *s, int64_t account_id, const char *type, int64_t now,
                outbox_data_fn data, void *ctx);

/* alert.static_use for call (just inserted on s, inside the caller's transaction): when its number
 * is a pool number that has been in the store for OUTBOX_STATIC_IDLE_MS and no session held it
 * in that time before the call, emits the alert (at most once per OUTBOX_STATIC_COOLDOWN_MS per
 * number). Returns ERR_OK (also when nothing fires) or the store's error (the caller rolls back).
 */
int outbox_check_static_use(struct app *app, struct store *s, const struct st_call *call);

/* ==== the webhooks API (account-scoped; ids are the destinations' ext ids) ==================== */

/* A new destination: url ("https://…"; "mailto:ADDRESS" for format email), format ("json",
 * "slack", "email"), events (known types, at least one). The secret is made here
 * ("whsec_…", shown once). out: *d. ERR_INVALID (eb names the field), ERR_BACKEND. */
int outbox_destination_add(struct app *app, int64_t account_id, const char *url, const char *format,
                           const char *const *events, size_t n_events, struct st_destination *d,
                           struct errbuf *eb);
/* A new ad-platform destination: format "ga4" (id: the measurement id G-…, credential: the
 * stream's Measurement Protocol API secret) or "meta" (id: the pixel id, credential: a
 * Conversions API access token). The credential is sealed by the store and never shown again
 * (d->secret is cleared). events: what the platform takes (adplat_takes); none: all of them.
 * ERR_INVALID (eb names the field), ERR_BACKEND. */
int outbox_destination_add_ad(struct app *app, int64_t account_id, const char *format,
                              const char *id, const char *credential, const char *const *events,
                              size_t n_events, struct st_destination *d, struct errbuf *eb);
/* A new Google Ads destination (format "google_ads", Data Manager API): cfg's accounts,
 * conversion action, zone and consent (adplat_gads_destination_url checks them), and the OAuth2
 * client id, client secret and refresh token (checked, sealed by the store, never shown again).
 * It takes conversion.created. ERR_INVALID (eb names the field), ERR_BACKEND. */
struct adplat_gads_config;
int outbox_destination_add_gads(struct app *app, int64_t account_id,
                                const struct adplat_gads_config *cfg, const char *client_id,
                                const char *client_secret, const char *refresh_token,
                                struct st_destination *d, struct errbuf *eb);
/* Replaces an ad-platform destination's credential (checked, sealed) and enables it again, in
 * one transaction: what waited while it was disabled is sent with the new one. ERR_NOTFOUND,
 * ERR_INVALID (eb), ERR_CONFLICT (not an ad platform's destination). */
int outbox_destination_credential(struct app *app, int64_t account_id, const char *ext_id,
                                  const char *credential, struct errbuf *eb);
/* The format of the account's destination ext_id into format (cap bytes). ERR_NOTFOUND. */
int outbox_destination_format(struct app *app, int64_t account_id, const char *ext_id, char *format,
                              size_t cap);
int outbox_destination_list(struct app *app, int64_t account_id, store_destination_fn fn,
                            void *ctx);
int outbox_destination_get(struct app *app, int64_t account_id, const char *ext_id,
                           struct st_destination *d);
/* ERR_OK, ERR_NOTFOUND. */
int outbox_destination_delete(struct app *app, int64_t account_id, const char *ext_id);
int outbox_destination_enable(struct app *app, int64_t account_id, const char *ext_id);
/* The delivery log of a destination (store_delivery_list). */
int outbox_deliveries(struct app *app, const struct st_destination *d, int64_t before_id,
                      size_t max, store_delivery_fn fn, void *ctx);
/* Queues a sample event ("webhook.test", data: a sample call) for this destination only.
 * out: event_id (STORE_ID_MAX). ERR_OK, ERR_BACKEND, ERR_UNSUPPORTED (an ad platform's: a
 * sample would count there as a real conversion). */
int outbox_test(struct app *app, const struct st_account *acct, const struct st_destination *d,
                char *event_id);
/* Sends the destination's message event_id again (manual redelivery). ERR_NOTFOUND. */
int outbox_redeliver(struct app *app, int64_t account_id, const struct st_destination *d,
                     const char *event_id);

/* The OpenDNI-Signature header value for body at t (Unix seconds):
 * "t=T,v1=HEX(HMAC-SHA256(secret, T "." body))". out: sig (cap bytes, >= 96). Pure. */
void outbox_sign(const char *secret, int64_t t, const char *body, size_t len, char *sig,
                 size_t cap);
/* The delay before retry number attempt (>= 1) fails again: 10 s doubling to at most one hour,
 * times a jitter in [0.5, 1) from r in [0, 1). Pure. */
int64_t outbox_backoff_ms(int64_t attempt, double r);

#endif
