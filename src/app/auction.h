/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Ping-post auctions (docs/routing.md "Ping-post"): the transport of one auction. Every bidder's
 * bid endpoint gets a ping (the call's anonymised facts, the auction id) at once through the one
 * outbound client (app/outbound.h, curl's multi interface) with the auction's deadline; the
 * bids that came back in time are ranked by core/route.h (route_auction_rank: valid, at least
 * the reserve, highest first); the best one gets the post, and a post that confirms with a valid
 * destination wins; a post that refuses or fails passes to the next bid while the post budget
 * lasts. The bodies are the versioned JSON protocol "opendni-ping-post/1".
 * Everything runs on the service's own thread: no HTTP worker waits (the provider's request
 * is suspended meanwhile: http_defer). At most AUCTION_MAX_IN_FLIGHT requests are in flight;
 * an auction that would exceed it, or that arrives while the server stops, ends at once with
 * no winner (the plan falls back).
 * Ownership: auction_run takes the request; the result is borrowed for the callback.
 * THREADING: auction_run, auctions_quiesce may be called from any thread; the callback runs on
 * the service's thread. */
#ifndef OPENDNI_APP_AUCTION_H
#define OPENDNI_APP_AUCTION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/route.h"
#include "store/store.h"

#define AUCTION_PROTOCOL "opendni-ping-post/1"
#define AUCTION_URL_MAX 512
#define AUCTION_LOG_MAX 1024
#define AUCTION_MAX_IN_FLIGHT 256   /* pings and posts in flight, all auctions together */
#define AUCTION_POST_BUDGET_MS 1000 /* posts after the bidding: at most this long in all */
#define AUCTION_REST_MAX 4          /* valid bids kept after the winner, for a re-post */

struct auctions;

struct auctions_config {
    bool allow_private; /* serve --outbound-allow-private */
};

struct auctions *auctions_start(const struct auctions_config *cfg);
/* The server is stopping: auctions in flight end now without a winner (their callbacks run),
 * new ones end at once. NULL ok. */
void auctions_quiesce(struct auctions *a);
/* Stops the thread and frees a (after auctions_quiesce: no callback is left). NULL ok. */
void auctions_stop(struct auctions *a);

struct auction_bidder {
    int target; /* the plan's target index */
    char id[STORE_ID_MAX];
    char bid_url[AUCTION_URL_MAX];
    char post_url[AUCTION_URL_MAX]; /* "" = bid_url */
    char secret[STORE_SECRET_MAX];  /* signs its pings and posts; "" = unsigned */
};

/* A valid bid not posted yet (ranked after the winner). */
struct auction_bid_left {
    int target; /* the plan's target index */
    int64_t price;
    char bid_id[STORE_ID_MAX];
};

struct auction_req {
    char auction_id[STORE_ID_MAX];
    int deadline_ms;
    int64_t reserve;
    const struct route_plan *plan; /* borrowed until the callback: ranking ties (priority) */
    char call[1024];               /* the call's anonymised facts, a JSON object's text */
    size_t n;
    struct auction_bidder bidders[ROUTE_MAX_TARGETS];
    /* A re-post (n_preset > 0): no pings; these bids of the same auction, best first, get the
     * post in turn (each bid's target must be among bidders). */
    size_t n_preset;
    struct auction_bid_left preset[AUCTION_REST_MAX];
};

struct auction_result {
    int winner; /* target index, -1 = none */
    char destination[ROUTE_DEST_MAX];
    char bid_id[STORE_ID_MAX];
    int64_t price;
    char log[AUCTION_LOG_MAX]; /* one line per bidder and post, '\n'-separated */
    /* the winner's: the valid bids ranked after it that were not posted, best first */
    size_t n_rest;
    struct auction_bid_left rest[AUCTION_REST_MAX];
};

typedef void (*auction_done_fn)(void *arg, const struct auction_result *r);

/* Runs auction q (taken); done(arg, result) follows exactly once on the service's thread. */
void auction_run(struct auctions *a, struct auction_req *q, auction_done_fn done, void *arg);

/* Reads a bid answer (an HTTP status and its body): ERR_OK with *price and bid_id (cap bytes)
 * for a bid; ERR_NOTFOUND for "no bid" (204, or {"bid":null}, or a price of 0); ERR_INVALID with
 * why (cap bytes) otherwise. Pure. */
int auction_parse_bid(int status, const char *body, int64_t *price, char *bid_id, size_t cap,
                      char *why, size_t why_cap);
/* Reads a post answer: ERR_OK with the destination (validated: route_destination_ok);
 * ERR_INVALID with why otherwise (a refusal included). Pure. */
int auction_parse_post(int status, const char *body, const char *bid_id, char *dest, size_t cap,
                       char *why, size_t why_cap);

#endif
