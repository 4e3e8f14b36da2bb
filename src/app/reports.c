/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The money side of reports (see reports.h). */
#include "base/prelude.h"
#include "app/reports.h"

#include <time.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/timefmt.h"
#include "report/csv.h"
#include "base/xalloc.h"
#include "core/phone.h"
#include "core/score.h"
#include "app/app.h"
#include "app/calls.h"

#define DAY_MS ((int64_t)86400 * 1000)

static const char *const lead_statuses[REPORTS_LEAD_STATUSES] = {"new", "qualified", "won", "lost",
                                                                 "spam"};

unsigned reports_lead_bit(const char *status)
{
    for (size_t i = 0; status && i < ARRAY_SIZE(lead_statuses); i++)
        if (strcmp(status, lead_statuses[i]) == 0)
            return 1u << i;
    return 0;
}

int64_t reports_min_duration(const struct st_account *a)
{
    struct calls_settings cs;
    calls_settings_parse(a->settings, &cs, NULL);
    return cs.rules.min_duration_s;
}

static void split_time(int64_t at, int offset_min, struct tm *tm)
{
    int64_t s = at / 1000 + (int64_t)offset_min * 60;
    if (at % 1000 < 0)
        s--;
    time_t t = (time_t)s;
    gmtime_r(&t, tm);
}

void reports_day(int64_t at, int offset_min, char day[11])
{
    struct tm tm;
    split_time(at, offset_min, &tm);
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u, m = (unsigned)(tm.tm_mon + 1) % 100u,
             d = (unsigned)tm.tm_mday % 100u;
    snprintf(day, 11, "%04u-%02u-%02u", y, m, d);
}

/* ---- the calls report ---- */

struct fill {
    struct report *r;
    const struct reports_query *q;
    const struct calls_settings *cs;
    bool need_time, need_region; /* grouped by day or hour; by region (each costs per call) */
};

static int add_call(void *ctx, const struct st_report_call *c)
{
    struct fill *f = ctx;
    if (!(f->q->leads & reports_lead_bit(c->lead_status)))
        return 0;
    struct score_result score;
    score_call(&f->cs->score,
               &(struct score_call){.status = c->status,
                                    .duration_s = c->duration_s,
                                    .first_time_caller = c->first_time},
               &score);
    int64_t monthly, per_minute;
    calls_number_costs(f->cs, c->provider, &monthly, &per_minute);
    char day[11] = "", hour[3] = "";
    if (f->need_time) {
        struct tm tm;
        split_time(c->started_at, f->q->tz_offset_min, &tm);
        reports_day(c->started_at, f->q->tz_offset_min, day);
        hour[0] = (char)('0' + (tm.tm_hour / 10) % 10);
        hour[1] = (char)('0' + tm.tm_hour % 10);
        hour[2] = '\0';
    }
    struct report_call rc = {.status = c->status,
                             .duration_s = c->duration_s,
                             .converted = c->converted,
                             .value = c->value,
                             .revenue = c->revenue,
                             .score = score.score,
                             .number_cost =
                                 c->duration_s > 0 ? per_minute * ((c->duration_s + 59) / 60) : 0,
                             .id = c->call_ext};
    rc.key[REPORT_CHANNEL] = c->channel;
    rc.key[REPORT_SOURCE] = c->source;
    rc.key[REPORT_MEDIUM] = c->medium;
    rc.key[REPORT_CAMPAIGN] = c->campaign;
    rc.key[REPORT_KEYWORD] = c->keyword;
    rc.key[REPORT_LANDING_PAGE] = c->landing_page;
    rc.key[REPORT_DEVICE] = c->device;
    rc.key[REPORT_LOCATION] = c->location[0] ? c->location : NULL; /* its name */
    rc.key[REPORT_LEAD_STATUS] = c->lead_status;
    rc.key[REPORT_NUMBER] = c->to;
    rc.key[REPORT_POOL] = c->pool;
    rc.key[REPORT_DAY] = day;
    rc.key[REPORT_HOUR] = hour;
    rc.key[REPORT_REGION] = f->need_region ? phone_region(c->from) : NULL;
    rc.key[REPORT_CONTENT] = c->content;
    report_add(f->r, &rc);
    return 0;
}

/* Spend can be put in a row only when every grouped dimension is one a spend row has. */
static bool spend_fits(const struct report_dims *dims)
{
    for (size_t i = 0; i < dims->n; i++) {
        enum report_dim d = dims->dim[i];
        if (d != REPORT_CHANNEL && d != REPORT_CAMPAIGN && d != REPORT_KEYWORD && d != REPORT_DAY)
            return false;
    }
    return true;
}

static int add_spend(void *ctx, const struct st_spend_row *w)
{
    struct report *r = ctx;
    enum spend_platform p;
    if (spend_platform_parse(w->platform, &p, NULL) != ERR_OK)
        return 0;
    const char *key[REPORT_N_DIMS] = {0};
    key[REPORT_CHANNEL] = spend_platform_channel(p);
    key[REPORT_CAMPAIGN] = w->campaign;
    key[REPORT_KEYWORD] = w->keyword[0] ? w->keyword : NULL;
    key[REPORT_DAY] = w->day;
    report_add_cost(r, key, w->cost);
    return 0;
}

/* The numbers' monthly cost fits a grouping by number and pool only (or none). */
static bool monthly_fits(const struct report_dims *dims)
{
    for (size_t i = 0; i < dims->n; i++)
        if (dims->dim[i] != REPORT_NUMBER && dims->dim[i] != REPORT_POOL)
            return false;
    return true;
}

struct pool_name {
    int64_t id;
    char name[STORE_NAME_MAX];
};

struct pool_names {
    size_t n, cap;
    struct pool_name *p;
};

static int add_pool_name(void *ctx, const struct st_pool *p)
{
    struct pool_names *pn = ctx;
    if (pn->n == pn->cap) {
        pn->cap = pn->cap ? pn->cap * 2 : 16;
        pn->p = xrealloc(pn->p, pn->cap * sizeof(*pn->p));
    }
    pn->p[pn->n].id = p->id;
    snprintf(pn->p[pn->n].name, sizeof(pn->p[pn->n].name), "%s", p->name);
    pn->n++;
    return 0;
}

struct monthly {
    struct report *r;
    const struct pool_names *pools;
    int64_t since, until, per_month;
};

/* A number's monthly cost over the part of [since, until) after it was created: the monthly
 * figure times that time over 30 days, rounded half up. */
static int add_number_monthly(void *ctx, const struct st_number *n)
{
    struct monthly *m = ctx;
    int64_t from = n->created_at > m->since ? n->created_at : m->since;
    if (from >= m->until)
        return 0;
    double cost = (double)m->per_month * (double)(m->until - from) / (30.0 * (double)DAY_MS);
    const char *key[REPORT_N_DIMS] = {0};
    key[REPORT_NUMBER] = n->number;
    for (size_t i = 0; i < m->pools->n; i++)
        if (m->pools->p[i].id == n->pool_id)
            key[REPORT_POOL] = m->pools->p[i].name;
    report_add_monthly(m->r, key, (int64_t)(cost + 0.5));
    return 0;
}

static int add_monthly(struct app *app, int64_t account_id, const struct reports_query *q,
                       int64_t per_month, struct report *r)
{
    struct pool_names pools = {0};
    int rc = store_pool_list(app->store, account_id, add_pool_name, &pools);
    struct monthly m = {r, &pools, q->since, q->until, per_month};
    if (rc == ERR_OK)
        rc = store_number_list(app->store, account_id, 0, add_number_monthly, &m);
    free(pools.p);
    return rc;
}

/* The days whose UTC midnight is in [since, until): [since_day, until_day). */
static void spend_days(int64_t since, int64_t until, char since_day[11], char until_day[11])
{
    reports_day(since + DAY_MS - 1, 0, since_day);
    reports_day(until + DAY_MS - 1, 0, until_day);
}

int reports_calls(struct app *app, const struct st_account *a, const struct report_dims *dims,
                  const struct reports_query *q, struct report *r, struct reports_info *info,
                  struct errbuf *eb)
{
    struct calls_settings cs;
    calls_settings_parse(a->settings, &cs, NULL);
    *info = (struct reports_info){.costed = spend_fits(dims),
                                  .monthly = monthly_fits(dims),
                                  .min_duration_s = cs.rules.min_duration_s};
    snprintf(info->currency, sizeof(info->currency), "%s", cs.currency);
    struct fill f = {r, q, &cs, false, false};
    for (size_t i = 0; i < dims->n; i++) {
        f.need_time = f.need_time || dims->dim[i] == REPORT_DAY || dims->dim[i] == REPORT_HOUR;
        f.need_region = f.need_region || dims->dim[i] == REPORT_REGION;
    }
    unsigned need = 0; /* read the routing record only when grouped by location */
    for (size_t i = 0; i < dims->n; i++)
        if (dims->dim[i] == REPORT_LOCATION)
            need |= STORE_REPORT_NEED_ROUTING;
    int rc = store_report_calls_need(app->store, a->id, q->since, q->until, need, add_call, &f);
    if (rc == ERR_OK && info->costed) {
        char since_day[11], until_day[11];
        spend_days(q->since, q->until, since_day, until_day);
        rc = store_spend_list(app->store, a->id, since_day, until_day, add_spend, r);
    }
    if (rc == ERR_OK && info->monthly)
        rc = add_monthly(app, a->id, q, cs.number_monthly, r);
    if (rc)
        return errf(eb, ERR_BACKEND, NULL, "cannot read the calls");
    return ERR_OK;
}

/* ---- spend import ---- */

static json_t *spend_answer(const struct spend_file *f, bool preview, bool imported)
{
    json_t *rows = json_array(), *days = json_array(), *errors = json_array();
    int64_t total = 0;
    for (size_t i = 0; i < f->n_rows; i++) {
        const struct spend_row *w = &f->rows[i];
        total += w->cost;
        json_array_append_new(rows,
                              json_pack("{s:s,s:s,s:o,s:I,s:I}", "day", w->day, "campaign",
                                        w->campaign, "keyword", json_str_or_null(w->keyword),
                                        "cost", (json_int_t)w->cost, "line", (json_int_t)w->line));
        if (i == 0 || strcmp(w->day, f->rows[i - 1].day) != 0)
            json_array_append_new(days, json_string(w->day));
    }
    for (size_t i = 0; i < f->n_errors; i++)
        json_array_append_new(errors,
                              json_pack("{s:I,s:o,s:s}", "line", (json_int_t)f->errors[i].line,
                                        "column", json_str_or_null(f->errors[i].column), "message",
                                        f->errors[i].message));
    return json_pack("{s:s,s:o,s:b,s:b,s:o,s:o,s:I,s:I,s:o,s:I}", "platform",
                     spend_platform_name(f->platform), "currency", json_str_or_null(f->currency),
                     "preview", preview, "imported", imported, "rows", rows, "days", days,
                     "total_cost", (json_int_t)total, "skipped_lines", (json_int_t)f->skipped,
                     "errors", errors, "more_errors", (json_int_t)f->more_errors);
}

static int spend_write(struct app *app, int64_t account_id, const struct spend_file *f, int64_t now)
{
    struct st_spend_row *rows = xcalloc(f->n_rows ? f->n_rows : 1, sizeof(*rows));
    for (size_t i = 0; i < f->n_rows; i++) {
        snprintf(rows[i].day, sizeof(rows[i].day), "%s", f->rows[i].day);
        snprintf(rows[i].campaign, sizeof(rows[i].campaign), "%s", f->rows[i].campaign);
        snprintf(rows[i].keyword, sizeof(rows[i].keyword), "%s", f->rows[i].keyword);
        rows[i].cost = f->rows[i].cost;
    }
    struct store *s = app->store;
    int rc = store_begin(s);
    if (rc == ERR_OK)
        rc = store_spend_replace(s, account_id, spend_platform_name(f->platform), f->currency, rows,
                                 f->n_rows, now);
    if (rc == ERR_OK)
        rc = store_commit(s);
    else
        store_rollback(s);
    free(rows);
    return rc;
}

int reports_spend_import(struct app *app, const struct st_account *a, enum spend_platform p,
                         const char *body, size_t len, const char *default_currency, bool preview,
                         bool skip_bad, int64_t now, json_t **out, bool *bad, struct errbuf *eb)
{
    struct calls_settings cs;
    calls_settings_parse(a->settings, &cs, NULL);
    struct spend_file f;
    int parsed = spend_parse(
        p, body, len, default_currency && *default_currency ? default_currency : cs.currency, &f);
    *bad = parsed != ERR_OK && (!skip_bad || f.n_rows == 0);
    *out = NULL;
    int rc = ERR_OK;
    if (f.currency[0] && strcmp(f.currency, cs.currency) != 0)
        rc = errf(eb, ERR_CONFLICT, "currency",
                  "the file's spend is in %s; the account's currency is %s (one currency per "
                  "account: settings conversion.currency)",
                  f.currency, cs.currency);
    bool imported = false;
    if (rc == ERR_OK && !preview && !*bad) {
        rc = spend_write(app, a->id, &f, now);
        if (rc == ERR_CONFLICT)
            errf(eb, rc, "currency",
                 "the account has spend in another currency than %s: delete it first", f.currency);
        else if (rc)
            rc = errf(eb, ERR_BACKEND, NULL, "cannot import the spend");
        imported = rc == ERR_OK;
    }
    if (rc == ERR_OK)
        *out = spend_answer(&f, preview, imported);
    spend_file_free(&f);
    return rc;
}

/* ---- spend list ---- */

static int list_row(void *ctx, const struct st_spend_row *w)
{
    json_array_append_new(ctx, json_pack("{s:s,s:s,s:s,s:o,s:I,s:s}", "day", w->day, "platform",
                                         w->platform, "campaign", w->campaign, "keyword",
                                         json_str_or_null(w->keyword), "cost", (json_int_t)w->cost,
                                         "currency", w->currency));
    return 0;
}

int reports_spend_list(struct app *app, int64_t account_id, const char *since_day,
                       const char *until_day, json_t **out, struct errbuf *eb)
{
    json_t *rows = json_array();
    int rc = store_spend_list(app->store, account_id, since_day, until_day, list_row, rows);
    if (rc) {
        json_decref(rows);
        return errf(eb, ERR_BACKEND, NULL, "cannot read the spend");
    }
    *out = json_pack("{s:o}", "spend", rows);
    return ERR_OK;
}

/* ---- funnel ---- */

#define FUNNEL_STAGES 6
static const char *const stage_names[FUNNEL_STAGES] = {"visits", "shown",     "engaged",
                                                       "calls",  "qualified", "converted"};

struct funnel_row {
    char *key; /* NULL: unknown */
    int64_t n[FUNNEL_STAGES];
    json_t *ids, *qualified_ids; /* include=call_ids, else NULL */
};

struct funnel {
    enum reports_funnel_by by;
    struct funnel_row *rows;
    size_t n, cap;
    size_t *slots; /* index + 1, 0 = empty */
    size_t n_slots;
    struct funnel_row total;
};

/* The row of key, or NULL and *slot where to add it. */
static struct funnel_row *funnel_row_find(const struct funnel *f, const char *key, size_t *slot)
{
    if (key && !*key)
        key = NULL;
    uint64_t h = key ? hash_str(key) : 0;
    size_t s = h & (f->n_slots - 1);
    for (; f->slots[s]; s = (s + 1) & (f->n_slots - 1)) {
        struct funnel_row *r = &f->rows[f->slots[s] - 1];
        if ((!r->key && !key) || (r->key && key && strcmp(r->key, key) == 0))
            return r;
    }
    *slot = s;
    return NULL;
}

static struct funnel_row *funnel_row_of(struct funnel *f, const char *key)
{
    if (key && !*key)
        key = NULL;
    size_t s;
    struct funnel_row *found = funnel_row_find(f, key, &s);
    if (found)
        return found;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->rows = xrealloc(f->rows, f->cap * sizeof(*f->rows));
    }
    f->rows[f->n] = (struct funnel_row){.key = key ? xstrdup(key) : NULL};
    f->slots[s] = ++f->n;
    if (f->n * 2 > f->n_slots) { /* grow and re-slot */
        free(f->slots);
        f->n_slots *= 2;
        f->slots = xcalloc(f->n_slots, sizeof(*f->slots));
        for (size_t i = 0; i < f->n; i++) {
            const char *k = f->rows[i].key;
            size_t t = (k ? hash_str(k) : 0) & (f->n_slots - 1);
            while (f->slots[t])
                t = (t + 1) & (f->n_slots - 1);
            f->slots[t] = i + 1;
        }
    }
    return &f->rows[f->n - 1];
}

static const char *funnel_key(enum reports_funnel_by by, const char *source, const char *campaign,
                              const char *channel)
{
    return by == REPORTS_FUNNEL_SOURCE     ? source
           : by == REPORTS_FUNNEL_CAMPAIGN ? campaign
           : by == REPORTS_FUNNEL_CHANNEL  ? channel
                                           : NULL;
}

static void funnel_add_id(struct funnel_row *r, const struct st_report_session_call *c)
{
    if (!r->ids) {
        r->ids = json_array();
        r->qualified_ids = json_array();
    }
    json_array_append_new(r->ids, json_string(c->call_ext));
    if (c->qualified)
        json_array_append_new(r->qualified_ids, json_string(c->call_ext));
}

/* include=call_ids: each call credited to a session of the range, into its row and the totals
 * (a row the sessions' read did not see, a session added in between, is left out) */
static int add_session_call(void *ctx, const struct st_report_session_call *c)
{
    struct funnel *f = ctx;
    if (f->by != REPORTS_FUNNEL_NONE) {
        size_t slot;
        struct funnel_row *r =
            funnel_row_find(f, funnel_key(f->by, c->source, c->campaign, c->channel), &slot);
        if (!r)
            return 0;
        funnel_add_id(r, c);
    }
    funnel_add_id(&f->total, c);
    return 0;
}

static int add_session(void *ctx, const struct st_report_session *s)
{
    struct funnel *f = ctx;
    const char *key = f->by == REPORTS_FUNNEL_SOURCE     ? s->source
                      : f->by == REPORTS_FUNNEL_CAMPAIGN ? s->campaign
                      : f->by == REPORTS_FUNNEL_CHANNEL  ? s->channel
                                                         : NULL;
    /* stages are nested: a later stage implies the earlier ones (a caller who dialled the
     * number without clicking it was shown it and engaged) */
    bool reached[FUNNEL_STAGES] = {
        true,      s->shown || s->engaged || s->called, s->engaged || s->called,
        s->called, s->called && s->qualified,           s->called && s->converted};
    struct funnel_row *r = f->by == REPORTS_FUNNEL_NONE ? NULL : funnel_row_of(f, key);
    for (int i = 0; i < FUNNEL_STAGES; i++) {
        f->total.n[i] += reached[i];
        if (r)
            r->n[i] += reached[i];
    }
    return 0;
}

static json_t *funnel_row_json(const struct funnel_row *r, const char *dim, bool ids)
{
    json_t *o = json_object();
    if (dim)
        json_object_set_new(o, "key", json_pack("{s:o}", dim, json_str_or_null(r->key)));
    json_t *drop = json_object();
    for (int i = 0; i < FUNNEL_STAGES; i++) {
        json_object_set_new(o, stage_names[i], json_integer((json_int_t)r->n[i]));
        if (i == 0)
            continue;
        /* converted drops from calls, as qualified does: both are verdicts on the calls */
        int64_t prev = r->n[i == 5 ? 3 : i - 1];
        json_object_set_new(drop, stage_names[i],
                            prev > 0 ? json_real(1.0 - (double)r->n[i] / (double)prev)
                                     : json_null());
    }
    json_object_set_new(o, "drop", drop);
    if (ids) {
        json_object_set_new(o, "call_ids", r->ids ? json_incref(r->ids) : json_array());
        json_object_set_new(o, "qualified_call_ids",
                            r->qualified_ids ? json_incref(r->qualified_ids) : json_array());
    }
    return o;
}

static int cmp_funnel(const void *pa, const void *pb)
{
    const struct funnel_row *a = pa, *b = pb;
    if (a->n[0] != b->n[0])
        return a->n[0] > b->n[0] ? -1 : 1;
    if (!a->key || !b->key)
        return (a->key != NULL) - (b->key != NULL);
    return strcmp(a->key, b->key);
}

int reports_funnel_parse(const char *s, enum reports_funnel_by *by, struct errbuf *eb)
{
    static const char *const names[] = {"", "channel", "source", "campaign"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(s ? s : "", names[i]) == 0) {
            *by = (enum reports_funnel_by)i;
            return ERR_OK;
        }
    return errf(eb, ERR_INVALID, "group_by", "'group_by' must be channel, source or campaign");
}

int reports_funnel(struct app *app, const struct st_account *a, int64_t since, int64_t until,
                   enum reports_funnel_by by, bool ids, json_t **out, struct errbuf *eb)
{
    static const char *const dims[] = {NULL, "channel", "source", "campaign"};
    struct funnel f = {.by = by, .n_slots = 64};
    f.slots = xcalloc(f.n_slots, sizeof(*f.slots));
    int rc = store_report_sessions(app->store, a->id, since, until, reports_min_duration(a),
                                   add_session, &f);
    if (rc == ERR_OK && ids) /* before the sort: it reads the rows' slots */
        rc = store_report_session_calls(app->store, a->id, since, until, false,
                                        reports_min_duration(a), add_session_call, &f);
    if (rc == ERR_OK) {
        if (f.n) /* qsort takes no NULL array, even empty */
            qsort(f.rows, f.n, sizeof(*f.rows), cmp_funnel);
        json_t *rows = json_array();
        for (size_t i = 0; i < f.n; i++)
            json_array_append_new(rows, funnel_row_json(&f.rows[i], dims[by], ids));
        *out = json_pack("{s:o,s:o,s:o,s:o}", "rows", rows, "totals",
                         funnel_row_json(&f.total, NULL, ids), "since", json_time(since), "until",
                         json_time(until));
    } else {
        rc = errf(eb, ERR_BACKEND, NULL, "cannot read the sessions");
    }
    for (size_t i = 0; i < f.n; i++) {
        free(f.rows[i].key);
        json_decref(f.rows[i].ids);
        json_decref(f.rows[i].qualified_ids);
    }
    json_decref(f.total.ids);
    json_decref(f.total.qualified_ids);
    free(f.rows);
    free(f.slots);
    return rc;
}

/* ---- cohorts ---- */

#define WEEK_MS (7 * DAY_MS)
/* 1970-01-05 was a Monday: weeks start on Mondays, 00:00 UTC. */
#define MONDAY_MS (4 * DAY_MS)

struct cohort {
    int64_t week_start;
    int64_t visitors;
    int64_t calls[REPORTS_MAX_WEEKS], revenue[REPORTS_MAX_WEEKS];
    json_t *ids[REPORTS_MAX_WEEKS]; /* include=call_ids, else NULL */
};

struct cohorts {
    int weeks;
    struct cohort *c;
    size_t n, cap;
    char last_visitor[STORE_ID_MAX];
    int64_t last_first;
    int64_t later; /* calls after the last week shown */
};

static int64_t week_of(int64_t at)
{
    int64_t k = (at - MONDAY_MS) / WEEK_MS;
    if ((at - MONDAY_MS) % WEEK_MS < 0)
        k--;
    return MONDAY_MS + k * WEEK_MS;
}

static int add_cohort(void *ctx, const struct st_report_cohort *r)
{
    struct cohorts *cs = ctx;
    int64_t wk = week_of(r->first_at);
    if (cs->n == 0 || cs->c[cs->n - 1].week_start != wk) {
        if (cs->n == cs->cap) {
            cs->cap = cs->cap ? cs->cap * 2 : 8;
            cs->c = xrealloc(cs->c, cs->cap * sizeof(*cs->c));
        }
        cs->c[cs->n++] = (struct cohort){.week_start = wk};
    }
    struct cohort *c = &cs->c[cs->n - 1];
    /* a visitor's first-session rows are adjacent (one session, or two at the same instant) */
    if (r->first &&
        (strcmp(cs->last_visitor, r->visitor_id) != 0 || cs->last_first != r->first_at)) {
        c->visitors++;
        snprintf(cs->last_visitor, sizeof(cs->last_visitor), "%s", r->visitor_id);
        cs->last_first = r->first_at;
    }
    if (r->call_started_at <= 0)
        return 0;
    int64_t k = (r->call_started_at - wk) / WEEK_MS;
    if (k < 0 || k >= cs->weeks) {
        cs->later += k >= cs->weeks;
        return 0;
    }
    c->calls[k]++;
    c->revenue[k] += r->revenue > 0 ? r->revenue : 0;
    return 0;
}

/* include=call_ids: each call credited to a session of the range's visitors, into the cell that
 * counts it (add_cohort's rule; a cohort the first read did not see is left out) */
static int add_cohort_call(void *ctx, const struct st_report_session_call *r)
{
    struct cohorts *cs = ctx;
    int64_t wk = week_of(r->first_at);
    size_t lo = 0, hi = cs->n; /* the cohorts are in week order */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cs->c[mid].week_start < wk)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == cs->n || cs->c[lo].week_start != wk || r->started_at <= 0)
        return 0;
    int64_t k = (r->started_at - wk) / WEEK_MS;
    if (k < 0 || k >= cs->weeks)
        return 0;
    struct cohort *c = &cs->c[lo];
    if (!c->ids[k])
        c->ids[k] = json_array();
    json_array_append_new(c->ids[k], json_string(r->call_ext));
    return 0;
}

int reports_cohorts(struct app *app, const struct st_account *a, int64_t since, int64_t until,
                    int weeks, bool ids, json_t **out, struct errbuf *eb)
{
    struct cohorts cs = {.weeks = weeks};
    int rc = store_report_cohort(app->store, a->id, since, until, add_cohort, &cs);
    if (rc == ERR_OK && ids)
        rc = store_report_session_calls(app->store, a->id, since, until, true,
                                        reports_min_duration(a), add_cohort_call, &cs);
    if (rc == ERR_OK) {
        json_t *arr = json_array();
        for (size_t i = 0; i < cs.n; i++) {
            const struct cohort *c = &cs.c[i];
            char day[11];
            reports_day(c->week_start, 0, day);
            json_t *w = json_array();
            for (int k = 0; k < weeks; k++) {
                json_t *cell =
                    json_pack("{s:i,s:I,s:I}", "week", k, "calls", (json_int_t)c->calls[k],
                              "revenue", (json_int_t)c->revenue[k]);
                if (ids)
                    json_object_set_new(cell, "call_ids",
                                        c->ids[k] ? json_incref(c->ids[k]) : json_array());
                json_array_append_new(w, cell);
            }
            json_array_append_new(arr, json_pack("{s:s,s:I,s:o}", "week", day, "visitors",
                                                 (json_int_t)c->visitors, "weeks", w));
        }
        *out =
            json_pack("{s:o,s:i,s:I,s:o,s:o}", "cohorts", arr, "weeks", weeks, "later_calls",
                      (json_int_t)cs.later, "since", json_time(since), "until", json_time(until));
    } else {
        rc = errf(eb, ERR_BACKEND, NULL, "cannot read the visitors");
    }
    for (size_t i = 0; i < cs.n; i++)
        for (int k = 0; k < weeks; k++)
            json_decref(cs.c[i].ids[k]);
    free(cs.c);
    return rc;
}

/* ---- the calls export ---- */

static const char *const export_columns[] = {"id",           "started_at",    "from",
                                             "to",           "status",        "duration",
                                             "channel",      "source",        "medium",
                                             "campaign",     "keyword",       "utm_content",
                                             "landing_page", "device",        "region",
                                             "pool",         "location",      "lead_status",
                                             "revenue",      "converted",     "conversion_value",
                                             "score",        "score_reasons", "number_cost"};

struct export
{
    const struct reports_query *q;
    const struct calls_settings *cs;
    struct buf *out;
    int64_t rows;
    int rc;
};

/* Appends "field," for user-written text (neutralized) or a value the server made. */
static int text_col(struct buf *b, const char *s)
{
    return csv_text(b, s) == ERR_OK ? csv_sep(b) : ERR_TOOBIG;
}

static int value_col(struct buf *b, const char *s)
{
    return csv_value(b, s) == ERR_OK ? csv_sep(b) : ERR_TOOBIG;
}

static int export_call(void *ctx, const struct st_report_call *c)
{
    struct export *x = ctx;
    if (!(x->q->leads & reports_lead_bit(c->lead_status)))
        return 0;
    struct score_result score;
    score_call(&x->cs->score,
               &(struct score_call){.status = c->status,
                                    .duration_s = c->duration_s,
                                    .first_time_caller = c->first_time},
               &score);
    int64_t monthly, per_minute;
    calls_number_costs(x->cs, c->provider, &monthly, &per_minute);
    char at[40], reasons[SCORE_MAX_REASONS * SCORE_REASON_MAX] = "";
    for (size_t i = 0; i < score.n_reasons; i++)
        snprintf(reasons + strlen(reasons), sizeof(reasons) - strlen(reasons), "%s%s",
                 i ? "; " : "", score.reasons[i]);
    const char *region = phone_region(c->from);
    struct buf *b = x->out;
    int rc = value_col(b, c->call_ext);
    rc = rc ? rc : value_col(b, time_format(c->started_at, at));
    /* a caller id is whatever the network sent: written as is only when it is E.164 */
    bool e164 =
        c->from[0] == '+' && c->from[1] && strspn(c->from + 1, "0123456789") == strlen(c->from + 1);
    rc = rc ? rc : e164 ? value_col(b, c->from) : text_col(b, c->from);
    rc = rc ? rc : value_col(b, c->to);
    rc = rc ? rc : value_col(b, c->status);
    rc = rc ? rc : buf_addf(b, "%" PRId64 ",", c->duration_s);
    const char *user[] = {c->channel, c->source,  c->medium,       c->campaign,
                          c->keyword, c->content, c->landing_page, c->device,
                          region,     c->pool,    c->location,     c->lead_status};
    for (size_t i = 0; i < ARRAY_SIZE(user) && rc == ERR_OK; i++)
        rc = text_col(b, user[i]);
    if (rc == ERR_OK && c->revenue >= 0)
        rc = buf_addf(b, "%" PRId64, c->revenue);
    rc = rc ? rc
            : buf_addf(b, ",%s,%.2f,%d,", c->converted ? "true" : "false", c->value, score.score);
    rc = rc ? rc : text_col(b, reasons);
    rc = rc ? rc
            : buf_addf(b, "%" PRId64,
                       c->duration_s > 0 ? per_minute * ((c->duration_s + 59) / 60) : 0);
    rc = rc ? rc : csv_eol(b);
    x->rows++;
    x->rc = rc;
    return rc;
}

int reports_export_calls(struct app *app, const struct st_account *a, const struct reports_query *q,
                         struct buf *out, int64_t *rows, struct errbuf *eb)
{
    struct calls_settings cs;
    calls_settings_parse(a->settings, &cs, NULL);
    int rc = ERR_OK;
    for (size_t i = 0; i < ARRAY_SIZE(export_columns) && rc == ERR_OK; i++)
        rc = buf_addf(out, i ? ",%s" : "%s", export_columns[i]);
    rc = rc ? rc : csv_eol(out);
    struct export x = {q, &cs, out, 0, ERR_OK};
    if (rc == ERR_OK)
        rc = store_report_calls(app->store, a->id, q->since, q->until, export_call, &x);
    if (rc == ERR_OK)
        rc = x.rc;
    *rows = x.rows;
    if (rc == ERR_TOOBIG)
        return errf(eb, rc, NULL, "the export is too large: ask for a shorter range");
    if (rc)
        return errf(eb, ERR_BACKEND, NULL, "cannot read the calls");
    return ERR_OK;
}
