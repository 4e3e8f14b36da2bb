/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Numbers bought and released by opendni (issue #20 item 4; docs/telephony.md "Buying and
 * releasing numbers"): per account, the provider and a monthly spend cap; per pool, autoscale
 * settings; purchases and releases through the provider's REST API (telephony/numbers.h) via
 * the one outbound client, each logged in the pool's number log.
 * A purchase is idempotent: an intent with a fresh key is claimed in the store (one pending
 * intent per pool slot, so two nodes deciding at once never buy twice) before the provider is
 * asked, the key goes to the provider with the purchase, and an intent found pending later (a
 * crash, a provider error after the sale) is settled by asking the provider for the numbers it
 * sold under that key before anything is bought again. A release takes the number out of its
 * pool first, then releases it at the provider, retried until the provider confirms.
 * Provider calls run on the service's own thread (never on an HTTP thread): numbers_buy,
 * numbers_release and numbers_check queue a job and call done from that thread. The same
 * thread checks every autoscaled pool each interval, on one node at a time (a store-side job
 * claim), deciding with core/autoscale.
 * Ownership: requests are copied; results are the callback's (it takes r->body).
 * THREADING: every function may be called from any thread. */
#ifndef OPENDNI_APP_NUMBERS_H
#define OPENDNI_APP_NUMBERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "app/records.h"

struct app;
struct numbers;

struct numbers_config {
    bool allow_private;  /* serve --outbound-allow-private */
    int64_t interval_ms; /* autoscale checks, 0 = never on a timer */
};

/* The service: its thread settles pending intents and autoscales pools every interval. */
struct numbers *numbers_start(struct app *app, const struct numbers_config *cfg);
/* The server is stopping (before the HTTP server waits for its open requests): provider calls
 * in flight are abandoned and new jobs refused, so every waiting request is answered at once.
 * NULL ok. */
void numbers_quiesce(struct numbers *n);
/* Stops the thread (after the job it is running) and frees n. Queued jobs get ERR_UNAVAILABLE.
 * NULL ok. */
void numbers_stop(struct numbers *n);

/* What a job produced: ERR_OK with body (status 200 or 201), or an error code with message
 * (and field) for the API's error format. */
struct numbers_result {
    int rc;
    int status;
    char message[256];
    char field[32];
    json_t *body; /* owned by the callback */
};
typedef void (*numbers_done_fn)(void *arg, struct numbers_result *r);

struct numbers_buy_req {
    int64_t account_id;
    char pool[STORE_ID_MAX]; /* external id */
    char area_code[8];       /* "" = the region, else the pool's autoscale area code or the
                                pool's target's */
    char region[8];
    int64_t count; /* 1..20 */
    bool dry_run;
};
void numbers_buy(struct numbers *n, const struct numbers_buy_req *q, numbers_done_fn done,
                 void *arg);

struct numbers_release_req {
    int64_t account_id;
    char pool[STORE_ID_MAX];
    char number[STORE_ID_MAX]; /* the number's external id, or its E.164 */
    bool dry_run;
    bool force; /* release even when it was called within the attribution window */
};
void numbers_release(struct numbers *n, const struct numbers_release_req *q, numbers_done_fn done,
                     void *arg);

/* Runs the periodic work now (settle pending intents, autoscale every enabled pool), as the
 * timer does; the result lists what each pool decided. */
void numbers_check(struct numbers *n, numbers_done_fn done, void *arg);

/* ---- settings and the log (on the calling thread: no provider call) ---- */

/* The account's number settings as JSON ({"provider","monthly_cap","number_cost","country",
 * "spend_this_month","credentials"}). */
int numbers_settings_get(struct app *app, int64_t account_id, json_t **out, struct errbuf *eb);
/* Writes them from body (keys as above, plus write-only "telnyx_api_key" and
 * "telnyx_connection_id", sealed with the other provider secrets). */
int numbers_settings_put(struct app *app, int64_t account_id, json_t *body, json_t **out,
                         struct errbuf *eb);
/* A pool's autoscale settings (defaults when none were stored: off). */
int numbers_autoscale_get(struct app *app, int64_t account_id, const char *pool, json_t **out,
                          struct errbuf *eb);
int numbers_autoscale_put(struct app *app, int64_t account_id, const char *pool, json_t *body,
                          json_t **out, struct errbuf *eb);
/* The pool's number log, newest first: {"data":[…],"next":cursor|null}. */
int numbers_actions(struct app *app, int64_t account_id, const char *pool, int64_t before_id,
                    size_t limit, json_t **out, struct errbuf *eb);

#endif
