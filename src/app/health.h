/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Readiness (GET /readyz): whether the store can commit now. The store's own probe
 * (store_writable, a real write transaction) runs at most once per HEALTH_PROBE_EVERY_MS; callers
 * in between, or while a probe runs on another thread, get the last answer, so a client polling
 * /readyz cannot turn it into a stream of fsyncs. A change of state is logged once.
 * Ownership: struct health belongs to struct app (health_new/health_free); the store is borrowed.
 * THREADING: health_ready may be called from any thread (a mutex guards the last answer). */
#ifndef OPENDNI_APP_HEALTH_H
#define OPENDNI_APP_HEALTH_H

#include <stdint.h>

#include "base/err.h"

#define HEALTH_PROBE_EVERY_MS 1000

struct health;
struct store;

/* A readiness tracker that has not probed yet. Never NULL (aborts on OOM). */
struct health *health_new(void);
/* NULL ok. */
void health_free(struct health *h);

/* ERR_OK when the store could commit at the last probe (probing first if the last one is older
 * than HEALTH_PROBE_EVERY_MS at `now`, Unix ms); ERR_UNAVAILABLE when it could not, with the
 * store's reason in eb (field "db"). Blocks at most about a second (store_writable). */
int health_ready(struct health *h, struct store *s, int64_t now, struct errbuf *eb);

/* `now` of the last probe that found the store unable to commit; 0 if none did. */
int64_t health_failed_at(struct health *h);

#endif
