/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sim/sim: the replay. Each trace row becomes what the server would do: a visit or page view
 * leases (or renews) through pool_lease, a tel: click is remembered for scoring, and a call
 * collects the dialled number's holders from pool_holders() and asks attrib_decide(), then the
 * answer is compared with the trace's truth. A sweep runs one engine per pool size on threads. */
#include "base/prelude.h"
#include "sim/sim.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/xalloc.h"
#include "sim/rng.h"

/* What the replay knows about one session (per engine: it depends on the pool size). */
struct sess {
    int64_t active_at;  /* latest visit, page view or tel: click */
    int64_t click_at;   /* latest tel: click, 0 if none */
    uint32_t shown;     /* number shown at the latest page view; 0 = none (fallback) */
    uint32_t last_num;  /* latest number leased, to get it back after the lease lapsed */
    uint32_t click_num; /* number of that click */
};

struct replay {
    const struct sim_trace *t;
    const struct sim_config *cfg;
    struct pool *pool;
    struct sess *s;
    struct sim_rng rng;
    struct pool_holder *holders;
    struct attrib_candidate *cands;
    size_t cap;
    struct sim_result *out;
};

void sim_config_default(struct sim_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->ttl_ms = 1200 * 1000;
    cfg->cooldown_ms = 1800 * 1000;
    cfg->on_exhaust = POOL_SHARE;
    cfg->window_ms = ATTRIB_DEFAULT_WINDOW_MS;
    cfg->seed = 1;
}

/* ==== events ================================================================================= */

static void on_pageview(struct replay *r, uint32_t id, int64_t now)
{
    struct sess *s = &r->s[id];
    uint64_t num = 0;
    int rc = pool_lease(r->pool, id, s->last_num, now, &num, NULL);
    s->shown = rc == ERR_OK ? (uint32_t)num : 0;
    if (s->shown)
        s->last_num = s->shown;
    s->active_at = now;
}

static void on_click(struct replay *r, uint32_t id, int64_t now)
{
    struct sess *s = &r->s[id];
    s->active_at = now;
    if (!s->shown)
        return; /* clicked the fallback number: nothing to score */
    s->click_num = s->shown;
    s->click_at = now; /* the server stores the event; the lease is not renewed by it */
}

/* The holders of num at now, with cap grown until they all fit. */
static size_t holders_of(struct replay *r, uint32_t num, int64_t now)
{
    for (;;) {
        size_t n = pool_holders(r->pool, num, now, r->holders, r->cap);
        if (n < r->cap)
            return n;
        r->cap *= 2;
        r->holders = xrealloc(r->holders, r->cap * sizeof(*r->holders));
        r->cands = xrealloc(r->cands, r->cap * sizeof(*r->cands));
    }
}

static void fill_candidate(const struct replay *r, const struct pool_holder *h, uint32_t num,
                           struct attrib_candidate *c)
{
    uint32_t id = (uint32_t)h->session_id;
    const struct sess *s = &r->s[id];
    c->session_id = h->session_id;
    c->leased_at = h->leased_at;
    c->last_active_at = h->last_active_at;
    c->ends_at = h->ends_at;
    c->tel_click_at = s->click_num == num ? s->click_at : 0;
    c->device = (enum attrib_device)r->t->device[id];
    snprintf(c->region, sizeof(c->region), "%s", r->t->regions[r->t->region[id]]);
    c->n_client = 1; /* traces carry no addresses: every session is its own client */
}

/* Attributes a call on pool number num; returns the credited session (0: none). */
static uint32_t attribute(struct replay *r, const struct sim_event *e, uint32_t num, int64_t now,
                          enum attrib_method *method)
{
    struct attrib_call call = {.at = now, .window_ms = r->cfg->window_ms};
    snprintf(call.caller_region, sizeof(call.caller_region), "%s", r->t->regions[e->region]);
    size_t n = holders_of(r, num, now);
    for (size_t i = 0; i < n; i++)
        fill_candidate(r, &r->holders[i], num, &r->cands[i]);
    struct attrib_result res;
    attrib_decide(&call, r->cands, n, &res);
    *method = res.method;
    return res.chosen >= 0 ? (uint32_t)r->cands[res.chosen].session_id : 0;
}

static void tally(struct sim_result *o, uint32_t truth, uint32_t credited, bool within,
                  enum attrib_method method)
{
    o->calls++;
    o->by_method[method]++;
    o->attributable += truth != 0;
    o->within_30min += within;
    if (!credited) {
        o->unattributed++;
    } else if (credited == truth) {
        o->correct++;
        o->within_30min_correct += within;
    } else {
        o->misattributed++;
    }
}

static void on_call(struct replay *r, const struct sim_event *e, int64_t now)
{
    uint32_t truth = e->session;
    uint32_t num;
    bool within = false;
    if (truth) {
        num = r->s[truth].shown; /* dialled what the latest page view showed */
        within = now - r->s[truth].active_at <= SIM_WITHIN_MS;
    } else {
        num = 1 + (uint32_t)sim_rng_below(&r->rng, r->cfg->pool_size);
    }
    enum attrib_method method = ATTRIB_SOURCE; /* the fallback number: source-level only */
    uint32_t credited = num ? attribute(r, e, num, now, &method) : 0;
    tally(r->out, truth, credited, within, method);
}

/* ==== runs =================================================================================== */

static void replay_init(struct replay *r, const struct sim_trace *t, const struct sim_config *cfg,
                        struct sim_result *out)
{
    struct pool_config pc = {cfg->ttl_ms, cfg->cooldown_ms, cfg->on_exhaust};
    memset(r, 0, sizeof(*r));
    r->t = t;
    r->cfg = cfg;
    r->out = out;
    r->pool = pool_new(&pc);
    for (uint32_t i = 1; i <= cfg->pool_size; i++)
        pool_add_number(r->pool, i, 0);
    r->s = xcalloc((size_t)t->n_sessions + 1, sizeof(*r->s));
    sim_rng_seed(&r->rng, cfg->seed);
    r->cap = 64;
    r->holders = xmalloc(r->cap * sizeof(*r->holders));
    r->cands = xmalloc(r->cap * sizeof(*r->cands));
}

static void replay_release(struct replay *r)
{
    pool_free(r->pool);
    free(r->s);
    free(r->holders);
    free(r->cands);
}

int sim_run(const struct sim_trace *t, const struct sim_config *cfg, struct sim_result *out)
{
    memset(out, 0, sizeof(*out));
    if (cfg->pool_size == 0 || cfg->pool_size > SIM_POOL_MAX)
        return ERR_INVALID;
    struct replay r;
    replay_init(&r, t, cfg, out);
    for (size_t i = 0; i < t->n_ev; i++) {
        const struct sim_event *e = &t->ev[i];
        int64_t now = SIM_EPOCH_MS + e->at;
        if (e->kind == SIM_VISIT || e->kind == SIM_PAGEVIEW)
            on_pageview(&r, e->session, now);
        else if (e->kind == SIM_TEL_CLICK)
            on_click(&r, e->session, now);
        else
            on_call(&r, e, now);
    }
    struct pool_stats st;
    int64_t end = SIM_EPOCH_MS + (t->n_ev ? t->ev[t->n_ev - 1].at : 0);
    pool_stats_get(r.pool, end, &st);
    out->pool_size = cfg->pool_size;
    out->exhaustion_events = st.exhaustion_events;
    out->peak_concurrent = st.peak_concurrent;
    replay_release(&r);
    return ERR_OK;
}

/* ==== sweeps ================================================================================= */

/* THREADING: workers share only `next` (atomic) and write disjoint out[i]; the trace and
 * the config are read-only while they run. */
struct sweep {
    const struct sim_trace *t;
    const struct sim_config *base;
    const uint32_t *sizes;
    size_t n;
    struct sim_result *out;
    int *rc;
    atomic_size_t next;
};

static void *sweep_worker(void *arg)
{
    struct sweep *sw = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&sw->next, 1);
        if (i >= sw->n)
            return NULL;
        struct sim_config cfg = *sw->base;
        cfg.pool_size = sw->sizes[i];
        sw->rc[i] = sim_run(sw->t, &cfg, &sw->out[i]);
    }
}

int sim_sweep(const struct sim_trace *t, const struct sim_config *base, const uint32_t *sizes,
              size_t n, unsigned n_threads, struct sim_result *out)
{
    struct sweep sw = {.t = t, .base = base, .sizes = sizes, .n = n, .out = out};
    sw.rc = xcalloc(n ? n : 1, sizeof(*sw.rc));
    atomic_init(&sw.next, 0);
    if (n_threads > n)
        n_threads = (unsigned)n;
    pthread_t *tid = xcalloc(n_threads ? n_threads : 1, sizeof(*tid));
    unsigned started = 0;
    for (unsigned i = 1; i < n_threads; i++) /* the calling thread is worker 0 */
        if (pthread_create(&tid[started], NULL, sweep_worker, &sw) == 0)
            started++;
    sweep_worker(&sw);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    int rc = ERR_OK;
    for (size_t i = 0; i < n && rc == ERR_OK; i++)
        rc = sw.rc[i];
    free(tid);
    free(sw.rc);
    return rc;
}

double sim_accuracy(const struct sim_result *r)
{
    return r->attributable ? (double)r->correct / (double)r->attributable : NAN;
}

double sim_accuracy_30min(const struct sim_result *r)
{
    return r->within_30min ? (double)r->within_30min_correct / (double)r->within_30min : NAN;
}
