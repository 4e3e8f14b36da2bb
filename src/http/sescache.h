/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Recently seen sessions by external id: the row id, the account, and how far the session's
 * stored leases already reach. A ping of a cached session reads nothing from the store, and one
 * whose renewal the stored expiry already covers writes nothing either (see h_visit.c).
 * Bounded (4-way sets; a put into a full set replaces its oldest entry), so a miss only means one
 * store read. THREADING: safe from any thread (striped mutexes). */
#ifndef OPENDNI_HTTP_SESCACHE_H
#define OPENDNI_HTTP_SESCACHE_H

#include <stdbool.h>
#include <stdint.h>

struct sescache;

struct sescache_entry {
    int64_t id;
    int64_t account_id;
    int64_t stored_until; /* every stored lease of the session ends at or after this (ms); 0 =
                             unknown */
};

/* slots is rounded up to a power of two. */
struct sescache *sescache_new(unsigned slots);
void sescache_free(struct sescache *c);
bool sescache_get(struct sescache *c, const char *ext_id, struct sescache_entry *out);
void sescache_put(struct sescache *c, const char *ext_id, const struct sescache_entry *e);
/* Forgets ext_id (after a failed write: the next ping reads the store again). */
void sescache_drop(struct sescache *c, const char *ext_id);

#endif
