/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sim/synth: the synthetic traffic model. Sessions arrive hour by hour (Poisson, by the diurnal
 * profile), each gets a device and a region, page views over its length, and maybe a call whose
 * delay follows the call-delay mix; tel: clicks precede most mobile calls. All constants of the
 * model are here, and documented in docs/pool-sizing.md. */
#include "base/prelude.h"
#include "sim/synth.h"

#include "base/xalloc.h"
#include "core/attrib.h"
#include "sim/rng.h"

#define SEC 1000.0
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* Sessions: a third bounce (one page); the rest stay log-uniform 2 to 30 min, with activity (page
 * views, or the tracker's heartbeats) every 30 to 180 s. */
#define BOUNCE_SHARE 0.35
#define STAY_MIN_MS (2 * MIN)
#define STAY_MAX_MS (30 * MIN)
#define GAP_MIN_MS (30 * SEC)
#define GAP_MAX_MS (180 * SEC)
/* Who calls: mobile visitors call far more than desktop ones (weights, normalised so that the
 * mean over the device mix equals call_rate). */
#define CALL_WEIGHT_MOBILE 1.6
#define CALL_WEIGHT_TABLET 1.0
#define CALL_WEIGHT_DESKTOP 0.5
/* tel: click before a call placed at once, by device; and before a call placed later (the
 * visitor tapped, hung up, and called back from the phone's history). */
#define CLICK_NOW_MOBILE 0.90
#define CLICK_NOW_TABLET 0.50
#define CLICK_NOW_DESKTOP 0.10
#define CLICK_LATER_SCALE 0.33
/* Taps that lead to no call (the dialler opened and was dismissed): a share of the sessions that
 * do not call tap the number anyway, at the end of their visit. By device. */
#define TAP_NO_CALL_MOBILE 0.03
#define TAP_NO_CALL_TABLET 0.015
#define TAP_NO_CALL_DESKTOP 0.003
/* Page depth: a visitor who leaves after one page calls less often than one who reads on
 * (weight of a bounced session; engaged sessions get the weight that keeps the mean at 1). */
#define CALL_WEIGHT_BOUNCED 0.6
/* Copies: a visitor who dials by hand (no tap) may copy the number to the clipboard first (the
 * tracker reports it as number_copy), more often on a desktop; a share of those who never call
 * copy it too. Callers who call later copy half as often as those who call at once. */
#define COPY_NOW_MOBILE 0.03
#define COPY_NOW_TABLET 0.15
#define COPY_NOW_DESKTOP 0.30
#define COPY_LATER_SCALE 0.5
#define COPY_NO_CALL_MOBILE 0.001
#define COPY_NO_CALL_TABLET 0.003
#define COPY_NO_CALL_DESKTOP 0.005
/* Repeat callers: a share of the callers call the same number again, from the same phone,
 * 30 min to 3 days after their first call (log-uniform). */
#define REPEAT_SHARE 0.08
#define REPEAT_MIN_MS (30 * MIN)
#define REPEAT_MAX_MS (3 * DAY)
/* Geography: a local business; most visitors are in its region; the caller's area code matches
 * the visitor's IP region 70 % of the time (mobile numbers travel, IP geo is coarse). */
#define HOME_SHARE 0.75
#define CALLER_SAME_REGION 0.70

static const char *const home_region = "US-TX";
static const char *const other_regions[] = {"US-OK", "US-LA", "US-NM", "US-CA", "US-FL", "US-NY",
                                            "US-IL", "US-GA", "US-AZ", "US-CO", "US-AR", "US-NC"};

/* Business hours with an evening shoulder, lowest before dawn. */
static const double default_diurnal[24] = {0.25, 0.15, 0.10, 0.10, 0.10, 0.20, 0.40, 0.70,
                                           1.00, 1.30, 1.50, 1.60, 1.60, 1.60, 1.50, 1.50,
                                           1.40, 1.30, 1.20, 1.20, 1.10, 0.90, 0.60, 0.40};

void sim_synth_default(struct sim_synth *c)
{
    memset(c, 0, sizeof(*c));
    c->visits_per_day = 2000;
    c->days = 7;
    c->call_rate = 0.05;
    c->mobile_share = 0.60;
    c->tablet_share = 0.05;
    c->untracked_share = 0.10;
    c->delay_mix[SIM_DELAY_IMMEDIATE] = 0.65;
    c->delay_mix[SIM_DELAY_SOON] = 0.25;
    c->delay_mix[SIM_DELAY_LATE] = 0.10;
    memcpy(c->diurnal, default_diurnal, sizeof(c->diurnal));
    c->seed = 1;
}

static bool is_share(double x)
{
    return x >= 0 && x <= 1;
}

static double sum_of(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] >= 0) || v[i] > 1e9)
            return -1;
        s += v[i];
    }
    return s;
}

int sim_synth_validate(const struct sim_synth *c, struct errbuf *eb)
{
    if (!(c->visits_per_day > 0 && c->visits_per_day <= 1e7))
        return errf(eb, ERR_INVALID, "visits-per-day", "visits per day must be in (0, 10000000]");
    if (c->days < 1 || c->days > 366)
        return errf(eb, ERR_INVALID, "days", "days must be 1 to 366");
    if (!is_share(c->call_rate))
        return errf(eb, ERR_INVALID, "call-rate", "call rate must be a share in [0, 1]");
    if (!is_share(c->mobile_share) || !is_share(c->tablet_share) ||
        c->mobile_share + c->tablet_share > 1)
        return errf(eb, ERR_INVALID, "mobile-share",
                    "device shares must be in [0, 1] and mobile + tablet <= 1");
    if (!(c->untracked_share >= 0 && c->untracked_share < 1))
        return errf(eb, ERR_INVALID, "untracked-calls", "untracked share must be in [0, 1)");
    if (!(sum_of(c->delay_mix, SIM_DELAYS) > 0))
        return errf(eb, ERR_INVALID, "call-delay", "call-delay mix needs weights >= 0, sum > 0");
    if (!(sum_of(c->diurnal, 24) > 0))
        return errf(eb, ERR_INVALID, "diurnal", "diurnal profile needs 24 weights >= 0, sum > 0");
    return ERR_OK;
}

/* ==== one session ============================================================================ */

struct gen {
    const struct sim_synth *c;
    struct sim_trace *t;
    struct sim_rng rng;
    uint16_t home, others[ARRAY_SIZE(other_regions)];
    double call_scale;     /* call probability per unit of device weight */
    double engaged_weight; /* call weight of a session that did not bounce (mean weight 1) */
};

static void push(struct gen *g, int64_t at, enum sim_kind kind, uint32_t session, uint16_t region,
                 uint8_t device)
{
    struct sim_event e = {
        .at = at, .session = session, .region = region, .kind = (uint8_t)kind, .device = device};
    sim_trace_push(g->t, &e);
}

/* A call row by caller (a session's, or 0 for someone with no session). */
static void push_call(struct gen *g, int64_t at, uint32_t session, uint32_t caller, uint16_t region)
{
    struct sim_event e = {
        .at = at, .session = session, .caller = caller, .region = region, .kind = SIM_CALL};
    sim_trace_push(g->t, &e);
}

/* A tel: click row; copy: the number was copied rather than tapped. */
static void push_click(struct gen *g, int64_t at, uint32_t session, bool copy)
{
    struct sim_event e = {.at = at,
                          .session = session,
                          .kind = SIM_TEL_CLICK,
                          .flags = copy ? (uint8_t)SIM_FLAG_COPY : 0};
    sim_trace_push(g->t, &e);
}

static uint16_t any_region(struct gen *g)
{
    if (sim_rng_unit(&g->rng) < HOME_SHARE)
        return g->home;
    return g->others[sim_rng_below(&g->rng, ARRAY_SIZE(other_regions))];
}

static enum attrib_device pick_device(struct gen *g)
{
    double u = sim_rng_unit(&g->rng);
    if (u < g->c->mobile_share)
        return ATTRIB_DEVICE_MOBILE;
    if (u < g->c->mobile_share + g->c->tablet_share)
        return ATTRIB_DEVICE_TABLET;
    return ATTRIB_DEVICE_DESKTOP;
}

static double device_pick(enum attrib_device d, double mobile, double tablet, double desktop)
{
    return d == ATTRIB_DEVICE_MOBILE ? mobile : d == ATTRIB_DEVICE_TABLET ? tablet : desktop;
}

/* Page views after the visit at t0; returns the time of the last activity (t0: bounced). */
static int64_t browse(struct gen *g, uint32_t id, int64_t t0)
{
    if (sim_rng_unit(&g->rng) < BOUNCE_SHARE)
        return t0;
    int64_t stay = (int64_t)sim_rng_log_uniform(&g->rng, STAY_MIN_MS, STAY_MAX_MS);
    int64_t at = t0;
    for (;;) {
        int64_t next = at + (int64_t)sim_rng_uniform(&g->rng, GAP_MIN_MS, GAP_MAX_MS);
        if (next > t0 + stay)
            return at;
        at = next;
        push(g, at, SIM_PAGEVIEW, id, 0, 0);
    }
}

static int pick_delay(struct gen *g)
{
    const double *m = g->c->delay_mix;
    double u = sim_rng_unit(&g->rng) * (m[0] + m[1] + m[2]);
    if (u < m[SIM_DELAY_IMMEDIATE])
        return SIM_DELAY_IMMEDIATE;
    return u < m[SIM_DELAY_IMMEDIATE] + m[SIM_DELAY_SOON] ? SIM_DELAY_SOON : SIM_DELAY_LATE;
}

/* A call by session id whose last activity was at `last`: maybe a tel: click, then the call. */
static void call(struct gen *g, uint32_t id, enum attrib_device dev, int64_t last)
{
    int delay = pick_delay(g);
    double p_click = device_pick(dev, CLICK_NOW_MOBILE, CLICK_NOW_TABLET, CLICK_NOW_DESKTOP);
    if (delay != SIM_DELAY_IMMEDIATE)
        p_click *= CLICK_LATER_SCALE;
    int64_t at = last;
    if (sim_rng_unit(&g->rng) < p_click) {
        at += (int64_t)sim_rng_uniform(&g->rng, 2 * SEC, 20 * SEC);
        push_click(g, at, id, false);
    } else {
        double p_copy = device_pick(dev, COPY_NOW_MOBILE, COPY_NOW_TABLET, COPY_NOW_DESKTOP);
        if (delay != SIM_DELAY_IMMEDIATE)
            p_copy *= COPY_LATER_SCALE;
        if (sim_rng_unit(&g->rng) < p_copy) /* copied, then dials by hand: no shortcut */
            push_click(g, last + (int64_t)sim_rng_uniform(&g->rng, 2 * SEC, 20 * SEC), id, true);
    }
    if (delay == SIM_DELAY_IMMEDIATE)
        at += at > last ? (int64_t)sim_rng_uniform(&g->rng, 3 * SEC, 15 * SEC)
                        : (int64_t)sim_rng_log_uniform(&g->rng, 10 * SEC, 5 * MIN);
    else if (delay == SIM_DELAY_SOON)
        at = last + (int64_t)sim_rng_log_uniform(&g->rng, 5 * MIN, 3 * HOUR);
    else
        at = last + (int64_t)sim_rng_log_uniform(&g->rng, 3 * HOUR, 7 * DAY);
    uint16_t region = sim_rng_unit(&g->rng) < CALLER_SAME_REGION ? g->t->region[id] : any_region(g);
    uint32_t caller = sim_trace_add_caller(g->t);
    push_call(g, at, id, caller, region);
    if (sim_rng_unit(&g->rng) < REPEAT_SHARE)
        push_call(g, at + (int64_t)sim_rng_log_uniform(&g->rng, REPEAT_MIN_MS, REPEAT_MAX_MS), id,
                  caller, region);
}

static void session(struct gen *g, int64_t t0)
{
    enum attrib_device dev = pick_device(g);
    uint32_t id = sim_trace_add_session(g->t, (uint8_t)dev, any_region(g));
    push(g, t0, SIM_VISIT, id, g->t->region[id], (uint8_t)dev);
    int64_t last = browse(g, id, t0);
    double weight = device_pick(dev, CALL_WEIGHT_MOBILE, CALL_WEIGHT_TABLET, CALL_WEIGHT_DESKTOP);
    weight *= last == t0 ? CALL_WEIGHT_BOUNCED : g->engaged_weight;
    if (sim_rng_unit(&g->rng) < g->call_scale * weight) {
        call(g, id, dev, last);
        return;
    }
    double p_tap = device_pick(dev, TAP_NO_CALL_MOBILE, TAP_NO_CALL_TABLET, TAP_NO_CALL_DESKTOP);
    double p_copy =
        device_pick(dev, COPY_NO_CALL_MOBILE, COPY_NO_CALL_TABLET, COPY_NO_CALL_DESKTOP);
    double u = sim_rng_unit(&g->rng);
    if (u < p_tap + p_copy)
        push_click(g, last + (int64_t)sim_rng_uniform(&g->rng, 2 * SEC, 20 * SEC), id, u >= p_tap);
}

/* ==== the whole trace ======================================================================== */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* n arrival times in [start, start + 1 h), sorted (so session ids follow visit order). */
static int64_t *arrivals(struct gen *g, uint64_t n, int64_t start)
{
    int64_t *at = xmalloc((n ? n : 1) * sizeof(*at));
    for (uint64_t i = 0; i < n; i++)
        at[i] = start + (int64_t)sim_rng_uniform(&g->rng, 0, HOUR);
    qsort(at, n, sizeof(*at), cmp_i64);
    return at;
}

static void hour(struct gen *g, int64_t start, double weight)
{
    const struct sim_synth *c = g->c;
    uint64_t n = sim_rng_poisson(&g->rng, c->visits_per_day * weight);
    int64_t *at = arrivals(g, n, start);
    for (uint64_t i = 0; i < n; i++)
        session(g, at[i]);
    free(at);
    /* callers with no session: untracked / (1 - untracked) of the session calls expected */
    double mean_calls = c->visits_per_day * weight * c->call_rate;
    uint64_t k =
        sim_rng_poisson(&g->rng, mean_calls * c->untracked_share / (1 - c->untracked_share));
    for (uint64_t i = 0; i < k; i++) {
        int64_t when = start + (int64_t)sim_rng_uniform(&g->rng, 0, HOUR);
        push_call(g, when, 0, sim_trace_add_caller(g->t), any_region(g));
    }
}

static void gen_init(struct gen *g, const struct sim_synth *c, struct sim_trace *out)
{
    memset(g, 0, sizeof(*g));
    g->c = c;
    g->t = out;
    sim_rng_seed(&g->rng, c->seed);
    sim_trace_region(out, home_region, &g->home);
    for (size_t i = 0; i < ARRAY_SIZE(other_regions); i++)
        sim_trace_region(out, other_regions[i], &g->others[i]);
    double mean_weight = c->mobile_share * CALL_WEIGHT_MOBILE +
                         c->tablet_share * CALL_WEIGHT_TABLET +
                         (1 - c->mobile_share - c->tablet_share) * CALL_WEIGHT_DESKTOP;
    g->call_scale = mean_weight > 0 ? c->call_rate / mean_weight : 0;
    g->engaged_weight = (1 - BOUNCE_SHARE * CALL_WEIGHT_BOUNCED) / (1 - BOUNCE_SHARE);
}

void sim_synth_generate(const struct sim_synth *c, struct sim_trace *out)
{
    struct gen g;
    gen_init(&g, c, out);
    double total = sum_of(c->diurnal, 24);
    for (uint32_t d = 0; d < c->days; d++)
        for (int h = 0; h < 24; h++)
            hour(&g, (int64_t)(d * DAY + h * HOUR), c->diurnal[h] / total);
    sim_trace_sort(out);
}
