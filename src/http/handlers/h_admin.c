/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The admin API for pools, numbers and rules (Bearer key; every query scoped to the key's
 * account, so another account's id answers 404). Parse (app/admin_body.h) -> store -> engines. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/timefmt.h"
#include "core/classify.h"
#include "core/phone.h"
#include "app/admin.h"
#include "app/admin_body.h"
#include "app/app.h"
#include "base/json.h"
#include "base/xalloc.h"

static int reply(struct http_resp *resp, int status, json_t *v)
{
    resp->status = status;
    resp->content_type = "application/json";
    return v ? json_dump_take(v, &resp->body) : ERR_NOMEM;
}

static json_t *display_of(const char *e164)
{
    char d[PHONE_DISPLAY_MAX + 8];
    return *e164 && phone_format(e164, d, sizeof(d)) == ERR_OK ? json_string(d) : json_null();
}

/* The references a body makes (pool, number), looked up in the request's account. */
static int ref_pool(void *ctx, const char *ext_id, struct st_pool *out)
{
    struct http_req *req = ctx;
    return admin_pool_get(req->app, req->account.id, ext_id, out);
}

static int ref_number(void *ctx, const char *ext_id, struct st_number *out)
{
    struct http_req *req = ctx;
    return admin_number_get(req->app, req->account.id, ext_id, out);
}

/* ---- pools ---- */

static json_t *pool_json(const struct st_pool *p)
{
    json_t *channels = NULL;
    for (size_t i = 0; p->has_channels && i < CLASSIFY_N_CHANNELS; i++)
        if (p->channels & (1u << i))
            json_array_append_new(channels ? channels : (channels = json_array()),
                                  json_string(classify_channel_at(i)));
    if (p->has_channels && !channels)
        channels = json_array(); /* serves no channel */
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:o,s:o,s:o}", "id", p->ext_id, "name", p->name,
                     "target", p->target, "forward_to", p->forward_to, "lease_ttl",
                     (json_int_t)p->lease_ttl_s, "cooldown", (json_int_t)p->cooldown_s,
                     "on_exhaust", p->fallback_mode ? "fallback" : "share", "fallback_number",
                     json_str_or_null(p->fallback_number), "channels",
                     channels ? channels : json_null(), "created_at", json_time(p->created_at));
}

int h_pool_create(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    struct st_pool p = {.account_id = req->account.id,
                        .lease_ttl_s = ADMIN_POOL_DEFAULT_TTL_S,
                        .cooldown_s = ADMIN_POOL_DEFAULT_COOLDOWN_S};
    rc = admin_pool_parse(o, &p, true, &req->eb);
    json_decref(o);
    if (rc == ERR_OK)
        rc = admin_pool_create(req->app, &p, time_now_ms(), &req->eb);
    if (rc)
        return rc;
    http_header(resp, "Location", "/v1/pools/%s", p.ext_id);
    return reply(resp, 201, pool_json(&p));
}

static int pool_of(struct http_req *req, struct st_pool *p)
{
    int rc = admin_pool_get(req->app, req->account.id, req->params[0], p);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no pool '%s'", req->params[0]);
    return rc ? errf(&req->eb, rc, NULL, "cannot read pool") : ERR_OK;
}

int h_pool_get(struct http_req *req, struct http_resp *resp)
{
    struct st_pool p;
    int rc = pool_of(req, &p);
    return rc ? rc : reply(resp, 200, pool_json(&p));
}

static int add_pool_json(void *ctx, const struct st_pool *p)
{
    json_array_append_new(ctx, pool_json(p));
    return 0;
}

int h_pool_list(struct http_req *req, struct http_resp *resp)
{
    json_t *arr = json_array();
    int rc = admin_pool_list(req->app, req->account.id, add_pool_json, arr);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    return reply(resp, 200, json_pack("{s:o}", "pools", arr));
}

int h_pool_update(struct http_req *req, struct http_resp *resp)
{
    struct st_pool p;
    int rc = pool_of(req, &p);
    if (rc)
        return rc;
    json_t *o;
    rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    rc = admin_pool_parse(o, &p, false, &req->eb);
    json_decref(o);
    if (rc == ERR_OK)
        rc = admin_pool_update(req->app, &p, &req->eb);
    if (rc)
        return rc;
    return reply(resp, 200, pool_json(&p));
}

int h_pool_delete(struct http_req *req, struct http_resp *resp)
{
    struct st_pool p;
    int rc = pool_of(req, &p);
    if (rc)
        return rc;
    rc = admin_pool_delete(req->app, &p, time_now_ms());
    if (rc == ERR_CONFLICT)
        return errf(&req->eb, rc, NULL,
                    "pool '%s' has live leases (wait until they expire) or numbers opendni "
                    "bought (release them first: DELETE /v1/pools/%s/numbers/{id})",
                    p.ext_id, p.ext_id);
    if (rc)
        return errf(&req->eb, rc, NULL, "cannot delete pool");
    resp->status = 204;
    return ERR_OK;
}

int h_pool_health(struct http_req *req, struct http_resp *resp)
{
    struct st_pool p;
    int rc = pool_of(req, &p);
    if (rc)
        return rc;
    struct pool_stats st;
    rc = admin_pool_stats(req->app, &p, time_now_ms(), &st);
    if (rc)
        return errf(&req->eb, rc, NULL, "pool '%s' has no engine", p.ext_id);
    return reply(resp, 200,
                 json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "id", p.ext_id, "size",
                           (json_int_t)st.size, "leased", (json_int_t)st.leased, "cooling",
                           (json_int_t)st.cooling, "free", (json_int_t)st.free, "live_leases",
                           (json_int_t)st.live_leases, "exhaustion_events",
                           (json_int_t)st.exhaustion_events, "peak_concurrent",
                           (json_int_t)st.peak_concurrent, "recommended_size",
                           (json_int_t)st.recommended_size));
}

/* since/until (RFC 3339 or a date) and step (seconds) of GET /v1/pools/{id}/usage: by default
 * the last 7 days by the hour; points at since + i * step up to until (now by default, so the
 * last point is the present); at most ADMIN_USAGE_MAX_POINTS points. */
static int parse_usage(struct http_req *req, int64_t *since, int64_t *step, size_t *n)
{
    char v[64];
    int64_t until = time_now_ms();
    if (http_query(req, "until", v, sizeof(v)) && v[0] && time_parse(v, &until) != ERR_OK)
        return errf(&req->eb, ERR_INVALID, "until", "'until' must be an RFC 3339 time or a date");
    *since = until - 7 * 86400000LL;
    if (http_query(req, "since", v, sizeof(v)) && v[0] && time_parse(v, since) != ERR_OK)
        return errf(&req->eb, ERR_INVALID, "since", "'since' must be an RFC 3339 time or a date");
    if (*since >= until)
        return errf(&req->eb, ERR_INVALID, "since", "'since' must be before 'until'");
    long long s = 3600;
    if (http_query(req, "step", v, sizeof(v)) && v[0]) {
        char *end;
        s = strtoll(v, &end, 10);
        if (*end || s < 60 || s > 86400 * 31)
            return errf(&req->eb, ERR_INVALID, "step", "'step' is 60 to 2678400 seconds");
    }
    *step = s * 1000;
    int64_t points = (until - *since) / *step + 1; /* since, since + step, …, up to until */
    if (points > ADMIN_USAGE_MAX_POINTS)
        return errf(&req->eb, ERR_INVALID, "step", "at most %d points: give a longer 'step'",
                    ADMIN_USAGE_MAX_POINTS);
    *n = (size_t)points;
    return ERR_OK;
}

/* GET /v1/pools/{id}/usage?since=&until=&step=: numbers in use over time (from stored leases). */
int h_pool_usage(struct http_req *req, struct http_resp *resp)
{
    struct st_pool p;
    int64_t since = 0, step = 0;
    size_t n = 0;
    int rc = pool_of(req, &p);
    rc = rc ? rc : parse_usage(req, &since, &step, &n);
    if (rc)
        return rc;
    int64_t *in_use = xcalloc(n, sizeof(*in_use));
    bool truncated = false;
    rc = admin_pool_usage(req->app, &p, since, step, n, in_use, &truncated);
    json_t *points = json_array();
    for (size_t i = 0; rc == ERR_OK && i < n; i++)
        json_array_append_new(points,
                              json_pack("{s:o,s:I}", "at", json_time(since + (int64_t)i * step),
                                        "in_use", (json_int_t)in_use[i]));
    free(in_use);
    struct pool_stats st = {0};
    if (rc == ERR_OK)
        rc = admin_pool_stats(req->app, &p, time_now_ms(), &st);
    if (rc) {
        json_decref(points);
        return errf(&req->eb, rc, NULL, "cannot read the pool's leases");
    }
    return reply(resp, 200,
                 json_pack("{s:s,s:o,s:I,s:I,s:I,s:o,s:b}", "id", p.ext_id, "since",
                           json_time(since), "step", (json_int_t)(step / 1000), "size",
                           (json_int_t)st.size, "recommended_size", (json_int_t)st.recommended_size,
                           "points", points, "truncated", truncated));
}

/* ---- numbers ---- */

static json_t *number_json(const struct st_number *n, const char *pool_ext)
{
    json_t *source = n->pool_id ? json_null()
                                : json_pack("{s:s,s:o,s:o}", "source", n->source, "medium",
                                            json_str_or_null(n->medium), "campaign",
                                            json_str_or_null(n->campaign));
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "id", n->ext_id, "number", n->number,
                     "display", display_of(n->number), "pool", json_str_or_null(pool_ext), "source",
                     source, "target", json_str_or_null(n->target), "forward_to",
                     json_str_or_null(n->forward_to), "created_at", json_time(n->created_at));
}

int h_number_create(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    struct st_number n = {.account_id = req->account.id};
    char pool_ext[STORE_ID_MAX] = "";
    const struct admin_refs refs = {ref_pool, ref_number, req};
    rc = admin_number_parse(o, &refs, &n, pool_ext, &req->eb);
    json_decref(o);
    if (rc == ERR_OK)
        rc = admin_number_create(req->app, &n, time_now_ms(), &req->eb);
    if (rc)
        return rc;
    http_header(resp, "Location", "/v1/numbers/%s", n.ext_id);
    return reply(resp, 201, number_json(&n, pool_ext));
}

static int number_of(struct http_req *req, struct st_number *n, char *pool_ext)
{
    int rc = admin_number_get(req->app, req->account.id, req->params[0], n);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no number '%s'", req->params[0]);
    if (rc)
        return rc;
    pool_ext[0] = '\0';
    struct st_pool p;
    if (n->pool_id && admin_pool_by_id(req->app, n->account_id, n->pool_id, &p) == ERR_OK)
        snprintf(pool_ext, STORE_ID_MAX, "%s", p.ext_id);
    return ERR_OK;
}

int h_number_get(struct http_req *req, struct http_resp *resp)
{
    struct st_number n;
    char pool_ext[STORE_ID_MAX];
    int rc = number_of(req, &n, pool_ext);
    return rc ? rc : reply(resp, 200, number_json(&n, pool_ext));
}

struct list_ctx {
    struct http_req *req;
    json_t *arr;
    int64_t pool_id; /* the last pool looked up: numbers come in runs of one pool */
    char pool_ext[STORE_ID_MAX];
};

static int add_number_json(void *ctx, const struct st_number *n)
{
    struct list_ctx *lc = ctx;
    struct st_pool p;
    if (n->pool_id != lc->pool_id) {
        lc->pool_id = n->pool_id;
        lc->pool_ext[0] = '\0';
        if (n->pool_id && admin_pool_by_id(lc->req->app, n->account_id, n->pool_id, &p) == ERR_OK)
            snprintf(lc->pool_ext, sizeof(lc->pool_ext), "%s", p.ext_id);
    }
    json_array_append_new(lc->arr, number_json(n, n->pool_id ? lc->pool_ext : ""));
    return 0;
}

int h_number_list(struct http_req *req, struct http_resp *resp)
{
    char pool_ext[STORE_ID_MAX];
    int64_t pool_id = 0;
    if (http_query(req, "pool", pool_ext, sizeof(pool_ext))) {
        struct st_pool p;
        int rc = admin_pool_get(req->app, req->account.id, pool_ext, &p);
        if (rc)
            return errf(&req->eb, rc, "pool", "no pool '%s'", pool_ext);
        pool_id = p.id;
    }
    struct list_ctx lc = {req, json_array(), 0, ""};
    int rc = admin_number_list(req->app, req->account.id, pool_id, add_number_json, &lc);
    if (rc) {
        json_decref(lc.arr);
        return rc;
    }
    return reply(resp, 200, json_pack("{s:o}", "numbers", lc.arr));
}

int h_number_update(struct http_req *req, struct http_resp *resp)
{
    struct st_number n;
    char pool_ext[STORE_ID_MAX];
    int rc = number_of(req, &n, pool_ext);
    if (rc)
        return rc;
    json_t *o;
    rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    rc = admin_number_patch_parse(o, &n, &req->eb);
    json_decref(o);
    if (rc == ERR_OK)
        rc = admin_number_update(req->app, &n, time_now_ms(), &req->eb);
    if (rc)
        return rc;
    return reply(resp, 200, number_json(&n, pool_ext));
}

int h_number_delete(struct http_req *req, struct http_resp *resp)
{
    struct st_number n;
    char pool_ext[STORE_ID_MAX];
    int rc = number_of(req, &n, pool_ext);
    if (rc)
        return rc;
    rc = admin_number_delete(req->app, &n, time_now_ms());
    if (rc == ERR_CONFLICT)
        return errf(&req->eb, rc, NULL, "number %s has a live lease; wait until it expires",
                    n.number);
    if (rc)
        return rc;
    resp->status = 204;
    return ERR_OK;
}

/* ---- rules ---- */

static json_t *rule_json(const struct st_rule *r, const char *pool_ext, const char *number_ext)
{
    return json_pack("{s:s,s:I,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", r->ext_id,
                     "position", (json_int_t)r->position, "field", r->field, "op", r->op, "value",
                     r->value, "channel", json_str_or_null(r->set_channel), "source",
                     json_str_or_null(r->set_source), "medium", json_str_or_null(r->set_medium),
                     "campaign", json_str_or_null(r->set_campaign), "pool",
                     json_str_or_null(pool_ext), "number", json_str_or_null(number_ext),
                     "location_id", json_str_or_null(r->location));
}

/* POST /v1/rules (ext_id NULL) or PUT /v1/rules/{ext_id}: the body is the whole rule. */
static int rule_write(struct http_req *req, struct http_resp *resp, const char *ext_id)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    struct st_rule r = {.account_id = req->account.id};
    char pool_ext[STORE_ID_MAX] = "", number_ext[STORE_ID_MAX] = "";
    const struct admin_refs refs = {ref_pool, ref_number, req};
    rc = admin_rule_parse(o, &refs, &r, pool_ext, number_ext, &req->eb);
    json_decref(o);
    if (rc == ERR_OK && ext_id) {
        snprintf(r.ext_id, sizeof(r.ext_id), "%s", ext_id);
        rc = admin_rule_update(req->app, &r, &req->eb);
        if (rc == ERR_NOTFOUND)
            return errf(&req->eb, rc, NULL, "no rule '%s'", ext_id);
        return rc ? rc : reply(resp, 200, rule_json(&r, pool_ext, number_ext));
    }
    if (rc == ERR_OK)
        rc = admin_rule_create(req->app, &r, time_now_ms(), &req->eb);
    if (rc)
        return rc;
    http_header(resp, "Location", "/v1/rules/%s", r.ext_id);
    return reply(resp, 201, rule_json(&r, pool_ext, number_ext));
}

int h_rule_create(struct http_req *req, struct http_resp *resp)
{
    return rule_write(req, resp, NULL);
}

int h_rule_update(struct http_req *req, struct http_resp *resp)
{
    return rule_write(req, resp, req->params[0]);
}

static int add_rule_json(void *ctx, const struct st_rule *r)
{
    struct list_ctx *lc = ctx;
    struct app *app = lc->req->app;
    struct st_pool p;
    struct st_number n;
    const char *pool_ext =
        r->pool_id && admin_pool_by_id(app, r->account_id, r->pool_id, &p) == ERR_OK ? p.ext_id
                                                                                     : "";
    const char *num_ext =
        r->number_id && admin_number_by_id(app, r->account_id, r->number_id, &n) == ERR_OK
            ? n.ext_id
            : "";
    json_array_append_new(lc->arr, rule_json(r, pool_ext, num_ext));
    return 0;
}

int h_rule_list(struct http_req *req, struct http_resp *resp)
{
    struct list_ctx lc = {req, json_array(), 0, ""};
    int rc = admin_rule_list(req->app, req->account.id, add_rule_json, &lc);
    if (rc) {
        json_decref(lc.arr);
        return rc;
    }
    return reply(resp, 200, json_pack("{s:o}", "rules", lc.arr));
}

int h_rule_delete(struct http_req *req, struct http_resp *resp)
{
    int rc = admin_rule_delete(req->app, req->account.id, req->params[0]);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no rule '%s'", req->params[0]);
    if (rc)
        return rc;
    resp->status = 204;
    return ERR_OK;
}
