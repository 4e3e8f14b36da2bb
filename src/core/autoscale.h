/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Pool autoscaling decisions (issue #20 item 4), pure: no I/O, no clock (now is a parameter).
 * Given a pool's settings, its health (size, exhaustion events since the last check, the
 * recommended size), how many more numbers the account's spend cap affords, and how each
 * number it may release was used, decide how many numbers to add and which to release.
 * - Add when the pool is under its minimum, when real traffic exhausted it since the last check
 *   (exhaustion events; the flood guard hands back the claims of flagged clients, uncounting
 *   their events, so these are real visitors'), or when the recommended size is larger; never
 *   past the maximum nor what the cap affords.
 * - Release only when nothing is to be added and the pool was not exhausted since the last
 *   check, down to the larger of the minimum and the recommended size: a number bought by
 *   opendni, idle (no lease) for cooldown + idle_release since its last lease ended (or since
 *   it was added, if never leased), and with no call inside the attribution window. Oldest
 *   activity first.
 * Ownership: inputs are borrowed; the plan is the caller's. THREADING: reentrant. */
#ifndef OPENDNI_CORE_AUTOSCALE_H
#define OPENDNI_CORE_AUTOSCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTOSCALE_MAX_RELEASE 16 /* numbers released per check at most */
#define AUTOSCALE_MAX_ADD 16     /* numbers added per check at most */

struct autoscale_cfg {
    int64_t min_size, max_size;
    int64_t cooldown_ms;     /* the pool's cooldown */
    int64_t idle_release_ms; /* idle this long past the cooldown: releasable; 0 = never */
    int64_t window_ms;       /* the account's attribution window */
};

struct autoscale_pool {
    int64_t size;             /* numbers in the pool now */
    int64_t pending;          /* purchases claimed and not finished */
    int64_t new_exhaustion;   /* exhaustion events since the last check */
    int64_t recommended_size; /* from the pool's health (core/pool.h) */
    int64_t affordable;       /* numbers the spend cap still allows this month */
};

/* A number the pool could release (one opendni bought). */
struct autoscale_number {
    int64_t number_id;
    int64_t last_lease_end; /* latest lease end, 0 = never leased */
    int64_t last_call_at;   /* latest call, 0 = none */
    int64_t added_at;       /* when it joined the pool */
};

enum autoscale_why {
    AUTOSCALE_STEADY = 0,  /* nothing to do */
    AUTOSCALE_UNDER_MIN,   /* added: below the minimum */
    AUTOSCALE_EXHAUSTED,   /* added: exhausted by real traffic since the last check */
    AUTOSCALE_RECOMMENDED, /* added: the recommended size is larger */
    AUTOSCALE_IDLE,        /* released idle numbers */
};

struct autoscale_plan {
    int64_t add;    /* numbers to buy */
    int64_t wanted; /* numbers the rule asked for before the maximum and the cap */
    bool capped;    /* the spend cap cut the addition */
    enum autoscale_why why;
    size_t n_release;
    int64_t release[AUTOSCALE_MAX_RELEASE]; /* number ids, oldest activity first */
};

/* Decides for one pool at now; nums[0..n) are the numbers it may release (may be NULL, n 0). */
void autoscale_decide(const struct autoscale_cfg *cfg, const struct autoscale_pool *pool,
                      const struct autoscale_number *nums, size_t n, int64_t now,
                      struct autoscale_plan *out);

/* "steady", "under_min", "exhausted", "recommended", "idle". */
const char *autoscale_why_str(enum autoscale_why why);

#endif
