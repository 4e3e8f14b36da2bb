/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Recently seen sessions by external id: the row id, the account, and per pool how far the
 * session's stored lease already reaches. A ping of a cached session reads nothing from the
 * store, and one whose renewals the stored expiries already cover writes nothing either (see
 * h_visit.c).
 * Bounded (4-way sets; a put into a full set replaces its oldest entry), so a miss only means one
 * store read. THREADING: safe from any thread (striped mutexes). */
#ifndef OPENDNI_APP_SESCACHE_H
#define OPENDNI_APP_SESCACHE_H

#include <stdbool.h>
#include <stdint.h>

struct sescache;

#define SESCACHE_POOLS 2 /* pools remembered per session; a lease in any other is "unknown" */

struct sescache_entry {
    int64_t id;
    int64_t account_id;
    int n_pools;
    uint32_t page_hash; /* the session's latest stored page (visits_page_hash), 0 = unknown */
    struct {
        int64_t pool_id;
        int64_t stored_until; /* the session's stored lease in this pool ends at or after this */
    } pools[SESCACHE_POOLS];
};

/* slots is rounded up to a power of two. */
struct sescache *sescache_new(unsigned slots);
void sescache_free(struct sescache *c);
bool sescache_get(struct sescache *c, const char *ext_id, struct sescache_entry *out);
void sescache_put(struct sescache *c, const char *ext_id, const struct sescache_entry *e);
/* Forgets ext_id (after a failed write: the next ping reads the store again). */
void sescache_drop(struct sescache *c, const char *ext_id);

#endif
