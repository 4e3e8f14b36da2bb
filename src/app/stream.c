/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The live event stream (GET /v1/stream): per-listener bounded byte queues filled by
 * stream_publish, drained by the connection's content reader (stream_read), and a wake thread
 * that resumes parked connections. libmicrohttpd details stay in server.c, which hands us two
 * functions (suspend, resume) per connection.
 * THREADING: st->mu guards the list, every queue and every listener's state. It is never held
 * while suspend or resume run. See "parking protocol" below for why resume is always safe. */
#include "base/prelude.h"
#include "app/stream.h"

#include <pthread.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "base/xalloc.h"

#define QUEUE_INITIAL 4096
#define TICK_MS 1000
/* After a publish the wake thread lets events gather this long before waking listeners: under a
 * burst of calls each listener then gets one wake and a few large writes instead of one per
 * event (with 100 listeners, waking per event cost the server ~6 us per event per listener). */
#define BATCH_MS 20
#define GREETING "retry: 3000\n: connected\n\n"
#define KEEPALIVE ": keep-alive\n\n"
#define REVOKED ": credential revoked\n\n"

/* Parking protocol. A connection is parked (suspended) only by its own reader, and woken only
 * by the wake thread, which first claims it (SUSPENDED -> RUNNING) under the mutex. A suspended
 * connection cannot finish (the server never closes it), so the claimed connection stays valid
 * until the wake thread resumes it, and nobody else resumes it. If a wake arrives while the
 * reader is between "decided to park" and "parked" (SUSPENDING), the wake thread only flips the
 * state back to RUNNING and the reader resumes its own connection right after parking it. */
enum park_state { PARK_RUNNING, PARK_SUSPENDING, PARK_SUSPENDED };

struct stream_listener {
    struct stream *st;
    int64_t account_id;
    char cred[STREAM_CRED_MAX]; /* "" = never re-checked */
    bool masked;                /* gets the masked variant of events (a viewer's session) */
    char *q;                    /* queued bytes q[off, off + len) */
    size_t off, len, cap;
    bool greeted;
    bool ended;            /* dropped or shut down: send what is queued, then end */
    int64_t last_write_at; /* monotonic ms of the last bytes handed to the reader */
    enum park_state park;
    stream_conn_fn suspend, resume;
    void *conn;
    struct stream_listener *prev, *next;
};

struct wake {
    stream_conn_fn resume;
    void *conn;
};

struct stream {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thread;
    struct stream_listener *head;
    size_t n;
    bool shut;    /* no new listeners */
    bool stop;    /* the wake thread exits */
    bool pending; /* a publish or shutdown happened since the thread last looked */
    int64_t keepalive_ms;
    uint64_t seq;       /* event ids */
    struct wake *wakes; /* the wake thread's scratch array */
    size_t n_wakes_cap;
    /* credential re-checks (stream_set_check); the times are the wake thread's own */
    stream_check_fn check;
    void *check_ctx;
    int64_t check_every_ms;
    int64_t checked_mono, checked_wall; /* when the last round ran, on each clock */
};

/* One distinct (account, credential) of the open listeners, checked outside the lock. */
struct cred_check {
    int64_t account_id;
    char cred[STREAM_CRED_MAX];
    int rc;
};

static void enqueue(struct stream_listener *l, const char *p, size_t n);

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the wake thread ---- */

static bool wants_wake(const struct stream_listener *l, int64_t now, int64_t keepalive_ms)
{
    return l->len > 0 || l->ended || !l->greeted || now - l->last_write_at >= keepalive_ms;
}

/* Claims every parked listener that has something to say; returns how many were claimed. */
static size_t claim_wakes(struct stream *st, int64_t now)
{
    size_t n = 0;
    for (struct stream_listener *l = st->head; l; l = l->next) {
        if (l->park == PARK_RUNNING || !wants_wake(l, now, st->keepalive_ms))
            continue;
        if (l->park == PARK_SUSPENDING) {
            l->park = PARK_RUNNING; /* the reader resumes itself */
            continue;
        }
        l->park = PARK_RUNNING;
        if (n == st->n_wakes_cap) {
            st->n_wakes_cap = st->n_wakes_cap ? st->n_wakes_cap * 2 : 64;
            st->wakes = xrealloc(st->wakes, st->n_wakes_cap * sizeof(*st->wakes));
        }
        st->wakes[n++] = (struct wake){l->resume, l->conn};
    }
    return n;
}

static void wait_tick(struct stream *st)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += TICK_MS / 1000;
    while (!st->pending && !st->stop) {
        if (pthread_cond_timedwait(&st->cond, &st->mu, &ts) != 0)
            break;
    }
    st->pending = false;
}

/* Waits BATCH_MS (or until stop), publishes notwithstanding. Caller holds st->mu. */
static void gather(struct stream *st)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += BATCH_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!st->stop && pthread_cond_timedwait(&st->cond, &st->mu, &ts) == 0)
        ;
    st->pending = false;
}

/* ---- credential re-checks ---- */

static bool check_due(const struct stream *st, int64_t mono, int64_t wall)
{
    return st->check && (mono - st->checked_mono >= st->check_every_ms ||
                         wall - st->checked_wall >= st->check_every_ms);
}

/* The distinct (account, credential) pairs of the listeners still running; caller holds mu.
 * Returns a malloc'd array (NULL when there is none), *n its length. */
static struct cred_check *collect_creds(struct stream *st, size_t *n)
{
    struct cred_check *cc = NULL;
    size_t len = 0, cap = 0;
    for (struct stream_listener *l = st->head; l; l = l->next) {
        if (l->ended || !l->cred[0])
            continue;
        size_t i = 0;
        while (i < len && !(cc[i].account_id == l->account_id && !strcmp(cc[i].cred, l->cred)))
            i++;
        if (i < len)
            continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            cc = xrealloc(cc, cap * sizeof(*cc));
        }
        cc[len].account_id = l->account_id;
        memcpy(cc[len].cred, l->cred, sizeof(cc[len].cred));
        cc[len++].rc = ERR_OK;
    }
    *n = len;
    return cc;
}

/* Ends the listeners whose credential was refused; caller holds mu. Returns how many. */
static size_t end_refused(struct stream *st, const struct cred_check *cc, size_t n)
{
    size_t ended = 0;
    for (struct stream_listener *l = st->head; l; l = l->next) {
        for (size_t i = 0; i < n && !l->ended; i++) {
            if (cc[i].rc != ERR_AUTH || cc[i].account_id != l->account_id ||
                strcmp(cc[i].cred, l->cred) != 0)
                continue;
            enqueue(l, REVOKED, sizeof(REVOKED) - 1);
            l->ended = true;
            ended++;
        }
    }
    return ended;
}

/* Runs one round of credential checks when one is due. Called with mu held; drops it while
 * the check function runs (a store read), so publishers and readers never wait on the store.
 * Listeners opened during the round are checked at the next one. */
static void recheck(struct stream *st)
{
    int64_t mono = mono_ms();
    int64_t wall = time_now_ms();
    if (!check_due(st, mono, wall))
        return;
    st->checked_mono = mono;
    st->checked_wall = wall;
    size_t n = 0;
    struct cred_check *cc = collect_creds(st, &n);
    if (!n)
        return;
    stream_check_fn fn = st->check;
    void *ctx = st->check_ctx;
    pthread_mutex_unlock(&st->mu);
    for (size_t i = 0; i < n; i++)
        cc[i].rc = fn(ctx, cc[i].account_id, cc[i].cred);
    pthread_mutex_lock(&st->mu);
    size_t ended = end_refused(st, cc, n);
    free(cc);
    if (ended)
        log_info("stream", "ended %zu listener(s): their credential no longer authorizes them",
                 ended);
}

static void *wake_thread(void *arg)
{
    struct stream *st = arg;
    pthread_mutex_lock(&st->mu);
    while (!st->stop) {
        wait_tick(st);
        gather(st);
        recheck(st);
        size_t n = claim_wakes(st, mono_ms());
        pthread_mutex_unlock(&st->mu);
        /* Outside the lock: the claimed connections are suspended and only we resume them. */
        for (size_t i = 0; i < n; i++)
            st->wakes[i].resume(st->wakes[i].conn);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* ---- lifecycle ---- */

struct stream *stream_new(void)
{
    struct stream *st = xcalloc(1, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cond, NULL);
    st->keepalive_ms = STREAM_KEEPALIVE_MS;
    if (pthread_create(&st->thread, NULL, wake_thread, st) != 0) {
        fprintf(stderr, "fatal: cannot start the stream thread\n");
        abort();
    }
    return st;
}

static void listener_free(struct stream_listener *l)
{
    free(l->q);
    free(l);
}

void stream_free(struct stream *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    st->stop = true;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->thread, NULL);
    while (st->head) {
        struct stream_listener *l = st->head;
        st->head = l->next;
        listener_free(l);
    }
    free(st->wakes);
    pthread_cond_destroy(&st->cond);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

void stream_shutdown(struct stream *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    st->shut = true;
    for (struct stream_listener *l = st->head; l; l = l->next)
        l->ended = true;
    st->pending = true;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->mu);
}

void stream_set_check(struct stream *st, stream_check_fn fn, void *ctx, int64_t every_ms)
{
    pthread_mutex_lock(&st->mu);
    st->check = fn;
    st->check_ctx = ctx;
    st->check_every_ms = every_ms > 0 ? every_ms : STREAM_RECHECK_MS;
    st->checked_mono = mono_ms();
    st->checked_wall = time_now_ms();
    pthread_mutex_unlock(&st->mu);
}

void stream_set_keepalive(struct stream *st, int64_t keepalive_ms)
{
    pthread_mutex_lock(&st->mu);
    st->keepalive_ms = keepalive_ms > 0 ? keepalive_ms : STREAM_KEEPALIVE_MS;
    pthread_mutex_unlock(&st->mu);
}

size_t stream_listeners(struct stream *st)
{
    pthread_mutex_lock(&st->mu);
    size_t n = st->n;
    pthread_mutex_unlock(&st->mu);
    return n;
}

/* ---- listeners ---- */

struct stream_listener *stream_listen(struct stream *st, int64_t account_id, const char *cred)
{
    return stream_listen_masked(st, account_id, cred, false);
}

struct stream_listener *stream_listen_masked(struct stream *st, int64_t account_id,
                                             const char *cred, bool masked)
{
    struct stream_listener *l = xcalloc(1, sizeof(*l));
    l->st = st;
    l->account_id = account_id;
    l->masked = masked;
    snprintf(l->cred, sizeof(l->cred), "%s", cred ? cred : "");
    l->last_write_at = mono_ms();
    pthread_mutex_lock(&st->mu);
    if (st->shut) {
        pthread_mutex_unlock(&st->mu);
        free(l);
        return NULL;
    }
    l->next = st->head;
    if (st->head)
        st->head->prev = l;
    st->head = l;
    st->n++;
    pthread_mutex_unlock(&st->mu);
    return l;
}

void stream_attach(struct stream_listener *l, stream_conn_fn suspend, stream_conn_fn resume,
                   void *conn)
{
    pthread_mutex_lock(&l->st->mu);
    l->suspend = suspend;
    l->resume = resume;
    l->conn = conn;
    pthread_mutex_unlock(&l->st->mu);
}

void stream_unlisten(struct stream *st, struct stream_listener *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&st->mu);
    if (l->prev)
        l->prev->next = l->next;
    else
        st->head = l->next;
    if (l->next)
        l->next->prev = l->prev;
    st->n--;
    pthread_mutex_unlock(&st->mu);
    listener_free(l);
}

/* ---- publishing ---- */

/* Appends n bytes to l's queue, or drops l (ended, queue freed) when it would overflow. */
static void enqueue(struct stream_listener *l, const char *p, size_t n)
{
    if (l->ended)
        return;
    if (l->len + n > STREAM_QUEUE_MAX) {
        l->ended = true;
        free(l->q);
        l->q = NULL;
        l->off = l->len = l->cap = 0;
        return;
    }
    if (l->off > 0 && l->off + l->len + n > l->cap) {
        memmove(l->q, l->q + l->off, l->len);
        l->off = 0;
    }
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap : QUEUE_INITIAL;
        while (cap < l->len + n)
            cap *= 2;
        l->q = xrealloc(l->q, cap);
        l->cap = cap;
    }
    memcpy(l->q + l->off + l->len, p, n);
    l->len += n;
}

/* Copies s into out (n bytes of room) with CR and LF turned into spaces; returns bytes written. */
static size_t put_line(char *out, const char *s, size_t n)
{
    size_t i = 0;
    for (; s[i] && i < n; i++)
        out[i] = (s[i] == '\n' || s[i] == '\r') ? ' ' : s[i];
    return i;
}

/* Formats one SSE event; returns a malloc'd string, *len set. */
static char *format_event(uint64_t seq, const char *event, const char *json, size_t *len)
{
    size_t ev = strlen(event), js = strlen(json);
    size_t cap = ev + js + 64;
    char *m = xmalloc(cap);
    size_t n = (size_t)snprintf(m, cap, "id: %" PRIu64 "\nevent: ", seq);
    n += put_line(m + n, event, ev);
    memcpy(m + n, "\ndata: ", 7);
    n += 7;
    n += put_line(m + n, json, js);
    memcpy(m + n, "\n\n", 3);
    *len = n + 2;
    return m;
}

void stream_publish(struct stream *st, int64_t account_id, const char *event, const char *json)
{
    stream_publish_masked(st, account_id, event, json, NULL);
}

void stream_publish_masked(struct stream *st, int64_t account_id, const char *event,
                           const char *json, const char *masked)
{
    if (!st || !event || !json)
        return;
    pthread_mutex_lock(&st->mu);
    bool any = false;
    for (struct stream_listener *l = st->head; l && !any; l = l->next)
        any = l->account_id == account_id && !l->ended;
    if (!any) {
        pthread_mutex_unlock(&st->mu);
        return;
    }
    uint64_t seq = ++st->seq;
    pthread_mutex_unlock(&st->mu);
    size_t len, mlen = 0;
    char *m = format_event(seq, event, json, &len); /* formatted outside the lock */
    /* one id for both variants: it is the same event */
    char *mm = masked ? format_event(seq, event, masked, &mlen) : NULL;
    pthread_mutex_lock(&st->mu);
    for (struct stream_listener *l = st->head; l; l = l->next)
        if (l->account_id == account_id) {
            if (l->masked && mm)
                enqueue(l, mm, mlen);
            else
                enqueue(l, m, len);
        }
    st->pending = true;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->mu);
    free(m);
    free(mm);
}

/* ---- reading ---- */

static size_t copy_out(char *out, size_t cap, const char *s, size_t n)
{
    size_t k = n < cap ? n : cap;
    memcpy(out, s, k);
    return k;
}

/* What the reader gets now (under the lock): > 0 bytes, 0 nothing, -1 ended. */
static long take(struct stream_listener *l, char *out, size_t cap, int64_t now)
{
    size_t n = 0;
    if (!l->greeted && cap >= sizeof(GREETING)) {
        n = copy_out(out, cap, GREETING, sizeof(GREETING) - 1);
        l->greeted = true;
    }
    if (l->len > 0) {
        size_t k = copy_out(out + n, cap - n, l->q + l->off, l->len);
        l->off += k;
        l->len -= k;
        if (l->len == 0)
            l->off = 0;
        n += k;
    } else if (n == 0 && l->ended) {
        return -1;
    } else if (n == 0 && now - l->last_write_at >= l->st->keepalive_ms &&
               cap >= sizeof(KEEPALIVE)) {
        n = copy_out(out, cap, KEEPALIVE, sizeof(KEEPALIVE) - 1);
    }
    if (n > 0)
        l->last_write_at = now;
    return (long)n;
}

long stream_read(struct stream_listener *l, char *out, size_t cap)
{
    struct stream *st = l->st;
    pthread_mutex_lock(&st->mu);
    long n = take(l, out, cap, mono_ms());
    if (n != 0 || !l->suspend) {
        pthread_mutex_unlock(&st->mu);
        return n;
    }
    l->park = PARK_SUSPENDING;
    pthread_mutex_unlock(&st->mu);
    l->suspend(l->conn);
    pthread_mutex_lock(&st->mu);
    bool woken = l->park != PARK_SUSPENDING; /* the wake thread came while we were parking */
    l->park = woken ? PARK_RUNNING : PARK_SUSPENDED;
    pthread_mutex_unlock(&st->mu);
    if (woken)
        l->resume(l->conn);
    return 0;
}
