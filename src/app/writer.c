/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The group-commit writer thread. */
#include "base/prelude.h"
#include "app/writer.h"

#include <pthread.h>
#include <sys/prctl.h>

#include "base/log.h"
#include "base/testhooks.h"
#include "base/xalloc.h"

#define MAX_BATCH 1024

struct writer {
    struct store *store;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct write_job *head; /* LIFO while queued; reversed when taken */
    int batch_max;          /* MAX_BATCH, or fewer: store_savepoints_max */
    /* Run batches of plain jobs without a savepoint per job first: on a store that limits its
     * savepoints (PostgreSQL: each is a subtransaction and two round trips; measured in
     * docs/scaling.md), where SQLite's cost next to nothing. */
    bool plain_first;
    bool stopping;
};

/* Pool counters seen in a batch: written once per pool per batch, not once per lease. */
struct counter {
    int64_t account_id;
    int64_t pool_id;
    uint64_t exhaustion_events;
    uint32_t peak_concurrent;
};
struct counters {
    int n;
    struct counter v[32];
};

static void note_counters(struct counters *c, int64_t account_id, int64_t pool_id, uint64_t ex,
                          uint32_t peak)
{
    int i = 0;
    while (i < c->n && c->v[i].pool_id != pool_id)
        i++;
    if (i == c->n) {
        if (c->n == (int)ARRAY_SIZE(c->v))
            return; /* the next batch records it: counters only grow */
        c->v[c->n].account_id = account_id;
        c->v[c->n++].pool_id = pool_id;
        c->v[i].exhaustion_events = 0;
        c->v[i].peak_concurrent = 0;
    }
    if (ex > c->v[i].exhaustion_events)
        c->v[i].exhaustion_events = ex;
    if (peak > c->v[i].peak_concurrent)
        c->v[i].peak_concurrent = peak;
}

static int by_pool(const void *a, const void *b)
{
    const struct counter *x = a, *y = b;
    return (x->pool_id > y->pool_id) - (x->pool_id < y->pool_id);
}

static int apply_leases(struct store *s, struct write_job *j, int from)
{
    int rc = ERR_OK;
    for (int i = from; i < j->n_leases && rc == ERR_OK; i++) {
        struct st_lease *l = &j->leases[i];
        l->session_id = j->session.id;
        l->account_id = j->session.account_id;
        if (j->lease_renew[i])
            rc = store_lease_renew(s, l->account_id, l->session_id, l->number_id, l->last_active_at,
                                   l->expires_at);
        if (!j->lease_renew[i] || rc == ERR_NOTFOUND)
            rc = store_lease_add(s, l);
    }
    return rc;
}

static int apply_event(struct store *s, struct write_job *j)
{
    int rc = ERR_OK;
    /* a page view: one more statement in the batch's transaction, no commit of its own */
    if (j->has_page_view) {
        j->page_view.session_id = j->session.id;
        j->page_view.account_id = j->session.account_id;
        rc = store_page_view_add(s, &j->page_view, j->page_view_dedupe, NULL);
    }
    if (rc || !j->has_event)
        return rc;
    j->event.session_id = j->session.id;
    j->event.account_id = j->session.account_id;
    return store_event_add(s, &j->event);
}

static int apply(struct store *s, struct write_job *j)
{
    if (j->apply)
        return j->apply(s, j);
    int rc = ERR_OK, from = 0;
    if (j->session.id == 0 && j->n_leases > 0 && !j->lease_renew[0]) {
        /* a new session with its first lease: one store_visits_add, which writes the session's
         * funnel bit with the row (the lease's trigger then has nothing to rewrite) */
        j->leases[0].session_id = 0;
        j->leases[0].account_id = j->session.account_id;
        struct st_visit_add v = {&j->session, &j->leases[0]};
        rc = store_visits_add(s, &v, 1);
        from = 1;
    } else if (j->session.id == 0 || j->touch_session) {
        rc = store_session_put(s, &j->session);
    }
    if (rc == ERR_OK)
        rc = apply_leases(s, j, from);
    if (rc == ERR_OK)
        rc = apply_event(s, j);
    return rc;
}

/* A new session with one new lease (the new-session visit): stored by store_visits_add with
 * the others of its batch. */
static bool new_visit(const struct write_job *j)
{
    return !j->apply && j->session.id == 0 && j->n_leases == 1 && !j->lease_renew[0];
}

/* The batch's new-session visits in one store_visits_add (marked _batched, applied but for
 * their event); the caller's transaction is open. */
static int add_new_visits(struct store *s, struct write_job *batch)
{
    struct st_visit_add v[MAX_BATCH];
    size_t n = 0;
    for (struct write_job *j = batch; j && n < MAX_BATCH; j = j->_next) {
        j->_batched = new_visit(j);
        if (j->_batched) {
            j->_inserted = j->_applied = true;
            j->leases[0].session_id = 0;
            j->leases[0].account_id = j->session.account_id;
            v[n++] = (struct st_visit_add){&j->session, &j->leases[0]};
        }
    }
    return store_visits_add(s, v, n);
}

/* Runs the batch in one transaction and commits it; sets every job's rc. With savepoints, a
 * failing job is rolled back alone and the others commit. Without (plain jobs only), the first
 * failing job rolls the whole batch back: returns true, and the caller runs it again with
 * savepoints (the jobs are reset by unapply); the jobs' rc are then unset. Without, the batch's
 * new-session visits go first, together (add_new_visits: a pipeline on PostgreSQL). */
static bool run_batch(struct writer *w, struct write_job *batch, bool savepoints)
{
    struct counters counters = {0};
    int rc = store_begin(w->store);
    if (rc == ERR_OK && !savepoints && add_new_visits(w->store, batch) != ERR_OK) {
        store_rollback(w->store);
        return true;
    }
    for (struct write_job *j = batch; j; j = j->_next) {
        if (rc) {
            j->rc = rc;
            continue;
        }
        if (savepoints) {
            j->rc = store_savepoint(w->store);
            if (j->rc == ERR_OK)
                j->rc = apply(w->store, j);
            if (j->rc == ERR_OK)
                j->rc = store_savepoint_release(w->store);
            else
                store_savepoint_rollback(w->store);
        } else if (j->_batched) {
            j->rc = apply_event(w->store, j);
            if (j->rc) {
                store_rollback(w->store);
                return true;
            }
        } else {
            j->_inserted = j->session.id == 0;
            j->_applied = true;
            j->rc = apply(w->store, j);
            if (j->rc) {
                store_rollback(w->store);
                return true;
            }
        }
        for (int i = 0; j->rc == ERR_OK && i < j->n_leases; i++)
            if (!j->lease_renew[i])
                note_counters(&counters, j->session.account_id, j->leases[i].pool_id,
                              j->exhaustion_events[i], j->peak_concurrent[i]);
    }
    /* In pool order: the writers of several nodes then lock the pools' rows in one order (in
     * the order first seen, two nodes' batches deadlocked on PostgreSQL: 2 nodes, 4 pools). */
    qsort(counters.v, (size_t)counters.n, sizeof(counters.v[0]), by_pool);
    for (int i = 0; rc == ERR_OK && i < counters.n; i++)
        rc = store_pool_set_counters(w->store, counters.v[i].account_id, counters.v[i].pool_id,
                                     (int64_t)counters.v[i].exhaustion_events,
                                     (int64_t)counters.v[i].peak_concurrent);
    if (rc == ERR_OK && testhooks_fault(TESTHOOK_VISIT_COMMIT))
        rc = ERR_BACKEND; /* the test binary's full disk: nothing of the batch is committed */
    if (rc == ERR_OK)
        rc = store_commit(w->store);
    if (rc) { /* nothing of this batch is on disk: every job fails */
        store_rollback(w->store);
        for (struct write_job *j = batch; j; j = j->_next)
            j->rc = rc;
    }
    return false;
}

/* Undoes what a rolled-back apply left in the jobs: a session it inserted is to be inserted
 * again (the leases' and event's ids are set again by the next apply). */
static void unapply(struct write_job *batch)
{
    for (struct write_job *j = batch; j; j = j->_next) {
        if (j->_applied && j->_inserted)
            j->session.id = 0;
        j->_applied = j->_batched = false;
        j->rc = ERR_OK;
    }
}

/* Whether the batch may run without a savepoint per job: plain visit jobs only (whose apply can
 * run again after a rollback), on a store whose savepoints cost (w->plain_first). */
static bool plain_batch(const struct writer *w, const struct write_job *batch)
{
    if (!w->plain_first)
        return false;
    for (const struct write_job *j = batch; j; j = j->_next)
        if (j->apply)
            return false;
    return true;
}

static void commit_batch(struct writer *w, struct write_job *batch)
{
    for (struct write_job *j = batch; j; j = j->_next)
        j->_applied = j->_batched = false;
    if (!plain_batch(w, batch) || run_batch(w, batch, false)) {
        unapply(batch);
        (void)run_batch(w, batch, true);
    }
    for (struct write_job *j = batch; j;) {
        struct write_job *next = j->_next;
        j->done(j); /* may free j */
        j = next;
    }
}

/* Takes up to batch_max queued jobs in submission order. Caller holds w->mu. */
static struct write_job *take_locked(struct writer *w)
{
    struct write_job *rev = NULL;
    while (w->head) {
        struct write_job *j = w->head;
        w->head = j->_next;
        j->_next = rev;
        rev = j;
    }
    /* rev is now FIFO; split after batch_max and push the rest back */
    struct write_job *tail = rev;
    for (int n = 1; tail && n < w->batch_max; n++)
        tail = tail->_next;
    if (tail && tail->_next) {
        struct write_job *rest = tail->_next;
        tail->_next = NULL;
        struct write_job *back = NULL;
        while (rest) {
            struct write_job *j = rest;
            rest = j->_next;
            j->_next = back;
            back = j;
        }
        w->head = back;
    }
    return rev;
}

static void *run(void *arg)
{
    struct writer *w = arg;
    prctl(PR_SET_NAME, "od-writer", 0, 0, 0); /* visible in top -H and perf */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->head && w->stopping)
            break;
        struct write_job *batch = take_locked(w);
        pthread_mutex_unlock(&w->mu);
        commit_batch(w, batch);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct writer *writer_start(struct store *store)
{
    struct writer *w = xcalloc(1, sizeof(*w));
    w->store = store;
    int max = store_savepoints_max(store); /* one savepoint per job */
    w->batch_max = max > 0 && max < MAX_BATCH ? max : MAX_BATCH;
    w->plain_first = max > 0 && max < MAX_BATCH;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        log_error("store", "cannot start the writer thread");
        abort();
    }
    return w;
}

void writer_submit(struct writer *w, struct write_job *job)
{
    pthread_mutex_lock(&w->mu);
    job->_next = w->head;
    w->head = job;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void writer_stop(struct writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
