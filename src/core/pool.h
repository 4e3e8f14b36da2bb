/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/pool: the lease engine for one pool of tracking numbers. It leases numbers to sessions by
 * the DESIGN.md "Lease policy" (idle-longest pick, cooldown, share or fallback on exhaustion),
 * expires leases lazily from the `now` each call passes in, and keeps the pool-health counters.
 * Pure core: no I/O, no clock, no globals. Driven by the HTTP server and by the simulator. */
#ifndef OPENDNI_CORE_POOL_H
#define OPENDNI_CORE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/*
 * Ownership: a struct pool owns all of its memory; it keeps no pointer passed in, and nothing it
 * returns is borrowed. Free it with pool_free().
 *
 * THREADING: none inside. One engine per pool; the caller serializes every call on it (the
 * server holds its mutex, the simulator is single-threaded). Engines share nothing.
 *
 * Ids: numbers and sessions are caller-chosen uint64 ids (the server uses database rowids).
 * Number id 0 is invalid ("no number"); "lowest id" breaks ties.
 *
 * Time: int64 Unix milliseconds, passed in. Calls must pass non-decreasing `now`; an earlier
 * `now` than one already seen is treated as the latest seen (the clock never runs backwards).
 * Times are clamped to +-POOL_TIME_MAX so that sums never overflow.
 *
 * Lease life: a lease is live at `now` iff now < last_active_at + ttl_ms; it ends at
 * ends_at = last_active_at + ttl_ms. Expiry is processed lazily at the start of every call.
 * A number is
 *   leased   when it has >= 1 live holder;
 *   cooling  when it has none and was released (its last lease ended) less than cooldown_ms ago;
 *   free     when it has none and was released >= cooldown_ms ago, or was never used.
 * The pool is exhausted when no number is free.
 *
 * Cost: pool_lease, pool_touch, pool_restore, pool_add_number, pool_remove_number,
 * pool_stats_get and pool_session_get are O(log n) in the pool size plus O(1) amortised per
 * expired lease, and allocate nothing in steady state (arrays grow by doubling). pool_holders is
 * O(live holders of that number). pool_set_config and pool_check are O(n); after a batch of
 * out-of-order pool_restore calls the next other call sorts the live leases once (O(L log L)).
 */

#define POOL_TIME_MAX (INT64_C(1) << 60)
/* How many past holders each number remembers for pool_holders() (attribution): the same
 * bound as the server's candidates per call (ATTRIB_HOLDERS_MAX), so the simulator and the
 * server score the same holders. Each number's history grows to it as it is used. */
#define POOL_HISTORY_MAX 64

enum pool_exhaust { POOL_SHARE = 0, POOL_FALLBACK = 1 };

/* What the server (or the simulator) learned about a lease while or after it was held
 * (pool_note). They decide how long its number rests once the lease ends (pool_config). */
enum pool_signal {
    POOL_SIG_CLICK = 1 << 0,  /* tapped (tel:) or copied the number: likely to call later */
    POOL_SIG_CALLED = 1 << 1, /* a call was credited to the holder: its call is done */
    POOL_SIG_BOT = 1 << 2,    /* flagged as automated traffic: will not call */
};

/* Why a number rests as long as it does after its latest lease (pool_explain). Checked in this
 * order for the lease that ended: bot, called, click, bounced (no activity after the page that
 * got the number), else none. */
enum pool_rest_why {
    POOL_REST_NONE = 0,
    POOL_REST_BOT,
    POOL_REST_CALLED,
    POOL_REST_CLICK,
    POOL_REST_BOUNCED,
};

struct pool_config {
    int64_t ttl_ms;      /* lease lives this long after the holder's last activity (>= 1) */
    int64_t cooldown_ms; /* a released number rests this long before normal reuse (>= 0) */
    enum pool_exhaust on_exhaust;
    /* Rest adjustments (issue 20), by pool_rest_why of the lease that ended: its number's
     * release time becomes ends_at + rest, so a positive rest keeps the number cooling (and last
     * in the share order) longer, a negative one makes it reusable sooner. All 0 (the zeroed
     * default) is the plain idle-longest policy. Clamped to +-POOL_TIME_MAX / 4. */
    int64_t rest_bot_ms, rest_called_ms, rest_click_ms, rest_bounced_ms;
};

/* The rests of the issue-20 policy, measured on the frozen traces (docs/pool-sizing.md): a
 * tapped or copied number rests 3 h longer, unless its holder's call was credited already (then
 * its call is done: no rest). The shorter rests for bounced visitors (-15 min), callers (-10 min)
 * and bots (at once) measured no better (within 30 min: equal on trace a, 0.4 point worse on b)
 * and are 0. Sets only those four fields. */
void pool_config_rests_default(struct pool_config *cfg);

/* The rest a lease that ended with these POOL_SIG_* signals (and more than one page view) earns
 * under cfg: what the PostgreSQL store applies to a noted holder, so that both stores rest a
 * number exactly as the engine does. Pure. */
int64_t pool_rest_for(const struct pool_config *cfg, unsigned signals);

enum pool_lease_flags {                          /* set in *out_flags by pool_lease */
                        POOL_LEASE_NEW = 1 << 0, /* a new lease was made (also set with RETURNED) */
                        POOL_LEASE_RENEWED =
                            1 << 1, /* the session already held a live lease: renewed */
                        POOL_LEASE_RETURNED =
                            1 << 2, /* expired session got its previous number back */
                        POOL_LEASE_EXHAUSTED =
                            1
                            << 3, /* no number was past cooldown: counted as an exhaustion event */
                        POOL_LEASE_SHARED =
                            1 << 4, /* the number handed out still has another live holder */
};

/*
 * Pool health, as served by GET /v1/pools/{id}/health.
 *
 * recommended_size: the pool size that would have avoided exhaustion at the observed peak.
 * By Little's law each lease keeps a number busy for its life and then cooling for cooldown, so
 * a steady demand of D concurrent leases of mean life L needs D * (L + C) / L numbers:
 *
 *     recommended_size = max(D + 1, ceil(1.1 * D * (L + C) / L))
 *
 *   D = peak demand: the most sessions that at once held a live lease or were turned away
 *       (fallback mode or an empty pool) and were still active within ttl. In share mode every
 *       session gets a lease, so D = peak_concurrent; in fallback mode D also counts the
 *       sessions that saw the fallback number, since they are the demand the pool failed.
 *   L = mean life (ends_at - leased_at) of the leases that ended so far, or ttl_ms if none has
 *       (a lease with a single page view lives exactly ttl).
 *   C = cooldown_ms; 1.1 = 10 % headroom.
 */
struct pool_stats {
    uint32_t size, leased, cooling, free; /* leased: numbers with >= 1 live holder */
    uint32_t live_leases;                 /* live (session, number) leases */
    uint64_t exhaustion_events;           /* leases made (or refused) while exhausted */
    uint32_t peak_concurrent;             /* max live_leases seen */
    uint32_t recommended_size;            /* see above */
};

/* One holder of a number: live (lease covers now) or past (ended at ends_at). */
struct pool_holder {
    uint64_t session_id;
    int64_t leased_at, last_active_at, ends_at;
    bool live;
    uint8_t signals; /* enum pool_signal bits noted on this lease */
};

/* Why a number is where it is in the pick order (pool_explain): every choice explainable. */
struct pool_pick {
    uint64_t number_id;
    bool leased;            /* has a live holder now */
    int64_t release_at;     /* its sort key: ends_at + rest of the lease that set it */
    int64_t ended_at;       /* when that lease ended (0: never used, or added idle) */
    enum pool_rest_why why; /* which rule set the rest */
    int64_t rest_ms;        /* that rest */
};

/* A new empty engine with the given config (copied; see pool_set_config for clamping). Never
 * NULL (allocation failure aborts). Free with pool_free(). */
struct pool *pool_new(const struct pool_config *cfg);

/* Frees the engine and everything in it. NULL is ok. */
void pool_free(struct pool *p);

/* Replaces the config. ttl_ms below 1 becomes 1, cooldown_ms below 0 becomes 0, both are capped
 * at POOL_TIME_MAX, an unknown on_exhaust means POOL_SHARE. Live leases take the new ttl (their
 * ends_at moves) and every number is re-classified with the new cooldown. O(n). */
void pool_set_config(struct pool *p, const struct pool_config *cfg);

/* Adds number_id to the pool. idle_since_at is when it was last released; 0 means never used,
 * which makes it the idlest of all (free regardless of cooldown).
 * Returns ERR_OK, ERR_INVALID for number_id 0, ERR_CONFLICT if the number is already in it. */
int pool_add_number(struct pool *p, uint64_t number_id, int64_t idle_since_at);

/* Removes number_id and forgets its history. Returns ERR_OK, ERR_NOTFOUND if unknown, or
 * ERR_CONFLICT while a live lease holds it (as of now; nothing changes). */
int pool_remove_number(struct pool *p, uint64_t number_id, int64_t now);

/*
 * A page view of session_id at now. In order:
 *  1. the session holds a live lease: renew it (last_active_at = now), same number: RENEWED;
 *  2. else prev_number_id != 0 names a number of this pool with no live holder whose latest
 *     holder (the lease that ended last) was this session: give it back, even while it cools:
 *     NEW | RETURNED;
 *  3. else pick the free number idle longest (least recently released; never-used first; ties
 *     by lowest id): NEW;
 *  4. else the pool is exhausted: count one exhaustion event and set EXHAUSTED. In share mode
 *     hand out the number whose most recent activity by any holder (live or past) is oldest:
 *     NEW | EXHAUSTED, plus SHARED if it still has a live holder. In fallback mode assign
 *     nothing and return ERR_EXHAUSTED; the session is remembered as turned away for the
 *     demand estimate (see pool_stats) until ttl after its last call.
 * An empty pool behaves like fallback mode in both modes. SHARED is also set on a renewal when
 * the number has another live holder.
 * Returns ERR_OK or ERR_EXHAUSTED. *out_number_id gets the number (0 on ERR_EXHAUSTED) and
 * *out_flags the POOL_LEASE_* flags; either pointer may be NULL. The lease then ends at
 * now + ttl_ms unless renewed.
 */
int pool_lease(struct pool *p, uint64_t session_id, uint64_t prev_number_id, int64_t now,
               uint64_t *out_number_id, unsigned *out_flags);

/*
 * What pool_claim changed, so that pool_unclaim can take the claim back (a claim whose durable
 * record failed, or a flood's). Filled by pool_claim; valid is false for a renewal (an existing
 * lease is never taken back). Plain data: copy it freely.
 */
struct pool_undo {
    bool valid;
    uint64_t session_id;
    uint64_t number_id; /* the number claimed; 0 when the claim was refused (turned away) */
    int64_t leased_at;  /* the claim's lease start (names this lease, not a later one) */
    int64_t idle_at;    /* the number's release time before the claim */
    bool exhausted;     /* the claim counted one exhaustion event */
    uint32_t peak_concurrent, peak_demand; /* the peaks before the claim */
    bool was_waiting; /* the session had been turned away before: its wait is restored */
    int64_t wait_leased_at, wait_active_at;
};

/* pool_lease, also filling *undo (may be NULL) with what the claim changed. */
int pool_claim(struct pool *p, uint64_t session_id, uint64_t prev_number_id, int64_t now,
               uint64_t *out_number_id, unsigned *out_flags, struct pool_undo *undo);

/*
 * Takes back a claim that pool_claim described in *u, as if it had never been made: the session
 * no longer holds the number (nor waits, for a refused claim; a wait it had before the claim comes
 * back), the number's release time is what it was before the claim (raised only by other
 * holders since), the exhaustion event the claim counted is uncounted, and the peaks lose what
 * only this claim added (every sample taken while it was live counted it, so a peak reached
 * since then is one lower without it). Expiry up to now is processed first.
 * Returns ERR_OK, ERR_INVALID for an undo that is not valid (a renewal), or ERR_NOTFOUND when
 * that claim no longer exists (it expired, was taken back already, or the session holds
 * another lease now): nothing changes then.
 */
int pool_unclaim(struct pool *p, const struct pool_undo *u, int64_t now);

/* Activity without a page view (heartbeat): renews the session's live lease. Returns ERR_OK
 * with *out_number_id and *out_expires_at (now + ttl) set, or ERR_NOTFOUND if the session has no
 * live lease (a turned-away session is kept "waiting" for the demand estimate). Either out
 * pointer may be NULL. */
int pool_touch(struct pool *p, uint64_t session_id, int64_t now, uint64_t *out_number_id,
               int64_t *out_expires_at);

/*
 * Rebuild after restart: re-adds one stored lease with its times. Call after adding the numbers;
 * any order of leases is fine. last_active_at later than now is taken as now, leased_at later
 * than that as last_active_at. A lease still live at now becomes a live lease (ERR_CONFLICT if
 * the session already holds another live lease); one already expired just becomes part of the
 * number's history and pushes its idle time (release time) to at least its ends_at.
 * Returns ERR_OK, ERR_NOTFOUND for an unknown number, ERR_INVALID if leased_at > last_active_at,
 * or ERR_CONFLICT.
 */
int pool_restore(struct pool *p, uint64_t session_id, uint64_t number_id, int64_t leased_at,
                 int64_t last_active_at, int64_t now);

/* Fills *out with the pool health at now (after expiring what ended by now). */
void pool_stats_get(struct pool *p, int64_t now, struct pool_stats *out);

/*
 * For attribution: the live holders of number_id at now (most recently active first), then its
 * most recent past holders (up to POOL_HISTORY_MAX, latest ends_at first). Writes at most cap
 * entries to out and returns how many it wrote; 0 for an unknown number.
 */
size_t pool_holders(struct pool *p, uint64_t number_id, int64_t now, struct pool_holder *out,
                    size_t cap);

/* The live lease of session_id at now, without renewing it. Returns ERR_OK with
 * *out_number_id and *out (either may be NULL) set, or ERR_NOTFOUND if it has no live lease. */
int pool_session_get(struct pool *p, uint64_t session_id, int64_t now, uint64_t *out_number_id,
                     struct pool_holder *out);

/*
 * Notes a signal (POOL_SIG_*) on session_id's lease of number_id: on the live lease, or else on
 * the session's latest past lease of that number, whose number's release time may then only
 * rise (a signal that shortens the rest, noted after the number was released, changes nothing:
 * the number may have been handed out since). Returns ERR_OK, or ERR_NOTFOUND if the session
 * holds no lease of the number and is not in its history.
 */
int pool_note(struct pool *p, uint64_t session_id, uint64_t number_id, int64_t now,
              unsigned signals);

/* Fills *out with why number_id sits where it does in the pick order at now. Returns ERR_OK or
 * ERR_NOTFOUND. */
int pool_explain(struct pool *p, uint64_t number_id, int64_t now, struct pool_pick *out);

/* Static lowercase sentence for a rest reason, e.g. "its last holder tapped or copied it". */
const char *pool_rest_why_text(enum pool_rest_why why);

/* Verifies every internal invariant (heaps, lists, maps, counters). For tests and debugging:
 * O(n + leases). Returns ERR_OK, or ERR_INVALID with what broke in eb (may be NULL). */
int pool_check(const struct pool *p, struct errbuf *eb);

#endif
