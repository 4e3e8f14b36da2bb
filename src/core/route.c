/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The routing-plan evaluator (route.h). Pure: the plan, the facts, the counts and the time
 * come in; the next instruction and the call's new progress go out. */
#include "base/prelude.h"
#include "core/route.h"

#include <inttypes.h>
#include <stdarg.h>

#define GOODBYE "Goodbye."
#define DEFAULT_VOICEMAIL_S 120
#define DEFAULT_GATHER_S 5

/* ==== small predicates ======================================================================= */

bool route_schedule_open(const struct route_schedule *s, int64_t now_ms)
{
    if (!s)
        return true;
    struct zone utc;
    const struct zone *z = s->zone;
    if (!z) {
        zone_fixed(&utc, "UTC", 0);
        z = &utc;
    }
    struct zone_local lt;
    zone_local_time(z, now_ms, &lt);
    for (size_t i = 0; i < s->n_holidays; i++)
        if (s->holidays[i] == lt.date)
            return false;
    if (s->n_hours == 0)
        return true;
    int yesterday = (lt.wday + 6) % 7;
    for (size_t i = 0; i < s->n_hours; i++) {
        const struct route_hours *h = &s->hours[i];
        bool overnight = h->close_min <= h->open_min;
        if (h->wday == lt.wday && lt.minute >= h->open_min &&
            (overnight || lt.minute < h->close_min))
            return true;
        if (overnight && h->wday == yesterday && lt.minute < h->close_min)
            return true;
    }
    return false;
}

bool route_blocked(const struct route_plan *p, const char *from)
{
    if (!from || !*from)
        return false;
    for (size_t i = 0; i < p->n_blocked; i++) {
        const char *b = p->blocked[i];
        size_t n = b ? strlen(b) : 0;
        if (n == 0)
            continue;
        if (b[n - 1] == '*' ? strncmp(from, b, n - 1) == 0 : strcmp(from, b) == 0)
            return true;
    }
    return false;
}

bool route_verstat_passed_a(const char *v)
{
    return v && strcmp(v, "TN-Validation-Passed-A") == 0;
}

bool route_verstat_failed(const char *v)
{
    return v && strstr(v, "-Failed") != NULL;
}

bool route_billable(const struct route_target *t, int64_t duration_s, int64_t *payout)
{
    bool ok = t && duration_s > 0 && duration_s >= t->min_duration_s;
    if (payout)
        *payout = ok ? t->payout : 0;
    return ok;
}

/* ==== names ================================================================================== */

static const char *const method_names[] = {"round_robin", "weighted", "priority", "geography",
                                           "ping_post"};
static const char *const kind_names[] = {"menu",       "screen",    "schedule",
                                         "distribute", "voicemail", "message"};

const char *route_method_name(enum route_method m)
{
    return (size_t)m < ARRAY_SIZE(method_names) ? method_names[m] : "?";
}

int route_method_parse(const char *s, enum route_method *out)
{
    for (size_t i = 0; s && i < ARRAY_SIZE(method_names); i++)
        if (strcmp(s, method_names[i]) == 0) {
            *out = (enum route_method)i;
            return ERR_OK;
        }
    return ERR_INVALID;
}

const char *route_step_kind_name(enum route_step_kind k)
{
    return (size_t)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

int route_step_kind_parse(const char *s, enum route_step_kind *out)
{
    for (size_t i = 0; s && i < ARRAY_SIZE(kind_names); i++)
        if (strcmp(s, kind_names[i]) == 0) {
            *out = (enum route_step_kind)i;
            return ERR_OK;
        }
    return ERR_INVALID;
}

/* ==== plan check ============================================================================= */

static bool goto_ok(const struct route_plan *p, int g)
{
    return g == ROUTE_GOTO_NEXT || g == ROUTE_GOTO_LAST_RESORT || g == ROUTE_GOTO_HANGUP ||
           (g >= 0 && (size_t)g < p->n_steps);
}

static int check_schedule(const struct route_schedule *s, const char *field, struct errbuf *eb)
{
    for (size_t i = 0; s && i < s->n_hours; i++) {
        const struct route_hours *h = &s->hours[i];
        if (h->wday > 6 || h->open_min > 1439 || h->close_min < 1 || h->close_min > 1440)
            return errf(eb, ERR_INVALID, field, "bad opening hours (entry %zu)", i);
    }
    return ERR_OK;
}

static int check_step(const struct route_plan *p, size_t i, struct errbuf *eb)
{
    const struct route_step *s = &p->steps[i];
    if (!goto_ok(p, s->next) || !goto_ok(p, s->on_fail))
        return errf(eb, ERR_INVALID, "steps", "step %zu goes to a step that does not exist", i);
    if (s->n_options > ROUTE_MAX_OPTIONS)
        return errf(eb, ERR_INVALID, "steps", "step %zu has too many options", i);
    for (size_t k = 0; k < s->n_options; k++) {
        const struct route_option *o = &s->options[k];
        if (!o->digit || !strchr("0123456789*#", o->digit))
            return errf(eb, ERR_INVALID, "steps", "step %zu: option digit must be 0-9, * or #", i);
        if (!goto_ok(p, o->goto_step))
            return errf(eb, ERR_INVALID, "steps", "step %zu: option %c goes nowhere", i, o->digit);
        if (o->location < -1 || o->location >= (int)p->n_locations)
            return errf(eb, ERR_INVALID, "steps", "step %zu: option %c: no such location", i,
                        o->digit);
    }
    for (size_t k = 0; k < s->n_targets; k++)
        if (s->targets[k] >= p->n_targets)
            return errf(eb, ERR_INVALID, "steps", "step %zu: no such target", i);
    if (s->kind == ROUTE_STEP_DISTRIBUTE && (unsigned)s->method > ROUTE_PING_POST)
        return errf(eb, ERR_INVALID, "steps", "step %zu: unknown method", i);
    if (s->kind == ROUTE_STEP_DISTRIBUTE && s->method == ROUTE_PING_POST) {
        size_t bidders = 0;
        size_t total = s->n_targets ? s->n_targets : p->n_targets;
        for (size_t k = 0; k < total; k++) {
            size_t t = s->n_targets ? s->targets[k] : k;
            bidders += p->targets[t].bid_url && p->targets[t].bid_url[0];
        }
        if (bidders == 0)
            return errf(eb, ERR_INVALID, "steps",
                        "step %zu: ping_post needs targets with a bid_url", i);
        if (s->deadline_ms < 0 || s->reserve < 0)
            return errf(eb, ERR_INVALID, "steps", "step %zu: bad deadline or reserve", i);
    }
    return check_schedule(s->schedule, "steps", eb);
}

int route_plan_check(const struct route_plan *p, struct errbuf *eb)
{
    if (!p->last_resort || p->last_resort[0] != '+')
        return errf(eb, ERR_INVALID, "last_resort", "a plan needs a last-resort number");
    if (p->n_steps == 0 || p->n_steps > ROUTE_MAX_STEPS)
        return errf(eb, ERR_INVALID, "steps", "a plan has 1 to %d steps", ROUTE_MAX_STEPS);
    if (p->n_targets > ROUTE_MAX_TARGETS)
        return errf(eb, ERR_INVALID, "targets", "at most %d targets", ROUTE_MAX_TARGETS);
    if (p->n_locations > ROUTE_MAX_LOCATIONS)
        return errf(eb, ERR_INVALID, "locations", "at most %d locations", ROUTE_MAX_LOCATIONS);
    if (p->at_home && (p->home < 0 || (size_t)p->home >= p->n_locations))
        return errf(eb, ERR_INVALID, "attach", "no such location");
    for (size_t i = 0; i < p->n_steps; i++) {
        int rc = check_step(p, i, eb);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < p->n_targets; i++) {
        const struct route_target *t = &p->targets[i];
        if (!t->number || t->number[0] != '+')
            return errf(eb, ERR_INVALID, "targets", "target %zu has no number", i);
        if (t->location < -1 || t->location >= (int)p->n_locations)
            return errf(eb, ERR_INVALID, "targets", "target %zu: no such location", i);
        int rc = check_schedule(t->schedule, "targets", eb);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < p->n_locations; i++) {
        int rc = check_schedule(p->locations[i].hours, "locations", eb);
        if (rc)
            return rc;
    }
    return ERR_OK;
}

/* ==== state ================================================================================== */

void route_state_init(struct route_state *st)
{
    memset(st, 0, sizeof(*st));
    st->location = -1;
    st->target = -1;
}

void route_state_format(const struct route_state *st, char out[ROUTE_STATE_MAX])
{
    snprintf(out, ROUTE_STATE_MAX, "%d.%d.%d.%d.%" PRIx64 ".%s", st->step, st->tries, st->location,
             st->target, st->tried, st->digits);
}

/* A decimal in [lo, hi] then the separator sep ('\0' = end of text). */
static bool read_num(const char **s, long lo, long hi, char sep, long *out)
{
    const char *p = *s;
    bool neg = *p == '-';
    p += neg;
    if (*p < '0' || *p > '9')
        return false;
    long v = 0;
    while (*p >= '0' && *p <= '9' && v < 100000)
        v = v * 10 + (*p++ - '0');
    v = neg ? -v : v;
    if (v < lo || v > hi || *p != sep)
        return false;
    *s = sep ? p + 1 : p;
    *out = v;
    return true;
}

int route_state_parse(const char *s, struct route_state *st)
{
    if (!s || strlen(s) >= ROUTE_STATE_MAX)
        return ERR_INVALID;
    long step;
    long tries;
    long loc;
    long target;
    if (!read_num(&s, 0, ROUTE_MAX_STEPS - 1, '.', &step) || !read_num(&s, 0, 99, '.', &tries) ||
        !read_num(&s, -1, ROUTE_MAX_LOCATIONS - 1, '.', &loc) ||
        !read_num(&s, -2, ROUTE_MAX_TARGETS - 1, '.', &target))
        return ERR_INVALID;
    size_t hex = strspn(s, "0123456789abcdef");
    if (hex == 0 || hex > 16 || s[hex] != '.')
        return ERR_INVALID;
    uint64_t tried = 0;
    for (size_t i = 0; i < hex; i++)
        tried = tried << 4 | (uint64_t)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
    const char *digits = s + hex + 1;
    size_t nd = strlen(digits);
    if (nd > ROUTE_DIGITS_MAX || strspn(digits, "0123456789*#") != nd)
        return ERR_INVALID;
    st->step = (int)step;
    st->tries = (int)tries;
    st->location = (int)loc;
    st->target = (int)target;
    st->tried = tried;
    memcpy(st->digits, digits, nd + 1);
    return ERR_OK;
}

/* ==== instructions =========================================================================== */

struct eval {
    const struct route_plan *p;
    const struct route_facts *f;
    const struct route_counts *c;
    int64_t now_ms;
    struct route_state *st;
    struct route_instr *out;
};

static void reason(struct route_instr *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reason(struct route_instr *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

static void last_resort(struct eval *e, const char *why)
{
    struct route_instr *o = e->out;
    e->st->target = -2;
    o->op = ROUTE_OP_DIAL;
    o->target = -1;
    o->number = e->p->last_resort;
    o->last_resort = true;
    o->record = e->p->record;
    o->notice = e->p->notice;
    reason(o, "last resort: %s", why);
    if (!o->number || !*o->number) {
        o->op = ROUTE_OP_SAY_HANGUP;
        o->say = "We are sorry, your call cannot be connected.";
    }
}

static void say_hangup(struct eval *e, const char *say, const char *why)
{
    e->out->op = ROUTE_OP_SAY_HANGUP;
    e->out->say = say;
    reason(e->out, "%s", why);
}

/* Fills "{source}" and "{campaign}" in t; other text is copied. */
void route_whisper_fill(const struct route_facts *f, const char *t, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    while (t && *t && n + 1 < cap) {
        const char *v = NULL;
        size_t skip = 1;
        if (strncmp(t, "{source}", 8) == 0) {
            v = f->source ? f->source : "unknown source";
            skip = 8;
        } else if (strncmp(t, "{campaign}", 10) == 0) {
            v = f->campaign ? f->campaign : "no campaign";
            skip = 10;
        }
        if (v) {
            int w = snprintf(out + n, cap - n, "%s", v);
            n = w < 0 ? n : n + (size_t)w >= cap ? cap - 1 : n + (size_t)w;
        } else {
            out[n++] = *t;
            out[n] = '\0';
        }
        t += skip;
    }
}

/* ==== distribution =========================================================================== */

static int32_t count_of(const int32_t *a, int i)
{
    return a ? a[i] : 0;
}

static bool target_eligible(const struct eval *e, int i)
{
    const struct route_target *t = &e->p->targets[i];
    if (e->st->tried & (UINT64_C(1) << i))
        return false;
    if (t->max_concurrent > 0 && count_of(e->c->live, i) >= t->max_concurrent)
        return false;
    if (t->max_daily > 0 && count_of(e->c->today, i) >= t->max_daily)
        return false;
    if (!route_schedule_open(t->schedule, e->now_ms))
        return false;
    if (t->location >= 0 && !route_schedule_open(e->p->locations[t->location].hours, e->now_ms))
        return false;
    return true;
}

bool route_target_is_buyer(const struct route_target *t)
{
    return t && ((t->bid_url && t->bid_url[0]) || t->payout > 0);
}

bool route_target_elsewhere(const struct route_plan *p, int i)
{
    if (!p || !p->at_home || i < 0 || (size_t)i >= p->n_targets)
        return false;
    const struct route_target *t = &p->targets[i];
    return t->location >= 0 && t->location != p->home && !route_target_is_buyer(t);
}

/* The step's candidates (target indices) in its order, restricted to location loc (-1: any);
 * a plan attached to a location leaves out other locations' business lines (noted in the
 * instruction's skipped_elsewhere). */
static size_t candidates(const struct eval *e, const struct route_step *s, int loc,
                         int out[ROUTE_MAX_TARGETS])
{
    size_t n = 0;
    size_t total = s->n_targets ? s->n_targets : e->p->n_targets;
    for (size_t k = 0; k < total && n < ROUTE_MAX_TARGETS; k++) {
        int i = s->n_targets ? s->targets[k] : (int)k;
        if (loc >= 0 && e->p->targets[i].location != loc)
            continue;
        if (route_target_elsewhere(e->p, i)) {
            e->out->skipped_elsewhere |= UINT64_C(1) << i;
            continue;
        }
        out[n++] = i;
    }
    return n;
}

static int pick_round_robin(struct eval *e, const int *cand, size_t n)
{
    size_t start = 0;
    if (e->st->target >= 0) {
        for (size_t k = 0; k < n; k++)
            if (cand[k] == e->st->target)
                start = k + 1;
    } else {
        e->out->used_seq = true;
        start = (size_t)(e->c->rr_seq % n);
    }
    for (size_t k = 0; k < n; k++) {
        int i = cand[(start + k) % n];
        if (target_eligible(e, i))
            return i;
    }
    return -1;
}

static uint64_t mix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* The first pick of a call takes the claimed sequence number through a Weyl sequence
 * (frac(seq * golden ratio)): consecutive calls spread over [0, 1) evenly, so the split holds
 * within a few calls of the weights at any count, across nodes (the number is claimed in the
 * store). A retry after a failed dial draws at random among the targets left. */
static int pick_weighted(struct eval *e, const int *cand, size_t n)
{
    uint64_t total = 0;
    for (size_t k = 0; k < n; k++)
        if (target_eligible(e, cand[k]))
            total += e->p->targets[cand[k]].weight;
    if (total == 0)
        return -1;
    uint64_t u;
    if (e->st->target < 0 && e->st->tried == 0) {
        e->out->used_seq = true;
        u = e->c->rr_seq * UINT64_C(0x9e3779b97f4a7c15);
    } else {
        u = mix64(e->f->draw ^ mix64(e->st->tried));
    }
    uint64_t r = (uint64_t)(((unsigned __int128)u * total) >> 64);
    for (size_t k = 0; k < n; k++) {
        if (!target_eligible(e, cand[k]))
            continue;
        uint32_t w = e->p->targets[cand[k]].weight;
        if (r < w)
            return cand[k];
        r -= w;
    }
    return -1;
}

static int pick_priority(struct eval *e, const int *cand, size_t n)
{
    int best = -1;
    for (size_t k = 0; k < n; k++) {
        int i = cand[k];
        if (target_eligible(e, i) &&
            (best < 0 || e->p->targets[i].priority < e->p->targets[best].priority))
            best = i;
    }
    return best;
}

/* The location serving the caller: the visit's region first, then the caller's area code. */
static int serving_location(const struct eval *e)
{
    if (e->f->visit_location >= 0 && (size_t)e->f->visit_location < e->p->n_locations)
        return e->f->visit_location;
    for (size_t l = 0; e->f->area_code > 0 && l < e->p->n_locations; l++)
        for (size_t k = 0; k < e->p->locations[l].n_area_codes; k++)
            if (e->p->locations[l].area_codes[k] == e->f->area_code)
                return (int)l;
    return -1;
}

/* The target to dial now for DISTRIBUTE step s, or -1 when none is left. */
static int pick_target(struct eval *e, const struct route_step *s)
{
    int loc = e->st->location;
    if (s->method == ROUTE_GEOGRAPHY) {
        int serving = serving_location(e);
        if (serving < 0)
            return -1;
        loc = e->st->location = serving;
    }
    int cand[ROUTE_MAX_TARGETS];
    size_t n = candidates(e, s, loc, cand);
    if (n == 0)
        return -1;
    switch (s->method) {
    case ROUTE_ROUND_ROBIN:
        return pick_round_robin(e, cand, n);
    case ROUTE_WEIGHTED:
        return pick_weighted(e, cand, n);
    case ROUTE_PRIORITY:
    case ROUTE_GEOGRAPHY:
        return pick_priority(e, cand, n);
    case ROUTE_PING_POST: /* decided by an auction (ROUTE_OP_AUCTION), never picked here */
        return -1;
    }
    return -1;
}

static void dial(struct eval *e, int i)
{
    const struct route_target *t = &e->p->targets[i];
    struct route_instr *o = e->out;
    e->st->target = i;
    e->st->tried |= UINT64_C(1) << i;
    o->op = ROUTE_OP_DIAL;
    o->target = i;
    o->number = t->number;
    o->timeout_s = t->timeout_s;
    o->record = e->p->record;
    o->notice = e->p->notice;
    route_whisper_fill(e->f, t->whisper, o->whisper, sizeof(o->whisper));
    reason(o, "step %d: %s: dial target %s", e->st->step,
           route_method_name(e->p->steps[e->st->step].method), t->id ? t->id : "?");
}

/* ==== ping-post ============================================================================== */

bool route_destination_ok(const char *s)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._+";
    if (!s || strlen(s) >= ROUTE_DEST_MAX)
        return false;
    if (s[0] == '+') {
        size_t n = strlen(s + 1);
        return n >= 8 && n <= 15 && s[1] != '0' && strspn(s + 1, "0123456789") == n;
    }
    if (strncmp(s, "sip:", 4) != 0)
        return false;
    const char *user = s + 4;
    size_t nu = strspn(user, safe);
    if (nu == 0 || user[nu] != '@')
        return false;
    const char *host = user + nu + 1;
    size_t nh = strspn(host, safe);
    if (nh == 0 || host[0] == '.' || host[0] == '-')
        return false;
    if (host[nh] == '\0')
        return true;
    if (host[nh] != ':')
        return false;
    const char *port = host + nh + 1;
    size_t np = strspn(port, "0123456789");
    return np >= 1 && np <= 5 && port[np] == '\0';
}

/* true if bid a ranks above bid b. */
static bool bid_before(const struct route_plan *p, const struct route_bid *a,
                       const struct route_bid *b)
{
    if (a->price != b->price)
        return a->price > b->price;
    if (a->arrived_ms != b->arrived_ms)
        return a->arrived_ms < b->arrived_ms;
    int32_t pa = p->targets[a->target].priority;
    int32_t pb = p->targets[b->target].priority;
    if (pa != pb)
        return pa < pb;
    return a->target < b->target;
}

size_t route_auction_rank(const struct route_plan *p, uint64_t bidders,
                          const struct route_bid *bids, size_t n, int deadline_ms, int64_t reserve,
                          size_t *order)
{
    uint64_t seen = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct route_bid *b = &bids[i];
        if (b->target < 0 || (size_t)b->target >= p->n_targets || b->target >= ROUTE_MAX_TARGETS)
            continue;
        uint64_t bit = UINT64_C(1) << b->target;
        if (!(bidders & bit) || (seen & bit))
            continue;
        seen |= bit;
        if (!b->valid || b->price <= 0 || b->price < reserve || b->arrived_ms < 0 ||
            b->arrived_ms > deadline_ms)
            continue;
        size_t at = k++;
        while (at > 0 && bid_before(p, b, &bids[order[at - 1]])) { /* insertion: n is small */
            order[at] = order[at - 1];
            at--;
        }
        order[at] = i;
    }
    return k;
}

/* The targets a ping-post step pings now: its candidates at the call's location that are
 * eligible (hours, caps, not tried) and have a bid endpoint. */
static uint64_t auction_bidders(struct eval *e, const struct route_step *s)
{
    int cand[ROUTE_MAX_TARGETS];
    size_t n = candidates(e, s, e->st->location, cand);
    uint64_t bidders = 0;
    for (size_t k = 0; k < n; k++) {
        const struct route_target *t = &e->p->targets[cand[k]];
        if (t->bid_url && t->bid_url[0] && target_eligible(e, cand[k]))
            bidders |= UINT64_C(1) << cand[k];
    }
    return bidders;
}

static void auction(struct eval *e, const struct route_step *s, uint64_t bidders)
{
    struct route_instr *o = e->out;
    o->op = ROUTE_OP_AUCTION;
    o->bidders = bidders;
    o->deadline_ms = s->deadline_ms > 0 ? s->deadline_ms : ROUTE_AUCTION_DEADLINE_MS;
    o->reserve = s->reserve;
    int n = 0;
    for (uint64_t b = bidders; b; b &= b - 1)
        n++;
    reason(o, "step %d: ping_post: auction among %d buyer%s", e->st->step, n, n == 1 ? "" : "s");
}

/* ==== steps ================================================================================== */

static void gather(struct eval *e, const struct route_step *s, const char *what)
{
    struct route_instr *o = e->out;
    o->op = ROUTE_OP_GATHER;
    o->say = s->say;
    o->num_digits = 1;
    o->timeout_s = s->timeout_s > 0 ? s->timeout_s : DEFAULT_GATHER_S;
    reason(o, "step %d: %s", e->st->step, what);
}

/* Runs steps until one gives an instruction, starting where `jump` leads (a step index, or
 * enum route_goto relative to the step e->st->step). */
static void run(struct eval *e, int jump)
{
    for (int hops = 0; hops < ROUTE_MAX_HOPS; hops++) {
        int to = jump == ROUTE_GOTO_NEXT ? e->st->step + 1 : jump;
        if (to == ROUTE_GOTO_LAST_RESORT)
            return last_resort(e, "the plan sends the call there");
        if (to == ROUTE_GOTO_HANGUP)
            return say_hangup(e, GOODBYE, "the plan ends the call");
        if (to < 0 || (size_t)to >= e->p->n_steps)
            return last_resort(e, "the plan ran out of steps");
        e->st->step = to;
        e->st->tries = 0;
        e->st->target = -1;
        const struct route_step *s = &e->p->steps[to];
        switch (s->kind) {
        case ROUTE_STEP_MENU:
            return gather(e, s, "menu");
        case ROUTE_STEP_SCREEN:
            if (s->skip_verified && route_verstat_passed_a(e->f->verstat)) {
                jump = s->next;
                continue;
            }
            return gather(e, s, "screen");
        case ROUTE_STEP_SCHEDULE: {
            const struct route_schedule *sch = s->schedule;
            if (!sch && e->st->location >= 0)
                sch = e->p->locations[e->st->location].hours;
            jump = route_schedule_open(sch, e->now_ms) ? s->next : s->on_fail;
            continue;
        }
        case ROUTE_STEP_DISTRIBUTE: {
            if (s->method == ROUTE_PING_POST) {
                uint64_t bidders = auction_bidders(e, s);
                if (bidders)
                    return auction(e, s, bidders);
                jump = s->on_fail;
                continue;
            }
            int i = pick_target(e, s);
            if (i >= 0)
                return dial(e, i);
            jump = s->on_fail;
            continue;
        }
        case ROUTE_STEP_VOICEMAIL:
            e->out->op = ROUTE_OP_RECORD;
            e->out->say = s->say;
            e->out->max_len_s = s->max_len_s > 0 ? s->max_len_s : DEFAULT_VOICEMAIL_S;
            reason(e->out, "step %d: voicemail", to);
            return;
        case ROUTE_STEP_MESSAGE:
            e->out->op = ROUTE_OP_SAY_HANGUP;
            e->out->say = s->say ? s->say : GOODBYE;
            reason(e->out, "step %d: message", to);
            return;
        }
        return last_resort(e, "unknown step");
    }
    last_resort(e, "the plan loops");
}

static void add_digits(struct route_state *st, const char *d)
{
    size_t have = strlen(st->digits);
    for (; d && *d && have < ROUTE_DIGITS_MAX; d++)
        if (strchr("0123456789*#", *d))
            st->digits[have++] = *d;
    st->digits[have] = '\0';
}

static void on_digits(struct eval *e, const char *digits)
{
    const struct route_step *s = &e->p->steps[e->st->step];
    char d = digits && strchr("0123456789*#", digits[0]) ? digits[0] : '\0';
    if (d)
        add_digits(e->st, digits);
    if (s->kind == ROUTE_STEP_SCREEN) {
        char want = s->accept_digit ? s->accept_digit : '1';
        if (d == want)
            return run(e, s->next);
        int fail = s->on_fail == ROUTE_GOTO_NEXT ? ROUTE_GOTO_HANGUP : s->on_fail;
        if (fail == ROUTE_GOTO_HANGUP)
            return say_hangup(e, GOODBYE, "screen: caller did not press to connect");
        return run(e, fail);
    }
    if (s->kind != ROUTE_STEP_MENU)
        return last_resort(e, "digits for a step that asked for none");
    for (size_t k = 0; d && k < s->n_options; k++) {
        if (s->options[k].digit != d)
            continue;
        if (s->options[k].location >= 0)
            e->st->location = s->options[k].location;
        return run(e, s->options[k].goto_step);
    }
    int tries = e->st->tries + 1;
    if (tries < (s->max_tries > 0 ? s->max_tries : 1)) {
        e->st->tries = tries;
        return gather(e, s, d ? "menu: not an option, asked again" : "menu: no input, asked again");
    }
    run(e, s->on_fail);
}

static void on_dial_done(struct eval *e, const char *status, bool ev_bids_left)
{
    bool connected =
        status && (strcmp(status, "completed") == 0 || strcmp(status, "answered") == 0);
    if (connected || e->st->target == -2) {
        e->out->op = ROUTE_OP_HANGUP;
        reason(e->out, "dial ended: %s", status ? status : "unknown");
        return;
    }
    const struct route_step *s = &e->p->steps[e->st->step];
    if (s->kind != ROUTE_STEP_DISTRIBUTE || e->st->target < 0)
        return last_resort(e, "a dial ended outside a distribution step");
    if (s->method == ROUTE_PING_POST && ev_bids_left) { /* the next bid of the same auction */
        const struct route_target *t = &e->p->targets[e->st->target];
        e->out->op = ROUTE_OP_AUCTION;
        e->out->repost = true;
        e->out->deadline_ms = s->deadline_ms > 0 ? s->deadline_ms : ROUTE_AUCTION_DEADLINE_MS;
        e->out->reserve = s->reserve;
        e->st->target = -1;
        reason(e->out, "step %d: ping_post: %s's dial ended %s: post to the next bid", e->st->step,
               t->id ? t->id : "?", status ? status : "unknown");
        return;
    }
    if (s->method == ROUTE_PING_POST) /* no bid left: fall back (no second auction) */
        return run(e, s->on_fail);
    int i = pick_target(e, s);
    if (i >= 0)
        return dial(e, i);
    run(e, s->on_fail);
}

/* The auction of the current step ended: dial the winner's destination, or fall back. */
static void on_auction(struct eval *e, const struct route_event *ev)
{
    const struct route_step *s = &e->p->steps[e->st->step];
    if (s->kind != ROUTE_STEP_DISTRIBUTE || s->method != ROUTE_PING_POST)
        return last_resort(e, "an auction ended outside a ping-post step");
    int w = ev->winner;
    if (w < 0 || (size_t)w >= e->p->n_targets || !route_destination_ok(ev->destination)) {
        e->st->target = -1;
        run(e, s->on_fail);
        if (e->out->reason[0] && strlen(e->out->reason) + 20 < sizeof(e->out->reason)) {
            char r[ROUTE_REASON_MAX];
            snprintf(r, sizeof(r), "no winning bid; %s", e->out->reason);
            memcpy(e->out->reason, r, sizeof(r));
        }
        return;
    }
    dial(e, w);
    e->out->number = ev->destination;
    reason(e->out, "step %d: ping_post: %s won at %" PRId64 ", dial %s", e->st->step,
           e->p->targets[w].id ? e->p->targets[w].id : "?", ev->price,
           ev->destination[0] == '+' ? "its number" : "its SIP URI");
}

void route_next(const struct route_plan *p, const struct route_facts *f,
                const struct route_counts *c, int64_t now_ms, struct route_state *st,
                const struct route_event *ev, struct route_instr *out)
{
    static const struct route_counts zero;
    memset(out, 0, sizeof(*out));
    out->target = -1;
    struct eval e = {.p = p, .f = f, .c = c ? c : &zero, .now_ms = now_ms, .st = st, .out = out};
    /* Progress carried from an earlier version of the plan may name a location or target it no
     * longer has: forget them rather than read past the plan's arrays. */
    if (st->location < -1 || st->location >= (int)p->n_locations)
        st->location = -1;
    if (st->target < -2 || st->target >= (int)p->n_targets)
        st->target = -1;
    if (p->n_targets < ROUTE_MAX_TARGETS)
        st->tried &= (UINT64_C(1) << p->n_targets) - 1;
    if (st->step < 0 || (size_t)st->step >= p->n_steps || p->n_steps == 0) {
        last_resort(&e, "the call's progress is not in the plan");
    } else if (ev->kind == ROUTE_EV_START) {
        if (route_blocked(p, f->from)) {
            out->op = ROUTE_OP_REJECT;
            reason(out, "caller is on the block list");
        } else if (p->reject_failed_verification && route_verstat_failed(f->verstat)) {
            out->op = ROUTE_OP_REJECT;
            reason(out, "caller verification failed");
        } else {
            run(&e, st->step);
        }
    } else if (ev->kind == ROUTE_EV_DIGITS) {
        on_digits(&e, ev->digits);
    } else if (ev->kind == ROUTE_EV_DIAL_DONE) {
        on_dial_done(&e, ev->dial_status, ev->bids_left);
    } else if (ev->kind == ROUTE_EV_AUCTION) {
        on_auction(&e, ev);
    } else {
        out->op = ROUTE_OP_HANGUP;
        reason(out, "voicemail recorded");
    }
    out->location = st->location;
}
