/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Prometheus metrics: requests by route and status, a request latency histogram, store
 * errors, and named counters other modules bump (webhook failures, exhaustion events…).
 * THREADING: every function is safe from any thread. */
#ifndef OPENDNI_APP_METRICS_H
#define OPENDNI_APP_METRICS_H

#include <stdint.h>

#include "base/buf.h"

struct metrics;
struct store;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
/* route: a static string (the route pattern). */
void metrics_request(struct metrics *m, const char *route, int status, int64_t elapsed_us);
/* Adds n to a counter; name and help are static strings ("opendni_webhook_failures_total"). */
void metrics_count(struct metrics *m, const char *name, const char *help, uint64_t n);
/* Writes the text exposition format. */
void metrics_render(struct metrics *m, struct store *store, struct buf *out);

#endif
