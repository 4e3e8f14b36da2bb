/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The live lease engines: one core/pool engine per pool, rebuilt from the store at start and
 * kept in step with the admin API. Sessions are keyed in the engines by engines_session_key()
 * of their external id. Counters persisted in the store (exhaustion events, peak concurrency)
 * continue from their stored values.
 * THREADING: every function is safe from any thread; each pool has its own mutex. */
#ifndef OPENDNI_APP_ENGINES_H
#define OPENDNI_APP_ENGINES_H

#include <stdint.h>

#include "core/phone.h"
#include "core/pool.h"
#include "store/store.h"

struct engines;

struct engines *engines_new(struct store *store);
void engines_free(struct engines *e);
/* Builds an engine for every pool in the store with its numbers and live leases. */
int engines_load(struct engines *e, int64_t now);
/* Adds or reconfigures the engine of a pool. */
int engines_pool_put(struct engines *e, const struct st_pool *p);
/* Drops a pool's engine. */
void engines_pool_remove(struct engines *e, int64_t pool_id);
int engines_number_add(struct engines *e, const struct st_number *n);
/* ERR_CONFLICT while a live lease holds it. */
int engines_number_remove(struct engines *e, int64_t pool_id, int64_t number_id, int64_t now);

struct engines_lease {
    int64_t number_id;
    char number[STORE_E164_MAX];
    char display[PHONE_DISPLAY_MAX]; /* the number formatted for people */
    unsigned flags;                  /* enum pool_lease_flags */
    int64_t leased_at;
    int64_t expires_at;
    uint64_t exhaustion_events; /* the pool's totals after this lease */
    uint32_t peak_concurrent;
};

/* A page view of session_key in pool_id (see pool_lease). ERR_EXHAUSTED in fallback mode or an
 * empty pool, ERR_NOTFOUND for an unknown pool. */
int engines_lease(struct engines *e, int64_t pool_id, uint64_t session_key, int64_t prev_number_id,
                  int64_t now, struct engines_lease *out);
/* Heartbeat: renews a live lease; ERR_NOTFOUND if it has none. */
int engines_touch(struct engines *e, int64_t pool_id, uint64_t session_key, int64_t now,
                  struct engines_lease *out);
/* A stored lease's last activity and end: the engine's exact times while it still knows that
 * lease (live, or among its number's recent holders), else the stored ones, which may trail a
 * pinged renewal (h_visit.c RENEW_AHEAD_MS). */
void engines_lease_times(struct engines *e, const struct st_lease *l, int64_t now,
                         int64_t *last_active_at, int64_t *ends_at);
int engines_stats(struct engines *e, int64_t pool_id, int64_t now, struct pool_stats *out);
uint64_t engines_session_key(const char *session_ext_id);

#endif
