/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sim/format: the simulator's outputs. JSON lines for scripts (the API.md "Simulator" shape,
 * nothing more), a table for people, and an SVG chart written by hand: a few lines, polylines
 * and labels need no library, and the file opens in any browser. */
#include "base/prelude.h"
#include "sim/format.h"

#include <math.h>
#include <stdarg.h>

#include "base/err.h"

/* An output in progress: the first failure sticks, later appends are skipped. */
struct out {
    struct buf *b;
    int rc;
};

PRINTF_LIKE(2, 3)
static void outf(struct out *o, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (o->rc == ERR_OK)
        o->rc = n < 0 || (size_t)n >= sizeof(line) ? ERR_INVALID : buf_add(o->b, line, (size_t)n);
}

int sim_smallest_reaching(const struct sim_result *r, size_t n, double target)
{
    for (size_t i = 0; i < n; i++)
        if (sim_accuracy(&r[i]) >= target)
            return (int)i;
    return -1;
}

/* ==== JSON =================================================================================== */

static void json_ratio(struct out *o, const char *key, double x)
{
    if (isnan(x))
        outf(o, ",\"%s\":null", key);
    else
        outf(o, ",\"%s\":%.6g", key, x);
}

int sim_format_json(struct buf *b, const struct sim_result *r)
{
    struct out o = {b, ERR_OK};
    outf(&o,
         "{\"pool_size\":%" PRIu32 ",\"calls\":%" PRIu64 ",\"attributable\":%" PRIu64
         ",\"correct\":%" PRIu64,
         r->pool_size, r->calls, r->attributable, r->correct);
    json_ratio(&o, "accuracy", sim_accuracy(r));
    json_ratio(&o, "accuracy_within_30min", sim_accuracy_30min(r));
    outf(&o, ",\"misattributed\":%" PRIu64 ",\"unattributed\":%" PRIu64 ",\"by_method\":{",
         r->misattributed, r->unattributed);
    static const enum attrib_method shown[] = {ATTRIB_EXACT, ATTRIB_SHARED, ATTRIB_LATE,
                                               ATTRIB_SOURCE, ATTRIB_UNATTRIBUTED};
    for (size_t i = 0; i < ARRAY_SIZE(shown); i++)
        outf(&o, "%s\"%s\":%" PRIu64, i ? "," : "", attrib_method_name(shown[i]),
             r->by_method[shown[i]]);
    outf(&o, "},\"exhaustion_events\":%" PRIu64 "}\n", r->exhaustion_events);
    return o.rc;
}

/* ==== table ================================================================================== */

static void pct(char *dst, size_t cap, double x)
{
    if (isnan(x))
        snprintf(dst, cap, "-");
    else
        snprintf(dst, cap, "%.1f %%", 100 * x);
}

static void table_rows(struct out *o, const struct sim_result *r, size_t n)
{
    outf(o, "%9s %8s %12s %8s %9s %9s %13s %12s %10s\n", "pool size", "calls", "attributable",
         "correct", "accuracy", "<=30 min", "misattributed", "unattributed", "exhausted");
    for (size_t i = 0; i < n; i++) {
        char a[16];
        char a30[16];
        pct(a, sizeof(a), sim_accuracy(&r[i]));
        pct(a30, sizeof(a30), sim_accuracy_30min(&r[i]));
        outf(o,
             "%9" PRIu32 " %8" PRIu64 " %12" PRIu64 " %8" PRIu64 " %9s %9s %13" PRIu64 " %12" PRIu64
             " %10" PRIu64 "\n",
             r[i].pool_size, r[i].calls, r[i].attributable, r[i].correct, a, a30,
             r[i].misattributed, r[i].unattributed, r[i].exhaustion_events);
    }
}

static const struct sim_result *find_size(const struct sim_result *r, size_t n, uint32_t size)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].pool_size == size)
            return &r[i];
    return NULL;
}

static void table_rules(struct out *o, const struct sim_result *r, size_t n,
                        const struct sim_result *extra, size_t n_extra, const struct sim_stats *st)
{
    struct sim_rules rules;
    sim_rules_of_thumb(st, &rules);
    outf(o,
         "\ntraffic: %" PRIu32 " sessions over %.0f day(s) (%.0f a day), %" PRIu64
         " calls (%" PRIu64 " from tracked sessions)\n",
         st->sessions, st->days, st->visits_per_day, st->calls, st->session_calls);
    outf(o,
         "         peak hour %" PRIu32 " visits, mean session %.1f min, peak %" PRIu32
         " sessions live at once\n",
         st->peak_hourly_visits, st->mean_session_min, st->peak_concurrent);
    outf(o, "rules of thumb:\n");
    for (int i = 0; i < SIM_RULES; i++) {
        const struct sim_result *at = find_size(r, n, rules.size[i]);
        if (!at)
            at = find_size(extra, n_extra, rules.size[i]);
        char a[16] = "not simulated";
        char a30[16] = "";
        if (at) {
            pct(a, sizeof(a), sim_accuracy(at));
            pct(a30, sizeof(a30), sim_accuracy_30min(at));
        }
        outf(o, "  %-34s %7" PRIu32 " numbers  accuracy %s%s%s%s\n", sim_rule_name(i),
             rules.size[i], a, at ? " (" : "", a30, at ? " within 30 min)" : "");
    }
}

int sim_format_table(struct buf *b, const struct sim_result *r, size_t n,
                     const struct sim_result *extra, size_t n_extra, const struct sim_stats *st,
                     double target)
{
    struct out o = {b, ERR_OK};
    table_rows(&o, r, n);
    table_rules(&o, r, n, extra, n_extra, st);
    if (n > 1 && !isnan(target)) {
        int k = sim_smallest_reaching(r, n, target);
        if (k >= 0)
            outf(&o, "smallest pool reaching %.1f %% accuracy: %" PRIu32 " numbers\n", 100 * target,
                 r[k].pool_size);
        else
            outf(&o, "no pool size from %" PRIu32 " to %" PRIu32 " reaches %.1f %% accuracy\n",
                 r[0].pool_size, r[n - 1].pool_size, 100 * target);
    }
    return o.rc;
}

/* ==== policies side by side ================================================================= */

int sim_smallest_reaching_30min(const struct sim_result *r, size_t n, double target)
{
    for (size_t i = 0; i < n; i++)
        if (sim_accuracy_30min(&r[i]) >= target)
            return (int)i;
    return -1;
}

static void compare_needs(struct out *o, const struct sim_result *old, const struct sim_result *neu,
                          size_t n)
{
    int ko = sim_smallest_reaching_30min(old, n, 0.99);
    int kn = sim_smallest_reaching_30min(neu, n, 0.99);
    outf(o, "99 %% within 30 min needs: old policy ");
    if (ko >= 0)
        outf(o, "%" PRIu32 " numbers", old[ko].pool_size);
    else
        outf(o, "more than %" PRIu32 " numbers", old[n - 1].pool_size);
    outf(o, ", new policy ");
    if (kn >= 0)
        outf(o, "%" PRIu32 " numbers\n", neu[kn].pool_size);
    else
        outf(o, "more than %" PRIu32 " numbers\n", neu[n - 1].pool_size);
    int k = sim_smallest_reaching_30min(old, n, 0.97);
    if (k < 0)
        return;
    char a[4][16];
    pct(a[0], sizeof(a[0]), sim_accuracy_30min(&old[k]));
    pct(a[1], sizeof(a[1]), sim_accuracy_30min(&neu[k]));
    pct(a[2], sizeof(a[2]), sim_accuracy(&old[k]));
    pct(a[3], sizeof(a[3]), sim_accuracy(&neu[k]));
    outf(o,
         "at %" PRIu32 " numbers, where the old policy first credits 97 %% within 30 min: "
         "within 30 min %s -> %s, overall %s -> %s (%+.1f points)\n",
         old[k].pool_size, a[0], a[1], a[2], a[3],
         100 * (sim_accuracy(&neu[k]) - sim_accuracy(&old[k])));
}

int sim_format_compare(struct buf *b, const struct sim_result *old, const struct sim_result *neu,
                       size_t n)
{
    struct out o = {b, ERR_OK};
    outf(&o, "\npolicies side by side (old: idle-longest and rules exact/shared/late; new: rests "
             "by signal and the likelihood model)\n");
    outf(&o, "%9s %12s %12s %12s %12s %10s\n", "pool size", "old <=30min", "old overall",
         "new <=30min", "new overall", "overall +");
    for (size_t i = 0; i < n; i++) {
        char a[4][16];
        pct(a[0], sizeof(a[0]), sim_accuracy_30min(&old[i]));
        pct(a[1], sizeof(a[1]), sim_accuracy(&old[i]));
        pct(a[2], sizeof(a[2]), sim_accuracy_30min(&neu[i]));
        pct(a[3], sizeof(a[3]), sim_accuracy(&neu[i]));
        outf(&o, "%9" PRIu32 " %12s %12s %12s %12s %+9.1f\n", old[i].pool_size, a[0], a[1], a[2],
             a[3], 100 * (sim_accuracy(&neu[i]) - sim_accuracy(&old[i])));
    }
    if (n > 0)
        compare_needs(&o, old, neu, n);
    return o.rc;
}

int sim_format_weights(struct buf *b, const struct attrib_model *m)
{
    struct out o = {b, ERR_OK};
    outf(&o, "weights (log-factors of the likelihood model):\n");
    for (int f = 0; f < ATTRIB_F_COUNT; f++)
        outf(&o, "  %-13s %+8.3f  (x%.3g)\n", attrib_feature_name(f), m->w[f], exp(m->w[f]));
    outf(&o, "  --weights ");
    for (int f = 0; f < ATTRIB_F_COUNT; f++)
        outf(&o, "%s%.3f", f ? "," : "", m->w[f]);
    outf(&o, "\n");
    return o.rc;
}

/* ==== SVG ==================================================================================== */

#define SVG_W 820
#define SVG_H 590
#define PLOT_L 70
#define PLOT_R 790
#define PLOT_T 50
#define PLOT_B 400

struct chart {
    double x0, x1, y0, y1; /* data ranges */
};

static double px(const struct chart *c, double x)
{
    double span = c->x1 > c->x0 ? c->x1 - c->x0 : 1;
    return PLOT_L + (x - c->x0) / span * (PLOT_R - PLOT_L);
}

static double py(const struct chart *c, double y)
{
    return PLOT_B - (y - c->y0) / (c->y1 - c->y0) * (PLOT_B - PLOT_T);
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about `want` ticks over span. */
static double nice_step(double span, int want)
{
    double raw = span / want;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return p * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10);
}

static void chart_range(struct chart *c, const struct sim_result *r, const struct sim_result *rn,
                        size_t n, double target)
{
    c->x0 = r[0].pool_size;
    c->x1 = r[n - 1].pool_size;
    double lo = 1;
    for (size_t i = 0; i < 2 * n; i++) {
        const struct sim_result *x = i < n ? &r[i] : rn ? &rn[i - n] : NULL;
        if (!x)
            break;
        double a = sim_accuracy(x);
        double b = sim_accuracy_30min(x);
        lo = !isnan(a) && a < lo ? a : lo;
        lo = !isnan(b) && b < lo ? b : lo;
    }
    if (!isnan(target) && target < lo)
        lo = target;
    c->y0 = floor(lo * 10 - 1e-9) / 10;
    if (c->y0 < 0)
        c->y0 = 0;
    if (c->y0 > 0.9)
        c->y0 = 0.9;
    c->y1 = 1;
}

static void svg_axes(struct out *o, const struct chart *c)
{
    outf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
         PLOT_L, PLOT_T, PLOT_R - PLOT_L, PLOT_B - PLOT_T);
    double ys = nice_step(c->y1 - c->y0, 8);
    for (double y = c->y0; y <= c->y1 + 1e-9; y += ys)
        outf(o,
             "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
             "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g %%</text>\n",
             PLOT_L, py(c, y), PLOT_R, py(c, y), PLOT_L - 6, py(c, y) + 4, round(y * 1000) / 10);
    double xs = c->x1 > c->x0 ? fmax(1, nice_step(c->x1 - c->x0, 10)) : 1;
    for (double x = ceil(c->x0 / xs) * xs; x <= c->x1 + 1e-9; x += xs)
        outf(o,
             "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>"
             "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
             px(c, x), PLOT_B, px(c, x), PLOT_B + 5, px(c, x), PLOT_B + 20, x);
    outf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">pool size (numbers)</text>\n",
         (PLOT_L + PLOT_R) / 2, PLOT_B + 42);
    outf(o,
         "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 18 %d)\">"
         "calls credited to the right session</text>\n",
         (PLOT_T + PLOT_B) / 2, (PLOT_T + PLOT_B) / 2);
}

static void svg_series(struct out *o, const struct chart *c, const struct sim_result *r, size_t n,
                       double (*acc)(const struct sim_result *), const char *style)
{
    outf(o, "<polyline fill=\"none\" %s points=\"", style);
    for (size_t i = 0; i < n; i++) {
        double a = acc(&r[i]);
        if (!isnan(a))
            outf(o, "%s%.1f,%.1f", i ? " " : "", px(c, r[i].pool_size), py(c, a));
    }
    outf(o, "\"/>\n");
}

static void svg_target(struct out *o, const struct chart *c, const struct sim_result *r, size_t n,
                       double target)
{
    outf(o,
         "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#d62728\" "
         "stroke-dasharray=\"6 4\"/>\n",
         PLOT_L, py(c, target), PLOT_R, py(c, target));
    int k = sim_smallest_reaching(r, n, target);
    if (k < 0)
        return;
    double x = px(c, r[k].pool_size);
    double y = py(c, sim_accuracy(&r[k]));
    outf(o,
         "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#2ca02c\"/>"
         "<text x=\"%.1f\" y=\"%.1f\" fill=\"#2ca02c\">%" PRIu32 " numbers reach %g %%</text>\n",
         x, y, x + 8, y + 16, r[k].pool_size, 100 * target);
}

static void svg_rules(struct out *o, const struct chart *c, const struct sim_rules *rules)
{
    for (int i = 0; i < SIM_RULES; i++) {
        uint32_t s = rules->size[i];
        bool on = s >= c->x0 && s <= c->x1;
        char tag = (char)('A' + i);
        if (on)
            outf(o,
                 "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#7f7f7f\" "
                 "stroke-dasharray=\"2 3\"/><text x=\"%.1f\" y=\"%d\" fill=\"#555\">%c</text>\n",
                 px(c, s), PLOT_T, px(c, s), PLOT_B, px(c, s) + 3, PLOT_B - 8 - 14 * (i % 2), tag);
        outf(o, "<text x=\"%d\" y=\"%d\" fill=\"#555\">%c  %s: %" PRIu32 " numbers%s</text>\n",
             PLOT_L, PLOT_B + 110 + 18 * i, tag, sim_rule_name(i), s, on ? "" : " (off the chart)");
    }
}

/* The new policy's two curves (when compared): green, all calls solid, within 30 min dashed. */
static void svg_legend_new(struct out *o)
{
    int y = PLOT_B + 90;
    outf(o,
         "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#2ca02c\" "
         "stroke-width=\"2.5\"/><text x=\"%d\" y=\"%d\">new policy: all calls</text>\n",
         PLOT_L, y, PLOT_L + 30, y, PLOT_L + 36, y + 4);
    outf(o,
         "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#2ca02c\" "
         "stroke-width=\"2\" stroke-dasharray=\"8 3\"/><text x=\"%d\" y=\"%d\">new policy: "
         "within 30 min (blue and orange: the old policy)</text>\n",
         PLOT_L + 300, y, PLOT_L + 330, y, PLOT_L + 336, y + 4);
}

static void svg_legend(struct out *o, double target)
{
    int y = PLOT_B + 70;
    outf(o,
         "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#1f77b4\" "
         "stroke-width=\"2.5\"/><text x=\"%d\" y=\"%d\">accuracy (all calls with a session)"
         "</text>\n",
         PLOT_L, y, PLOT_L + 30, y, PLOT_L + 36, y + 4);
    outf(o,
         "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ff7f0e\" "
         "stroke-width=\"2\" stroke-dasharray=\"8 3\"/><text x=\"%d\" y=\"%d\">calls within "
         "30 min of the visit's last activity</text>\n",
         PLOT_L + 300, y, PLOT_L + 330, y, PLOT_L + 336, y + 4);
    if (!isnan(target))
        outf(o,
             "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d62728\" "
             "stroke-dasharray=\"6 4\"/><text x=\"%d\" y=\"%d\">target %g %%</text>\n",
             PLOT_L + 600, y, PLOT_L + 630, y, PLOT_L + 636, y + 4, 100 * target);
}

int sim_format_svg(struct buf *b, const struct sim_result *r, const struct sim_result *rn, size_t n,
                   const struct sim_rules *rules, double target)
{
    if (n == 0)
        return ERR_INVALID;
    struct out o = {b, ERR_OK};
    struct chart c;
    chart_range(&c, r, rn, n, target);
    outf(&o,
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/"
         "svg\" version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
         "font-family=\"sans-serif\" font-size=\"12\">\n",
         SVG_W, SVG_H, SVG_W, SVG_H);
    outf(&o,
         "<title>opendni simulate: attribution accuracy by pool size</title>\n"
         "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n<text x=\"%d\" y=\"24\" "
         "font-size=\"16\" font-weight=\"bold\">Attribution accuracy by pool size</text>\n",
         PLOT_L);
    svg_axes(&o, &c);
    if (!isnan(target))
        svg_target(&o, &c, r, n, target);
    svg_series(&o, &c, r, n, sim_accuracy_30min,
               "stroke=\"#ff7f0e\" stroke-width=\"2\" stroke-dasharray=\"8 3\"");
    svg_series(&o, &c, r, n, sim_accuracy, "stroke=\"#1f77b4\" stroke-width=\"2.5\"");
    if (rn) {
        svg_series(&o, &c, rn, n, sim_accuracy_30min,
                   "stroke=\"#2ca02c\" stroke-width=\"2\" stroke-dasharray=\"8 3\"");
        svg_series(&o, &c, rn, n, sim_accuracy, "stroke=\"#2ca02c\" stroke-width=\"2.5\"");
        svg_legend_new(&o);
    }
    svg_rules(&o, &c, rules);
    svg_legend(&o, target);
    outf(&o, "</svg>\n");
    return o.rc;
}
