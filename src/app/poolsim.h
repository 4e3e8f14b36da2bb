/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The pool page's one-click sweep (POST /v1/pools/{id}/simulate, docs/pool-sizing.md "From the
 * dashboard"): the pool's own history of the last days, as `opendni export trace` writes it
 * (store_export_trace_pool, kept in memory), replayed by the simulator (src/sim, the engine of
 * `opendni simulate`) for about 60 pool sizes with the pool's ttl, cooldown and exhaustion mode
 * under the server's attribution policy; the answer is one `simulate --json` object per size
 * and the smallest size reaching the target accuracy.
 * Bounded: at most POOLSIM_ROWS_MAX rows of history (more is refused: ERR_TOOBIG), the sizes a
 * sweep tries, and POOLSIM_DEADLINE_MS of replaying (then ERR_UNAVAILABLE); one simulation at a
 * time per account (poolsim_reserve), at most POOLSIM_QUEUE_MAX waiting in all. The work runs
 * on the service's own thread (and the sweep's), never on an HTTP worker: requests wait
 * suspended (http_defer) and their callback runs on that thread.
 * THREADING: every function may be called from any thread. */
#ifndef OPENDNI_APP_POOLSIM_H
#define OPENDNI_APP_POOLSIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/records.h"

struct app;
struct buf;
struct poolsim;
struct st_trace_row;

/* A trace (docs/pool-sizing.md's format) as `opendni export trace` writes it and the sweep
 * reads it: the header, then one row per store_export_trace row — seconds since `since` (ms
 * precision), the event, the session id with anything but [A-Za-z0-9_.:-] made '_', a visit's
 * device and region, a call's caller region from its area code. ERR_OK or buf_add's error. */
#define POOLSIM_TRACE_HEADER "time,event,session,device,region\n"
int poolsim_trace_row(struct buf *out, int64_t since, const struct st_trace_row *r);

#define POOLSIM_ROWS_MAX 1000000        /* history rows (visits, page views, clicks, calls) */
#define POOLSIM_DAYS_MAX 90             /* the longest history asked for */
#define POOLSIM_DAYS_DEFAULT 30         /* the default history */
#define POOLSIM_QUEUE_MAX 8             /* simulations queued or running, all accounts */
#define POOLSIM_DEADLINE_MS (60 * 1000) /* replay time before the sweep gives up */
#define POOLSIM_TARGET_DEFAULT 0.95     /* the accuracy the recommended size reaches */

struct poolsim_req {
    int64_t account_id;
    char pool[STORE_ID_MAX]; /* the pool's external id */
    int64_t days;            /* 1..POOLSIM_DAYS_MAX */
    double target;           /* (0, 1] */
    int64_t now;             /* the history ends here (ms) */
};

/* ERR_OK with body, or an error code with message (and field) for the API's error format. */
struct poolsim_result {
    int rc;
    char message[256];
    char field[32];
    json_t *body; /* owned by the callback */
};
typedef void (*poolsim_done_fn)(void *arg, struct poolsim_result *r);

struct poolsim *poolsim_start(struct app *app);
/* The server is stopping: queued simulations are answered ERR_UNAVAILABLE at once and the
 * running one stops after its current pool size. NULL ok. */
void poolsim_quiesce(struct poolsim *p);
/* Stops the thread and frees p. NULL ok. */
void poolsim_stop(struct poolsim *p);

/* Takes the account's one place: ERR_OK (then poolsim_run must follow, once), ERR_LIMITED when
 * the account's simulation is queued or running, ERR_UNAVAILABLE when POOLSIM_QUEUE_MAX are or
 * the server is stopping. */
int poolsim_reserve(struct poolsim *p, int64_t account_id);
/* Queues the simulation of the reserved account; done(arg, result) follows exactly once, on the
 * service's thread (or at once when stopping), and the account's place is free before it. */
void poolsim_run(struct poolsim *p, const struct poolsim_req *q, poolsim_done_fn done, void *arg);

#endif
