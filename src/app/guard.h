/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The flood guard of the public visit path (issue #12): per client (an address, a /64 for IPv6,
 * a visitor id) it remembers the pool numbers the client's sessions hold and how fast it starts
 * new sessions, so that one client
 *   - holds at most a small share of a pool with sessions that never showed a visible page
 *     (pings prove one): its further new sessions reuse its own numbers without a lease;
 *   - once it starts new sessions faster than a person could (a token bucket), is recognised as
 *     a flood for a while: its new sessions get no number of the pool (fallback or static), do
 *     not spend the account's new-session budget, and the numbers it held are handed back.
 * Time is a parameter; the guard does no I/O (the caller releases what it is told to release).
 * Bounded memory: a fixed table of 4-way sets (GUARD_SLOTS entries); a full set forgets its
 * least recently seen client that holds nothing and is not flagged, else its least recently
 * seen one.
 * Ownership: nothing passed in is kept (strings are hashed or copied). THREADING: every function
 * is safe from any thread (one mutex; each call is a few dozen comparisons). */
#ifndef OPENDNI_APP_GUARD_H
#define OPENDNI_APP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/phone.h"
#include "core/pool.h"

#define GUARD_SLOTS 4096 /* clients remembered (~5 MiB) */
#define GUARD_HOLDS 6    /* numbers one client's unproven sessions may hold at once, in all pools */
#define GUARD_KEYS 2     /* a request is one client by address and, if it sent one, by visitor id */
#define GUARD_EXT_MAX 48 /* session external ids (STORE_ID_MAX) */

struct guard;

struct guard_config {
    long long new_per_min; /* new sessions a client may start per minute (burst the same);
                              beyond that it is a flood. 0 = never a flood */
    long long share_pct;   /* a client's unproven sessions hold at most this share of a pool, %
                              (0 = no cap) */
    long long max_numbers; /* … and at most this many of its numbers, 0 = no such limit (the
                              cap is at least 1) */
    long long flood_s;     /* a recognised flood stays flagged this long after its last session */
};

/* A client's claim as the guard keeps it, to reuse its number or to hand it back. */
struct guard_hold {
    int64_t account_id; /* the pool's */
    int64_t pool_id;
    int64_t number_id;
    char number[PHONE_E164_MAX];
    char display[PHONE_DISPLAY_MAX];
    char session_ext[GUARD_EXT_MAX];
    int64_t session_id; /* the stored session's row id (0 until committed) */
    int64_t expires_at; /* the lease's end as claimed; a renewal only matters once proven */
    struct pool_undo undo;
};

/* What guard_session decided for a new session. */
enum guard_verdict {
    GUARD_OK,    /* an ordinary client: lease as usual (guard_reserve per pool) */
    GUARD_FLOOD, /* a recognised flood: no pool number, no account budget spent */
};

/* A new guard (config copied; negative values are taken as 0). Never NULL. */
struct guard *guard_new(const struct guard_config *cfg);
/* NULL ok. */
void guard_free(struct guard *g);

/* A new session of the client named by keys[0..n_keys) (empty strings are skipped) at now:
 * spends one token of each key's bucket. Returns GUARD_FLOOD when a key is flagged, or becomes
 * flagged now because its bucket is empty (*newly is then true, once per flood: log it). When a
 * key becomes flagged, the holds its unproven sessions had are removed from the guard and copied
 * to release[0..*n_release) (cap entries at most): the caller hands them back. */
enum guard_verdict guard_session(struct guard *g, const char *const *keys, int n_keys, int64_t now,
                                 bool *newly, struct guard_hold *release, int cap, int *n_release);

/* May a new session of this client claim a number in pool_id (pool_size numbers) at now? true:
 * a place is reserved for it (fill it with guard_fill, or guard_cancel it); *token names it
 * (0 when the share is not capped and the client's places are all taken: nothing to fill).
 * false: the client's unproven sessions already hold their share; *reuse gets one of the numbers
 * they hold in that pool (round robin), or number_id 0 if they hold none there. */
bool guard_reserve(struct guard *g, const char *const *keys, int n_keys, int64_t pool_id,
                   uint32_t pool_size, int64_t now, uint64_t *token, struct guard_hold *reuse);
/* The claim made in a reserved place (h: pool, number, session, expiry, undo). */
void guard_fill(struct guard *g, uint64_t token, const struct guard_hold *h);
/* The reserved place is not used (no claim was made, or it was taken back). */
void guard_cancel(struct guard *g, uint64_t token);
/* The claim in the reserved place is durable, its session stored as session_id. Returns true
 * when its client was flagged as a flood meanwhile: the hold is then removed and copied to *out
 * for the caller to hand back. */
bool guard_commit(struct guard *g, uint64_t token, int64_t session_id, struct guard_hold *out);

/* A ping of session_ext from the client (a visible tab): its holds stop counting against the
 * client's share. */
void guard_proven(struct guard *g, const char *const *keys, int n_keys, const char *session_ext,
                  int64_t now);

/* Clients recognised as floods so far, and sessions answered without a pool number because of
 * the guard (flood or share), for /metrics. */
void guard_counts(struct guard *g, uint64_t *floods, uint64_t *cut_sessions);

#endif
