/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* struct app: the process state of `opendni serve`, passed explicitly (no globals): settings,
 * the store, and the services the handlers share. Built by cli/cmd_serve.c with app_init and
 * torn down with app_release after the HTTP server has stopped.
 * THREADING: the pointers are set once before the server starts and never change; each service
 * guards its own state. */
#ifndef OPENDNI_APP_APP_H
#define OPENDNI_APP_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "app/clientaddr.h"

struct store;
struct metrics;
struct writer;
struct ratelimit;
struct accounts;
struct stream;
struct sescache;
struct guard;
struct health;
struct secrets_key;
struct outbox;
struct purger;
struct offline;
struct fanout;
struct traffic;
struct numbers;
struct auctions;

struct app_config {
    const char *db;
    const char *listen;                  /* "127.0.0.1:8080"; port 0 picks a free one */
    const char *public_url;              /* "" = http://LISTEN */
    const char *port_file;               /* write the bound port here once listening ("" = none) */
    long long rate_limit_visits;         /* per client address per minute, 0 = off */
    long long max_new_sessions;          /* per account per minute, 0 = off */
    long long rate_limit_bad_signatures; /* failed webhook signatures per address per minute */
    long long threads;                   /* HTTP worker threads, 0 = number of CPUs */
    long long body_max;                  /* default request body limit in bytes */
    long long max_conns_per_addr;        /* open connections per client address, 0 = no limit; not
                                            applied with trust_proxy (every client is the proxy) */
    long long request_timeout_s; /* a request's line, headers and body must arrive within this
                                    (from accept, or from the end of the previous request) */
    const char *log_level;
    bool log_pii;
    const char *trust_proxy; /* proxies whose X-Forwarded-For is believed: "ADDR[/BITS],…" ("") */
    long long client_new_sessions; /* new sessions per client per minute before it is a flood */
    long long client_share;        /* % of a pool one client's unproven sessions may hold */
    long long client_max_numbers;  /* … and at most this many numbers of it */
    long long flood_hold;          /* seconds a recognised flood stays flagged */
    const char *geo_header;    /* request header carrying the visitor's ISO 3166-2 region ("") */
    bool demo;                 /* serve the demo site at /demo/ (make run) */
    const char *metrics_token; /* GET /metrics needs "Authorization: Bearer" this; "" = only
                                  direct loopback clients may read it */
    /* The key provider secrets are sealed with (store/secrets.h), NULL = none: borrowed until
     * app_init returns (the store keeps a copy). */
    const struct secrets_key *secrets_key;
    long long session_idle_s;    /* dashboard sessions end this long after their last request */
    long long session_max_s;     /* … and this long after the login, whatever happens */
    bool outbound_allow_private; /* outbound requests may reach loopback/private addresses */
    const char *smtp_url;        /* SMTP server for email destinations ("" = none) */
    const char *smtp_from;       /* their From address */
    /* Where calls answered while the store cannot take them are kept (app/offline.h): a
     * directory of this process's own (cmd_serve.c picks the default). */
    const char *spool_dir;
    long long autoscale_interval_s; /* number checks and pool autoscaling, 0 = off */
};

struct app {
    struct app_config cfg;
    char public_url[256]; /* resolved, without a trailing slash */
    struct store *store;
    struct metrics *metrics;
    struct writer *writer;
    struct ratelimit *visit_limit;
    struct ratelimit *session_limit;
    struct ratelimit *bad_signature_limit; /* failed webhook signatures, by client address */
    struct accounts *accounts;
    struct stream *stream;
    struct sescache *sessions;           /* recently seen sessions (pings, events) */
    struct guard *guard;                 /* per-client shares of the pools, flood recognition */
    struct clientaddr_trust trusted;     /* parsed cfg.trust_proxy */
    struct health *health;               /* readiness: can the store commit (GET /readyz) */
    struct ratelimit *login_addr_limit;  /* dashboard logins per client address */
    struct ratelimit *login_email_limit; /* dashboard logins per email */
    struct outbox *outbox;               /* outbound messages: the sender and periodic checks */
    struct purger *purger;               /* the retention purge (app/privacy.h) */
    struct offline *offline;             /* the number directory and the spool (outages) */
    struct fanout *fanout;               /* stream events from the other nodes (PostgreSQL) */
    uint64_t node_id;                    /* random per process: tells its own events apart */
    struct traffic *traffic;             /* page views and swap misses (alert.swap_miss_rate) */
    struct numbers *numbers;             /* numbers bought and released, pool autoscaling */
    struct auctions *auctions;           /* ping-post auctions (routing plans) */
    struct poolsim *poolsim;             /* the pool page's sweep (POST /v1/pools/{id}/simulate) */
    struct recordings *recordings;       /* call recordings relayed from the provider */
};

/* Opens the store (it must be migrated) and starts the services; parses cfg.trust_proxy
 * (ERR_INVALID naming the bad entry). ERR_* with detail in eb. */
int app_init(struct app *app, struct errbuf *eb);
/* Stops the services (the writer drains its queue first) and closes the store. */
void app_release(struct app *app);

#endif
