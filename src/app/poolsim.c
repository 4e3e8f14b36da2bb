/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The pool page's sweep (see poolsim.h): one thread, a queue, one place per account. */
#include "base/prelude.h"
#include "app/poolsim.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "core/phone.h"
#include "app/app.h"
#include "sim/format.h"
#include "sim/sim.h"
#include "sim/trace.h"
#include "store/store.h"

#define CSV_MAX ((size_t)96 << 20) /* the history as CSV: ~40 bytes a row */
#define SIZES_MAX 64               /* sizes one sweep tries (about 60, and the pool's own) */
#define SWEEP_THREADS 2            /* replays at once: the server keeps the rest of the CPUs */

struct job {
    struct poolsim_req q;
    poolsim_done_fn done;
    void *arg;
    struct job *next;
};

struct poolsim {
    struct app *app;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    int64_t places[POOLSIM_QUEUE_MAX]; /* accounts queued or running (0 = free) */
    bool stop;
    atomic_bool quiescing;
};

static void fail(struct poolsim_result *r, int rc, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(struct poolsim_result *r, int rc, const char *field, const char *fmt, ...)
{
    r->rc = rc;
    snprintf(r->field, sizeof(r->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
}

/* ==== the history, as `opendni export trace` writes it ======================================== */

struct history {
    struct buf csv;
    int64_t since;
    uint64_t rows;
    bool over;
};

/* Session ids go into the comma-separated text unquoted: anything but [A-Za-z0-9_.:-] is '_'. */
static void safe_id(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++) {
        char ch = in[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' || ch == ':';
        out[i] = ok ? ch : '_';
    }
    out[i] = '\0';
}

static const char *device_of(const char *stored)
{
    static const char *const known[] = {"mobile", "desktop", "tablet"};
    for (size_t i = 0; i < ARRAY_SIZE(known); i++)
        if (strcasecmp(stored, known[i]) == 0)
            return known[i];
    return "";
}

/* The caller's area-code region, "" when unknown (not NANP, toll-free, sip:, anonymous…). */
static const char *caller_region(const char *from)
{
    char e164[PHONE_E164_MAX];
    if (phone_parse(from, e164, NULL) != ERR_OK)
        return "";
    const char *r = phone_region(e164);
    return r && strlen(r) < SIM_REGION_MAX && sim_region_valid(r) ? r : "";
}

int poolsim_trace_row(struct buf *out, int64_t since, const struct st_trace_row *r)
{
    static const char *const kinds[] = {"visit", "pageview", "tel_click", "call"};
    char sid[STORE_ID_MAX];
    safe_id(r->session, sid, sizeof(sid));
    int64_t ms = r->at - since;
    if (ms < 0)
        ms = 0;
    const char *device = r->kind == ST_TRACE_VISIT ? device_of(r->device) : "";
    const char *region = "";
    if (r->kind == ST_TRACE_VISIT && sim_region_valid(r->region))
        region = r->region;
    else if (r->kind == ST_TRACE_CALL)
        region = caller_region(r->from);
    return buf_addf(out, "%" PRId64 ".%03d,%s,%s,%s,%s\n", ms / 1000, (int)(ms % 1000),
                    kinds[r->kind], sid, device, region);
}

static int add_row(void *arg, const struct st_trace_row *r)
{
    struct history *h = arg;
    if (++h->rows > POOLSIM_ROWS_MAX || poolsim_trace_row(&h->csv, h->since, r) != ERR_OK) {
        h->over = true;
        return 1;
    }
    return 0;
}

/* The pool's history since q->now - days into t. ERR_OK, or an error in r. */
static int read_history(struct poolsim *p, const struct poolsim_req *q, const struct st_pool *pool,
                        struct sim_trace *t, struct poolsim_result *r)
{
    struct history h = {.since = q->now - q->days * 86400 * INT64_C(1000)};
    buf_init(&h.csv, CSV_MAX);
    int rc = buf_adds(&h.csv, POOLSIM_TRACE_HEADER);
    if (rc == ERR_OK)
        rc = store_export_trace_pool(p->app->store, q->account_id, pool->id, h.since, add_row, &h);
    if (rc == ERR_OK && h.over)
        fail(r, ERR_TOOBIG, "days",
             "the pool's history of %" PRId64 " days has more than %d visits, page views and "
             "calls: ask for fewer days, or use opendni export trace and opendni simulate",
             q->days, POOLSIM_ROWS_MAX);
    else if (rc)
        fail(r, rc, NULL, "cannot read the pool's history");
    FILE *f = r->rc == ERR_OK ? fmemopen(h.csv.data, h.csv.len, "r") : NULL;
    if (r->rc == ERR_OK && !f)
        fail(r, ERR_NOMEM, NULL, "cannot read the pool's history");
    if (f) {
        struct errbuf eb = {{0}, NULL};
        rc = sim_trace_read(t, f, "history", &eb);
        fclose(f);
        if (rc)
            fail(r, ERR_BACKEND, NULL, "the pool's history does not replay: %s", eb.msg);
    }
    buf_release(&h.csv);
    return r->rc;
}

/* ==== the sweep ================================================================================
 */

static int by_size(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* About 60 sizes from 1 to 1.5x the largest rule of thumb (as `opendni simulate` without
 * --pool-size), and the pool's own size, ascending and distinct. Returns the count. */
static size_t sweep_sizes(const struct sim_rules *rules, uint32_t current, uint32_t *out)
{
    uint32_t top = current > 1 ? current : 1;
    for (int i = 0; i < SIM_RULES; i++)
        top = rules->size[i] > top ? rules->size[i] : top;
    top = top + top / 2 + 1;
    top = top > SIM_POOL_MAX ? SIM_POOL_MAX : top;
    uint32_t step = (top + 59) / 60;
    size_t n = 0;
    for (uint32_t s = 1; s <= top && n < SIZES_MAX - 1; s += step)
        out[n++] = s;
    if (current >= 1 && current <= SIM_POOL_MAX)
        out[n++] = current;
    qsort(out, n, sizeof(*out), by_size);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || out[k - 1] != out[i])
            out[k++] = out[i];
    return k;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Replays t for each size, SWEEP_THREADS at a time, checking the deadline and the server's
 * stop between them. */
static int sweep(struct poolsim *p, const struct sim_trace *t, const struct sim_config *cfg,
                 const uint32_t *sizes, size_t n, struct sim_result *res, struct poolsim_result *r)
{
    int64_t until = mono_ms() + POOLSIM_DEADLINE_MS;
    for (size_t i = 0; i < n; i += SWEEP_THREADS) {
        if (atomic_load(&p->quiescing)) {
            fail(r, ERR_UNAVAILABLE, NULL, "the server is stopping");
            return r->rc;
        }
        if (mono_ms() > until) {
            fail(r, ERR_UNAVAILABLE, NULL,
                 "the simulation took longer than %d s: ask for fewer days, or use opendni "
                 "export trace and opendni simulate",
                 POOLSIM_DEADLINE_MS / 1000);
            return r->rc;
        }
        size_t k = n - i < SWEEP_THREADS ? n - i : SWEEP_THREADS;
        if (sim_sweep(t, cfg, sizes + i, k, SWEEP_THREADS, res + i) != ERR_OK) {
            fail(r, ERR_INVALID, NULL, "the simulator refused a pool size");
            return r->rc;
        }
    }
    return ERR_OK;
}

static json_t *results_json(const struct sim_result *res, size_t n)
{
    json_t *arr = json_array();
    struct buf b;
    buf_init(&b, 4096);
    for (size_t i = 0; i < n; i++) {
        buf_reset(&b);
        json_t *o = sim_format_json(&b, &res[i]) == ERR_OK ? json_loads(b.data, 0, NULL) : NULL;
        json_array_append_new(arr, o ? o : json_null());
    }
    buf_release(&b);
    return arr;
}

static json_t *answer(const struct poolsim_req *q, const struct st_pool *pool, uint32_t current,
                      const struct sim_stats *st, const struct sim_rules *rules,
                      const struct sim_result *res, size_t n)
{
    int k = sim_smallest_reaching(res, n, q->target);
    json_t *thumbs = json_array();
    for (int i = 0; i < SIM_RULES; i++)
        json_array_append_new(thumbs, json_pack("{s:s,s:I}", "rule", sim_rule_name(i), "size",
                                                (json_int_t)rules->size[i]));
    int64_t since = q->now - q->days * 86400 * INT64_C(1000);
    return json_pack(
        "{s:s,s:o,s:o,s:I,s:I,s:f,s:o,s:{s:I,s:I,s:I},s:{s:I,s:I,s:s},s:o,s:o}", "pool",
        pool->ext_id, "since", json_time(since), "until", json_time(q->now), "days",
        (json_int_t)q->days, "current_size", (json_int_t)current, "target_accuracy", q->target,
        "recommended_pool_size", k < 0 ? json_null() : json_integer(res[k].pool_size), "history",
        "sessions", (json_int_t)st->sessions, "calls", (json_int_t)st->calls, "session_calls",
        (json_int_t)st->session_calls, "policy", "ttl", (json_int_t)pool->lease_ttl_s, "cooldown",
        (json_int_t)pool->cooldown_s, "on_exhaust", pool->fallback_mode ? "fallback" : "share",
        "rules_of_thumb", thumbs, "results", results_json(res, n));
}

static void simulate(struct poolsim *p, const struct poolsim_req *q, struct poolsim_result *r)
{
    struct st_pool pool;
    int rc = store_pool_get(p->app->store, q->account_id, q->pool, &pool);
    if (rc == ERR_NOTFOUND) {
        fail(r, ERR_NOTFOUND, NULL, "no pool '%s'", q->pool);
        return;
    }
    if (rc) {
        fail(r, rc, NULL, "cannot read the pool");
        return;
    }
    struct pool_stats ps = {0};
    uint32_t current =
        store_pool_stats(p->app->store, pool.account_id, pool.id, q->now, &ps) == ERR_OK ? ps.size
                                                                                         : 0;
    struct sim_trace t;
    sim_trace_init(&t);
    if (read_history(p, q, &pool, &t, r) == ERR_OK) {
        struct sim_config cfg;
        sim_config_default(&cfg);
        cfg.policy = SIM_POLICY_OLD; /* the server's attribution (sim/sim.h) */
        cfg.ttl_ms = pool.lease_ttl_s * 1000;
        cfg.cooldown_ms = pool.cooldown_s * 1000;
        cfg.on_exhaust = pool.fallback_mode ? POOL_FALLBACK : POOL_SHARE;
        struct sim_stats st;
        struct sim_rules rules;
        sim_trace_stats(&t, cfg.ttl_ms, &st);
        sim_rules_of_thumb(&st, &rules);
        uint32_t sizes[SIZES_MAX];
        size_t n = sweep_sizes(&rules, current, sizes);
        struct sim_result *res = xcalloc(n, sizeof(*res));
        int64_t t0 = mono_ms();
        if (sweep(p, &t, &cfg, sizes, n, res, r) == ERR_OK) {
            r->body = answer(q, &pool, current, &st, &rules, res, n);
            if (!r->body)
                fail(r, ERR_NOMEM, NULL, "cannot write the answer");
            log_info("poolsim", "pool %s: %zu events, %zu sizes replayed in %" PRId64 " ms",
                     pool.ext_id, t.n_ev, n, mono_ms() - t0);
        }
        free(res);
    }
    sim_trace_release(&t);
}

/* ==== the service ============================================================================= */

static void release_place(struct poolsim *p, int64_t account_id)
{
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < POOLSIM_QUEUE_MAX; i++)
        if (p->places[i] == account_id) {
            p->places[i] = 0;
            break;
        }
    pthread_mutex_unlock(&p->mu);
}

static void finish(struct poolsim *p, struct job *j, struct poolsim_result *r)
{
    release_place(p, j->q.account_id); /* free before the answer: a retry finds it free */
    j->done(j->arg, r);
    free(j);
}

static void *thread_main(void *arg)
{
    struct poolsim *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct job *j = p->head;
        if (!j) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        struct poolsim_result r = {0};
        if (atomic_load(&p->quiescing))
            fail(&r, ERR_UNAVAILABLE, NULL, "the server is stopping");
        else
            simulate(p, &j->q, &r);
        finish(p, j, &r);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct poolsim *poolsim_start(struct app *app)
{
    struct poolsim *p = xcalloc(1, sizeof(*p));
    p->app = app;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, thread_main, p) != 0) {
        log_error("poolsim", "cannot start the pool simulation thread");
        abort();
    }
    return p;
}

void poolsim_quiesce(struct poolsim *p)
{
    if (!p)
        return;
    atomic_store(&p->quiescing, true);
    pthread_mutex_lock(&p->mu);
    struct job *j = p->head;
    p->head = p->tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while (j) {
        struct job *next = j->next;
        struct poolsim_result r = {0};
        fail(&r, ERR_UNAVAILABLE, NULL, "the server is stopping");
        finish(p, j, &r);
        j = next;
    }
}

void poolsim_stop(struct poolsim *p)
{
    if (!p)
        return;
    poolsim_quiesce(p);
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int poolsim_reserve(struct poolsim *p, int64_t account_id)
{
    if (atomic_load(&p->quiescing))
        return ERR_UNAVAILABLE;
    int rc = ERR_UNAVAILABLE;
    pthread_mutex_lock(&p->mu);
    int free_at = -1;
    for (int i = 0; i < POOLSIM_QUEUE_MAX && rc != ERR_LIMITED; i++) {
        if (p->places[i] == account_id)
            rc = ERR_LIMITED;
        else if (!p->places[i] && free_at < 0)
            free_at = i;
    }
    if (rc != ERR_LIMITED && free_at >= 0) {
        p->places[free_at] = account_id;
        rc = ERR_OK;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void poolsim_run(struct poolsim *p, const struct poolsim_req *q, poolsim_done_fn done, void *arg)
{
    struct job *j = xcalloc(1, sizeof(*j));
    *j = (struct job){.q = *q, .done = done, .arg = arg};
    pthread_mutex_lock(&p->mu);
    if (p->stop || atomic_load(&p->quiescing)) {
        pthread_mutex_unlock(&p->mu);
        struct poolsim_result r = {0};
        fail(&r, ERR_UNAVAILABLE, NULL, "the server is stopping");
        finish(p, j, &r);
        return;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
