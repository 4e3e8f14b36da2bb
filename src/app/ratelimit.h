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

#endif
