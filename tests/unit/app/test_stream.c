/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* http/stream: the SSE fan-out behind GET /v1/stream, driven without a server. Fake
 * suspend/resume callbacks stand in for libmicrohttpd and count what the stream asks of them.
 * Covers the greeting, account isolation, ordering (also through tiny reads), newlines in
 * payloads, keep-alive comments, the bounded queue (a slow listener is dropped, the others keep
 * receiving), publish never waiting on a parking reader, shutdown, and credential re-checks
 * ending the listeners of a revoked credential. */
#include "base/prelude.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "app/stream.h"

#define WAIT_MS 3000 /* longest wait for the stream's wake thread (it ticks every second) */

/* ==== helpers ================================================================================ */

/* A connection as server.c would hand it over: suspend and resume only count and check the
 * protocol of stream.h ("resume is only called on a connection that suspend was called on,
 * and only once per suspension"). block_in_suspend holds the parking reader inside suspend
 * until release is set, to catch a stream that holds its lock while suspending. */
struct fake_conn {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int suspends;
    int resumes;
    int bad_resumes; /* resume of a connection that was not suspended */
    bool suspended;
    bool block_in_suspend;
    bool in_suspend;
    bool release;
};

static void conn_init(struct fake_conn *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
}

static void conn_release(struct fake_conn *c)
{
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

static void fake_suspend(void *arg)
{
    struct fake_conn *c = arg;
    pthread_mutex_lock(&c->mu);
    c->suspends++;
    c->suspended = true;
    c->in_suspend = true;
    pthread_cond_broadcast(&c->cv);
    while (c->block_in_suspend && !c->release)
        pthread_cond_wait(&c->cv, &c->mu);
    c->in_suspend = false;
    pthread_mutex_unlock(&c->mu);
}

static void fake_resume(void *arg)
{
    struct fake_conn *c = arg;
    pthread_mutex_lock(&c->mu);
    if (!c->suspended)
        c->bad_resumes++;
    c->suspended = false;
    c->resumes++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static struct timespec deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Waits (not sleeps: returns as soon as it happens) until c was resumed n times. */
static bool wait_resumes(struct fake_conn *c, int n)
{
    struct timespec ts = deadline_in(WAIT_MS);
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    while (c->resumes < n && rc == 0)
        rc = pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    bool ok = c->resumes >= n;
    pthread_mutex_unlock(&c->mu);
    return ok;
}

static int conn_count(struct fake_conn *c, const int *field)
{
    pthread_mutex_lock(&c->mu);
    int v = *field;
    pthread_mutex_unlock(&c->mu);
    return v;
}

/* Reads whatever l has now into out (appending), cap bytes per read. Returns the last
 * stream_read result: 0 (nothing more now) or -1 (ended). */
static long drain(struct stream_listener *l, struct buf *out, size_t cap)
{
    char chunk[8192];
    assert_true(cap <= sizeof(chunk));
    for (;;) {
        long n = stream_read(l, chunk, cap);
        if (n <= 0)
            return n;
        assert_true((size_t)n <= cap);
        assert_int_equal(buf_add(out, chunk, (size_t)n), ERR_OK);
    }
}

/* Reads the greeting and checks it: a retry line and a ": connected" comment, one block. */
static void greet(struct stream_listener *l)
{
    char g[256];
    long n = stream_read(l, g, sizeof(g) - 1);
    assert_true(n > 0);
    g[n] = '\0';
    assert_true(strncmp(g, "retry: ", 7) == 0);
    assert_non_null(strstr(g, "\n: connected\n"));
    assert_true(n >= 2 && g[n - 2] == '\n' && g[n - 1] == '\n'); /* a complete SSE block */
}

/* Number of non-overlapping occurrences of needle in hay. */
static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + strlen(needle), needle))
        n++;
    return n;
}

/* Number of lines of text that start with prefix. */
static size_t count_lines(const char *text, const char *prefix)
{
    size_t n = 0;
    const char *p = text;
    while (p && *p) {
        n += strncmp(p, prefix, strlen(prefix)) == 0;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

/* The SSE block stream_publish documents for one event. */
static void event_block(char *out, size_t cap, const char *event, const char *json)
{
    snprintf(out, cap, "event: %s\ndata: %s\n\n", event, json);
}

static void short_pause(void)
{
    struct timespec ts = {0, 3 * 1000000L}; /* 3 ms */
    nanosleep(&ts, NULL);
}

/* ==== tests ================================================================================== */

static void greeting_then_nothing(void **state)
{
    (void)state;
    struct stream *st = stream_new();
    struct stream_listener *l = stream_listen(st, 1, NULL);
    assert_non_null(l);
    assert_int_equal(stream_listeners(st), 1);
    greet(l);
    char b[64];
    assert_int_equal(stream_read(l, b, sizeof(b)), 0); /* nothing pending, not attached */
    stream_unlisten(st, l);
    assert_int_equal(stream_listeners(st), 0);
    stream_free(st);
}

/* "Sends one event to every listener of account_id": two listeners of account 1 get its
 * event, account 2's listener gets only its own (an account never sees another's data). */
static void accounts_are_isolated(void **state)
{
    (void)state;
    struct stream *st = stream_new();
    struct stream_listener *a1 = stream_listen(st, 1, NULL);
    struct stream_listener *a2 = stream_listen(st, 1, NULL);
    struct stream_listener *b = stream_listen(st, 2, NULL);
    greet(a1);
    greet(a2);
    greet(b);
    stream_publish(st, 1, "call.started", "{\"id\":\"call_a\"}");
    stream_publish(st, 2, "call.completed", "{\"id\":\"call_b\"}");
    stream_publish(st, 3, "call.started", "{\"id\":\"call_nobody\"}");
    char ea[128], eb[128];
    event_block(ea, sizeof(ea), "call.started", "{\"id\":\"call_a\"}");
    event_block(eb, sizeof(eb), "call.completed", "{\"id\":\"call_b\"}");
    struct stream_listener *ls[] = {a1, a2, b};
    for (size_t i = 0; i < ARRAY_SIZE(ls); i++) {
        struct buf got;
        buf_init(&got, 1 << 16);
        assert_int_equal(drain(ls[i], &got, 4096), 0);
        assert_int_equal(buf_addc(&got, '\0'), ERR_OK);
        bool is_a = i < 2;
        assert_int_equal(count(got.data, ea), is_a ? 1 : 0);
        assert_int_equal(count(got.data, eb), is_a ? 0 : 1);
        assert_null(strstr(got.data, "call_nobody"));
        buf_release(&got);
    }
    stream_unlisten(st, a1);
    stream_unlisten(st, a2);
    stream_unlisten(st, b);
    stream_free(st);
}

/* stream_publish_masked: a listener opened masked gets the masked variant, the others the full
 * one, under the same event id; masked NULL sends the full event to everyone. */
static void masked_listeners_get_the_masked_variant(void **state)
{
    (void)state;
    struct stream *st = stream_new();
    struct stream_listener *full = stream_listen(st, 1, NULL);
    struct stream_listener *mask = stream_listen_masked(st, 1, "ses:x", true);
    greet(full);
    greet(mask);
    stream_publish_masked(st, 1, "call.started", "{\"from\":\"+15125550111\"}",
                          "{\"from\":\"+1****0111\"}");
    stream_publish_masked(st, 1, "call.completed", "{\"id\":\"c\"}", NULL);
    struct stream_listener *ls[] = {full, mask};
    for (size_t i = 0; i < ARRAY_SIZE(ls); i++) {
        struct buf got;
        buf_init(&got, 1 << 16);
        assert_int_equal(drain(ls[i], &got, 4096), 0);
        assert_int_equal(buf_addc(&got, '\0'), ERR_OK);
        assert_int_equal(count(got.data, "5125550111"), i == 0 ? 1 : 0);
        assert_int_equal(count(got.data, "+1****0111"), i == 0 ? 0 : 1);
        assert_int_equal(count(got.data, "id: 1\nevent: call.started\n"), 1);
        assert_int_equal(count(got.data, "event: call.completed\ndata: {\"id\":\"c\"}"), 1);
        buf_release(&got);
    }
    stream_unlisten(st, full);
    stream_unlisten(st, mask);
    stream_free(st);
}

/* Checks that got holds exactly the events n_0 … n_(n-1) of "seq.test", in order, each a
 * complete block. */
static void assert_in_order(const char *got, int n)
{
    const char *p = got;
    for (int i = 0; i < n; i++) {
        char want[128];
        char json[64];
        snprintf(json, sizeof(json), "{\"n\":%d}", i);
        event_block(want, sizeof(want), "seq.test", json);
        const char *q = strstr(p, want);
        if (!q)
            fail_msg("event %d missing or out of order", i);
        p = q + strlen(want);
    }
    assert_int_equal(count(got, "event: "), (size_t)n);
}

/* Events arrive in publish order, whole, even when the reader takes 1 or 7 bytes at a time
 * (libmicrohttpd hands us whatever room its buffer has). */
static void order_kept_through_small_reads(void **state)
{
    (void)state;
    static const size_t caps[] = {1, 7, 4096};
    struct stream *st = stream_new();
    struct stream_listener *ls[ARRAY_SIZE(caps)];
    for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
        ls[i] = stream_listen(st, 9, NULL);
        greet(ls[i]);
    }
    for (int i = 0; i < 200; i++) {
        char json[64];
        snprintf(json, sizeof(json), "{\"n\":%d}", i);
        stream_publish(st, 9, "seq.test", json);
    }
    for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
        struct buf got;
        buf_init(&got, 1 << 20);
        assert_int_equal(drain(ls[i], &got, caps[i]), 0);
        assert_int_equal(buf_addc(&got, '\0'), ERR_OK);
        assert_in_order(got.data, 200);
        buf_release(&got);
        stream_unlisten(st, ls[i]);
    }
    stream_free(st);
}

/* "newlines in it are replaced by spaces": a payload with LF and CRLF stays one data line, so
 * a client cannot be fed a forged event through a JSON string. */
static void newlines_cannot_forge_events(void **state)
{
    (void)state;
    struct stream *st = stream_new();
    struct stream_listener *l = stream_listen(st, 1, NULL);
    greet(l);
    stream_publish(st, 1, "call.started", "{\"a\":1,\n\"b\":\"x\r\n\r\nevent: forged\ndata: {}\"}");
    struct buf got;
    buf_init(&got, 1 << 16);
    drain(l, &got, 4096);
    assert_int_equal(buf_addc(&got, '\0'), ERR_OK);
    assert_int_equal(count_lines(got.data, "event:"), 1);
    assert_int_equal(count_lines(got.data, "data:"), 1);
    assert_int_equal(count(got.data, "event: call.started\ndata: {\"a\":1, \"b\""), 1);
    assert_null(strstr(got.data, "\r"));
    assert_int_equal(count(got.data, "\n\n"), 1); /* exactly one block */
    buf_release(&got);
    stream_unlisten(st, l);
    stream_free(st);
}

/* "a `: keep-alive` comment when nothing was written for the keep-alive interval". */
static void keepalive_after_interval(void **state)
{
    (void)state;
    struct stream *st = stream_new();
    struct stream_listener *l = stream_listen(st, 1, NULL);
    greet(l);
    char b[64];
    assert_int_equal(stream_read(l, b, sizeof(b)), 0); /* default 15 s: not yet */
    stream_set_keepalive(st, 1);
    short_pause();
    long n = stream_read(l, b, sizeof(b) - 1);
    assert_true(n > 0);
    b[n] = '\0';
    assert_true(b[0] == ':'); /* an SSE comment: clients ignore it */
    assert_non_null(strstr(b, "keep-alive"));
    assert_true(n >= 2 && b[n - 2] == '\n' && b[n - 1] == '\n');
    assert_null(strstr(b, "event:"));
    /* an event is a write too: no keep-alive beside it */
    short_pause();
    stream_publish(st, 1, "call.started", "{}");
    n = stream_read(l, b, sizeof(b) - 1);
    assert_true(n > 0);
    b[n] = '\0';
    assert_null(strstr(b, "keep-alive"));
    assert_non_null(strstr(b, "event: call.started"));
    stream_unlisten(st, l);
    stream_free(st);
}

/* A parked (suspended) listener with nothing to say is woken by the stream's own thread for
 * the keep-alive: that is how a dead client is found (stream.h). */
static void parked_listener_gets_keepalive(void **state)
{
    (void)state;
    struct fake_conn c;
    conn_init(&c);
    struct stream *st = stream_new();
    struct stream_listener *l = stream_listen(st, 1, NULL);
    stream_attach(l, fake_suspend, fake_resume, &c);
    greet(l); /* data pending: no suspend */
    assert_int_equal(conn_count(&c, &c.suspends), 0);
    char b[64];
    assert_int_equal(stream_read(l, b, sizeof(b)), 0); /* 15 s to go: parks */
    assert_int_equal(conn_count(&c, &c.suspends), 1);
    stream_set_keepalive(st, 1); /* now overdue: the wake thread must notice on its own */
    assert_true(wait_resumes(&c, 1));
    long n = stream_read(l, b, sizeof(b) - 1);
    assert_true(n > 0);
    b[n] = '\0';
    assert_non_null(strstr(b, "keep-alive"));
    assert_int_equal(conn_count(&c, &c.bad_resumes), 0);
    stream_unlisten(st, l);
    stream_free(st);
    conn_release(&c);
}

/* A listener that stops reading fills its bounded queue and is dropped: its read ends (-1)
 * instead of handing out a hole-ridden stream; a listener that keeps up gets every event; and
 * publish kept returning throughout (it never waits for a reader). */
static void slow_listener_dropped_others_continue(void **state)
{
    (void)state;
    struct stream *st = stream_new();
    struct stream_listener *slow = stream_listen(st, 1, NULL);
    struct stream_listener *fast = stream_listen(st, 1, NULL);
    greet(slow);
    greet(fast);
    char pad[1001];
    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    /* enough 1 KB events to overflow STREAM_QUEUE_MAX one and a half times */
    int n_events = (int)(STREAM_QUEUE_MAX * 3 / 2 / 1000);
    struct buf got;
    buf_init(&got, 0);
    for (int i = 0; i < n_events; i++) {
        char json[1100];
        snprintf(json, sizeof(json), "{\"n\":%d,\"pad\":\"%s\"}", i, pad);
        stream_publish(st, 1, "seq.test", json);
        assert_int_equal(drain(fast, &got, 4096), 0);
    }
    assert_int_equal(buf_addc(&got, '\0'), ERR_OK);
    assert_int_equal(count(got.data, "event: seq.test"), (size_t)n_events);
    char last[64];
    snprintf(last, sizeof(last), "{\"n\":%d,", n_events - 1);
    assert_non_null(strstr(got.data, last));
    buf_release(&got);

    char b[4096];
    assert_int_equal(stream_read(slow, b, sizeof(b)), -1);
    assert_int_equal(stream_read(slow, b, sizeof(b)), -1); /* stays ended */
    assert_int_equal(stream_listeners(st), 2);             /* until the server unlistens it */

    stream_publish(st, 1, "after.drop", "{}"); /* the survivor still receives */
    long n = stream_read(fast, b, sizeof(b) - 1);
    assert_true(n > 0);
    b[n] = '\0';
    assert_non_null(strstr(b, "event: after.drop"));
    assert_int_equal(stream_read(slow, b, sizeof(b)), -1);
    stream_unlisten(st, slow);
    stream_unlisten(st, fast);
    assert_int_equal(stream_listeners(st), 0);
    stream_free(st);
}

/* Under the bound nobody is dropped: a listener that reads late gets everything. */
static void late_reader_under_bound_keeps_everything(void **state)
{
    (void)state;
    struct stream *st = stream_new();
    struct stream_listener *l = stream_listen(st, 1, NULL);
    greet(l);
    char pad[1001];
    memset(pad, 'q', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    int n_events = (int)(STREAM_QUEUE_MAX * 3 / 4 / 1100); /* about 3/4 of the bound */
    for (int i = 0; i < n_events; i++) {
        char json[1100];
        snprintf(json, sizeof(json), "{\"n\":%d,\"pad\":\"%s\"}", i, pad);
        stream_publish(st, 1, "seq.test", json);
    }
    struct buf got;
    buf_init(&got, 0);
    assert_int_equal(drain(l, &got, 4096), 0);
    assert_int_equal(buf_addc(&got, '\0'), ERR_OK);
    assert_int_equal(count(got.data, "event: seq.test"), (size_t)n_events);
    buf_release(&got);
    stream_unlisten(st, l);
    stream_free(st);
}

/* A listener parked by its reader is resumed once after a publish, and then reads the event. */
static void publish_wakes_parked_listener(void **state)
{
    (void)state;
    struct fake_conn c;
    conn_init(&c);
    struct stream *st = stream_new();
    struct stream_listener *l = stream_listen(st, 4, NULL);
    stream_attach(l, fake_suspend, fake_resume, &c);
    greet(l);
    char b[256];
    assert_int_equal(stream_read(l, b, sizeof(b)), 0);
    assert_int_equal(conn_count(&c, &c.suspends), 1);
    assert_int_equal(conn_count(&c, &c.resumes), 0);
    stream_publish(st, 5, "call.started", "{}"); /* another account: no wake needed */
    stream_publish(st, 4, "call.started", "{\"id\":\"call_x\"}");
    assert_true(wait_resumes(&c, 1));
    long n = stream_read(l, b, sizeof(b) - 1);
    assert_true(n > 0);
    b[n] = '\0';
    assert_non_null(strstr(b, "event: call.started\ndata: {\"id\":\"call_x\"}\n\n"));
    assert_int_equal(conn_count(&c, &c.resumes), 1);
    assert_int_equal(conn_count(&c, &c.bad_resumes), 0);
    stream_unlisten(st, l);
    stream_free(st);
    conn_release(&c);
}

struct reader_arg {
    struct stream_listener *l;
    long result;
};

static void *reader_thread(void *arg)
{
    struct reader_arg *ra = arg;
    char b[256];
    ra->result = stream_read(ra->l, b, sizeof(b));
    return NULL;
}

static void watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "test_stream: stream_publish blocked on a parking reader\n";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    (void)w;
    _exit(1);
}

/* "publishers never wait on a connection": while a reader is inside suspend (held there by
 * the fake), publish returns; the event is not lost in the race (the reader is resumed exactly
 * once, by whichever side saw the event), and then it reads the event. */
static void publish_never_waits_for_parking_reader(void **state)
{
    (void)state;
    struct fake_conn c;
    conn_init(&c);
    c.block_in_suspend = true;
    struct stream *st = stream_new();
    struct stream_listener *l = stream_listen(st, 1, NULL);
    stream_attach(l, fake_suspend, fake_resume, &c);
    greet(l);
    struct reader_arg ra = {.l = l, .result = 99};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader_thread, &ra), 0);
    pthread_mutex_lock(&c.mu);
    while (!c.in_suspend)
        pthread_cond_wait(&c.cv, &c.mu);
    pthread_mutex_unlock(&c.mu);

    signal(SIGALRM, watchdog);
    alarm(10);
    for (int i = 0; i < 100; i++)
        stream_publish(st, 1, "call.started", "{\"id\":\"call_race\"}");
    alarm(0);
    signal(SIGALRM, SIG_DFL);

    pthread_mutex_lock(&c.mu);
    c.release = true;
    pthread_cond_broadcast(&c.cv);
    pthread_mutex_unlock(&c.mu);
    pthread_join(t, NULL);
    assert_int_equal(ra.result, 0);
    assert_true(wait_resumes(&c, 1));
    struct buf got;
    buf_init(&got, 1 << 20);
    assert_int_equal(drain(l, &got, 4096), 0);
    assert_int_equal(buf_addc(&got, '\0'), ERR_OK);
    assert_int_equal(count(got.data, "call_race"), 100);
    buf_release(&got);
    assert_int_equal(conn_count(&c, &c.resumes), 1);
    assert_int_equal(conn_count(&c, &c.bad_resumes), 0);
    stream_unlisten(st, l);
    stream_free(st);
    conn_release(&c);
}

/* stream_shutdown: what is queued is still delivered, then the read ends; parked listeners
 * are woken so their connections can end; no new listeners; publish afterwards is a no-op. */
static void shutdown_drains_then_ends(void **state)
{
    (void)state;
    struct fake_conn c;
    conn_init(&c);
    struct stream *st = stream_new();
    struct stream_listener *busy = stream_listen(st, 1, NULL);
    struct stream_listener *parked = stream_listen(st, 2, NULL);
    stream_attach(parked, fake_suspend, fake_resume, &c);
    greet(busy);
    greet(parked);
    char b[256];
    assert_int_equal(stream_read(parked, b, sizeof(b)), 0); /* parks */
    stream_publish(st, 1, "call.started", "{\"id\":\"call_last\"}");
    stream_shutdown(st);
    stream_shutdown(st); /* idempotent */
    assert_null(stream_listen(st, 1, NULL));
    stream_publish(st, 1, "call.started", "{\"id\":\"call_after\"}");
    struct buf got;
    buf_init(&got, 1 << 16);
    assert_int_equal(drain(busy, &got, 4096), -1);
    assert_int_equal(buf_addc(&got, '\0'), ERR_OK);
    assert_non_null(strstr(got.data, "call_last"));
    assert_null(strstr(got.data, "call_after"));
    buf_release(&got);
    assert_true(wait_resumes(&c, 1));
    assert_int_equal(stream_read(parked, b, sizeof(b)), -1);
    assert_int_equal(conn_count(&c, &c.bad_resumes), 0);
    stream_unlisten(st, busy);
    stream_unlisten(st, parked);
    stream_free(st);
    conn_release(&c);
}

/* ---- credential re-checks ---- */

/* A stand-in for the application's check: "key:gone" is refused, "key:flaky" cannot be
 * decided (the store is down), everything else still authorizes account 1 only. */
struct fake_checker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int rounds_of_ok; /* checks of "key:ok" seen, one per round */
    bool revoke_gone; /* until set, "key:gone" is still valid */
};

static int fake_check(void *ctx, int64_t account_id, const char *cred)
{
    struct fake_checker *fc = ctx;
    pthread_mutex_lock(&fc->mu);
    int rc = account_id == 1 ? ERR_OK : ERR_AUTH;
    if (!strcmp(cred, "key:gone") && fc->revoke_gone)
        rc = ERR_AUTH;
    if (!strcmp(cred, "key:flaky"))
        rc = ERR_BACKEND;
    if (!strcmp(cred, "key:ok"))
        fc->rounds_of_ok++;
    pthread_cond_broadcast(&fc->cv);
    pthread_mutex_unlock(&fc->mu);
    return rc;
}

static bool wait_rounds(struct fake_checker *fc, int n)
{
    struct timespec ts = deadline_in(WAIT_MS);
    pthread_mutex_lock(&fc->mu);
    int rc = 0;
    while (fc->rounds_of_ok < n && rc == 0)
        rc = pthread_cond_timedwait(&fc->cv, &fc->mu, &ts);
    bool ok = fc->rounds_of_ok >= n;
    pthread_mutex_unlock(&fc->mu);
    return ok;
}

/* stream_set_check: once a credential is refused, the parked listener opened with it is woken,
 * reads the `: credential revoked` comment, then ends; listeners with a valid credential, an
 * undecidable one (kept: the next round decides) or none stay open. */
static void revoked_credential_ends_its_listeners(void **state)
{
    (void)state;
    struct fake_checker fc = {.rounds_of_ok = 0};
    pthread_mutex_init(&fc.mu, NULL);
    pthread_cond_init(&fc.cv, NULL);
    struct fake_conn c;
    conn_init(&c);
    struct stream *st = stream_new();
    stream_set_check(st, fake_check, &fc, 1); /* every tick */
    struct stream_listener *gone = stream_listen(st, 1, "key:gone");
    struct stream_listener *ok = stream_listen(st, 1, "key:ok");
    struct stream_listener *flaky = stream_listen(st, 1, "key:flaky");
    struct stream_listener *none = stream_listen(st, 1, NULL);
    struct stream_listener *other = stream_listen(st, 2, "key:ok"); /* not account 2's key */
    struct stream_listener *all[] = {gone, ok, flaky, none, other};
    for (size_t i = 0; i < ARRAY_SIZE(all); i++)
        greet(all[i]);
    stream_attach(gone, fake_suspend, fake_resume, &c);
    char b[256];
    assert_int_equal(stream_read(gone, b, sizeof(b)), 0); /* parks */
    assert_true(wait_rounds(&fc, 1));
    assert_int_equal(conn_count(&c, &c.resumes), 0); /* still valid: left parked */
    pthread_mutex_lock(&fc.mu);
    fc.revoke_gone = true;
    pthread_mutex_unlock(&fc.mu);
    assert_true(wait_resumes(&c, 1));
    struct buf got;
    buf_init(&got, 1 << 16);
    assert_int_equal(drain(gone, &got, 4096), -1);
    assert_int_equal(buf_addc(&got, '\0'), ERR_OK);
    assert_string_equal(got.data, ": credential revoked\n\n");
    buf_release(&got);
    assert_int_equal(stream_read(other, b, sizeof(b)), (long)strlen(": credential revoked\n\n"));
    assert_int_equal(stream_read(other, b, sizeof(b)), -1);
    int seen = conn_count(&c, &c.resumes);
    pthread_mutex_lock(&fc.mu);
    int rounds = fc.rounds_of_ok;
    pthread_mutex_unlock(&fc.mu);
    assert_true(wait_rounds(&fc, rounds + 2)); /* two more rounds: nothing else ends */
    assert_int_equal(stream_read(ok, b, sizeof(b)), 0);
    assert_int_equal(stream_read(flaky, b, sizeof(b)), 0);
    assert_int_equal(stream_read(none, b, sizeof(b)), 0);
    assert_int_equal(conn_count(&c, &c.resumes), seen);
    assert_int_equal(conn_count(&c, &c.bad_resumes), 0);
    for (size_t i = 0; i < ARRAY_SIZE(all); i++)
        stream_unlisten(st, all[i]);
    stream_free(st);
    conn_release(&c);
    pthread_cond_destroy(&fc.cv);
    pthread_mutex_destroy(&fc.mu);
}

static void null_arguments(void **state)
{
    (void)state;
    stream_publish(NULL, 1, "call.started", "{}");
    stream_free(NULL);
    stream_shutdown(NULL);
    struct stream *st = stream_new();
    stream_unlisten(st, NULL);
    struct stream_listener *l = stream_listen(st, 1, NULL);
    greet(l);
    stream_publish(st, 1, NULL, "{}");
    stream_publish(st, 1, "call.started", NULL);
    char b[64];
    assert_int_equal(stream_read(l, b, sizeof(b)), 0);
    stream_unlisten(st, l);
    stream_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greeting_then_nothing),
        cmocka_unit_test(accounts_are_isolated),
        cmocka_unit_test(masked_listeners_get_the_masked_variant),
        cmocka_unit_test(order_kept_through_small_reads),
        cmocka_unit_test(newlines_cannot_forge_events),
        cmocka_unit_test(keepalive_after_interval),
        cmocka_unit_test(parked_listener_gets_keepalive),
        cmocka_unit_test(slow_listener_dropped_others_continue),
        cmocka_unit_test(late_reader_under_bound_keeps_everything),
        cmocka_unit_test(publish_wakes_parked_listener),
        cmocka_unit_test(publish_never_waits_for_parking_reader),
        cmocka_unit_test(shutdown_drains_then_ends),
        cmocka_unit_test(revoked_credential_ends_its_listeners),
        cmocka_unit_test(null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
