/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni simulate: sizes a pool by replaying traffic (a CSV trace, or synthetic traffic) through
 * the lease engine and the attribution rules the server runs (src/sim), one engine per pool size,
 * and prints how many calls each size credits to the right session (API.md "Simulator"). */
#include "base/prelude.h"
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/xalloc.h"
#include "sim/format.h"
#include "sim/sim.h"
#include "sim/synth.h"
#include "sim/trace.h"

#define SWEEP_MAX 10000 /* pool sizes in one sweep */
#define AUTO_SIZES 60   /* sizes tried when --pool-size is not given */
#define OUT_MAX ((size_t)64 << 20)

/* Flag values; NAN / -1 mean "not given". */
struct sim_args {
    const char *trace, *pool_size, *on_exhaust, *svg, *write_trace, *delay, *diurnal;
    const char *policy, *weights;
    bool fit;
    long long ttl, cooldown, window, days, seed, threads;
    double target, visits, call_rate, mobile, tablet, untracked;
    bool json;
};

/* ==== flag values ============================================================================ */

static bool parse_u32(const char *s, char **end, uint32_t *out)
{
    errno = 0;
    if (*s < '0' || *s > '9')
        return false;
    unsigned long long v = strtoull(s, end, 10);
    if (errno || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* "N", "A..B" or "A..B:STEP" into a list of sizes (xmalloc'd). Returns the count, 0 on error. */
static size_t parse_sizes(const char *spec, uint32_t **out)
{
    char *end;
    uint32_t a, b, step = 1;
    if (!parse_u32(spec, &end, &a))
        return 0;
    b = a;
    if (strncmp(end, "..", 2) == 0) {
        if (!parse_u32(end + 2, &end, &b))
            return 0;
        if (*end == ':' && !parse_u32(end + 1, &end, &step))
            return 0;
    }
    if (*end || a < 1 || b < a || b > SIM_POOL_MAX || step < 1 || (b - a) / step >= SWEEP_MAX)
        return 0;
    size_t n = (b - a) / step + 1;
    *out = xmalloc(n * sizeof(**out));
    for (size_t i = 0; i < n; i++)
        (*out)[i] = a + (uint32_t)i * step;
    return n;
}

/* "w1,w2,…" into exactly n doubles. */
static bool parse_weights(const char *s, double *w, size_t n)
{
    const char *p = s;
    for (size_t i = 0; i < n; i++) {
        char *end;
        errno = 0;
        w[i] = strtod(p, &end);
        if (errno || end == p || !(w[i] >= 0))
            return false;
        if (i + 1 < n && *end != ',')
            return false;
        p = end + 1;
        if (i + 1 == n && *end)
            return false;
    }
    return true;
}

static int usage_err(const char *msg, const char *arg)
{
    fprintf(stderr, "error: %s%s%s%s\n", msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    return EXIT_USAGE;
}

static bool synth_flags_given(const struct sim_args *a)
{
    return !isnan(a->visits) || a->days >= 0 || !isnan(a->call_rate) || !isnan(a->mobile) ||
           !isnan(a->tablet) || !isnan(a->untracked) || a->delay || a->diurnal;
}

static int check_seconds(long long v, long long min, const char *flag)
{
    if (v >= 0 && v < min)
        return usage_err("value out of range for", flag);
    if (v > (long long)(INT64_MAX / 4000))
        return usage_err("value too large for", flag);
    return EXIT_OK;
}

/* Fills cfg from the pool flags. Returns EXIT_OK or EXIT_USAGE (after the message). */
static int pool_config(const struct sim_args *a, struct sim_config *cfg)
{
    sim_config_default(cfg);
    int rc = check_seconds(a->ttl, 1, "--ttl");
    if (!rc)
        rc = check_seconds(a->cooldown, 0, "--cooldown");
    if (!rc)
        rc = check_seconds(a->window, 1, "--attribution-window");
    if (rc)
        return rc;
    if (a->ttl >= 0)
        cfg->ttl_ms = a->ttl * 1000;
    if (a->cooldown >= 0)
        cfg->cooldown_ms = a->cooldown * 1000;
    if (a->window >= 0)
        cfg->window_ms = a->window * 1000;
    if (a->seed >= 0)
        cfg->seed = (uint64_t)a->seed;
    if (a->on_exhaust && strcmp(a->on_exhaust, "share") != 0 &&
        strcmp(a->on_exhaust, "fallback") != 0)
        return usage_err("--on-exhaust must be share or fallback, not", a->on_exhaust);
    cfg->on_exhaust =
        a->on_exhaust && strcmp(a->on_exhaust, "fallback") == 0 ? POOL_FALLBACK : POOL_SHARE;
    if (!isnan(a->target) && !(a->target > 0 && a->target <= 1))
        return usage_err("--target-accuracy must be in (0, 1]", NULL);
    if (a->policy && strcmp(a->policy, "old") != 0 && strcmp(a->policy, "new") != 0)
        return usage_err("--policy must be old or new, not", a->policy);
    cfg->policy = a->policy && strcmp(a->policy, "new") == 0 ? SIM_POLICY_NEW : SIM_POLICY_OLD;
    return EXIT_OK;
}

static int synth_config(const struct sim_args *a, struct sim_synth *sc)
{
    sim_synth_default(sc);
    if (!isnan(a->visits))
        sc->visits_per_day = a->visits;
    if (a->days >= 0)
        sc->days = a->days > 366 ? 0 : (uint32_t)a->days;
    if (!isnan(a->call_rate))
        sc->call_rate = a->call_rate;
    if (!isnan(a->mobile))
        sc->mobile_share = a->mobile;
    if (!isnan(a->tablet))
        sc->tablet_share = a->tablet;
    if (!isnan(a->untracked))
        sc->untracked_share = a->untracked;
    if (a->seed >= 0)
        sc->seed = (uint64_t)a->seed;
    if (a->delay && !parse_weights(a->delay, sc->delay_mix, SIM_DELAYS))
        return usage_err("--call-delay wants three weights IMMEDIATE,SOON,LATE, not", a->delay);
    if (a->diurnal && !parse_weights(a->diurnal, sc->diurnal, 24))
        return usage_err("--diurnal wants 24 comma-separated weights, not", a->diurnal);
    struct errbuf eb = {{0}, NULL};
    if (sim_synth_validate(sc, &eb))
        return usage_err(eb.msg, NULL);
    return EXIT_OK;
}

/* ==== input and output ======================================================================= */

static int load_trace(const char *path, struct sim_trace *t)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "error: cannot open '%s': %s\n", path, strerror(errno));
        return EXIT_FAIL;
    }
    struct errbuf eb = {{0}, NULL};
    int rc = sim_trace_read(t, f, path, &eb);
    fclose(f);
    if (rc) {
        fprintf(stderr, "error: %s\n", eb.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* Writes len bytes (or the trace, when t is set) to path. */
static int write_file(const char *path, const char *data, size_t len, const struct sim_trace *t)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "error: cannot write '%s': %s\n", path, strerror(errno));
        return EXIT_FAIL;
    }
    int err = t ? sim_trace_write(t, f) : (fwrite(data, 1, len, f) != len);
    if (fclose(f) != 0 || err) {
        fprintf(stderr, "error: cannot write '%s'\n", path);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* Sizes to try without --pool-size: up to 1.5x the largest rule of thumb, about 60 steps. */
static size_t auto_sizes(const struct sim_trace *t, const struct sim_config *cfg, uint32_t **out)
{
    struct sim_stats st;
    struct sim_rules rules;
    sim_trace_stats(t, cfg->ttl_ms, &st);
    sim_rules_of_thumb(&st, &rules);
    uint32_t top = 1;
    for (int i = 0; i < SIM_RULES; i++)
        top = rules.size[i] > top ? rules.size[i] : top;
    top = top + top / 2 + 1;
    top = top > SIM_POOL_MAX ? SIM_POOL_MAX : top;
    uint32_t step = (top + AUTO_SIZES - 1) / AUTO_SIZES;
    size_t n = (top - 1) / step + 1;
    *out = xmalloc(n * sizeof(**out));
    for (size_t i = 0; i < n; i++)
        (*out)[i] = 1 + (uint32_t)i * step;
    return n;
}

static unsigned thread_count(const struct sim_args *a);

/* Runs the rule-of-thumb sizes missing from the sweep, so the table can say what each gives.
 * out: *extra (xmalloc'd) and its count. */
static size_t rule_runs(const struct sim_trace *t, const struct sim_config *cfg,
                        const struct sim_rules *rules, const uint32_t *sizes, size_t n,
                        unsigned threads, struct sim_result **extra)
{
    uint32_t want[SIM_RULES];
    size_t k = 0;
    for (int i = 0; i < SIM_RULES; i++) {
        bool have = false;
        for (size_t j = 0; j < n && !have; j++)
            have = sizes[j] == rules->size[i];
        for (size_t j = 0; j < k && !have; j++)
            have = want[j] == rules->size[i];
        if (!have && rules->size[i] <= SIM_POOL_MAX)
            want[k++] = rules->size[i];
    }
    *extra = xcalloc(k ? k : 1, sizeof(**extra));
    if (sim_sweep(t, cfg, want, k, threads, *extra) != ERR_OK)
        return 0;
    return k;
}

static int write_svg(const struct sim_args *a, struct buf *b, const struct sim_result *r,
                     const struct sim_result *rn, size_t n, const struct sim_rules *rules)
{
    buf_reset(b);
    if (sim_format_svg(b, r, rn, n, rules, a->target) != ERR_OK) {
        fprintf(stderr, "error: the chart is too large\n");
        return EXIT_FAIL;
    }
    int rc = write_file(a->svg, b->data, b->len, NULL);
    if (rc == EXIT_OK && !a->json)
        printf("chart written to %s\n", a->svg);
    return rc;
}

static int format_json(const struct sim_args *a, struct buf *b, const struct sim_result *r,
                       size_t n)
{
    int rc = ERR_OK;
    for (size_t i = 0; i < n && rc == ERR_OK; i++)
        rc = sim_format_json(b, &r[i]);
    if (n > 1 && !isnan(a->target) && rc == ERR_OK) {
        int k = sim_smallest_reaching(r, n, a->target);
        rc = k < 0 ? buf_adds(b, "{\"recommended_pool_size\":null}\n")
                   : buf_addf(b, "{\"recommended_pool_size\":%" PRIu32 "}\n", r[k].pool_size);
    }
    return rc;
}

/* The new policy's results for the same sizes, side by side with r (the old policy's: the one
 * the server runs today, so the default figures are the ones a pool will see). */
static int compare(const struct sim_args *a, const struct sim_trace *t,
                   const struct sim_config *cfg, const uint32_t *sizes, const struct sim_result *r,
                   size_t n, struct buf *b, struct sim_result *rn)
{
    struct sim_config next = *cfg;
    next.policy = SIM_POLICY_NEW;
    int rc = sim_sweep(t, &next, sizes, n, thread_count(a), rn);
    if (rc == ERR_OK)
        rc = sim_format_compare(b, r, rn, n);
    return rc;
}

static int print_results(const struct sim_args *a, const struct sim_trace *t,
                         const struct sim_config *cfg, const uint32_t *sizes,
                         const struct sim_result *r, size_t n)
{
    struct sim_stats st;
    struct sim_rules rules;
    sim_trace_stats(t, cfg->ttl_ms, &st);
    sim_rules_of_thumb(&st, &rules);
    struct buf b;
    buf_init(&b, OUT_MAX);
    struct sim_result *extra = NULL;
    struct sim_result *rn = NULL; /* the new policy's, when compared (and charted) */
    int rc;
    if (a->json) {
        rc = format_json(a, &b, r, n);
    } else {
        size_t n_extra = rule_runs(t, cfg, &rules, sizes, n, thread_count(a), &extra);
        rc = sim_format_table(&b, r, n, extra, n_extra, &st, a->target);
        if (rc == ERR_OK && !a->policy) {
            rn = xcalloc(n, sizeof(*rn));
            rc = compare(a, t, cfg, sizes, r, n, &b, rn);
        }
    }
    int out = rc == ERR_OK ? EXIT_OK : EXIT_FAIL;
    if (out == EXIT_OK)
        fwrite(b.data, 1, b.len, stdout);
    if (out == EXIT_OK && a->svg)
        out = write_svg(a, &b, r, rn, n, &rules);
    free(extra);
    free(rn);
    buf_release(&b);
    return out;
}

/* ==== the command ============================================================================ */

static unsigned thread_count(const struct sim_args *a)
{
    if (a->threads > 0)
        return a->threads > 64 ? 64 : (unsigned)a->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static int get_traffic(const struct sim_args *a, struct sim_trace *t)
{
    if (a->trace) {
        if (synth_flags_given(a))
            return usage_err("the synthetic traffic flags cannot be used with --trace", NULL);
        return load_trace(a->trace, t);
    }
    struct sim_synth sc;
    int rc = synth_config(a, &sc);
    if (rc)
        return rc;
    sim_synth_generate(&sc, t);
    return EXIT_OK;
}

/* --weights W1,…: the model's weights, in attrib_feature order. */
static int parse_model(const char *s, struct attrib_model *m)
{
    if (!s)
        return EXIT_OK;
    const char *p = s;
    for (int f = 0; f < ATTRIB_F_COUNT; f++) {
        char *end;
        errno = 0;
        m->w[f] = strtod(p, &end);
        bool last = f + 1 == ATTRIB_F_COUNT;
        if (errno || end == p || !isfinite(m->w[f]) || (last ? *end != '\0' : *end != ','))
            return usage_err("--weights wants 22 comma-separated numbers, not", s);
        p = end + 1;
    }
    return EXIT_OK;
}

/* --fit: learns the weights on the traffic at the first pool size, prints them, and uses them. */
static int fit_model(const struct sim_trace *t, const struct sim_config *cfg, uint32_t size,
                     struct attrib_model *m)
{
    struct sim_config c = *cfg;
    c.pool_size = size;
    size_t n_sets = 0;
    if (sim_fit(t, &c, 1.0, m, &n_sets) != ERR_OK) {
        fprintf(stderr, "error: no call whose session is among its number's holders to fit on\n");
        return EXIT_FAIL;
    }
    struct buf b;
    buf_init(&b, OUT_MAX);
    buf_addf(&b, "fitted on %zu calls with a known session (pool size %" PRIu32 ")\n", n_sets,
             size);
    sim_format_weights(&b, m);
    fwrite(b.data, 1, b.len, stdout);
    buf_release(&b);
    return EXIT_OK;
}

static int simulate(const struct sim_args *a)
{
    struct sim_config cfg;
    struct attrib_model model;
    attrib_model_default(&model);
    int rc = pool_config(a, &cfg);
    if (rc == EXIT_OK)
        rc = parse_model(a->weights, &model);
    cfg.model = &model;
    uint32_t *sizes = NULL;
    size_t n = 0;
    if (rc == EXIT_OK && a->pool_size) {
        n = parse_sizes(a->pool_size, &sizes);
        if (!n)
            rc = usage_err("--pool-size wants N or A..B[:STEP] with sizes 1 to 1000000, not",
                           a->pool_size);
    }
    struct sim_trace t;
    sim_trace_init(&t);
    if (rc == EXIT_OK)
        rc = get_traffic(a, &t);
    if (rc == EXIT_OK && a->write_trace)
        rc = write_file(a->write_trace, NULL, 0, &t);
    if (rc == EXIT_OK && !sizes)
        n = auto_sizes(&t, &cfg, &sizes);
    if (rc == EXIT_OK && a->fit)
        rc = fit_model(&t, &cfg, sizes[0], &model);
    struct sim_result *res = rc == EXIT_OK ? xcalloc(n, sizeof(*res)) : NULL;
    if (res && sim_sweep(&t, &cfg, sizes, n, thread_count(a), res) != ERR_OK)
        rc = EXIT_FAIL;
    if (res && rc == EXIT_OK)
        rc = print_results(a, &t, &cfg, sizes, res, n);
    free(res);
    free(sizes);
    sim_trace_release(&t);
    return rc;
}

int cmd_simulate(int argc, char **argv)
{
    struct sim_args a = {.ttl = -1,
                         .cooldown = -1,
                         .window = -1,
                         .days = -1,
                         .seed = -1,
                         .threads = -1,
                         .target = NAN,
                         .visits = NAN,
                         .call_rate = NAN,
                         .mobile = NAN,
                         .tablet = NAN,
                         .untracked = NAN};
    const struct cli_opt opts[] = {
        {"trace", OPT_STR, &a.trace, NULL,
         "replay this CSV trace (time,event,session,device,"
         "region); without it, synthetic traffic"},
        {"pool-size", OPT_STR, &a.pool_size, NULL,
         "N, or a sweep A..B[:STEP] (default: up to "
         "1.5x the largest rule of thumb)"},
        {"ttl", OPT_INT, &a.ttl, NULL, "lease ttl in seconds (default 1200)"},
        {"cooldown", OPT_INT, &a.cooldown, NULL, "seconds a released number rests (default 1800)"},
        {"on-exhaust", OPT_STR, &a.on_exhaust, NULL, "share (default) or fallback"},
        {"attribution-window", OPT_INT, &a.window, NULL,
         "late-call window in seconds "
         "(default 2592000, 30 days)"},
        {"target-accuracy", OPT_DOUBLE, &a.target, NULL,
         "name the smallest pool reaching "
         "this accuracy, e.g. 0.99"},
        {"json", OPT_BOOL, &a.json, NULL, "one JSON object per pool size"},
        {"svg", OPT_STR, &a.svg, NULL, "write the accuracy chart to this SVG file"},
        {"threads", OPT_INT, &a.threads, NULL, "engines run at once in a sweep (default: CPUs)"},
        {"seed", OPT_INT, &a.seed, NULL, "random seed: same seed, same output (default 1)"},
        {"visits-per-day", OPT_DOUBLE, &a.visits, NULL, "synthetic: sessions a day (2000)"},
        {"days", OPT_INT, &a.days, NULL, "synthetic: days of traffic (7)"},
        {"call-rate", OPT_DOUBLE, &a.call_rate, NULL,
         "synthetic: share of sessions that call "
         "(0.05)"},
        {"mobile-share", OPT_DOUBLE, &a.mobile, NULL, "synthetic: share of mobile sessions (0.6)"},
        {"tablet-share", OPT_DOUBLE, &a.tablet, NULL, "synthetic: share of tablet sessions (0.05)"},
        {"untracked-calls", OPT_DOUBLE, &a.untracked, NULL,
         "synthetic: share of calls from "
         "people with no session (0.1)"},
        {"call-delay", OPT_STR, &a.delay, NULL,
         "synthetic: weights of calls within 5 min, 5 min-"
         "3 h, 3 h-7 d after the visit (0.65,0.25,0.1)"},
        {"diurnal", OPT_STR, &a.diurnal, NULL, "synthetic: 24 weights, visit rate by hour"},
        {"write-trace", OPT_STR, &a.write_trace, NULL, "save the traffic as a CSV trace"},
        {"policy", OPT_STR, &a.policy, NULL,
         "old or new: run only this policy (default: old, the server's, with the new one beside "
         "it)"},
        {"fit", OPT_BOOL, &a.fit, NULL,
         "learn the scoring weights from the trace's calls (at the first pool size), print and "
         "use them"},
        {"weights", OPT_STR, &a.weights, NULL, "the scoring weights to use (as --fit prints them)"},
        {0},
    };
    int rc = cli_opts(argc, argv, 1, opts,
                      "opendni simulate [--trace FILE] [--pool-size "
                      "N|A..B[:STEP]] [options]",
                      NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    return simulate(&a);
}
