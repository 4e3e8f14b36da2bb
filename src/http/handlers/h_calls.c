/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The calls API (Bearer key, account-scoped): GET /v1/calls?since=&until=&limit=&cursor=,
 * GET /v1/calls/{id} and PATCH /v1/calls/{id} (the call's outcome: app/outcomes.h). Lists run in
 * (started_at, id) order with an opaque keyset cursor, so a client can page through while calls
 * keep arriving; the objects come from calls_json. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include <errno.h>
#include <inttypes.h>

#include "base/timefmt.h"
#include "app/admin.h"
#include "app/app.h"
#include "app/pnl.h"
#include "app/calls.h"
#include "app/outcomes.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "report/csv.h"
#include "report/report.h"

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 500
#define DAY_MS ((int64_t)86400 * 1000)
#define SCAN_MAX 5000  /* rows a filtered page reads at most */
#define CSV_MAX 100000 /* calls in one CSV answer (X-Next-Cursor continues) */

/* What a list keeps (GET /v1/calls filters; each absent field keeps every call). */
struct call_filter {
    bool any;                                                   /* at least one filter is given */
    const char *channel, *source, *medium, *campaign, *keyword; /* exact, borrowed from query */
    unsigned methods;                                           /* bit per METHODS entry; 0 all */
    int qualified;  /* -1 any, 0 not qualified, 1 qualified */
    int first_time; /* -1 any, 0 repeat callers, 1 first-time callers */
    const char *from;
    int64_t min_duration_s; /* the account's qualified rule */
};

struct list_query {
    int64_t since, until;
    int64_t after_at, after_id;
    long long limit;
    bool csv;
    struct call_filter f;
    char text[6][STORE_TEXT_MAX]; /* the filter strings (f points here) */
};

static const char *const METHODS[] = {"exact",  "shared", "late",
                                      "source", "repeat", "unattributed"};

/* A date-only `until` ("2026-11-26") means through the end of that day. */
static int parse_time_param(struct http_req *req, const char *name, bool end_of_day, int64_t *out)
{
    char v[64];
    if (!http_query(req, name, v, sizeof(v)) || !v[0])
        return ERR_OK;
    if (time_parse(v, out) != ERR_OK)
        return errf(&req->eb, ERR_INVALID, name, "'%s' must be an RFC 3339 time or a date", name);
    if (end_of_day && strlen(v) == 10)
        *out += DAY_MS;
    return ERR_OK;
}

static int parse_cursor(struct http_req *req, struct list_query *q)
{
    char v[64];
    if (!http_query(req, "cursor", v, sizeof(v)) || !v[0])
        return ERR_OK;
    if (!admin_cursor_parse(v, &q->after_at, &q->after_id))
        return errf(&req->eb, ERR_INVALID, "cursor", "'cursor' is not a cursor this API gave");
    return ERR_OK;
}

static int parse_limit(struct http_req *req, struct list_query *q)
{
    char v[32];
    if (!http_query(req, "limit", v, sizeof(v)))
        return ERR_OK;
    char *end;
    errno = 0;
    q->limit = strtoll(v, &end, 10);
    if (errno || end == v || *end || q->limit < 1 || q->limit > MAX_LIMIT)
        return errf(&req->eb, ERR_INVALID, "limit", "'limit' must be 1 to %d", MAX_LIMIT);
    return ERR_OK;
}

/* name=true|false into *out (-1 when absent). */
static int parse_bool_filter(struct http_req *req, const char *name, int *out, bool *any)
{
    char v[16];
    *out = -1;
    if (!http_query(req, name, v, sizeof(v)) || !v[0])
        return ERR_OK;
    if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
        return errf(&req->eb, ERR_INVALID, name, "'%s' must be true or false", name);
    *out = v[0] == 't';
    *any = true;
    return ERR_OK;
}

/* method=exact,late: a comma list of attribution methods. */
static int parse_methods(struct http_req *req, struct call_filter *f)
{
    char list[128];
    if (!http_query(req, "method", list, sizeof(list)) || !list[0])
        return ERR_OK;
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < ARRAY_SIZE(METHODS) && strcmp(t, METHODS[i]) != 0)
            i++;
        if (i == ARRAY_SIZE(METHODS))
            return errf(&req->eb, ERR_INVALID, "method",
                        "'method' must list exact, shared, late, source, repeat or unattributed");
        f->methods |= 1u << i;
    }
    f->any = true;
    return ERR_OK;
}

/* The exact-match text filters: channel, source, medium, campaign, keyword, from. */
static int parse_text_filters(struct http_req *req, struct list_query *q)
{
    static const char *const names[] = {"channel",  "source",  "medium",
                                        "campaign", "keyword", "from"};
    const char **dst[] = {&q->f.channel,  &q->f.source,  &q->f.medium,
                          &q->f.campaign, &q->f.keyword, &q->f.from};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        char *v = q->text[i];
        if (!http_query(req, names[i], v, STORE_TEXT_MAX) || !v[0])
            continue;
        if (strlen(v) >= STORE_TEXT_MAX - 1)
            return errf(&req->eb, ERR_INVALID, names[i], "'%s' is too long", names[i]);
        *dst[i] = v;
        q->f.any = true;
    }
    /* the full caller number is analyst+: a viewer may not find calls by it either */
    if (q->f.from && req->session.row.id && !access_allows(req->session.role, ACCESS_ANALYST))
        return errf(&req->eb, ERR_FORBIDDEN, "from", "filtering by caller needs the analyst role");
    return ERR_OK;
}

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

static int parse_filters(struct http_req *req, struct list_query *q)
{
    q->f.qualified = q->f.first_time = -1;
    int rc = parse_text_filters(req, q);
    if (rc == ERR_OK)
        rc = parse_methods(req, &q->f);
    if (rc == ERR_OK)
        rc = parse_bool_filter(req, "qualified", &q->f.qualified, &q->f.any);
    if (rc == ERR_OK)
        rc = parse_bool_filter(req, "first_time", &q->f.first_time, &q->f.any);
    if (rc == ERR_OK) { /* the qualified filter and the CSV's qualified column */
        struct calls_settings cs;
        calls_settings_parse(req->account.settings, &cs, NULL);
        q->f.min_duration_s = cs.rules.min_duration_s;
    }
    return rc == ERR_OK ? parse_format(req, &q->csv) : rc;
}

static int parse_list(struct http_req *req, struct list_query *q)
{
    memset(q, 0, sizeof(*q));
    q->since = INT64_MIN;
    q->until = INT64_MAX;
    q->after_at = INT64_MIN;
    q->limit = DEFAULT_LIMIT;
    int rc = parse_time_param(req, "since", false, &q->since);
    if (rc == ERR_OK)
        rc = parse_time_param(req, "until", true, &q->until);
    if (rc == ERR_OK && q->since >= q->until) /* as the reports say */
        rc = errf(&req->eb, ERR_INVALID, "since", "'since' must be before 'until'");
    if (rc == ERR_OK)
        rc = parse_limit(req, q);
    if (rc == ERR_OK)
        rc = parse_cursor(req, q);
    return rc == ERR_OK ? parse_filters(req, q) : rc;
}

static bool text_is(const char *want, const char *have)
{
    return !want || strcmp(want, have) == 0;
}

/* Whether c passes the filter; the first-time check (a store read) runs last. */
static bool call_matches(struct app *app, const struct call_filter *f, const struct st_call *c)
{
    if (!text_is(f->channel, c->channel) || !text_is(f->source, c->source) ||
        !text_is(f->medium, c->medium) || !text_is(f->campaign, c->campaign) ||
        !text_is(f->keyword, c->keyword) || !text_is(f->from, c->from))
        return false;
    if (f->methods) {
        size_t i = 0;
        while (i < ARRAY_SIZE(METHODS) && strcmp(c->method, METHODS[i]) != 0)
            i++;
        if (i == ARRAY_SIZE(METHODS) || !(f->methods & (1u << i)))
            return false;
    }
    if (f->qualified >= 0 &&
        report_qualified(c->status, c->duration_s, f->min_duration_s) != (f->qualified == 1))
        return false;
    return f->first_time < 0 || calls_first_time(app, c) == f->first_time;
}

/* ---- the page (JSON) or the file (CSV) ---- */

struct page {
    const struct http_req *req;
    const struct list_query *q;
    json_t *calls;   /* JSON */
    struct buf *csv; /* CSV */
    long long limit; /* calls in the answer */
    long long n;     /* calls added */
    long long seen;  /* rows the store gave */
    bool more;       /* a matching row past the page exists */
    int rc;
    char next[64];    /* the cursor after the last call added */
    char scanned[64]; /* the cursor after the last row seen */
};

/* One call as a CSV row (CSV_HEADER's columns); user-written fields neutralized; the caller
 * masked as calls_mask_json masks it for a role below analyst. */
#define CSV_HEADER                                                                                 \
    "id,started_at,caller,tracking_number,status,duration,first_time,qualified,method,"            \
    "confidence,channel,source,medium,campaign,keyword"
static int csv_call(struct page *p, const struct st_call *c)
{
    struct buf *b = p->csv;
    char at[40], from[STORE_PARTY_MAX + 16], num[64];
    time_format(c->started_at, at);
    snprintf(from, sizeof(from), "%s", c->from);
    json_t *masked = json_pack("{s:s}", "from", c->from);
    if (masked && p->req->session.row.id && !access_allows(p->req->session.role, ACCESS_ANALYST)) {
        calls_mask_json(masked);
        snprintf(from, sizeof(from), "%s", json_string_value(json_object_get(masked, "from")));
    }
    json_decref(masked);
    int ft = calls_first_time(p->req->app, c);
    bool q = report_qualified(c->status, c->duration_s, p->q->f.min_duration_s);
    int rc = csv_value(b, c->ext_id);
    const char *values[] = {at, NULL, c->to, c->status};
    /* an E.164 caller (masked or not) is written as it is, like the exports' numbers; anything
     * else a provider sent is user-written text */
    bool e164 =
        c->from[0] == '+' && c->from[1] && strspn(c->from + 1, "0123456789") == strlen(c->from + 1);
    for (size_t i = 0; i < ARRAY_SIZE(values) && rc == ERR_OK; i++) {
        if (csv_sep(b))
            rc = ERR_TOOBIG;
        else if (i == 1)
            rc = e164 ? csv_value(b, from) : csv_text(b, from);
        else
            rc = csv_value(b, values[i]);
    }
    snprintf(num, sizeof(num), ",%" PRId64 ",%s,%s,", c->duration_s,
             ft < 0 ? ""
             : ft   ? "true"
                    : "false",
             q ? "true" : "false");
    rc = rc ? rc : buf_add(b, num, strlen(num));
    rc = rc ? rc : csv_value(b, c->method);
    snprintf(num, sizeof(num), ",%.4f", c->confidence);
    rc = rc ? rc : buf_add(b, num, strlen(num));
    const char *texts[] = {c->channel, c->source, c->medium, c->campaign, c->keyword};
    for (size_t i = 0; i < ARRAY_SIZE(texts) && rc == ERR_OK; i++)
        rc = csv_sep(b) ? ERR_TOOBIG : csv_text(b, texts[i][0] ? texts[i] : NULL);
    return rc ? rc : csv_eol(b);
}

static int add_call(void *arg, const struct st_call *c)
{
    struct page *p = arg;
    p->seen++;
    admin_cursor_format(c->started_at, c->id, p->scanned, sizeof(p->scanned));
    if (p->q->f.any && !call_matches(p->req->app, &p->q->f, c))
        return 0;
    if (p->n == p->limit) {
        p->more = true; /* the page gets a cursor */
        return 1;
    }
    if (p->csv) {
        p->rc = csv_call(p, c);
        if (p->rc)
            return 1;
    } else {
        json_t *call = calls_json(p->req->app, c);
        h_app_redact_call(p->req, call);
        json_array_append_new(p->calls, call);
    }
    admin_cursor_format(c->started_at, c->id, p->next, sizeof(p->next));
    p->n++;
    return 0;
}

/* Fills the page. Without filters the store reads limit + 1 rows; with filters it reads at most
 * SCAN_MAX rows past the cursor (a CSV: ten times CSV_MAX), and a page that ran out of them before
 * it was full ends with the cursor of the last row read (so a page may hold fewer calls than limit,
 * even none, and next_cursor still continues: null only at the end). */
static int fill_page(struct http_req *req, const struct list_query *q, struct page *p)
{
    size_t scan = q->csv ? (size_t)CSV_MAX * 10 : (size_t)SCAN_MAX;
    size_t max = q->f.any ? scan : (size_t)p->limit + 1;
    int rc = admin_call_list(req->app, req->account.id, q->since, q->until, q->after_at,
                             q->after_id, max, add_call, p);
    rc = rc ? rc : p->rc;
    if (rc == ERR_OK && !p->more && q->f.any && p->seen == (long long)max) {
        p->more = true;
        snprintf(p->next, sizeof(p->next), "%s", p->scanned);
    }
    return rc;
}

int h_call_list(struct http_req *req, struct http_resp *resp)
{
    struct list_query *q = xcalloc(1, sizeof(*q));
    int rc = parse_list(req, q);
    if (rc) {
        free(q);
        return rc;
    }
    struct page p = {.req = req, .q = q, .limit = q->csv ? CSV_MAX : q->limit};
    if (q->csv) {
        p.csv = &resp->body;
        rc = buf_add(p.csv, CSV_HEADER "\r\n", strlen(CSV_HEADER) + 2);
    } else {
        p.calls = json_array();
    }
    rc = rc ? rc : fill_page(req, q, &p);
    free(q);
    if (rc) {
        json_decref(p.calls);
        return errf(&req->eb, rc, NULL, "cannot list calls");
    }
    if (p.csv) {
        resp->content_type = "text/csv; charset=utf-8";
        http_header(resp, "Content-Disposition", "attachment; filename=\"calls.csv\"");
        if (p.more)
            http_header(resp, "X-Next-Cursor", "%s", p.next);
        return ERR_OK;
    }
    resp->content_type = "application/json";
    return json_dump_take(json_pack("{s:o,s:o}", "calls", p.calls, "next_cursor",
                                    p.more ? json_string(p.next) : json_null()),
                          &resp->body);
}

int h_call_get(struct http_req *req, struct http_resp *resp)
{
    struct st_call c;
    int rc = admin_call_get(req->app, req->account.id, req->params[0], &c);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no call '%s'", req->params[0]);
    if (rc)
        return errf(&req->eb, rc, NULL, "cannot read call");
    resp->content_type = "application/json";
    json_t *call = calls_json(req->app, &c);
    h_app_redact_call(req, call);
    return json_dump_take(call, &resp->body);
}

int h_call_patch(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    /* a dashboard session names its user; an API key is recorded as "api" */
    const char *user = req->session.row.id ? req->session.email : NULL;
    struct st_call c;
    rc = outcomes_set(req->app, req->account.id, req->params[0], o, user, time_now_ms(), &c,
                      &req->eb);
    bool billable = json_object_get(o, "billable") != NULL;
    json_decref(o);
    if (rc)
        return rc;
    if (billable) /* a person changed billable: live P&L totals once the answer is out */
        http_after(req, pnl_event_publish, pnl_event_new(req->app, req->account.id));
    resp->content_type = "application/json";
    json_t *call = calls_json(req->app, &c);
    h_app_redact_call(req, call);
    return json_dump_take(call, &resp->body);
}
