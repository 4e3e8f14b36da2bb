/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Ping-post auctions (auction.h): a queue of auctions fed from any thread, one service thread
 * that owns an outbound client and drives every auction's pings and posts through it. */
#include "base/prelude.h"
#include "app/auction.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>

#include "base/log.h"
#include "base/testhooks.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "app/outbound.h"
#include "app/outbox.h"

#define BID_PRICE_MAX 1000000000LL
#define PING_GRACE_MS                                                                              \
    100 /* pings' transfers outlive the deadline by this much */ /* minor units: ten million in    \
                                                                    the account's currency */

/* ==== the protocol's answers (pure) ========================================================== */

static bool bid_id_ok(const char *s)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-";
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n < STORE_ID_MAX && strspn(s, ok) == n;
}

/* The answer's JSON object, its protocol checked (absent = ours). NULL with why set. */
static json_t *answer_object(int status, const char *body, char *why, size_t why_cap)
{
    if (status != 200) {
        snprintf(why, why_cap, "HTTP status %d", status);
        return NULL;
    }
    json_t *o = json_loads(body ? body : "", JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(why, why_cap, "the answer is not a JSON object");
        return NULL;
    }
    json_t *proto = json_object_get(o, "protocol");
    if (proto &&
        !(json_is_string(proto) && strcmp(json_string_value(proto), AUCTION_PROTOCOL) == 0)) {
        json_decref(o);
        snprintf(why, why_cap, "protocol is not %s", AUCTION_PROTOCOL);
        return NULL;
    }
    return o;
}

int auction_parse_bid(int status, const char *body, int64_t *price, char *bid_id, size_t cap,
                      char *why, size_t why_cap)
{
    if (status == 204)
        return ERR_NOTFOUND;
    json_t *o = answer_object(status, body, why, why_cap);
    if (!o)
        return ERR_INVALID;
    json_t *bid = json_object_get(o, "bid");
    int rc = ERR_INVALID;
    if (!bid || json_is_null(bid)) {
        rc = ERR_NOTFOUND;
    } else if (!json_is_object(bid)) {
        snprintf(why, why_cap, "bid is not an object");
    } else {
        json_t *p = json_object_get(bid, "price");
        const char *id = json_string_value(json_object_get(bid, "id"));
        if (!json_is_integer(p) || json_integer_value(p) < 0 ||
            json_integer_value(p) > BID_PRICE_MAX)
            snprintf(why, why_cap, "bid.price is not a whole number of minor units");
        else if (!bid_id_ok(id))
            snprintf(why, why_cap, "bid.id is not 1 to 47 characters of [A-Za-z0-9._:-]");
        else if (json_integer_value(p) == 0)
            rc = ERR_NOTFOUND;
        else {
            *price = json_integer_value(p);
            snprintf(bid_id, cap, "%s", id);
            rc = ERR_OK;
        }
    }
    json_decref(o);
    return rc;
}

int auction_parse_post(int status, const char *body, const char *bid_id, char *dest, size_t cap,
                       char *why, size_t why_cap)
{
    json_t *o = answer_object(status, body, why, why_cap);
    if (!o)
        return ERR_INVALID;
    int rc = ERR_INVALID;
    const char *d = json_string_value(json_object_get(o, "destination"));
    json_t *echo = json_object_get(o, "bid_id");
    if (!json_is_true(json_object_get(o, "accepted")))
        snprintf(why, why_cap, "the buyer did not accept");
    else if (echo && !(json_is_string(echo) && strcmp(json_string_value(echo), bid_id) == 0))
        snprintf(why, why_cap, "bid_id is not the bid's");
    else if (!route_destination_ok(d))
        snprintf(why, why_cap, "destination is not an E.164 number or a sip: URI");
    else {
        snprintf(dest, cap, "%s", d);
        rc = ERR_OK;
    }
    json_decref(o);
    return rc;
}

/* ==== auctions =============================================================================== */

enum phase { PH_QUEUED = 0, PH_BIDDING, PH_POSTING, PH_DONE };

struct auction;

/* One request of an auction in flight (a ping or a post). */
struct flight {
    struct auctions *a;
    struct auction *au;
    int bidder; /* index into au->q->bidders */
    bool post;
};

struct auction {
    struct auction_req *q;
    auction_done_fn done;
    void *arg;
    enum phase phase;
    int64_t started_ms;            /* monotonic: the pings went out */
    int64_t bid_close_ms;          /* monotonic: bids after this do not count */
    int64_t post_end_ms;           /* monotonic: the post budget ends */
    bool sent[ROUTE_MAX_TARGETS];  /* per bidder: its ping went out */
    bool heard[ROUTE_MAX_TARGETS]; /* per bidder: its ping was answered (or failed) in time */
    size_t pinged;                 /* pings sent */
    size_t answered;               /* pings answered (or failed) */
    int in_flight;                 /* requests of this auction in flight */
    struct route_bid bids[ROUTE_MAX_TARGETS];
    char bid_ids[ROUTE_MAX_TARGETS][STORE_ID_MAX];
    size_t n_bids;
    size_t order[ROUTE_MAX_TARGETS]; /* ranked bids */
    size_t n_ranked;
    size_t next_post; /* into order[] */
    bool posting;     /* a post is in flight */
    struct auction_result r;
    /* Its requests' callback arguments: a ping per bidder and at most a post per bid, kept with
     * the auction so that nothing is left behind when the client drops transfers at exit. */
    struct flight flights[2 * ROUTE_MAX_TARGETS];
    size_t n_flights;
    struct auction *next;
};

struct auctions {
    struct auctions_config cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    struct auction *incoming; /* queued by auction_run, under mu */
    atomic_bool stop;
    atomic_bool quiescing;
    struct outbound *ob;  /* the thread's */
    struct auction *live; /* the thread's: auctions not done yet or with requests in flight */
    size_t in_flight;     /* the thread's: requests in flight */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add_line(struct auction_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_line(struct auction_result *r, const char *fmt, ...)
{
    size_t have = strlen(r->log);
    if (have + 2 >= sizeof(r->log))
        return;
    if (have)
        r->log[have++] = '\n';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->log + have, sizeof(r->log) - have, fmt, ap);
    va_end(ap);
}

/* The callback, once: the auction is over (it stays in the live list while requests of it are
 * in flight, so their late callbacks find it). */
static void finish_auction(struct auction *au)
{
    if (au->phase == PH_DONE)
        return;
    au->phase = PH_DONE;
    au->done(au->arg, &au->r);
}

static char *body_of(const struct auction *au, const struct auction_bidder *b, bool post,
                     size_t bid)
{
    json_t *call = json_loads(au->q->call, 0, NULL);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o}", "protocol", AUCTION_PROTOCOL, "type",
                          post ? "post" : "ping", "auction_id", au->q->auction_id, "buyer", b->id,
                          "call", call ? call : json_object());
    if (post)
        json_object_set_new(o, "bid",
                            json_pack("{s:s,s:I}", "id", au->bid_ids[bid], "price",
                                      (json_int_t)au->bids[bid].price));
    else {
        json_object_set_new(o, "deadline_ms", json_integer(au->q->deadline_ms));
        json_object_set_new(o, "reserve", json_integer(au->q->reserve));
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static void on_answer(void *arg, const struct outbound_result *res);

/* Sends a ping or a post; false when it could not start (its line is logged). */
static bool send_one(struct auctions *a, struct auction *au, int bidder, bool post, size_t bid,
                     int64_t timeout_ms)
{
    const struct auction_bidder *b = &au->q->bidders[bidder];
    const char *url = post && b->post_url[0] ? b->post_url : b->bid_url;
    if (a->in_flight >= AUCTION_MAX_IN_FLIGHT) {
        add_line(&au->r, "%s %s: not sent: too many requests in flight", post ? "post" : "ping",
                 b->id);
        return false;
    }
    char *body = body_of(au, b, post, bid);
    char hdr[STORE_ID_MAX + 32];
    snprintf(hdr, sizeof(hdr), "OpenDNI-Auction: %s", au->q->auction_id);
    /* signed like the outbound webhooks (API.md): HMAC-SHA256 of "t.body" with the buyer's key */
    char sig[160], h_sig[192];
    if (body && b->secret[0])
        outbox_sign(b->secret, time_now_ms() / 1000, body, strlen(body), sig, sizeof(sig));
    snprintf(h_sig, sizeof(h_sig), "OpenDNI-Signature: %s", body && b->secret[0] ? sig : "");
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json", hdr,
                             h_sig};
    size_t n_headers = b->secret[0] ? ARRAY_SIZE(headers) : ARRAY_SIZE(headers) - 1;
    if (au->n_flights >= ARRAY_SIZE(au->flights)) {
        free(body);
        return false;
    }
    struct flight *f = &au->flights[au->n_flights++];
    *f = (struct flight){a, au, bidder, post};
    int rc =
        body ? outbound_request_within(a->ob, timeout_ms < 1 ? 1 : timeout_ms, "POST", url, headers,
                                       n_headers, body, strlen(body), NULL, on_answer, f)
             : ERR_NOMEM;
    free(body);
    if (rc) {
        au->n_flights--;
        add_line(&au->r, "%s %s: not sent: %s", post ? "post" : "ping", b->id,
                 rc == ERR_INVALID ? "the URL is not https:// (or http:// with "
                                     "--outbound-allow-private)"
                                   : err_str(rc));
        return false;
    }
    a->in_flight++;
    au->in_flight++;
    return true;
}

/* Posts to the next ranked bid while the budget lasts; none left: the auction is lost. */
static void post_next(struct auctions *a, struct auction *au)
{
    int64_t now = mono_ms();
    while (au->next_post < au->n_ranked && now < au->post_end_ms) {
        size_t bid = au->order[au->next_post++];
        int bidder = -1;
        for (size_t i = 0; i < au->q->n; i++)
            if (au->q->bidders[i].target == au->bids[bid].target)
                bidder = (int)i;
        if (bidder < 0)
            continue;
        if (send_one(a, au, bidder, true, bid, au->post_end_ms - now)) {
            au->posting = true;
            return;
        }
    }
    if (au->n_ranked == 0)
        add_line(&au->r, "no valid bid");
    else if (au->next_post >= au->n_ranked)
        add_line(&au->r, "no post confirmed");
    else
        add_line(&au->r, "post budget spent");
    finish_auction(au);
}

/* Bidding ends (deadline, or every ping answered): rank, then post. */
static void close_bidding(struct auctions *a, struct auction *au)
{
    if (au->phase != PH_BIDDING)
        return;
    for (size_t i = 0; i < au->q->n; i++)
        if (au->sent[i] && !au->heard[i])
            add_line(&au->r, "ping %s: no answer within %d ms", au->q->bidders[i].id,
                     au->q->deadline_ms);
    au->n_ranked = route_auction_rank(au->q->plan, UINT64_MAX, au->bids, au->n_bids,
                                      au->q->deadline_ms, au->q->reserve, au->order);
    au->phase = PH_POSTING;
    au->post_end_ms = mono_ms() + AUCTION_POST_BUDGET_MS;
    post_next(a, au);
}

static void ping_answered(struct auctions *a, struct auction *au, int bidder,
                          const struct outbound_result *res)
{
    const struct auction_bidder *b = &au->q->bidders[bidder];
    int64_t at = mono_ms() - au->started_ms;
    au->answered++;
    if (au->phase != PH_BIDDING || at > au->q->deadline_ms)
        return; /* too late: close_bidding logged it */
    au->heard[bidder] = true;
    if (res->status == 0) {
        add_line(&au->r, "ping %s: %s", b->id, res->error[0] ? res->error : "no answer");
    } else {
        struct route_bid *bid = &au->bids[au->n_bids];
        char why[128] = "";
        int64_t price = 0;
        int rc = auction_parse_bid(res->status, res->body, &price, au->bid_ids[au->n_bids],
                                   STORE_ID_MAX, why, sizeof(why));
        *bid = (struct route_bid){
            .target = b->target, .valid = rc == ERR_OK, .price = price, .arrived_ms = at};
        au->n_bids++;
        if (rc == ERR_OK)
            add_line(&au->r, "ping %s: bid %" PRId64 " (%s) in %" PRId64 " ms", b->id, price,
                     au->bid_ids[au->n_bids - 1], at);
        else if (rc == ERR_NOTFOUND)
            add_line(&au->r, "ping %s: no bid", b->id);
        else
            add_line(&au->r, "ping %s: invalid bid: %s", b->id, why);
        if (rc == ERR_OK && price < au->q->reserve)
            add_line(&au->r, "ping %s: under the reserve %" PRId64, b->id, au->q->reserve);
    }
    if (au->answered >= au->pinged)
        close_bidding(a, au);
}

static void post_answered(struct auctions *a, struct auction *au, int bidder,
                          const struct outbound_result *res)
{
    const struct auction_bidder *b = &au->q->bidders[bidder];
    au->posting = false;
    if (au->phase != PH_POSTING)
        return;
    size_t bid = au->order[au->next_post - 1];
    char why[sizeof(res->error)] = "";
    int rc = ERR_INVALID;
    if (res->status == 0)
        snprintf(why, sizeof(why), "%s", res->error[0] ? res->error : "no answer");
    else
        rc = auction_parse_post(res->status, res->body, au->bid_ids[bid], au->r.destination,
                                sizeof(au->r.destination), why, sizeof(why));
    if (rc == ERR_OK) {
        au->r.winner = b->target;
        au->r.price = au->bids[bid].price;
        snprintf(au->r.bid_id, sizeof(au->r.bid_id), "%s", au->bid_ids[bid]);
        add_line(&au->r, "post %s: accepted at %" PRId64, b->id, au->r.price);
        for (size_t k = au->next_post; k < au->n_ranked && au->r.n_rest < AUCTION_REST_MAX; k++) {
            struct auction_bid_left *l = &au->r.rest[au->r.n_rest++];
            l->target = au->bids[au->order[k]].target;
            l->price = au->bids[au->order[k]].price;
            memcpy(l->bid_id, au->bid_ids[au->order[k]], sizeof(l->bid_id));
        }
        finish_auction(au);
        return;
    }
    au->r.destination[0] = '\0';
    add_line(&au->r, "post %s: %s", b->id, why);
    post_next(a, au);
}

static void on_answer(void *arg, const struct outbound_result *res)
{
    struct flight *f = arg;
    struct auction *au = f->au;
    struct auctions *a = f->a;
    a->in_flight--;
    au->in_flight--;
    if (f->post)
        post_answered(a, au, f->bidder, res);
    else
        ping_answered(a, au, f->bidder, res);
}

/* ==== the thread ============================================================================= */

static void lose(struct auction *au, const char *why)
{
    if (au->phase == PH_DONE)
        return;
    au->r.winner = -1;
    au->r.destination[0] = '\0';
    add_line(&au->r, "%s", why);
    finish_auction(au);
}

/* A re-post: the bids given, best first, get the post in turn (no pings). */
static void open_repost(struct auctions *a, struct auction *au)
{
    for (size_t i = 0; i < au->q->n_preset && i < AUCTION_REST_MAX; i++) {
        const struct auction_bid_left *l = &au->q->preset[i];
        au->bids[i] = (struct route_bid){.target = l->target, .valid = true, .price = l->price};
        snprintf(au->bid_ids[i], sizeof(au->bid_ids[i]), "%s", l->bid_id);
        au->order[i] = i;
        au->n_bids = au->n_ranked = i + 1;
    }
    au->phase = PH_POSTING;
    au->started_ms = mono_ms();
    au->post_end_ms = au->started_ms + AUCTION_POST_BUDGET_MS;
    post_next(a, au);
}

/* Sends an auction's pings. */
static void open_bidding(struct auctions *a, struct auction *au)
{
    if (au->q->n_preset) {
        open_repost(a, au);
        return;
    }
    au->phase = PH_BIDDING;
    au->started_ms = mono_ms();
    au->bid_close_ms = au->started_ms + au->q->deadline_ms;
    /* The transfers may run a little past the deadline: the bidding closes on the deadline
     * itself (tick), so a buyer that did not answer by then reads "no answer", and the late
     * transfers end on their own. */
    for (size_t i = 0; i < au->q->n; i++)
        if (send_one(a, au, (int)i, false, 0, au->q->deadline_ms + PING_GRACE_MS)) {
            au->sent[i] = true;
            au->pinged++;
        }
    if (au->pinged == 0)
        close_bidding(a, au);
}

/* Takes the queued auctions onto the live list and starts them. */
static void take_incoming(struct auctions *a)
{
    pthread_mutex_lock(&a->mu);
    struct auction *in = a->incoming;
    a->incoming = NULL;
    pthread_mutex_unlock(&a->mu);
    struct auction *rev = NULL; /* oldest first */
    while (in) {
        struct auction *nx = in->next;
        in->next = rev;
        rev = in;
        in = nx;
    }
    while (rev) {
        struct auction *au = rev;
        rev = rev->next;
        au->next = a->live;
        a->live = au;
        if (atomic_load(&a->quiescing))
            lose(au, "the server is stopping");
        else
            open_bidding(a, au);
    }
}

/* Deadlines passed, then the auctions over and with nothing in flight are freed. Returns the
 * milliseconds until the next deadline (at most 100). */
static int tick(struct auctions *a)
{
    int64_t now = mono_ms();
    int64_t wait = 100;
    bool quiescing = atomic_load(&a->quiescing);
    for (struct auction *au = a->live; au; au = au->next) {
        if (quiescing)
            lose(au, "the server is stopping");
        if (au->phase == PH_BIDDING && now >= au->bid_close_ms)
            close_bidding(a, au);
        if (au->phase == PH_BIDDING && au->bid_close_ms - now < wait)
            wait = au->bid_close_ms - now;
        if (au->phase == PH_POSTING && !au->posting)
            post_next(a, au);
    }
    struct auction **pp = &a->live;
    while (*pp) {
        struct auction *au = *pp;
        if (au->phase == PH_DONE && au->in_flight == 0) {
            *pp = au->next;
            for (size_t i = 0; i < au->q->n; i++) /* the buyers' keys leave no copy behind */
                memset(au->q->bidders[i].secret, 0, sizeof(au->q->bidders[i].secret));
            free(au->q);
            free(au);
        } else {
            pp = &au->next;
        }
    }
    return (int)(wait < 1 ? 1 : wait);
}

static void *thread_main(void *arg)
{
    struct auctions *a = arg;
    int wait = 100;
    while (!atomic_load(&a->stop)) {
        take_incoming(a);
        wait = tick(a);
        outbound_run(a->ob, wait);
        wait = tick(a);
    }
    atomic_store(&a->quiescing, true);
    take_incoming(a);
    tick(a);
    outbound_free(a->ob); /* requests in flight are dropped without their callbacks */
    a->ob = NULL;
    while (a->live) {
        struct auction *au = a->live;
        a->live = au->next;
        free(au->q);
        free(au);
    }
    return NULL;
}

struct auctions *auctions_start(const struct auctions_config *cfg)
{
    struct auctions *a = xcalloc(1, sizeof(*a));
    a->cfg = *cfg;
    pthread_mutex_init(&a->mu, NULL);
    a->ob = outbound_new(&(struct outbound_config){.allow_private = cfg->allow_private,
                                                   .ca_file = testhooks_outbound_ca(),
                                                   .connect_ms = 1000,
                                                   .timeout_ms = 5000,
                                                   .user_agent = "opendni"});
    if (pthread_create(&a->thread, NULL, thread_main, a) != 0) {
        log_error("auction", "cannot start the auction thread");
        abort();
    }
    return a;
}

void auctions_quiesce(struct auctions *a)
{
    if (!a)
        return;
    atomic_store(&a->quiescing, true);
    outbound_wakeup(a->ob);
}

void auctions_stop(struct auctions *a)
{
    if (!a)
        return;
    atomic_store(&a->stop, true);
    outbound_wakeup(a->ob);
    pthread_join(a->thread, NULL);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void auction_run(struct auctions *a, struct auction_req *q, auction_done_fn done, void *arg)
{
    struct auction *au = xcalloc(1, sizeof(*au));
    au->q = q;
    au->done = done;
    au->arg = arg;
    au->r.winner = -1;
    if (q->deadline_ms <= 0)
        q->deadline_ms = ROUTE_AUCTION_DEADLINE_MS;
    pthread_mutex_lock(&a->mu);
    au->next = a->incoming;
    a->incoming = au;
    pthread_mutex_unlock(&a->mu);
    outbound_wakeup(a->ob);
}
