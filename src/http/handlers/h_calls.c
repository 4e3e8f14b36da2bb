/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The calls API (Bearer key, account-scoped): GET /v1/calls?since=&until=&limit=&cursor=,
 * GET /v1/calls/{id} and PATCH /v1/calls/{id} (the call's outcome: app/outcomes.h). Lists run in
 * (started_at, id) order with an opaque keyset cursor, so a client can page through while calls
 * keep arriving; the objects come from calls_json. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include <errno.h>

#include "base/timefmt.h"
#include "app/admin.h"
#include "app/app.h"
#include "app/calls.h"
#include "app/outcomes.h"
#include "base/json.h"

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 500
#define DAY_MS ((int64_t)86400 * 1000)

struct list_query {
    int64_t since, until;
    int64_t after_at, after_id;
    long long limit;
};

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

static int parse_list(struct http_req *req, struct list_query *q)
{
    *q = (struct list_query){
        .since = INT64_MIN, .until = INT64_MAX, .after_at = INT64_MIN, .limit = DEFAULT_LIMIT};
    int rc = parse_time_param(req, "since", false, &q->since);
    if (rc == ERR_OK)
        rc = parse_time_param(req, "until", true, &q->until);
    if (rc == ERR_OK && q->since >= q->until) /* as the reports say */
        rc = errf(&req->eb, ERR_INVALID, "since", "'since' must be before 'until'");
    if (rc == ERR_OK)
        rc = parse_limit(req, q);
    if (rc == ERR_OK)
        rc = parse_cursor(req, q);
    return rc;
}

struct page {
    const struct http_req *req;
    json_t *calls;
    long long limit;
    long long n;
    bool more; /* a row past the page exists */
    char next[64];
};

static int add_call(void *arg, const struct st_call *c)
{
    struct page *p = arg;
    if (p->n == p->limit) {
        p->more = true; /* the page gets a cursor */
        return 1;
    }
    json_t *call = calls_json(p->req->app, c);
    h_app_redact_call(p->req, call);
    json_array_append_new(p->calls, call);
    admin_cursor_format(c->started_at, c->id, p->next, sizeof(p->next));
    p->n++;
    return 0;
}

int h_call_list(struct http_req *req, struct http_resp *resp)
{
    struct list_query q;
    int rc = parse_list(req, &q);
    if (rc)
        return rc;
    struct page p = {req, json_array(), q.limit, 0, false, ""};
    rc = admin_call_list(req->app, req->account.id, q.since, q.until, q.after_at, q.after_id,
                         (size_t)q.limit + 1, add_call, &p);
    if (rc) {
        json_decref(p.calls);
        return errf(&req->eb, rc, NULL, "cannot list calls");
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
    json_decref(o);
    if (rc)
        return rc;
    resp->content_type = "application/json";
    json_t *call = calls_json(req->app, &c);
    h_app_redact_call(req, call);
    return json_dump_take(call, &resp->body);
}
