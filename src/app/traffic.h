/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Per-account page-view and swap-miss counters of this node (alert.swap_miss_rate, app/outbox.h):
 * the visit paths count in memory without a lock or a store write (an atomic add in a fixed
 * open-addressed table), and the outbox's periodic check drains the counts into the store's
 * 5-minute buckets (store_traffic_add), where the counts of every node add up. Counts of the
 * last minute before a crash are lost: they feed a rate, not a fact anyone acknowledged.
 * Ownership: the table is the caller's (traffic_new / traffic_free).
 * THREADING: traffic_count from any thread at once; traffic_drain from one thread at a time. */
#ifndef OPENDNI_APP_TRAFFIC_H
#define OPENDNI_APP_TRAFFIC_H

#include <stdint.h>

struct traffic;

#define TRAFFIC_SLOTS 8192 /* accounts one node counts for; more are not counted (logged once) */

/* A new, empty table. Never NULL. */
struct traffic *traffic_new(void);
/* NULL ok. */
void traffic_free(struct traffic *t);

/* Adds to the account's counts. account_id > 0. NULL t: nothing. Any thread. */
void traffic_count(struct traffic *t, int64_t account_id, uint64_t page_views,
                   uint64_t swap_misses);

/* Called with one account's counts since the last drain (at least one of them non-zero).
 * Return non-zero to put them back (the store could not take them: counted again later). */
typedef int (*traffic_fn)(void *ctx, int64_t account_id, uint64_t page_views, uint64_t swap_misses);
/* Takes every account's counts and hands them to fn. */
void traffic_drain(struct traffic *t, traffic_fn fn, void *ctx);

#endif
