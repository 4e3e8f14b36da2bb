/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call attribution (DESIGN.md "Attribution rules"): exact, shared (scored), late (decaying
 * confidence) or unattributed, with the runner-up and a sentence saying why.
 * Pure core: the server and the simulator both call attrib_decide with time as a parameter;
 * nothing here allocates, reads a clock or keeps state. */
#include "base/prelude.h"
#include "core/attrib.h"

#include <limits.h>
#include <math.h>
#include <strings.h>

#include "base/err.h"
#include "core/classify.h"

#define SEC_MS ((int64_t)1000)
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

/* ---- scoring weights (shared numbers) ------------------------------------------------------
 * The score is a product of factors, each > 0, so one strong signal dominates and a missing
 * signal never zeroes a candidate. A tel: click is direct evidence that this visitor dialled
 * this number, so it outweighs everything else combined: 21 against at most 1 * 1.5 * 1.4 = 2.1
 * for a session with no click, i.e. a fresh click wins with confidence >= 0.9 over one rival. */

/* Recency: a session's chance of calling halves every 10 min after its last activity; the
 * floor keeps an idle holder possible (people call from a tab left open). */
#define RECENCY_HALF_LIFE_MS (10 * MIN_MS)
#define RECENCY_FLOOR 0.05
/* tel: click on the number: full weight within 2 min of the call, then halving every 5 min,
 * so ~2 % of the boost is left after 30 min. Clicks logged up to 30 s after the call start
 * still count: the click beacon and the provider webhook race. */
#define CLICK_WEIGHT 20.0
#define CLICK_FULL_MS (2 * MIN_MS)
#define CLICK_HALF_LIFE_MS (5 * MIN_MS)
#define CLICK_SKEW_MS (30 * SEC_MS)
/* Caller's area-code region equal to the session's IP region: moderate evidence (mobile
 * numbers travel, VPNs move IPs), so a boost but never a veto. */
#define REGION_MATCH 1.5
/* Client: the evidence of one client counts once. Sessions are free to make (a script makes
 * thousands, each with its own "visitor"), so the live holders sharing an address, a /64 or a
 * visitor id split one voice (attrib.h), and a crowd cannot outvote one real visitor. */

/* Device: mobile visitors call far more often than desktop ones; tablets in between. */
#define DEVICE_MOBILE 1.4
#define DEVICE_TABLET 1.2
#define DEVICE_OTHER 1.0

/* ---- late calls -----------------------------------------------------------------------------
 * Hyperbolic decay: high for calls within hours of leaving the site, then a long tail, since
 * nobody else was shown the number and the last holder stays the best guess. */
#define LATE_CONF_MAX 0.9
#define LATE_CONF_SCALE_MS DAY_MS

/* ---- scoring ------------------------------------------------------------------------------- */

static bool click_counts(const struct attrib_call *call, const struct attrib_candidate *c)
{
    return c->tel_click_at > 0 && c->tel_click_at - CLICK_SKEW_MS <= call->at;
}

static double recency_factor(const struct attrib_call *call, const struct attrib_candidate *c)
{
    int64_t active_at = c->last_active_at;
    if (click_counts(call, c) && c->tel_click_at > active_at)
        active_at = c->tel_click_at; /* a click is activity too */
    double idle = (double)call->at - (double)active_at;
    if (idle < 0)
        idle = 0;
    return RECENCY_FLOOR + (1 - RECENCY_FLOOR) * exp2(-idle / (double)RECENCY_HALF_LIFE_MS);
}

static double click_factor(const struct attrib_call *call, const struct attrib_candidate *c)
{
    if (!click_counts(call, c))
        return 1;
    double age = (double)call->at - (double)c->tel_click_at;
    double over = age - (double)CLICK_FULL_MS;
    double weight = over <= 0 ? 1 : exp2(-over / (double)CLICK_HALF_LIFE_MS);
    return 1 + CLICK_WEIGHT * weight;
}

static bool region_matches(const struct attrib_call *call, const struct attrib_candidate *c)
{
    size_t cap = sizeof(c->region);
    return call->caller_region[0] && c->region[0] &&
           strncasecmp(call->caller_region, c->region, cap) == 0;
}

static double device_factor(enum attrib_device d)
{
    if (d == ATTRIB_DEVICE_MOBILE)
        return DEVICE_MOBILE;
    if (d == ATTRIB_DEVICE_TABLET)
        return DEVICE_TABLET;
    return DEVICE_OTHER;
}

double attrib_score(const struct attrib_call *call, const struct attrib_candidate *c)
{
    double s = recency_factor(call, c) * click_factor(call, c) * device_factor(c->device);
    if (region_matches(call, c))
        s *= REGION_MATCH;
    if (c->n_client > 1)
        s /= (double)c->n_client;
    return s;
}

double attrib_late_confidence(int64_t gap_ms)
{
    double gap = gap_ms < 0 ? 0 : (double)gap_ms;
    return LATE_CONF_MAX / (1 + gap / (double)LATE_CONF_SCALE_MS);
}

/* ---- reasons --------------------------------------------------------------------------------
 * Short human durations for the sentences: "42 s", "12 min", "5 h", "3 d". */

static void fmt_gap(char *dst, size_t cap, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < 90 * SEC_MS)
        snprintf(dst, cap, "%" PRId64 " s", ms / SEC_MS);
    else if (ms < 90 * MIN_MS)
        snprintf(dst, cap, "%" PRId64 " min", ms / MIN_MS);
    else if (ms < 48 * HOUR_MS)
        snprintf(dst, cap, "%" PRId64 " h", ms / HOUR_MS);
    else
        snprintf(dst, cap, "%" PRId64 " d", ms / DAY_MS);
}

/* Appends the signals that made a candidate win, e.g. "tel: click 5 s before the call, active
 * 5 s before, caller region US-TX matches, mobile". */
static void describe_signals(char *dst, size_t cap, const struct attrib_call *call,
                             const struct attrib_candidate *c)
{
    char gap[32];
    size_t len = strlen(dst);
    if (click_counts(call, c)) {
        fmt_gap(gap, sizeof(gap), call->at - c->tel_click_at);
        snprintf(dst + len, cap - len, "tel: click %s before the call, ", gap);
        len = strlen(dst);
    }
    fmt_gap(gap, sizeof(gap), call->at - c->last_active_at);
    snprintf(dst + len, cap - len, "last active %s before", gap);
    len = strlen(dst);
    if (region_matches(call, c)) {
        snprintf(dst + len, cap - len, ", caller region %.7s matches", c->region);
        len = strlen(dst);
    }
    if (c->device == ATTRIB_DEVICE_MOBILE || c->device == ATTRIB_DEVICE_TABLET) {
        snprintf(dst + len, cap - len, ", %s", attrib_device_name(c->device));
        len = strlen(dst);
    }
    if (c->n_client > 1)
        snprintf(dst + len, cap - len, ", 1 of %" PRIu32 " from one client", c->n_client);
}

/* ---- decisions ------------------------------------------------------------------------------ */

static bool is_live(const struct attrib_call *call, const struct attrib_candidate *c)
{
    return c->leased_at <= call->at && call->at < c->ends_at;
}

/* Got the number before the call: live, or past (the only kinds that matter). */
static bool is_relevant(const struct attrib_call *call, const struct attrib_candidate *c)
{
    return c->leased_at <= call->at;
}

/* Order-independent "a beats b" for equal or different scores. */
static bool beats(const struct attrib_candidate *a, double sa, const struct attrib_candidate *b,
                  double sb)
{
    if (sa != sb)
        return sa > sb;
    if (a->tel_click_at != b->tel_click_at)
        return a->tel_click_at > b->tel_click_at;
    if (a->last_active_at != b->last_active_at)
        return a->last_active_at > b->last_active_at;
    return a->session_id < b->session_id;
}

static void result_reset(struct attrib_result *out)
{
    memset(out, 0, sizeof(*out));
    out->method = ATTRIB_UNATTRIBUTED;
    out->chosen = -1;
    out->runner_up = -1;
}

static void set_runner_up(struct attrib_result *out, int i, double score)
{
    out->runner_up = i;
    out->runner_up_score = score;
}

static void decide_exact(const struct attrib_call *call, const struct attrib_candidate *c, int live,
                         struct attrib_result *out)
{
    out->method = ATTRIB_EXACT;
    out->confidence = 1;
    out->chosen = live;
    out->score = attrib_score(call, &c[live]);
    snprintf(out->reason, sizeof(out->reason),
             "only session holding the number when the call started");
}

static void decide_shared(const struct attrib_call *call, const struct attrib_candidate *c,
                          size_t n, size_t n_live, struct attrib_result *out)
{
    int best = -1;
    int second = -1;
    double sbest = 0;
    double ssecond = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_live(call, &c[i]))
            continue;
        double s = attrib_score(call, &c[i]);
        sum += s;
        if (best < 0 || beats(&c[i], s, &c[best], sbest)) {
            second = best;
            ssecond = sbest;
            best = (int)i;
            sbest = s;
        } else if (second < 0 || beats(&c[i], s, &c[second], ssecond)) {
            second = (int)i;
            ssecond = s;
        }
    }
    out->method = ATTRIB_SHARED;
    out->chosen = best;
    out->score = sbest;
    out->confidence = sbest / sum;
    set_runner_up(out, second, ssecond);
    snprintf(out->reason, sizeof(out->reason),
             "%zu sessions held the number; best match: ", n_live);
    describe_signals(out->reason, sizeof(out->reason), call, &c[best]);
}

/* A holding during which someone was actually shown the number for a while. */
static bool is_real_holding(const struct attrib_candidate *c)
{
    return c->ends_at > c->leased_at;
}

/* Index of the last holder (latest ends_at, ties by beats()), or -1. */
static int last_holder(const struct attrib_call *call, const struct attrib_candidate *c, size_t n,
                       int skip)
{
    int best = -1;
    double sbest = 0;
    for (size_t i = 0; i < n; i++) {
        if ((int)i == skip || !is_relevant(call, &c[i]) || !is_real_holding(&c[i]))
            continue;
        double s = attrib_score(call, &c[i]);
        bool later = best >= 0 && c[i].ends_at > c[best].ends_at;
        bool tie = best >= 0 && c[i].ends_at == c[best].ends_at;
        if (best < 0 || later || (tie && beats(&c[i], s, &c[best], sbest))) {
            best = (int)i;
            sbest = s;
        }
    }
    return best;
}

/* Someone other than c[last] got the number between its release and the call. */
static bool held_since(const struct attrib_call *call, const struct attrib_candidate *c, size_t n,
                       int last)
{
    for (size_t i = 0; i < n; i++)
        if ((int)i != last && c[i].leased_at >= c[last].ends_at && c[i].leased_at <= call->at)
            return true;
    return false;
}

/* The winner's share of the scores of the holders that ended at the same instant. */
static double tie_share(const struct attrib_call *call, const struct attrib_candidate *c, size_t n,
                        int last, double slast)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (is_relevant(call, &c[i]) && is_real_holding(&c[i]) && c[i].ends_at == c[last].ends_at)
            sum += attrib_score(call, &c[i]);
    return slast / sum;
}

static void refuse_late(const struct attrib_call *call, const struct attrib_candidate *c, int last,
                        const char *why, struct attrib_result *out)
{
    char gap[32];
    fmt_gap(gap, sizeof(gap), call->at - c[last].ends_at);
    set_runner_up(out, last, attrib_score(call, &c[last]));
    snprintf(out->reason, sizeof(out->reason),
             "last holder released the number %s before "
             "the call, %s",
             gap, why);
}

static void decide_late(const struct attrib_call *call, const struct attrib_candidate *c, size_t n,
                        struct attrib_result *out)
{
    int64_t window = call->window_ms ? call->window_ms : ATTRIB_DEFAULT_WINDOW_MS;
    int last = last_holder(call, c, n, -1);
    if (last < 0) {
        snprintf(out->reason, sizeof(out->reason), "no session held the number before the call");
        return;
    }
    int64_t gap_ms = call->at - c[last].ends_at;
    if (gap_ms > window) {
        refuse_late(call, c, last, "outside the attribution window", out);
        return;
    }
    if (held_since(call, c, n, last)) {
        refuse_late(call, c, last, "and another session got it since", out);
        return;
    }
    char gap[32];
    fmt_gap(gap, sizeof(gap), gap_ms);
    out->method = ATTRIB_LATE;
    out->chosen = last;
    out->score = attrib_score(call, &c[last]);
    out->confidence = attrib_late_confidence(gap_ms) * tie_share(call, c, n, last, out->score);
    int next = last_holder(call, c, n, last);
    if (next >= 0)
        set_runner_up(out, next, attrib_score(call, &c[next]));
    snprintf(out->reason, sizeof(out->reason),
             "no live lease; the last holder released the "
             "number %s before the call and nobody got it since",
             gap);
}

int attrib_decide(const struct attrib_call *call, const struct attrib_candidate *c, size_t n,
                  struct attrib_result *out)
{
    if (!out)
        return ERR_INVALID;
    result_reset(out);
    if (!call || (!c && n) || n > INT_MAX || call->window_ms < 0) {
        snprintf(out->reason, sizeof(out->reason), "invalid attribution input");
        return ERR_INVALID;
    }
    size_t n_live = 0;
    int live = -1;
    for (size_t i = 0; i < n; i++) {
        if (is_live(call, &c[i])) {
            n_live++;
            live = (int)i;
        }
    }
    if (n_live == 1)
        decide_exact(call, c, live, out);
    else if (n_live > 1)
        decide_shared(call, c, n, n_live, out);
    else
        decide_late(call, c, n, out);
    return ERR_OK;
}

/* ---- names ----------------------------------------------------------------------------------- */

static const char *const method_names[] = {
    [ATTRIB_EXACT] = "exact",   [ATTRIB_SHARED] = "shared", [ATTRIB_LATE] = "late",
    [ATTRIB_SOURCE] = "source", [ATTRIB_REPEAT] = "repeat", [ATTRIB_UNATTRIBUTED] = "unattributed",
};

static const char *const device_names[] = {
    [ATTRIB_DEVICE_UNKNOWN] = "unknown",
    [ATTRIB_DEVICE_DESKTOP] = "desktop",
    [ATTRIB_DEVICE_MOBILE] = "mobile",
    [ATTRIB_DEVICE_TABLET] = "tablet",
};

const char *attrib_method_name(enum attrib_method m)
{
    if ((unsigned)m >= ARRAY_SIZE(method_names))
        return "unknown";
    return method_names[m];
}

int attrib_method_parse(const char *s, enum attrib_method *m)
{
    for (size_t i = 0; s && i < ARRAY_SIZE(method_names); i++) {
        if (strcmp(s, method_names[i]) == 0) {
            *m = (enum attrib_method)i;
            return ERR_OK;
        }
    }
    return ERR_INVALID;
}

const char *attrib_device_name(enum attrib_device d)
{
    if ((unsigned)d >= ARRAY_SIZE(device_names))
        return "unknown";
    return device_names[d];
}

int attrib_device_parse(const char *s, enum attrib_device *d)
{
    if (s && !*s) {
        *d = ATTRIB_DEVICE_UNKNOWN;
        return ERR_OK;
    }
    for (size_t i = 0; s && i < ARRAY_SIZE(device_names); i++) {
        if (strcasecmp(s, device_names[i]) == 0) {
            *d = (enum attrib_device)i;
            return ERR_OK;
        }
    }
    return ERR_INVALID;
}

/* ==== rules 4 and 5 =========================================================================== */

/* Copies at most cap - 1 bytes of s without cutting a UTF-8 sequence in two (JSON needs valid
 * UTF-8, and names written by users are cut to fit the reason sentences). */
static void clip(char *dst, size_t cap, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--; /* s[n] is now the first byte of the character that did not fit */
    }
    memcpy(dst, s ? s : "", n);
    dst[n] = '\0';
}

/* Appends s percent-encoded (every byte but unreserved characters) at out + *len, within cap. */
static void add_pct(char *out, size_t cap, size_t *len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s && *len + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~", ch)) {
            out[(*len)++] = (char)ch;
        } else {
            out[(*len)++] = '%';
            out[(*len)++] = hex[ch >> 4];
            out[(*len)++] = hex[ch & 15];
        }
    }
    out[*len] = '\0';
}

static void source_channel(const char *source, const char *medium, char *out, size_t cap)
{
    char url[3 * 2 * ATTRIB_TEXT_MAX + 64] = "https://source.invalid/?utm_source=";
    size_t len = strlen(url);
    add_pct(url, sizeof(url), &len, source);
    snprintf(url + len, sizeof(url) - len, "&utm_medium=");
    len += strlen(url + len);
    add_pct(url, sizeof(url), &len, medium);
    struct source src;
    if (classify_visit(url, NULL, NULL, 0, &src, NULL, NULL) == ERR_OK)
        snprintf(out, cap, "%s", src.channel);
}

void attrib_source_number(const char *source, const char *medium, const char *campaign,
                          struct attrib_credit *out)
{
    memset(out, 0, sizeof(*out));
    out->method = ATTRIB_SOURCE;
    out->confidence = 1;
    source_channel(source, medium, out->channel, sizeof(out->channel));
    clip(out->source, sizeof(out->source), source);
    clip(out->medium, sizeof(out->medium), medium);
    clip(out->campaign, sizeof(out->campaign), campaign);
    char src[44], med[44], camp[44];
    clip(src, sizeof(src), source);
    clip(med, sizeof(med), medium);
    clip(camp, sizeof(camp), campaign);
    snprintf(out->reason, sizeof(out->reason), "source number of %s%s%s%s%s", src,
             med[0] ? " / " : "", med, camp[0] ? " / " : "", camp);
}

void attrib_fallback_number(const char *pool_name, const char *pool_channel,
                            struct attrib_credit *out)
{
    memset(out, 0, sizeof(*out));
    out->method = ATTRIB_SOURCE;
    out->confidence = 1;
    clip(out->channel, sizeof(out->channel), pool_channel);
    clip(out->source, sizeof(out->source), pool_name);
    char name[64];
    clip(name, sizeof(name), pool_name);
    snprintf(out->reason, sizeof(out->reason),
             "fallback number of pool '%s', shown while the "
             "pool was exhausted: source-level attribution only",
             name);
}

bool attrib_repeat(struct attrib_credit *c, uint64_t first_session_id, double first_confidence)
{
    if (!first_session_id)
        return false;
    c->first_session_id = first_session_id;
    if (c->method != ATTRIB_UNATTRIBUTED)
        return true;
    char why[81];
    clip(why, sizeof(why), c->reason);
    c->method = ATTRIB_REPEAT;
    c->confidence = ATTRIB_REPEAT_SHARE * first_confidence;
    c->session_id = first_session_id;
    snprintf(c->reason, sizeof(c->reason),
             "repeat caller: %s; credited to the session of "
             "their first attributed call",
             why);
    return true;
}
