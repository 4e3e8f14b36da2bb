/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The stream across nodes (see fanout.h). A notification's payload is
 * "<node id, hex> <account id> <event> <call id>": small (far under PostgreSQL's 8000-byte
 * limit), and the receiving node reads the call itself, so the event's data is the CALL object
 * as GET /v1/calls/{id} shows it at that moment.
 * THREADING: f->mu guards stop; `supported` is atomic (read by every notifying thread). */
#include "base/prelude.h"
#include "app/fanout.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <time.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "app/app.h"
#include "app/pnl.h"
#include "app/calls.h"
#include "app/ratelimit.h"
#include "app/stream.h"
#include "store/store.h"

#define WAIT_MS 500   /* the thread checks for stop, and shares the limits, this often */
#define RETRY_MS 1000 /* after a lost connection */

struct fanout {
    struct app *app;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    atomic_bool supported; /* false once the store said it has no other node */
};

static const char *const events[] = {"call.started", "call.completed", "conversion.created"};

int fanout_notify(struct app *app, struct store *s, int64_t account_id, const char *event,
                  int64_t call_id)
{
    if (!app->fanout || !atomic_load(&app->fanout->supported))
        return ERR_OK;
    char payload[128];
    snprintf(payload, sizeof(payload), "%016" PRIx64 " %" PRId64 " %s %" PRId64, app->node_id,
             account_id, event, call_id);
    int rc = store_notify(s, payload);
    return rc == ERR_UNSUPPORTED ? ERR_OK : rc;
}

/* ---- the per-account limit of new sessions, across nodes ----
 * "L <node> <key>:<n> …": the new sessions this node let through since its last message, per
 * account (the hash ratelimit keys it by); each other node empties its bucket for that account
 * by as much, so the account's --max-new-sessions holds for the cluster, give or take what
 * the nodes let through in one WAIT_MS before hearing of each other. */

#define LIMIT_PAYLOAD_MAX 7800

struct limit_msg {
    struct app *app;
    char buf[LIMIT_PAYLOAD_MAX + 64];
    size_t len, head;
};

static void limit_flush(struct limit_msg *m)
{
    if (m->len > m->head)
        store_notify(m->app->store, m->buf); /* best effort: a lost message is a looser limit */
    m->len = m->head;
    m->buf[m->len] = '\0';
}

static void limit_add(void *ctx, uint64_t key, uint32_t n)
{
    struct limit_msg *m = ctx;
    if (m->len > LIMIT_PAYLOAD_MAX)
        limit_flush(m);
    int w = snprintf(m->buf + m->len, sizeof(m->buf) - m->len, " %" PRIx64 ":%" PRIu32, key, n);
    if (w > 0)
        m->len += (size_t)w;
}

static void share_limits(struct fanout *f)
{
    struct limit_msg m = {.app = f->app};
    m.head = m.len = (size_t)snprintf(m.buf, sizeof(m.buf), "L %016" PRIx64, f->app->node_id);
    ratelimit_spent(f->app->session_limit, limit_add, &m);
    limit_flush(&m);
}

static void limits_received(struct app *app, const char *payload)
{
    const char *p = payload + 2;
    char *end = NULL;
    uint64_t node = strtoull(p, &end, 16);
    if (end == p || node == app->node_id)
        return;
    int64_t now = time_now_ms();
    for (p = end; *p == ' ';) {
        uint64_t key = strtoull(p + 1, &end, 16);
        if (*end != ':')
            return;
        unsigned long n = strtoul(end + 1, &end, 10);
        ratelimit_charge(app->session_limit, key, now, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
        p = end;
    }
}

/* Publishes another node's event to this node's listeners. */
static void received(void *ctx, const char *payload)
{
    struct fanout *f = ctx;
    struct app *app = f->app;
    if (payload[0] == 'L' && payload[1] == ' ') {
        limits_received(app, payload);
        return;
    }
    uint64_t node = 0;
    int64_t account_id = 0, call_id = 0;
    char event[32] = "";
    if (sscanf(payload, "%" SCNx64 " %" SCNd64 " %31s %" SCNd64, &node, &account_id, event,
               &call_id) != 4) {
        log_warn("stream", "unreadable notification from another node ignored");
        return;
    }
    if (node == app->node_id || !stream_listeners(app->stream))
        return;                              /* published here already, or nobody to tell */
    if (strcmp(event, "pnl.updated") == 0) { /* today's P&L totals, read from the shared store */
        pnl_publish_local(app, account_id);
        return;
    }
    const char *name = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(events) && !name; i++)
        if (!strcmp(event, events[i]))
            name = events[i];
    json_t *data = name ? calls_event_json(app, name, account_id, call_id) : NULL;
    char *s = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (s)
        stream_publish(app->stream, account_id, name, s);
    free(s);
}

static bool stopping(struct fanout *f, int64_t wait_ms)
{
    pthread_mutex_lock(&f->mu);
    if (wait_ms > 0 && !f->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait_ms / 1000;
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
    bool stop = f->stop;
    pthread_mutex_unlock(&f->mu);
    return stop;
}

static void *run(void *arg)
{
    struct fanout *f = arg;
    prctl(PR_SET_NAME, "od-fanout", 0, 0, 0);
    bool lost = false;
    bool sharing = false;
    while (!stopping(f, 0)) {
        int rc = store_notify_wait(f->app->store, WAIT_MS, received, f);
        if (rc == ERR_UNSUPPORTED) {
            atomic_store(&f->supported, false); /* one process serves the store */
            break;
        }
        if (rc == ERR_OK && !sharing) { /* other nodes may hear us: count for them */
            ratelimit_share(f->app->session_limit);
            sharing = true;
        }
        if (rc == ERR_OK)
            share_limits(f);
        if (rc != ERR_OK && !lost)
            log_warn("stream", "not listening to the other nodes' events: the store connection "
                               "is lost; retrying every second");
        else if (rc == ERR_OK && lost)
            log_info("stream", "listening to the other nodes' events again");
        lost = rc != ERR_OK;
        if (lost && stopping(f, RETRY_MS))
            break;
    }
    return NULL;
}

struct fanout *fanout_start(struct app *app)
{
    struct fanout *f = xcalloc(1, sizeof(*f));
    f->app = app;
    atomic_init(&f->supported, true);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (pthread_create(&f->thread, NULL, run, f) != 0) {
        log_error("stream", "cannot start the fan-out thread");
        abort();
    }
    return f;
}

void fanout_stop(struct fanout *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}
