/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* P&L for pay-per-call (docs/reports.md "P&L"): publishers (payees paid per billable call of the
 * traffic they own: utm_source values, tracking numbers, pools), the P&L report (billable calls,
 * revenue from buyers, payouts to publishers, costs, margin) and the live totals of today
 * published on /v1/stream (`pnl.updated`).
 *
 * A call is billable when a person said so (its outcome's `billable`), else when the routing
 * target (a buyer) it connected to made it so by its rule (talk time >= the target's
 * min_duration). A billable call earns its buyer's price (recorded with the call's routing when
 * it connected) and costs its publisher's payout. Its publisher is the one owning its tracking
 * number, else its pool, else its utm_source.
 *
 * Ownership: JSON results are new references for the caller. THREADING: any thread; each call
 * reads or writes the store on the calling thread. */
#ifndef OPENDNI_APP_PNL_H
#define OPENDNI_APP_PNL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct app;
struct st_account;
struct pnl_event;

/* POST /v1/publishers (ext_id NULL) or PUT /v1/publishers/{ext_id}: body
 * {"name":"…","payout":N,"sources":[…],"numbers":["+1…"],"pools":["pool_…"]} checked whole,
 * written in one transaction. out: *out, the publisher as GET shows it. ERR_INVALID (eb names the
 * field), ERR_CONFLICT (something listed is another publisher's: eb says which), ERR_NOTFOUND
 * (PUT of an unknown id), ERR_BACKEND. Nothing is written on any error. */
int pnl_publisher_put(struct app *app, int64_t account_id, const char *ext_id, const char *body,
                      size_t len, int64_t now, json_t **out, struct errbuf *eb);
/* GET /v1/publishers/{ext_id}: ERR_OK with *out, ERR_NOTFOUND, ERR_BACKEND. */
int pnl_publisher_get(struct app *app, int64_t account_id, const char *ext_id, json_t **out);
/* GET /v1/publishers: {"publishers":[…]} oldest first. */
int pnl_publisher_list(struct app *app, int64_t account_id, json_t **out);
/* DELETE /v1/publishers/{ext_id}: ERR_OK, ERR_NOTFOUND, ERR_BACKEND. */
int pnl_publisher_delete(struct app *app, int64_t account_id, const char *ext_id);

/* The P&L's groupings, in the order asked. */
enum pnl_dim { PNL_DAY = 0, PNL_SOURCE, PNL_BUYER, PNL_PUBLISHER, PNL_N_DIMS };
struct pnl_dims {
    size_t n;
    enum pnl_dim dim[PNL_N_DIMS];
};
/* "day,buyer" → dims; NULL or "" = no grouping. ERR_INVALID (field group_by) for an unknown,
 * empty or repeated name. */
int pnl_dims_parse(const char *list, struct pnl_dims *dims, struct errbuf *eb);

struct pnl_query {
    int64_t since, until; /* since <= started_at < until */
    int tz_offset_min;    /* the day key's offset east of UTC */
    bool call_ids;        /* rows list their calls (and their billable calls) */
};

/* GET /v1/reports/pnl: {"rows":[{"key":{…},"calls","billable","revenue","payouts","margin",
 * "number_cost","cost","number_monthly_cost","net"[,"call_ids","billable_call_ids"]}],
 * "totals":{…},"group_by":[…],"currency","since","until"}. ERR_BACKEND (eb says so). */
int pnl_report(struct app *app, const struct st_account *a, const struct pnl_dims *dims,
               const struct pnl_query *q, json_t **out, struct errbuf *eb);

/* The account's P&L totals of the UTC day holding now, as the `pnl.updated` event's data:
 * {"day":"YYYY-MM-DD","calls","billable","revenue","payouts","margin","currency"}. NULL if the
 * store could not be read. */
json_t *pnl_today_json(struct app *app, int64_t account_id, int64_t now);

/* Publishes `pnl.updated` (pnl_today_json) to the account's /v1/stream listeners (masked
 * listeners get the money figures as null) and tells the other nodes (app/fanout.h), whose
 * fan-out thread calls pnl_publish_local. Call it off the writer thread (http_after). */
void pnl_publish_today(struct app *app, int64_t account_id);
/* The same for this node's listeners only (nothing is read when it has none). */
void pnl_publish_local(struct app *app, int64_t account_id);

/* For http_after: pnl_event_new makes the argument (never NULL), pnl_event_publish publishes
 * pnl_publish_today for it and frees it. */
struct pnl_event *pnl_event_new(struct app *app, int64_t account_id);
void pnl_event_publish(void *ev);

#endif
