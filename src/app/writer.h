/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Group commit for the visit path: requests hand their writes (a session, its leases, an event)
 * to one writer thread, which commits everything queued in one transaction (one fsync) and then
 * calls each job's done callback with the outcome. A job is acknowledged only after its commit,
 * so a 200 always means "on disk", while throughput scales with the batch size.
 * THREADING: writer_submit from any thread; done callbacks run on the writer thread. */
#ifndef OPENDNI_APP_WRITER_H
#define OPENDNI_APP_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

#define WRITER_MAX_LEASES 8

struct writer;

struct write_job {
    struct st_session session; /* id == 0: inserted (id set); else last_active_at updated */
    bool touch_session;        /* update the session row (ignored for inserts) */
    struct st_lease leases[WRITER_MAX_LEASES];
    bool lease_renew[WRITER_MAX_LEASES]; /* renew the session's lease on that number */
    int n_leases;
    uint64_t exhaustion_events[WRITER_MAX_LEASES]; /* pool counters to persist, per lease */
    uint32_t peak_concurrent[WRITER_MAX_LEASES];
    struct st_event event;
    bool has_event;
    struct st_page_view page_view; /* a page view after the landing page (store_page_view_add) */
    bool has_page_view;
    bool page_view_dedupe; /* a ping's page: not stored again when it is the latest one */
    /* Optional: when set, the writer runs apply(store, job) inside the batch transaction
     * instead of the session/lease/event writes above (other modules' writes share the batch
     * and its fsync). A failing apply is rolled back alone. */
    int (*apply)(struct store *s, struct write_job *job);
    int rc; /* set before done() */
    void (*done)(struct write_job *job);
    void *arg;
    struct write_job *_next;
    /* The writer's: applied in this batch; its session inserted; stored by store_visits_add. */
    bool _applied, _inserted, _batched;
};

struct writer *writer_start(struct store *store);
/* Queues the job; job->done(job) is called exactly once, after commit or failure. */
void writer_submit(struct writer *w, struct write_job *job);
/* Commits what is queued, then stops the thread. NULL ok. */
void writer_stop(struct writer *w);

#endif
