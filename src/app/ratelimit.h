/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Token buckets keyed by a string (a client address, an account id): each key may spend
 * `per_minute` tokens a minute with a burst of the same size. The table is bounded: keys idle
 * for a full refill are forgotten first. THREADING: safe from any thread. */
#ifndef OPENDNI_APP_RATELIMIT_H
#define OPENDNI_APP_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit;

/* per_minute 0 disables the limiter (ratelimit_take always succeeds). */
struct ratelimit *ratelimit_new(long long per_minute);
void ratelimit_free(struct ratelimit *r);
/* Takes one token for key at now. false when empty; *retry_after_s says when one is back. */
bool ratelimit_take(struct ratelimit *r, const char *key, int64_t now, int *retry_after_s);
/* Whether key's bucket holds less than one token at now, without taking one (a key never
 * seen, or forgotten, is not blocked; nor is anything when the limiter is off). Used to
 * count failures with ratelimit_take and refuse once they ran out. When true,
 * *retry_after_s (may be NULL) says when a token is back. */
bool ratelimit_blocked(struct ratelimit *r, const char *key, int64_t now, int *retry_after_s);

/* ---- one limit across several nodes (app/fanout.h tells the others) ---- */

/* From now on, counts the tokens taken here per key, for ratelimit_spent. NULL ok. */
void ratelimit_share(struct ratelimit *r);
/* Called with a key's hash and the tokens taken here for it since the last call. */
typedef void (*ratelimit_spent_fn)(void *ctx, uint64_t key, uint32_t n);
/* Hands over (and forgets) the tokens taken here since the last call, per key; fn runs without
 * the limiter's lock. NULL ok. */
void ratelimit_spent(struct ratelimit *r, ratelimit_spent_fn fn, void *ctx);
/* Takes n tokens another node spent on the key with this hash (as ratelimit_spent gave it) at
 * now: this node's bucket for it empties by as much, never below empty. NULL ok. */
void ratelimit_charge(struct ratelimit *r, uint64_t key, int64_t now, uint32_t n);

#endif
