/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Reports and exports (Bearer key, account-scoped): GET /v1/reports/calls (calls grouped by
 * marketing dimensions) and the Google Ads conversion files GET /v1/exports/google-ads/
 * click-conversions.csv and call-conversions.csv. Parse the query -> stream the rows from the
 * store into report/ (grouping, CSV) -> reply. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/timefmt.h"
#include "base/xalloc.h"
#include "app/admin.h"
#include "app/app.h"
#include "app/calls.h"
#include "app/users.h"
#include "app/zones.h"
#include "app/pnl.h"
#include "app/reports.h"
#include "base/json.h"
#include "report/csv.h"
#include "report/gads.h"
#include "report/report.h"

#define DAY_MS ((int64_t)86400 * 1000)
#define DEFAULT_RANGE_MS (30 * DAY_MS)

/* ---- the query ---- */

struct range {
    int64_t since, until; /* since <= t < until */
};

/* A query value with '+' restored: the form decoding turns an unescaped '+' (as in "+01:00" or
 * "+0530") into a space, and none of these parameters can contain a space. */
static bool query_param(struct http_req *req, const char *name, char *out, size_t cap)
{
    if (!http_query(req, name, out, cap) || !out[0])
        return false;
    for (char *p = out; *p; p++)
        if (*p == ' ')
            *p = '+';
    return true;
}

/* RFC 3339 or a date, as GET /v1/calls: a date-only `until` means through the end of that day. */
static int parse_time_param(struct http_req *req, const char *name, bool end_of_day, int64_t *out)
{
    char v[64];
    if (!query_param(req, name, v, sizeof(v)))
        return ERR_NOTFOUND;
    if (time_parse(v, out) != ERR_OK)
        return errf(&req->eb, ERR_INVALID, name, "'%s' must be an RFC 3339 time or a date", name);
    if (end_of_day && strlen(v) == 10)
        *out += DAY_MS;
    return ERR_OK;
}

/* since/until, by default the 30 days before until (which defaults to now). */
static int parse_range_or(struct http_req *req, struct range *r, int64_t default_ms);

static int parse_range(struct http_req *req, struct range *r)
{
    return parse_range_or(req, r, DEFAULT_RANGE_MS);
}

/* since/until, by default the default_ms before now. */
static int parse_range_or(struct http_req *req, struct range *r, int64_t default_ms)
{
    int rc = parse_time_param(req, "until", true, &r->until);
    if (rc == ERR_NOTFOUND)
        r->until = time_now_ms();
    else if (rc)
        return rc;
    rc = parse_time_param(req, "since", false, &r->since);
    if (rc == ERR_NOTFOUND)
        r->since = r->until - default_ms;
    else if (rc)
        return rc;
    if (r->since >= r->until)
        return errf(&req->eb, ERR_INVALID, "since", "'since' must be before 'until'");
    return ERR_OK;
}

/* ---- GET /v1/reports/calls ---- */

/* lead_status=won,qualified: only calls with one of these lead statuses (absent: every call). */
static int parse_leads(struct http_req *req, unsigned *leads)
{
    char list[128];
    *leads = ~0u;
    if (!http_query(req, "lead_status", list, sizeof(list)))
        return ERR_OK;
    *leads = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned bit = reports_lead_bit(t);
        if (!bit)
            return errf(&req->eb, ERR_INVALID, "lead_status",
                        "'lead_status' must list new, qualified, won, lost or spam");
        *leads |= bit;
    }
    if (!*leads)
        return errf(&req->eb, ERR_INVALID, "lead_status", "'lead_status' is empty");
    return ERR_OK;
}

/* A cost figure: null when the report has no cost or the divisor is 0. */
static json_t *cost_or_null(bool costed, int64_t cost, int64_t n)
{
    int64_t v = report_cost_per(cost, n);
    return costed && v >= 0 ? json_integer((json_int_t)v) : json_null();
}

static json_t *counters_json(const struct report_row *row, bool costed, bool monthly)
{
    json_t *o =
        json_pack("{s:I,s:I,s:I,s:I,s:f,s:I,s:I,s:f,s:I}", "calls", (json_int_t)row->calls,
                  "answered", (json_int_t)row->answered, "qualified", (json_int_t)row->qualified,
                  "conversions", (json_int_t)row->conversions, "value", row->value, "avg_duration",
                  (json_int_t)report_avg_duration(row), "revenue", (json_int_t)row->revenue,
                  "avg_score", row->calls ? (double)row->score_sum / (double)row->calls : 0.0,
                  "number_cost", (json_int_t)row->number_cost);
    json_object_set_new(o, "number_monthly_cost",
                        monthly ? json_integer((json_int_t)row->number_monthly_cost) : json_null());
    json_object_set_new(o, "cost", costed ? json_integer((json_int_t)row->cost) : json_null());
    json_object_set_new(o, "cost_per_call", cost_or_null(costed, row->cost, row->calls));
    json_object_set_new(o, "cost_per_qualified", cost_or_null(costed, row->cost, row->qualified));
    json_object_set_new(o, "cost_per_conversion",
                        cost_or_null(costed, row->cost, row->conversions));
    json_object_set_new(o, "roas",
                        costed && row->cost > 0
                            ? json_real((double)row->revenue / (double)row->cost)
                            : json_null());
    return o;
}

static json_t *row_json(const struct report_dims *dims, const struct report_row *row,
                        const struct reports_info *info, bool ids)
{
    json_t *key = json_object();
    for (size_t i = 0; i < dims->n; i++)
        json_object_set_new(key, report_dim_name(dims->dim[i]), json_str_or_null(row->key[i]));
    json_t *o = json_pack("{s:o}", "key", key); /* the key first, for people reading it */
    json_t *counters = counters_json(row, info->costed, info->monthly);
    json_object_update(o, counters);
    json_decref(counters);
    if (ids) {
        json_t *arr = json_array();
        for (int64_t i = 0; i < row->calls; i++)
            json_array_append_new(arr, json_string(row->ids[i]));
        json_object_set_new(o, "call_ids", arr);
    }
    return o;
}

/* Adds a row's counters into the totals row. */
static void sum_into(struct report_row *t, const struct report_row *r)
{
    t->calls += r->calls;
    t->answered += r->answered;
    t->qualified += r->qualified;
    t->conversions += r->conversions;
    t->value += r->value;
    t->talk_s += r->talk_s;
    t->revenue += r->revenue;
    t->score_sum += r->score_sum;
    t->number_cost += r->number_cost;
    t->cost += r->cost;
    t->number_monthly_cost += r->number_monthly_cost;
}

static json_t *report_json(struct report *r, const struct report_dims *dims,
                           const struct range *range, const struct reports_info *info, bool ids)
{
    const struct report_row *const *rows;
    size_t n = report_rows(r, &rows);
    json_t *arr = json_array();
    struct report_row total = {0};
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, row_json(dims, rows[i], info, ids));
        sum_into(&total, rows[i]);
    }
    json_t *groups = json_array();
    for (size_t i = 0; i < dims->n; i++)
        json_array_append_new(groups, json_string(report_dim_name(dims->dim[i])));
    return json_pack("{s:o,s:o,s:o,s:s,s:o,s:o}", "rows", arr, "totals",
                     counters_json(&total, info->costed, info->monthly), "group_by", groups,
                     "currency", info->currency, "since", json_time(range->since), "until",
                     json_time(range->until));
}

/* An amount column: empty when null. */
static int csv_amount(struct buf *out, bool have, int64_t v)
{
    return have && v >= 0 ? buf_addf(out, ",%" PRId64, v) : buf_addc(out, ',');
}

/* The rows as CSV: one column per dimension (user-written values, neutralized), then the
 * counters. An empty field is a null key or figure. */
static int report_csv(struct report *r, const struct report_dims *dims,
                      const struct reports_info *info, struct buf *out)
{
    static const char *const counters[] = {"calls",
                                           "answered",
                                           "qualified",
                                           "conversions",
                                           "value",
                                           "avg_duration",
                                           "revenue",
                                           "avg_score",
                                           "number_cost",
                                           "cost",
                                           "cost_per_call",
                                           "cost_per_qualified",
                                           "cost_per_conversion",
                                           "roas"};
    int rc = ERR_OK;
    for (size_t i = 0; i < dims->n && rc == ERR_OK; i++)
        rc = buf_addf(out, "%s,", report_dim_name(dims->dim[i]));
    for (size_t i = 0; i < ARRAY_SIZE(counters) && rc == ERR_OK; i++)
        rc = buf_addf(out, i ? ",%s" : "%s", counters[i]);
    rc = rc == ERR_OK ? csv_eol(out) : rc;
    const struct report_row *const *rows;
    size_t n = report_rows(r, &rows);
    bool c = info->costed;
    for (size_t i = 0; i < n && rc == ERR_OK; i++) {
        const struct report_row *w = rows[i];
        for (size_t k = 0; k < w->n_keys && rc == ERR_OK; k++)
            rc = csv_text(out, w->key[k]) == ERR_OK ? csv_sep(out) : ERR_TOOBIG;
        if (rc == ERR_OK)
            rc = buf_addf(out,
                          "%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%.2f,%" PRId64
                          ",%" PRId64 ",%.2f,%" PRId64,
                          w->calls, w->answered, w->qualified, w->conversions, w->value,
                          report_avg_duration(w), w->revenue,
                          w->calls ? (double)w->score_sum / (double)w->calls : 0.0, w->number_cost);
        if (rc == ERR_OK)
            rc = csv_amount(out, c, w->cost);
        if (rc == ERR_OK)
            rc = csv_amount(out, c, report_cost_per(w->cost, w->calls));
        if (rc == ERR_OK)
            rc = csv_amount(out, c, report_cost_per(w->cost, w->qualified));
        if (rc == ERR_OK)
            rc = csv_amount(out, c, report_cost_per(w->cost, w->conversions));
        if (rc == ERR_OK)
            rc = c && w->cost > 0 ? buf_addf(out, ",%.4f", (double)w->revenue / (double)w->cost)
                                  : buf_addc(out, ',');
        rc = rc == ERR_OK ? csv_eol(out) : rc;
    }
    return rc;
}

/* format=json (default) or format=csv. */
static int parse_format(struct http_req *req, bool *csv)
{
    char v[16];
    *csv = false;
    if (!http_query(req, "format", v, sizeof(v)) || !v[0] || strcmp(v, "json") == 0)
        return ERR_OK;
    if (strcmp(v, "csv") != 0)
        return errf(&req->eb, ERR_INVALID, "format", "'format' must be json or csv");
    *csv = true;
    return ERR_OK;
}

/* include=call_ids: each row lists the API ids of the calls it counts. */
static int parse_include(struct http_req *req, bool *ids)
{
    char v[32];
    *ids = false;
    if (!http_query(req, "include", v, sizeof(v)) || !v[0])
        return ERR_OK;
    if (strcmp(v, "call_ids") != 0)
        return errf(&req->eb, ERR_INVALID, "include", "'include' must be call_ids");
    *ids = true;
    return ERR_OK;
}

static int parse_report(struct http_req *req, struct report_dims *dims, struct range *range,
                        struct reports_query *q, bool *csv, bool *ids)
{
    char list[256] = "";
    if (http_query(req, "group_by", list, sizeof(list)) && strlen(list) >= sizeof(list) - 1)
        return errf(&req->eb, ERR_INVALID, "group_by", "'group_by' is too long");
    int rc = report_dims_parse(list, dims, &req->eb);
    if (rc == ERR_OK)
        rc = parse_range(req, range);
    if (rc == ERR_OK)
        rc = parse_format(req, csv);
    if (rc == ERR_OK)
        rc = parse_include(req, ids);
    if (rc == ERR_OK)
        rc = parse_leads(req, &q->leads);
    char v[32];
    struct gads_tz tz;
    if (rc == ERR_OK)
        /* a fixed offset: the day and hour keys are cut at one offset for the whole range */
        rc = gads_tz_parse(query_param(req, "tz", v, sizeof(v)) ? v : NULL, NULL, &tz, &req->eb);
    q->since = range->since;
    q->until = range->until;
    q->tz_offset_min = tz.offset_min;
    return rc;
}

int h_report_calls(struct http_req *req, struct http_resp *resp)
{
    struct report_dims dims;
    struct range range;
    struct reports_query q = {0};
    bool csv = false, ids = false;
    int rc = parse_report(req, &dims, &range, &q, &csv, &ids);
    if (rc)
        return rc;
    struct report *r = report_new(&dims, reports_min_duration(&req->account));
    if (ids)
        report_keep_ids(r);
    struct reports_info info;
    rc = reports_calls(req->app, &req->account, &dims, &q, r, &info, &req->eb);
    if (rc == ERR_OK && !csv) {
        resp->content_type = "application/json";
        rc = json_dump_take(report_json(r, &dims, &range, &info, ids), &resp->body);
    } else if (rc == ERR_OK) {
        resp->content_type = "text/csv; charset=utf-8";
        http_header(resp, "Content-Disposition", "attachment; filename=\"calls-report.csv\"");
        rc = report_csv(r, &dims, &info, &resp->body);
    }
    report_free(r);
    return rc;
}

/* ---- GET /v1/reports/pnl ---- */

int h_report_pnl(struct http_req *req, struct http_resp *resp)
{
    char list[128] = "";
    if (http_query(req, "group_by", list, sizeof(list)) && strlen(list) >= sizeof(list) - 1)
        return errf(&req->eb, ERR_INVALID, "group_by", "'group_by' is too long");
    struct pnl_dims dims;
    struct range range;
    bool ids = false;
    int rc = pnl_dims_parse(list, &dims, &req->eb);
    if (rc == ERR_OK)
        rc = parse_range(req, &range);
    if (rc == ERR_OK)
        rc = parse_include(req, &ids);
    char v[32];
    struct gads_tz tz;
    if (rc == ERR_OK)
        rc = gads_tz_parse(query_param(req, "tz", v, sizeof(v)) ? v : NULL, NULL, &tz, &req->eb);
    if (rc)
        return rc;
    struct pnl_query q = {.since = range.since,
                          .until = range.until,
                          .tz_offset_min = tz.offset_min,
                          .call_ids = ids};
    json_t *out = NULL;
    rc = pnl_report(req->app, &req->account, &dims, &q, &out, &req->eb);
    if (rc)
        return rc;
    resp->content_type = "application/json";
    return json_dump_take(out, &resp->body);
}

/* ---- GET /v1/app/rollup: an owner's accounts side by side ---- */

#define ROLLUP_MAX 500 /* accounts in one roll-up */

struct owned {
    int64_t id[ROLLUP_MAX];
    size_t n;
};

/* Collects the accounts the user owns (read first, so no store read nests in the listing). */
static int add_owned(void *ctx, const struct st_membership *m)
{
    struct owned *o = ctx;
    if (access_role_parse(m->role) == ACCESS_OWNER && o->n < ROLLUP_MAX)
        o->id[o->n++] = m->account_id;
    return 0;
}

/* One account's totals over the range (the report without grouping), as an object, or NULL
 * with *rc set (ERR_NOTFOUND: the account went away meanwhile; skip it). */
static json_t *rollup_account(struct http_req *req, int64_t id, const struct range *range, int *rc)
{
    struct st_account a;
    struct report_dims dims;
    *rc = admin_account_by_id(req->app, id, &a);
    if (*rc == ERR_OK)
        *rc = report_dims_parse("", &dims, &req->eb);
    if (*rc)
        return NULL;
    struct report *r = report_new(&dims, reports_min_duration(&a));
    struct reports_query q = {.since = range->since, .until = range->until, .leads = ~0u};
    struct reports_info info;
    *rc = reports_calls(req->app, &a, &dims, &q, r, &info, &req->eb);
    const struct report_row *const *rows;
    struct report_row total = {0};
    size_t n = *rc == ERR_OK ? report_rows(r, &rows) : 0;
    for (size_t i = 0; i < n; i++)
        sum_into(&total, rows[i]);
    report_free(r);
    if (*rc)
        return NULL;
    json_t *o = json_pack("{s:s,s:s}", "id", a.ext_id, "name", a.name);
    json_t *counters = counters_json(&total, info.costed, info.monthly);
    json_object_update(o, counters);
    json_decref(counters);
    return o;
}

/* GET /v1/app/rollup?since=&until=: for a dashboard session, the totals (calls, answered,
 * qualified, conversions, value, avg_duration) of every account the user owns, over the range
 * (as GET /v1/reports/calls), by account id. Owners are analysts and more in those accounts, so
 * money is shown; accounts where the user holds a lesser role are not listed. */
int h_app_rollup(struct http_req *req, struct http_resp *resp)
{
    struct range range;
    int rc = parse_range(req, &range);
    if (rc)
        return rc;
    struct owned *owned = xcalloc(1, sizeof(*owned));
    rc = users_memberships(req->app, req->session.row.user_id, add_owned, owned);
    json_t *rows = json_array();
    for (size_t i = 0; i < owned->n && rc == ERR_OK; i++) {
        json_t *o = rollup_account(req, owned->id[i], &range, &rc);
        if (o)
            json_array_append_new(rows, o);
        else if (rc == ERR_NOTFOUND)
            rc = ERR_OK;
    }
    free(owned);
    if (rc) {
        json_decref(rows);
        return errf(&req->eb, rc, NULL, "cannot read the calls");
    }
    resp->content_type = "application/json";
    return json_dump_take(json_pack("{s:o,s:o,s:o}", "accounts", rows, "since",
                                    json_time(range.since), "until", json_time(range.until)),
                          &resp->body);
}

/* ---- Google Ads exports ---- */

struct export
{
    struct gads_tz tz;
    enum gads_id id;           /* click file: the id column */
    char name[STORE_NAME_MAX]; /* every row's Conversion Name */
    struct calls_settings cs;  /* the account's conversion rule */
    struct buf *out;
    bool msads;               /* Microsoft Advertising's file (msclkid) instead of Google's */
    int64_t default_range_ms; /* without since/until: this long before now */
    int64_t rows, skipped, filtered;
    int rc;
};

static int parse_export(struct http_req *req, struct export *x, struct range *range)
{
    char v[STORE_NAME_MAX * 2];
    const char *tz = query_param(req, "tz", v, sizeof(v)) ? v : NULL;
    int rc = gads_tz_parse(tz, zones_get, &x->tz, &req->eb);
    if (rc == ERR_OK && x->msads && x->tz.zone)
        rc = errf(&req->eb, ERR_INVALID, "tz",
                  "Microsoft Advertising's file takes a fixed offset (tz=-0500) or UTC, not a "
                  "zone name");
    if (rc == ERR_OK && !x->msads)
        rc = gads_id_parse(http_query(req, "id", v, sizeof(v)) ? v : NULL, &x->id, &req->eb);
    /* A stable Conversion Name: the one asked for, else the rule's Google Ads action name,
     * else the rule's name as it is now (not each conversion's name when it was recorded). */
    calls_settings_parse(req->account.settings, &x->cs, NULL);
    snprintf(x->name, sizeof(x->name), "%s", x->cs.gads_name[0] ? x->cs.gads_name : x->cs.name);
    if (rc == ERR_OK && http_query(req, "conversion_name", v, sizeof(v))) {
        if (strlen(v) >= sizeof(x->name))
            rc = errf(&req->eb, ERR_INVALID, "conversion_name",
                      "'conversion_name' must be at most %zu bytes", sizeof(x->name) - 1);
        else
            snprintf(x->name, sizeof(x->name), "%s", v);
    }
    return rc == ERR_OK ? parse_range_or(req, range, x->default_range_ms) : rc;
}

static struct gads_conversion conversion_of(const struct export *x,
                                            const struct st_report_conversion *cv)
{
    return (struct gads_conversion){.caller = cv->from,
                                    .call_started_at = cv->call_started_at,
                                    .name = x->name,
                                    .at = cv->at,
                                    /* recorded without a value: the rule's default value */
                                    .value = cv->value > 0 ? cv->value : x->cs.rules.value,
                                    .currency = cv->currency};
}

/* Whether the rule sends this conversion to Google Ads: its call's attribution is trusted
 * enough (method and confidence), and its click is at most 90 days older than it. */
static bool click_wanted(const struct export *x, const struct st_report_conversion *cv)
{
    return calls_gads_click_wanted(&x->cs, cv->method, cv->confidence, cv->click_at, cv->at);
}

/* Rows the file cannot carry (no valid id of this file's kind, a caller that is not E.164) are
 * counted in X-Skipped-Rows rather than dropped silently. */
/* Microsoft Advertising: the session's msclkid, under the same rule as Google's clicks. */
static int add_msads_row(void *ctx, const struct st_report_conversion *cv)
{
    struct export *x = ctx;
    if (!gads_click_id_valid(cv->msclkid)) {
        x->skipped += cv->msclkid[0] != '\0';
        return 0;
    }
    if (!click_wanted(x, cv)) {
        x->filtered++;
        return 0;
    }
    struct gads_conversion c = conversion_of(x, cv);
    c.click_id = cv->msclkid;
    x->rc = gads_click_row(x->out, &x->tz, &c);
    x->rows++;
    return x->rc;
}

static int add_click_row(void *ctx, const struct st_report_conversion *cv)
{
    struct export *x = ctx;
    int pick = gads_pick_id(cv->gclid, cv->gbraid, cv->wbraid);
    if (pick != (int)x->id) {
        x->skipped += pick < 0; /* conversions with another kind of id are in another file */
        return 0;
    }
    if (!click_wanted(x, cv)) {
        x->filtered++;
        return 0;
    }
    const char *ids[] = {
        [GADS_GCLID] = cv->gclid, [GADS_GBRAID] = cv->gbraid, [GADS_WBRAID] = cv->wbraid};
    struct gads_conversion c = conversion_of(x, cv);
    c.click_id = ids[x->id];
    x->rc = gads_click_row(x->out, &x->tz, &c);
    x->rows++;
    return x->rc;
}

static int add_call_row(void *ctx, const struct st_report_conversion *cv)
{
    struct export *x = ctx;
    struct gads_conversion c = conversion_of(x, cv);
    int rc = gads_call_row(x->out, &x->tz, &c);
    if (rc == ERR_INVALID) {
        x->skipped++;
        return 0;
    }
    x->rc = rc;
    x->rows++;
    return rc;
}

static int write_export(struct http_req *req, struct http_resp *resp, struct export *x,
                        const struct range *range, bool click)
{
    int rc = x->msads ? gads_msads_header(&resp->body, &x->tz)
             : click  ? gads_click_header(&resp->body, &x->tz, x->id)
                      : gads_call_header(&resp->body, &x->tz);
    store_report_conversion_fn each = x->msads ? add_msads_row
                                      : click  ? add_click_row
                                               : add_call_row;
    if (rc == ERR_OK)
        rc = admin_report_conversions(req->app, req->account.id, range->since, range->until, each,
                                      x);
    if (rc == ERR_OK)
        rc = x->rc;
    if (rc)
        return errf(&req->eb, rc, NULL, "cannot export the conversions");
    static const char *const files[] = {"click-conversions", "click-conversions-gbraid",
                                        "click-conversions-wbraid"};
    resp->content_type = "text/csv; charset=utf-8";
    http_header(resp, "Content-Disposition", "attachment; filename=\"%s.csv\"",
                x->msads ? "microsoft-ads-conversions"
                : click  ? files[x->id]
                         : "call-conversions");
    http_header(resp, "Cache-Control", "no-store");
    http_header(resp, "X-Exported-Rows", "%" PRId64, x->rows);
    http_header(resp, "X-Skipped-Rows", "%" PRId64, x->skipped);
    http_header(resp, "X-Filtered-Rows", "%" PRId64, x->filtered);
    return ERR_OK;
}

static int export_csv(struct http_req *req, struct http_resp *resp, bool click,
                      int64_t default_range_ms)
{
    struct export x = {.out = &resp->body, .default_range_ms = default_range_ms};
    struct range range;
    int rc = parse_export(req, &x, &range);
    if (rc == ERR_OK)
        rc = write_export(req, resp, &x, &range, click);
    return rc;
}

int h_export_click_conversions(struct http_req *req, struct http_resp *resp)
{
    return export_csv(req, resp, true, DEFAULT_RANGE_MS);
}

int h_export_call_conversions(struct http_req *req, struct http_resp *resp)
{
    return export_csv(req, resp, false, DEFAULT_RANGE_MS);
}

int h_export_msads_conversions(struct http_req *req, struct http_resp *resp)
{
    struct export x = {.out = &resp->body, .default_range_ms = DEFAULT_RANGE_MS, .msads = true};
    struct range range;
    int rc = parse_export(req, &x, &range);
    if (rc == ERR_OK)
        rc = write_export(req, resp, &x, &range, true);
    return rc;
}

/* ---- the Google Ads scheduled-import feed ---- */

int h_feed_create(struct http_req *req, struct http_resp *resp)
{
    char id[ADMIN_FEED_ID_MAX];
    char password[ADMIN_FEED_PASSWORD_MAX];
    int rc = admin_feed_create(req->app, req->account.id, id, password);
    if (rc)
        return errf(&req->eb, rc, NULL, "cannot create the feed credential");
    char url[512];
    snprintf(url, sizeof(url), "%s/v1/feeds/google-ads/click-conversions.csv",
             req->app->public_url);
    json_t *v = json_pack("{s:s,s:s,s:s,s:s}", "url", url, "auth", "basic", "username", id,
                          "password", password); /* the password is shown this once */
    resp->status = 201;
    resp->content_type = "application/json";
    http_header(resp, "Cache-Control", "no-store");
    return v ? json_dump_take(v, &resp->body) : ERR_NOMEM;
}

int h_feed_delete(struct http_req *req, struct http_resp *resp)
{
    int rc = admin_feed_delete(req->app, req->account.id);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "this account has no feed credential");
    if (rc)
        return errf(&req->eb, rc, NULL, "cannot revoke the feed credential");
    resp->status = 204;
    return ERR_OK;
}

static int b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Decodes standard base64 (padding optional) into out (cap bytes, NUL-terminated).
 * ERR_INVALID for bad input or an output that does not fit or holds a NUL. */
static int b64_decode(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (const char *p = in; *p && *p != '='; p++) {
        int v = b64_value(*p);
        if (v < 0)
            return ERR_INVALID;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char ch = (char)((acc >> bits) & 0xff);
            if (ch == '\0' || n + 1 >= cap)
                return ERR_INVALID;
            out[n++] = ch;
        }
    }
    out[n] = '\0';
    return ERR_OK;
}

/* HTTP Basic credentials of the request. ERR_AUTH when absent or malformed. */
static int basic_credentials(const struct http_req *req, char *user, size_t user_cap,
                             const char **password, char *buf, size_t cap)
{
    const char *h = req->h_auth;
    if (!h || strncasecmp(h, "Basic ", 6) != 0 || b64_decode(h + 6, buf, cap) != ERR_OK)
        return ERR_AUTH;
    char *colon = strchr(buf, ':');
    if (!colon || (size_t)(colon - buf) >= user_cap)
        return ERR_AUTH;
    size_t n = (size_t)(colon - buf);
    memcpy(user, buf, n);
    user[n] = '\0';
    *password = colon + 1;
    return ERR_OK;
}

#define FEED_RANGE_MS (90 * DAY_MS) /* Google Ads takes clicks up to 90 days old */

int h_feed_click_conversions(struct http_req *req, struct http_resp *resp)
{
    char user[ADMIN_FEED_ID_MAX];
    char buf[256];
    const char *password = NULL;
    int rc = basic_credentials(req, user, sizeof(user), &password, buf, sizeof(buf));
    if (rc == ERR_OK)
        rc = admin_feed_auth(req->app, user, password, &req->account);
    if (rc == ERR_AUTH) {
        http_header(resp, "WWW-Authenticate", "Basic realm=\"opendni feed\", charset=\"UTF-8\"");
        return errf(&req->eb, rc, NULL, "missing or wrong feed credential");
    }
    if (rc)
        return errf(&req->eb, rc, NULL, "cannot check the feed credential");
    return export_csv(req, resp, true, FEED_RANGE_MS);
}

/* ---- ad spend: POST /v1/spend, GET /v1/spend ---- */

/* A true/false query flag (absent: false). */
static int parse_flag(struct http_req *req, const char *name, bool *out)
{
    char v[8];
    *out = false;
    if (!http_query(req, name, v, sizeof(v)) || !v[0] || strcmp(v, "false") == 0 ||
        strcmp(v, "0") == 0)
        return ERR_OK;
    if (strcmp(v, "true") != 0 && strcmp(v, "1") != 0)
        return errf(&req->eb, ERR_INVALID, name, "'%s' must be true or false", name);
    *out = true;
    return ERR_OK;
}

int h_spend_import(struct http_req *req, struct http_resp *resp)
{
    char v[32];
    enum spend_platform p;
    bool preview, skip_bad;
    int rc =
        spend_platform_parse(http_query(req, "platform", v, sizeof(v)) ? v : NULL, &p, &req->eb);
    if (rc == ERR_OK)
        rc = parse_flag(req, "preview", &preview);
    if (rc == ERR_OK)
        rc = parse_flag(req, "skip_bad_rows", &skip_bad);
    char cur[8] = "";
    if (rc == ERR_OK && http_query(req, "currency", cur, sizeof(cur)) && cur[0] &&
        (strlen(cur) != 3 || strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3))
        rc = errf(&req->eb, ERR_INVALID, "currency", "'currency' must be an ISO 4217 code (USD)");
    if (rc)
        return rc;
    json_t *out = NULL;
    bool bad = false;
    rc = reports_spend_import(req->app, &req->account, p, req->body.data, req->body.len, cur,
                              preview, skip_bad, time_now_ms(), &out, &bad, &req->eb);
    if (rc)
        return rc;
    if (bad) { /* row errors: nothing imported; the answer names each */
        resp->status = 422;
        json_object_set_new(out, "error",
                            json_pack("{s:s,s:s,s:n}", "code", "invalid", "message",
                                      "the file has rows with errors: nothing was imported "
                                      "(fix them, or import the good rows with "
                                      "skip_bad_rows=true)",
                                      "field"));
    }
    resp->content_type = "application/json";
    return json_dump_take(out, &resp->body);
}

int h_spend_list(struct http_req *req, struct http_resp *resp)
{
    struct range range;
    int rc = parse_range(req, &range);
    if (rc)
        return rc;
    char since_day[11], until_day[11];
    reports_day(range.since + DAY_MS - 1, 0, since_day);
    reports_day(range.until + DAY_MS - 1, 0, until_day);
    json_t *out = NULL;
    rc = reports_spend_list(req->app, req->account.id, since_day, until_day, &out, &req->eb);
    if (rc)
        return rc;
    resp->content_type = "application/json";
    return json_dump_take(out, &resp->body);
}

/* ---- GET /v1/reports/funnel, GET /v1/reports/cohorts ---- */

int h_report_funnel(struct http_req *req, struct http_resp *resp)
{
    struct range range;
    enum reports_funnel_by by;
    char v[32] = "";
    http_query(req, "group_by", v, sizeof(v));
    bool ids = false;
    int rc = reports_funnel_parse(v, &by, &req->eb);
    if (rc == ERR_OK)
        rc = parse_range(req, &range);
    if (rc == ERR_OK)
        rc = parse_include(req, &ids);
    json_t *out = NULL;
    if (rc == ERR_OK)
        rc = reports_funnel(req->app, &req->account, range.since, range.until, by, ids, &out,
                            &req->eb);
    if (rc)
        return rc;
    resp->content_type = "application/json";
    return json_dump_take(out, &resp->body);
}

int h_report_cohorts(struct http_req *req, struct http_resp *resp)
{
    struct range range;
    char v[16];
    long weeks = 8;
    if (http_query(req, "weeks", v, sizeof(v)) && v[0]) {
        char *end;
        weeks = strtol(v, &end, 10);
        if (*end || weeks < 1 || weeks > REPORTS_MAX_WEEKS)
            return errf(&req->eb, ERR_INVALID, "weeks", "'weeks' must be 1 to %d",
                        REPORTS_MAX_WEEKS);
    }
    bool ids = false;
    int rc = parse_range(req, &range);
    if (rc == ERR_OK)
        rc = parse_include(req, &ids);
    json_t *out = NULL;
    if (rc == ERR_OK)
        rc = reports_cohorts(req->app, &req->account, range.since, range.until, (int)weeks, ids,
                             &out, &req->eb);
    if (rc)
        return rc;
    resp->content_type = "application/json";
    return json_dump_take(out, &resp->body);
}

/* ---- GET /v1/exports/calls.csv ---- */

int h_export_calls(struct http_req *req, struct http_resp *resp)
{
    struct range range;
    struct reports_query q = {0};
    int rc = parse_range(req, &range);
    if (rc == ERR_OK)
        rc = parse_leads(req, &q.leads);
    if (rc)
        return rc;
    q.since = range.since;
    q.until = range.until;
    int64_t rows = 0;
    rc = reports_export_calls(req->app, &req->account, &q, &resp->body, &rows, &req->eb);
    if (rc)
        return rc;
    resp->content_type = "text/csv; charset=utf-8";
    http_header(resp, "Content-Disposition", "attachment; filename=\"calls.csv\"");
    http_header(resp, "Cache-Control", "no-store");
    http_header(resp, "X-Exported-Rows", "%" PRId64, rows);
    return ERR_OK;
}
