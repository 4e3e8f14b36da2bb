/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The admin API for pools, numbers and rules (Bearer key; every query scoped to the key's
 * account, so another account's id answers 404). Parse -> validate -> store -> engines. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/timefmt.h"
#include "core/classify.h"
#include "core/phone.h"
#include "app/admin.h"
#include "app/app.h"
#include "base/json.h"

#define DEFAULT_TTL_S 1200
#define DEFAULT_COOLDOWN_S 1800

static int reply(struct http_resp *resp, int status, json_t *v)
{
    resp->status = status;
    resp->content_type = "application/json";
    return v ? json_dump_take(v, &resp->body) : ERR_NOMEM;
}

/* Parses an optional phone field into out (unchanged when absent). */
static int get_phone(json_t *o, const char *key, char out[PHONE_E164_MAX], bool required,
                     struct errbuf *eb)
{
    const char *s = NULL;
    int rc = json_get_str(o, key, &s, eb);
    if (rc)
        return rc;
    if (!s)
        return required ? errf(eb, ERR_INVALID, key, "'%s' is required", key) : ERR_OK;
    rc = phone_parse(s, out, eb);
    if (rc)
        eb->field = key;
    return rc;
}

static json_t *display_of(const char *e164)
{
    char d[PHONE_DISPLAY_MAX + 8];
    return *e164 && phone_format(e164, d, sizeof(d)) == ERR_OK ? json_string(d) : json_null();
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

static int parse_channels(json_t *o, struct st_pool *p, struct errbuf *eb)
{
    json_t *v = json_object_get(o, "channels");
    if (!v)
        return ERR_OK;
    if (json_is_null(v)) {
        p->has_channels = false;
        p->channels = 0;
        return ERR_OK;
    }
    if (!json_is_array(v))
        return errf(eb, ERR_INVALID, "channels", "'channels' must be an array of channels or null");
    size_t i;
    json_t *c;
    uint32_t mask = 0;
    json_array_foreach(v, i, c)
    {
        uint32_t bit = json_is_string(c) ? classify_channel_bit(json_string_value(c)) : 0;
        if (!bit)
            return errf(eb, ERR_INVALID, "channels", "unknown channel in 'channels'");
        mask |= bit;
    }
    p->has_channels = true;
    p->channels = mask;
    return ERR_OK;
}

static int parse_mode(json_t *o, struct st_pool *p, struct errbuf *eb)
{
    const char *mode = NULL;
    int rc = json_get_str(o, "on_exhaust", &mode, eb);
    if (rc || !mode)
        return rc;
    if (strcmp(mode, "share") != 0 && strcmp(mode, "fallback") != 0)
        return errf(eb, ERR_INVALID, "on_exhaust",
                    "'on_exhaust' must be \"share\" or \"fallback\"");
    p->fallback_mode = strcmp(mode, "fallback") == 0;
    return ERR_OK;
}

static int parse_durations(json_t *o, struct st_pool *p, struct errbuf *eb)
{
    long long ttl = p->lease_ttl_s, cooldown = p->cooldown_s;
    int rc = json_get_int(o, "lease_ttl", &ttl, eb);
    if (rc == ERR_OK)
        rc = json_get_int(o, "cooldown", &cooldown, eb);
    if (rc)
        return rc;
    if (ttl < 1 || ttl > 30LL * 86400)
        return errf(eb, ERR_INVALID, "lease_ttl", "'lease_ttl' must be 1 to 2592000 seconds");
    if (cooldown < 0 || cooldown > 365LL * 86400)
        return errf(eb, ERR_INVALID, "cooldown", "'cooldown' must be 0 to 31536000 seconds");
    p->lease_ttl_s = ttl;
    p->cooldown_s = cooldown;
    return ERR_OK;
}

/* Applies the fields present in o to p; `create` makes name and target required. */
static int parse_pool(json_t *o, struct st_pool *p, bool create, struct errbuf *eb)
{
    static const char *const keys[] = {"name",     "target",     "forward_to",      "lease_ttl",
                                       "cooldown", "on_exhaust", "fallback_number", "channels",
                                       NULL};
    const char *name = NULL;
    int rc = json_only_keys(o, keys, eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "name", &name, eb);
    if (rc)
        return rc;
    if (name && (!*name || strlen(name) >= sizeof(p->name)))
        return errf(eb, ERR_INVALID, "name", "'name' must be 1 to 127 bytes");
    if (name)
        snprintf(p->name, sizeof(p->name), "%s", name);
    else if (create)
        return errf(eb, ERR_INVALID, "name", "'name' is required");
    rc = get_phone(o, "target", p->target, create, eb);
    if (rc == ERR_OK)
        rc = get_phone(o, "forward_to", p->forward_to, false, eb);
    if (rc == ERR_OK && json_is_null(json_object_get(o, "fallback_number")))
        p->fallback_number[0] = '\0';
    else if (rc == ERR_OK)
        rc = get_phone(o, "fallback_number", p->fallback_number, false, eb);
    if (rc == ERR_OK)
        rc = parse_durations(o, p, eb);
    if (rc == ERR_OK)
        rc = parse_mode(o, p, eb);
    if (rc == ERR_OK)
        rc = parse_channels(o, p, eb);
    if (rc == ERR_OK && !p->forward_to[0])
        snprintf(p->forward_to, sizeof(p->forward_to), "%s", p->target);
    return rc;
}

int h_pool_create(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    struct st_pool p = {.account_id = req->account.id,
                        .lease_ttl_s = DEFAULT_TTL_S,
                        .cooldown_s = DEFAULT_COOLDOWN_S};
    rc = parse_pool(o, &p, true, &req->eb);
    json_decref(o);
    if (rc == ERR_OK)
        rc = admin_pool_create(req->app, &p, time_now_ms(), &req->eb);
    if (rc)
        return rc;
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
    rc = parse_pool(o, &p, false, &req->eb);
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
        return errf(&req->eb, rc, NULL, "pool '%s' has live leases; wait until they expire",
                    p.ext_id);
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

static int copy_field(json_t *o, const char *key, char *dst, size_t cap, struct errbuf *eb)
{
    const char *s = NULL;
    int rc = json_get_str(o, key, &s, eb);
    if (rc || !s)
        return rc;
    if (strlen(s) >= cap)
        return errf(eb, ERR_INVALID, key, "'%s' is longer than %zu bytes", key, cap - 1);
    snprintf(dst, cap, "%s", s);
    return ERR_OK;
}

static int parse_source(json_t *src, struct st_number *n, struct errbuf *eb)
{
    if (!json_is_object(src))
        return errf(eb, ERR_INVALID, "source", "'source' must be an object");
    int rc = copy_field(src, "source", n->source, sizeof(n->source), eb);
    if (rc == ERR_OK)
        rc = copy_field(src, "medium", n->medium, sizeof(n->medium), eb);
    if (rc == ERR_OK)
        rc = copy_field(src, "campaign", n->campaign, sizeof(n->campaign), eb);
    if (rc == ERR_OK && !n->source[0])
        rc = errf(eb, ERR_INVALID, "source", "'source.source' is required");
    return rc;
}

/* Resolves "pool" (an ext id of this account) into n->pool_id. */
static int parse_pool_ref(struct http_req *req, json_t *o, struct st_number *n, char *pool_ext)
{
    const char *pool = NULL;
    int rc = json_get_str(o, "pool", &pool, &req->eb);
    if (rc || !pool)
        return rc;
    struct st_pool p;
    rc = admin_pool_get(req->app, req->account.id, pool, &p);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, "pool", "no pool '%.60s'", pool);
    if (rc)
        return rc;
    n->pool_id = p.id;
    snprintf(pool_ext, STORE_ID_MAX, "%s", p.ext_id);
    return ERR_OK;
}

static int parse_number(struct http_req *req, json_t *o, struct st_number *n, char *pool_ext)
{
    static const char *const keys[] = {"number", "pool", "source", "target", "forward_to", NULL};
    int rc = json_only_keys(o, keys, &req->eb);
    if (rc == ERR_OK)
        rc = get_phone(o, "number", n->number, true, &req->eb);
    if (rc == ERR_OK)
        rc = parse_pool_ref(req, o, n, pool_ext);
    json_t *src = json_object_get(o, "source");
    if (rc == ERR_OK && src && !json_is_null(src))
        rc = parse_source(src, n, &req->eb);
    if (rc == ERR_OK && !!n->pool_id == !!n->source[0])
        rc = errf(&req->eb, ERR_INVALID, "pool", "give exactly one of 'pool' and 'source'");
    if (rc == ERR_OK)
        rc = get_phone(o, "target", n->target, false, &req->eb);
    if (rc == ERR_OK)
        rc = get_phone(o, "forward_to", n->forward_to, false, &req->eb);
    if (rc == ERR_OK && n->source[0] && !n->forward_to[0])
        rc = errf(&req->eb, ERR_INVALID, "forward_to", "a source number needs 'forward_to'");
    return rc;
}

int h_number_create(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    struct st_number n = {.account_id = req->account.id};
    char pool_ext[STORE_ID_MAX] = "";
    rc = parse_number(req, o, &n, pool_ext);
    json_decref(o);
    if (rc == ERR_OK)
        rc = admin_number_create(req->app, &n, time_now_ms(), &req->eb);
    if (rc)
        return rc;
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
    if (n->pool_id && admin_pool_by_id(req->app, n->pool_id, &p) == ERR_OK)
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
        if (n->pool_id && admin_pool_by_id(lc->req->app, n->pool_id, &p) == ERR_OK)
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
    static const char *const keys[] = {"target", "forward_to", NULL};
    rc = json_only_keys(o, keys, &req->eb);
    if (rc == ERR_OK)
        rc = get_phone(o, "target", n.target, false, &req->eb);
    if (rc == ERR_OK)
        rc = get_phone(o, "forward_to", n.forward_to, false, &req->eb);
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
    return json_pack("{s:s,s:I,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "id", r->ext_id, "position",
                     (json_int_t)r->position, "field", r->field, "op", r->op, "value", r->value,
                     "channel", json_str_or_null(r->set_channel), "source",
                     json_str_or_null(r->set_source), "medium", json_str_or_null(r->set_medium),
                     "campaign", json_str_or_null(r->set_campaign), "pool",
                     json_str_or_null(pool_ext), "number", json_str_or_null(number_ext));
}

static int parse_rule_refs(struct http_req *req, json_t *o, struct st_rule *r, char *pool_ext,
                           char *number_ext)
{
    struct st_number n = {0};
    int rc = parse_pool_ref(req, o, &n, pool_ext);
    r->pool_id = n.pool_id;
    const char *num = NULL;
    if (rc == ERR_OK)
        rc = json_get_str(o, "number", &num, &req->eb);
    if (rc || !num)
        return rc;
    rc = admin_number_get(req->app, req->account.id, num, &n);
    if (rc == ERR_NOTFOUND || (rc == ERR_OK && n.pool_id))
        return errf(&req->eb, ERR_NOTFOUND, "number", "no source number '%.60s'", num);
    r->number_id = n.id;
    snprintf(number_ext, STORE_ID_MAX, "%s", n.ext_id);
    return rc;
}

static int parse_rule(struct http_req *req, json_t *o, struct st_rule *r, char *pool_ext,
                      char *number_ext)
{
    static const char *const keys[] = {"field",    "op",   "value",  "channel",  "source", "medium",
                                       "campaign", "pool", "number", "position", NULL};
    struct errbuf *eb = &req->eb;
    long long pos = 0;
    int rc = json_only_keys(o, keys, eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "field", r->field, sizeof(r->field), eb);
    if (rc == ERR_OK && classify_rule_field_parse(r->field) < 0)
        rc = errf(eb, ERR_INVALID, "field",
                  "'field' must be utm_source, utm_medium, "
                  "utm_campaign, utm_term, utm_content, click_id, referrer_host, landing_path or "
                  "channel");
    if (rc == ERR_OK)
        rc = copy_field(o, "op", r->op, sizeof(r->op), eb);
    if (rc == ERR_OK && !r->op[0])
        snprintf(r->op, sizeof(r->op), "equals");
    if (rc == ERR_OK && classify_rule_op_parse(r->op) < 0)
        rc = errf(eb, ERR_INVALID, "op", "'op' must be equals, contains, prefix or present");
    if (rc == ERR_OK)
        rc = copy_field(o, "value", r->value, sizeof(r->value), eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "channel", r->set_channel, sizeof(r->set_channel), eb);
    if (rc == ERR_OK && r->set_channel[0] && !classify_channel_valid(r->set_channel))
        rc = errf(eb, ERR_INVALID, "channel", "unknown channel '%s'", r->set_channel);
    if (rc == ERR_OK)
        rc = copy_field(o, "source", r->set_source, sizeof(r->set_source), eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "medium", r->set_medium, sizeof(r->set_medium), eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "campaign", r->set_campaign, sizeof(r->set_campaign), eb);
    if (rc == ERR_OK)
        rc = json_get_int(o, "position", &pos, eb);
    r->position = pos;
    if (rc == ERR_OK)
        rc = parse_rule_refs(req, o, r, pool_ext, number_ext);
    return rc;
}

int h_rule_create(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    struct st_rule r = {.account_id = req->account.id};
    char pool_ext[STORE_ID_MAX] = "", number_ext[STORE_ID_MAX] = "";
    rc = parse_rule(req, o, &r, pool_ext, number_ext);
    json_decref(o);
    if (rc == ERR_OK)
        rc = admin_rule_create(req->app, &r, time_now_ms(), &req->eb);
    if (rc)
        return rc;
    return reply(resp, 201, rule_json(&r, pool_ext, number_ext));
}

static int add_rule_json(void *ctx, const struct st_rule *r)
{
    struct list_ctx *lc = ctx;
    struct app *app = lc->req->app;
    struct st_pool p;
    struct st_number n;
    const char *pool_ext =
        r->pool_id && admin_pool_by_id(app, r->pool_id, &p) == ERR_OK ? p.ext_id : "";
    const char *num_ext =
        r->number_id && admin_number_by_id(app, r->number_id, &n) == ERR_OK ? n.ext_id : "";
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
