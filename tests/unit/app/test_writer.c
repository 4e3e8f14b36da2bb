/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The group-commit writer over a fake store that behaves as PostgreSQL does for it: a failed
 * statement aborts the transaction until a rollback (to a savepoint); savepoints are limited
 * (64). Checks that a batch of new-session visits runs without savepoints, stored by one
 * store_visits_add, and that a visit that fails in such a batch fails alone: the batch is rolled
 * back and run again with savepoints, every other visit committed exactly once, its lease
 * pointing at its session. */
#include "base/prelude.h"

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "app/writer.h"
#include "store/store_int.h"

#define MAXROWS 64

/* A row: a session (ext_id, id) or a lease (its session's id). */
struct row {
    bool lease;
    char ext[sizeof(((struct st_session *)0)->ext_id)];
    int64_t id;
};

static struct fake {
    struct store base;
    int savepoints_max;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool gate_open;
    int64_t next_id;
    bool in_tx, aborted;
    struct row pending[MAXROWS], committed[MAXROWS];
    int n_pending, n_committed;
    int marks[MAXROWS]; /* savepoints: n_pending when taken */
    int n_marks;
    int savepoints; /* taken, in all */
    int done;       /* jobs done */
    int visits_add_calls;
} F;

static int f_begin(struct store *s)
{
    (void)s;
    assert_false(F.in_tx);
    F.in_tx = true;
    F.aborted = false;
    F.n_pending = 0;
    F.n_marks = 0;
    return ERR_OK;
}

static int f_commit(struct store *s)
{
    (void)s;
    assert_true(F.in_tx);
    F.in_tx = false;
    if (F.aborted)
        return ERR_BACKEND; /* PostgreSQL's COMMIT of a failed transaction rolls back */
    for (int i = 0; i < F.n_pending; i++)
        F.committed[F.n_committed++] = F.pending[i];
    return ERR_OK;
}

static void f_rollback(struct store *s)
{
    (void)s;
    F.in_tx = false;
    F.n_pending = 0;
}

static int f_savepoint(struct store *s)
{
    (void)s;
    if (F.aborted)
        return ERR_BACKEND;
    F.marks[F.n_marks++] = F.n_pending;
    F.savepoints++;
    return ERR_OK;
}

static int f_savepoint_release(struct store *s)
{
    (void)s;
    if (F.aborted)
        return ERR_BACKEND;
    F.n_marks--;
    return ERR_OK;
}

static void f_savepoint_rollback(struct store *s)
{
    (void)s;
    assert_true(F.n_marks > 0);
    F.n_pending = F.marks[--F.n_marks];
    F.aborted = false;
}

static int f_savepoints_max(struct store *s)
{
    (void)s;
    return F.savepoints_max;
}

/* "gate" waits for the test to open it (so the next jobs queue into one batch); "bad" fails
 * as a unique violation does and aborts the transaction. */
static int f_session_put(struct store *s, struct st_session *ss)
{
    (void)s;
    if (F.aborted)
        return ERR_BACKEND;
    if (ss->id != 0)
        return ERR_OK;
    if (strcmp(ss->ext_id, "gate") == 0) {
        pthread_mutex_lock(&F.mu);
        while (!F.gate_open)
            pthread_cond_wait(&F.cv, &F.mu);
        pthread_mutex_unlock(&F.mu);
    }
    if (strcmp(ss->ext_id, "bad") == 0) {
        F.aborted = true;
        return ERR_CONFLICT;
    }
    ss->id = ++F.next_id;
    struct row *r = &F.pending[F.n_pending++];
    *r = (struct row){.lease = false, .id = ss->id};
    snprintf(r->ext, sizeof(r->ext), "%s", ss->ext_id);
    return ERR_OK;
}

static int f_lease_add(struct store *s, struct st_lease *l)
{
    (void)s;
    if (F.aborted)
        return ERR_BACKEND;
    bool found = false; /* the foreign key: its session is in this transaction */
    for (int i = 0; i < F.n_pending; i++)
        found = found || (!F.pending[i].lease && F.pending[i].id == l->session_id);
    if (!found) {
        F.aborted = true;
        return ERR_CONFLICT;
    }
    F.pending[F.n_pending++] = (struct row){.lease = true, .id = l->session_id};
    return ERR_OK;
}

static int f_visits_add(struct store *s, struct st_visit_add *v, size_t n)
{
    F.visits_add_calls++;
    for (size_t i = 0; i < n; i++) {
        int rc = f_session_put(s, v[i].session);
        if (rc == ERR_OK) {
            v[i].lease->session_id = v[i].session->id;
            rc = f_lease_add(s, v[i].lease);
        }
        if (rc)
            return rc;
    }
    return ERR_OK;
}

static int f_pool_set_counters(struct store *s, int64_t account, int64_t pool, int64_t ex,
                               int64_t peak)
{
    (void)s, (void)account, (void)pool, (void)ex, (void)peak;
    return F.aborted ? ERR_BACKEND : ERR_OK;
}

static const struct store_ops fake_ops = {
    .name = "fake",
    .begin = f_begin,
    .commit = f_commit,
    .rollback = f_rollback,
    .savepoint = f_savepoint,
    .savepoint_release = f_savepoint_release,
    .savepoint_rollback = f_savepoint_rollback,
    .savepoints_max = f_savepoints_max,
    .session_put = f_session_put,
    .lease_add = f_lease_add,
    .visits_add = f_visits_add,
    .pool_set_counters = f_pool_set_counters,
};

static void job_done(struct write_job *j)
{
    (void)j;
    pthread_mutex_lock(&F.mu);
    F.done++;
    pthread_cond_broadcast(&F.cv);
    pthread_mutex_unlock(&F.mu);
}

static void visit(struct write_job *j, const char *ext)
{
    memset(j, 0, sizeof(*j));
    snprintf(j->session.ext_id, sizeof(j->session.ext_id), "%s", ext);
    j->n_leases = 1;
    j->leases[0].pool_id = 1;
    j->leases[0].number_id = 7;
    j->done = job_done;
}

/* Runs "gate" alone, then exts[] queued behind it (one batch), and waits for all. */
static void run(int savepoints_max, struct write_job *jobs, const char *const *exts, int n)
{
    memset(&F.pending, 0, sizeof(F.pending));
    F.base.ops = &fake_ops;
    F.savepoints_max = savepoints_max;
    F.gate_open = false;
    F.next_id = 0;
    F.n_committed = 0;
    F.savepoints = 0;
    F.visits_add_calls = 0;
    F.done = 0;
    F.in_tx = false;
    pthread_mutex_init(&F.mu, NULL);
    pthread_cond_init(&F.cv, NULL);
    struct writer *w = writer_start(&F.base);
    struct write_job gate;
    visit(&gate, "gate");
    writer_submit(w, &gate);
    for (int i = 0; i < n; i++) {
        visit(&jobs[i], exts[i]);
        writer_submit(w, &jobs[i]);
    }
    pthread_mutex_lock(&F.mu);
    F.gate_open = true;
    pthread_cond_broadcast(&F.cv);
    while (F.done < n + 1)
        pthread_cond_wait(&F.cv, &F.mu);
    pthread_mutex_unlock(&F.mu);
    writer_stop(w);
    assert_int_equal(gate.rc, ERR_OK);
    pthread_mutex_destroy(&F.mu);
    pthread_cond_destroy(&F.cv);
}

/* How many committed sessions have ext_id ext, and whether one lease points at each. */
static int committed_sessions(const char *ext, int64_t *id)
{
    int n = 0;
    for (int i = 0; i < F.n_committed; i++)
        if (!F.committed[i].lease && strcmp(F.committed[i].ext, ext) == 0) {
            n++;
            *id = F.committed[i].id;
        }
    return n;
}

static int committed_leases(int64_t session_id)
{
    int n = 0;
    for (int i = 0; i < F.n_committed; i++)
        n += F.committed[i].lease && F.committed[i].id == session_id;
    return n;
}

static void plain_batch_takes_no_savepoint(void **state)
{
    (void)state;
    struct write_job jobs[3];
    const char *exts[] = {"a", "b", "c"};
    run(64, jobs, exts, 3);
    assert_int_equal(F.savepoints, 0);
    assert_in_range(F.visits_add_calls, 1, 2); /* gate's batch, then a-c together (or all one) */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(jobs[i].rc, ERR_OK);
        int64_t id = 0;
        assert_int_equal(committed_sessions(exts[i], &id), 1);
        assert_int_equal(id, jobs[i].session.id);
        assert_int_equal(committed_leases(id), 1);
    }
}

static void failing_visit_fails_alone(void **state)
{
    (void)state;
    struct write_job jobs[4];
    const char *exts[] = {"a", "b", "bad", "c"};
    run(64, jobs, exts, 4);
    assert_true(F.savepoints >= 4); /* the batch ran again with one per job */
    assert_int_equal(jobs[2].rc, ERR_CONFLICT);
    int64_t none = 0;
    assert_int_equal(committed_sessions("bad", &none), 0);
    for (int i = 0; i < 4; i++) {
        if (i == 2)
            continue;
        assert_int_equal(jobs[i].rc, ERR_OK);
        int64_t id = 0;
        assert_int_equal(committed_sessions(exts[i], &id), 1);
        assert_int_equal(id, jobs[i].session.id);
        assert_int_equal(committed_leases(id), 1);
    }
    assert_int_equal(F.n_committed, 2 * 4); /* gate, a, b, c: a session and a lease each */
}

static void unlimited_savepoints_keep_one_per_job(void **state)
{
    (void)state; /* SQLite's: savepoints cost next to nothing, and a batch always takes them */
    struct write_job jobs[2];
    const char *exts[] = {"a", "bad"};
    run(INT_MAX, jobs, exts, 2);
    assert_int_equal(F.savepoints, 3);
    assert_int_equal(jobs[0].rc, ERR_OK);
    assert_int_equal(jobs[1].rc, ERR_CONFLICT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_batch_takes_no_savepoint),
        cmocka_unit_test(failing_visit_fails_alone),
        cmocka_unit_test(unlimited_savepoints_keep_one_per_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
