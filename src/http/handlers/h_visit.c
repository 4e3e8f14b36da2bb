/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The visit API (public, CORS): POST /v1/visits, /v1/visits/{id}/ping and /events, and the
 * admin view GET /v1/sessions/{id}. Transport only: rate limit by client address, parse the
 * JSON, run the use case (app/visits.h), write the answer before the commit (on the HTTP
 * thread), and send it once the writer has committed. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "app/accounts.h"
#include "app/admin.h"
#include "app/amp.h"
#include "app/app.h"
#include "app/clientaddr.h"
#include "app/ratelimit.h"
#include "app/visits.h"
#include "base/ids.h"
#include "base/json.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "core/classify.h"
#include "core/phone.h"

#define MAX_TARGETS VISITS_MAX_TARGETS

/* ---- shared checks ---- */

/* The per-address rate limit, by client key (an IPv6 client is its /64). */
static int limit_address(struct http_req *req, const char *client, int64_t now)
{
    char key[CLIENTADDR_MAX];
    clientaddr_key(client, key, sizeof(key));
    if (ratelimit_take(req->app->visit_limit, key, now, &req->retry_after_s))
        return ERR_OK;
    return errf(&req->eb, ERR_LIMITED, NULL, "too many visits from this address; retry later");
}

/* CORS: the app found the request's Origin allowed for the account. */
static void allow_origin(struct http_req *req, struct http_resp *resp, bool origin_ok)
{
    if (!origin_ok)
        return;
    http_header(resp, "Access-Control-Allow-Origin", "%s", req->h_origin);
    http_header(resp, "Vary", "Origin");
}

/* ---- responses ---- */

/* The answers are written as JSON text straight into the body (no json_t tree: the visit's
 * hottest lines); the bytes are those json_dumps(JSON_COMPACT) gave for the same objects. */

static int write_source(struct buf *b, const struct source *src)
{
    int rc = buf_adds(b, "{\"channel\":");
    if (rc == ERR_OK)
        rc = json_buf_str(b, src->channel);
    if (rc == ERR_OK)
        rc = buf_adds(b, ",\"source\":");
    if (rc == ERR_OK)
        rc = json_buf_str_or_null(b, src->source);
    if (rc == ERR_OK)
        rc = buf_adds(b, ",\"medium\":");
    if (rc == ERR_OK)
        rc = json_buf_str_or_null(b, src->medium);
    if (rc == ERR_OK)
        rc = buf_adds(b, ",\"campaign\":");
    if (rc == ERR_OK)
        rc = json_buf_str_or_null(b, src->campaign);
    if (rc == ERR_OK)
        rc = buf_adds(b, ",\"keyword\":");
    if (rc == ERR_OK)
        rc = json_buf_str_or_null(b, src->keyword);
    if (rc == ERR_OK)
        rc = buf_adds(b, ",\"click_ids\":");
    if (rc == ERR_OK)
        rc = visit_click_ids_write(src, b);
    return rc ? rc : buf_addc(b, '}');
}

static int write_number(struct buf *b, const struct visit_number *sh)
{
    char display[PHONE_DISPLAY_MAX];
    if (sh->display[0])
        str_copy(display, sizeof(display), sh->display);
    else
        phone_format(sh->number, display, sizeof(display));
    int rc = buf_adds(b, "{\"target\":");
    if (rc == ERR_OK)
        rc = json_buf_str(b, sh->target);
    if (rc == ERR_OK)
        rc = buf_adds(b, ",\"number\":");
    if (rc == ERR_OK)
        rc = json_buf_str(b, sh->number);
    if (rc == ERR_OK)
        rc = buf_adds(b, ",\"display\":");
    if (rc == ERR_OK)
        rc = json_buf_str(b, display);
    if (rc == ERR_OK)
        rc = buf_adds(b, ",\"kind\":");
    if (rc == ERR_OK)
        rc = json_buf_str(b, visit_kind_name(sh->kind));
    if (rc == ERR_OK && sh->version) /* additive: the pool's version (docs/tracker.md) */
        rc = buf_addf(b, ",\"version\":\"%012" PRIx64 "\"",
                      (uint64_t)(sh->version & 0xffffffffffffULL));
    return rc ? rc : buf_addc(b, '}');
}

static int write_numbers(struct buf *b, const struct visit_number *shown, int n)
{
    int rc = buf_adds(b, "\"numbers\":[");
    for (int i = 0; rc == ERR_OK && i < n; i++) {
        if (i)
            rc = buf_addc(b, ',');
        if (rc == ERR_OK)
            rc = write_number(b, &shown[i]);
    }
    return rc ? rc : buf_adds(b, "]}");
}

/* The success answer, written before the commit (on the HTTP thread, keeping the single writer
 * thread's work to the store); committed() replaces it with an error if the commit fails. */
static int write_answer(const struct visit_result *r, struct http_resp *resp)
{
    struct buf *b = &resp->body;
    resp->content_type = "application/json";
    int rc;
    if (r->bot) {
        rc = buf_adds(b, "{\"session_id\":null,\"visitor_id\":null,\"expires_at\":null,"
                         "\"ttl\":null,\"bot\":true,\"source\":null,");
    } else if (r->is_ping) {
        rc = buf_adds(b, "{\"expires_at\":");
        if (rc == ERR_OK)
            rc = json_buf_time(b, r->expires_at);
        if (rc == ERR_OK)
            rc = buf_addc(b, ',');
    } else {
        rc = buf_adds(b, "{\"session_id\":");
        if (rc == ERR_OK)
            rc = json_buf_str(b, r->session_id);
        if (rc == ERR_OK)
            rc = buf_adds(b, ",\"visitor_id\":");
        if (rc == ERR_OK)
            rc = json_buf_str(b, r->visitor_id);
        if (rc == ERR_OK)
            rc = buf_adds(b, ",\"expires_at\":");
        if (rc == ERR_OK)
            rc = json_buf_time(b, r->expires_at);
        if (rc == ERR_OK)
            rc = buf_addf(b, ",\"ttl\":%lld,\"bot\":false,\"source\":", (long long)r->ttl_s);
        if (rc == ERR_OK)
            rc = write_source(b, &r->src);
        if (rc == ERR_OK)
            rc = buf_addc(b, ',');
    }
    return rc ? rc : write_numbers(b, r->numbers, r->n_numbers);
}

/* ---- answering after the commit ---- */

struct pending {
    struct http_req *req;
    struct http_resp *resp;
    struct visit *v;
    bool is_event;
};

static void committed(void *arg, int rc, const struct visit_result *r)
{
    (void)r;
    struct pending *p = arg;
    struct http_req *req = p->req;
    if (rc) {
        errf(&req->eb, rc, NULL, p->is_event ? "cannot store the event" : "cannot store the visit");
        http_error_resp(req, p->resp, rc);
    } else if (p->is_event) {
        p->resp->status = 202;
        p->resp->content_type = "application/json";
        buf_adds(&p->resp->body, "{\"status\":\"accepted\"}");
    }
    free(p);
    http_resume(req); /* req and resp may be gone after this */
}

static void submit(void *arg)
{
    struct pending *p = arg;
    visit_commit(p->v, committed, p);
}

typedef int (*write_fn)(const struct visit_result *r, struct http_resp *resp);

/* Answers now when there is nothing to write, else after the commit. Takes v. write: the
 * success body (written before the commit), NULL for an event (202 after it). */
static int answer_with(struct http_req *req, struct http_resp *resp, struct visit *v,
                       write_fn write)
{
    bool is_event = write == NULL;
    int rc = is_event ? ERR_OK : write(visit_result(v), resp);
    if (rc || !visit_needs_commit(v)) {
        visit_free(v);
        return rc;
    }
    struct pending *p = xcalloc(1, sizeof(*p));
    *p = (struct pending){req, resp, v, is_event};
    http_defer(req, submit, p);
    return ERR_OK;
}

static int answer(struct http_req *req, struct http_resp *resp, struct visit *v, bool is_event)
{
    return answer_with(req, resp, v, is_event ? NULL : write_answer);
}

/* ---- POST /v1/visits ---- */

static int parse_targets(json_t *o, struct visit_in *in, struct errbuf *eb)
{
    json_t *t = json_object_get(o, "targets");
    in->all_targets = !t || json_is_null(t);
    if (in->all_targets)
        return ERR_OK;
    if (!json_is_array(t))
        return errf(eb, ERR_INVALID, "targets", "'targets' must be an array of phone numbers");
    if (json_array_size(t) > MAX_TARGETS)
        return errf(eb, ERR_INVALID, "targets", "at most %d targets", MAX_TARGETS);
    size_t i;
    json_t *e;
    json_array_foreach(t, i, e)
    {
        if (!json_is_string(e))
            return errf(eb, ERR_INVALID, "targets", "'targets' must be an array of phone numbers");
        if (phone_parse(json_string_value(e), in->targets[in->n_targets], eb) != ERR_OK)
            return errf(eb, ERR_INVALID, "targets", "target %zu is not a phone number", i);
        in->n_targets++;
    }
    return ERR_OK;
}

static int visit_required(const struct visit_in *in, struct errbuf *eb)
{
    if (!in->account)
        return errf(eb, ERR_INVALID, "account", "'account' is required");
    if (!in->url)
        return errf(eb, ERR_INVALID, "url", "'url' is required");
    return ERR_OK;
}

/* The usual body (a flat object of plain strings, base/json.h json_flat_parse) without a
 * jansson tree; the strings point into *copy (the caller frees it). false: parse it with
 * jansson (parse_visit), which gives the same fields or names what is wrong. */
static bool parse_visit_flat(const struct buf *body, struct visit_in *in, char **copy)
{
    *copy = xmalloc(body->len + 1);
    memcpy(*copy, body->data, body->len);
    (*copy)[body->len] = '\0';
    struct json_flat_pair kv[16];
    size_t n = 0;
    if (!json_flat_parse(*copy, body->len, kv, ARRAY_SIZE(kv), &n))
        return false;
    static const char *const keys[] = {"account",    "url",        "referrer",
                                       "visitor_id", "session_id", "title"};
    const char **fields[] = {&in->account,    &in->url,        &in->referrer,
                             &in->visitor_id, &in->session_id, &in->title};
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kv[i].key, "targets") == 0 && kv[i].value)
            return false; /* a string: jansson's error message */
        for (size_t f = 0; f < ARRAY_SIZE(keys); f++)
            if (strcmp(kv[i].key, keys[f]) == 0)
                *fields[f] = kv[i].value;
    }
    in->all_targets = true; /* absent or null */
    return true;
}

static int parse_visit(json_t *o, struct visit_in *in, struct errbuf *eb)
{
    int rc = json_get_str(o, "account", &in->account, eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "url", &in->url, eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "referrer", &in->referrer, eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "visitor_id", &in->visitor_id, eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "session_id", &in->session_id, eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "title", &in->title, eb);
    if (rc == ERR_OK)
        rc = parse_targets(o, in, eb);
    return rc ? rc : visit_required(in, eb);
}

int h_visit(struct http_req *req, struct http_resp *resp)
{
    int64_t now = time_now_ms();
    char client[CLIENTADDR_MAX];
    http_client_of(req, client, sizeof(client));
    int rc = limit_address(req, client, now);
    json_t *o = NULL;
    char *copy = NULL;
    struct visit_in in = {0};
    if (rc == ERR_OK && parse_visit_flat(&req->body, &in, &copy)) {
        rc = visit_required(&in, &req->eb);
    } else if (rc == ERR_OK) {
        memset(&in, 0, sizeof(in));
        rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
        if (rc == ERR_OK)
            rc = parse_visit(o, &in, &req->eb);
    }
    struct visit *v = NULL;
    bool origin_ok = false;
    if (rc == ERR_OK) {
        in.origin = req->h_origin;
        in.own_origin = req->app->public_url;
        in.user_agent = req->h_user_agent;
        in.region = req->h_geo;
        in.client = client;
        const char *gpc = http_req_header(req, "Sec-GPC");
        const char *dnt = http_req_header(req, "DNT");
        in.gpc = gpc && strcmp(gpc, "1") == 0;
        in.dnt = dnt && strcmp(dnt, "1") == 0;
        rc = visits_page_view(req->app, &in, now, &v, &origin_ok, &req->retry_after_s, &req->eb);
    }
    allow_origin(req, resp, origin_ok);
    if (rc == ERR_OK)
        rc = answer(req, resp, v, false);
    json_decref(o);
    free(copy);
    return rc;
}

/* ---- ping and events ---- */

/* A ping's body is optional; when present it must be {"url":"…"|null,"title":"…"|null} (other
 * fields ignored). The strings live in *o (json_decref it) or *copy (free it). */
static int parse_ping_body(struct http_req *req, json_t **o, char **copy, const char **url,
                           const char **title)
{
    *o = NULL;
    *copy = NULL;
    *url = *title = NULL;
    if (req->body.len == 0)
        return ERR_OK;
    /* The usual {"url":…,"title":…}: a flat object of plain strings is read in place (*copy,
     * freed by the caller); anything else by jansson, which also names what is wrong. */
    *copy = xmalloc(req->body.len + 1);
    memcpy(*copy, req->body.data, req->body.len);
    (*copy)[req->body.len] = '\0';
    struct json_flat_pair kv[8];
    size_t n = 0;
    if (json_flat_parse(*copy, req->body.len, kv, ARRAY_SIZE(kv), &n)) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(kv[i].key, "url") == 0)
                *url = kv[i].value;
            else if (strcmp(kv[i].key, "title") == 0)
                *title = kv[i].value;
        }
        return ERR_OK;
    }
    int rc = json_parse_object(req->body.data, req->body.len, o, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(*o, "url", url, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(*o, "title", title, &req->eb);
    return rc;
}

int h_visit_ping(struct http_req *req, struct http_resp *resp)
{
    int64_t now = time_now_ms();
    char client[CLIENTADDR_MAX];
    http_client_of(req, client, sizeof(client));
    int rc = limit_address(req, client, now);
    json_t *o = NULL;
    char *copy = NULL;
    const char *url = NULL, *title = NULL;
    if (rc == ERR_OK)
        rc = parse_ping_body(req, &o, &copy, &url, &title);
    struct visit *v = NULL;
    bool origin_ok = false;
    if (rc == ERR_OK)
        rc = visits_ping(req->app, req->params[0], req->h_origin, req->app->public_url, client, url,
                         title, now, &v, &origin_ok, &req->eb);
    json_decref(o); /* visits_ping copied what it keeps */
    free(copy);
    allow_origin(req, resp, origin_ok);
    return rc ? rc : answer(req, resp, v, false);
}

static int parse_event(struct http_req *req, json_t **o, struct visit_event_in *e,
                       char number[PHONE_E164_MAX])
{
    int rc = json_parse_object(req->body.data, req->body.len, o, &req->eb);
    if (rc)
        return rc;
    rc = json_get_str(*o, "type", &e->type, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(*o, "number", &e->number, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(*o, "detail", &e->detail, &req->eb);
    if (rc == ERR_OK && !visits_event_type_valid(e->type))
        rc = errf(&req->eb, ERR_INVALID, "type",
                  "'type' must be tel_click, chat_started, "
                  "form_submit, swap_miss, number_copy or ga_client");
    if (rc == ERR_OK && e->number) {
        if (phone_parse(e->number, number, &req->eb))
            return errf(&req->eb, ERR_INVALID, "number", "'number' is not a phone number");
        e->number = number;
    }
    if (rc == ERR_OK && e->detail && strlen(e->detail) >= STORE_TEXT_MAX)
        rc = errf(&req->eb, ERR_INVALID, "detail", "'detail' is over %d bytes", STORE_TEXT_MAX - 1);
    return rc;
}

int h_visit_event(struct http_req *req, struct http_resp *resp)
{
    int64_t now = time_now_ms();
    char client[CLIENTADDR_MAX];
    http_client_of(req, client, sizeof(client));
    int rc = limit_address(req, client, now);
    json_t *o = NULL;
    struct visit_event_in e = {0};
    char number[PHONE_E164_MAX];
    if (rc == ERR_OK)
        rc = parse_event(req, &o, &e, number);
    struct visit *v = NULL;
    bool origin_ok = false;
    if (rc == ERR_OK)
        rc = visits_event(req->app, req->params[0], req->h_origin, req->app->public_url, &e, now,
                          &v, &origin_ok, &req->eb);
    json_decref(o);
    allow_origin(req, resp, origin_ok);
    return rc ? rc : answer(req, resp, v, true);
}

/* ---- GET /v1/amp/call-tracking (amp-call-tracking's config) ---- */

/* AMP's config JSON: the number to dial and the one to show. */
static int write_amp(const struct visit_result *r, struct http_resp *resp)
{
    resp->content_type = "application/json";
    char display[PHONE_DISPLAY_MAX];
    if (r->numbers[0].display[0])
        str_copy(display, sizeof(display), r->numbers[0].display);
    else
        phone_format(r->numbers[0].number, display, sizeof(display));
    return json_dump_take(json_pack("{s:s,s:s}", "phoneNumber", r->numbers[0].number,
                                    "formattedPhoneNumber", display),
                          &resp->body);
}

/* The AMP cache's origin for a publisher origin: https://www-example-com.cdn.ampproject.org for
 * https://www.example.com ('.' becomes '-', '-' becomes "--"). */
static bool is_amp_cache_of(const char *origin, const char *source)
{
    static const char https[] = "https://";
    static const char cache[] = ".cdn.ampproject.org";
    size_t hn = sizeof(https) - 1;
    if (strncmp(source, https, hn) != 0 || strncmp(origin, https, hn) != 0)
        return false;
    const char *o = origin + hn;
    for (const char *c = source + hn; *c; c++) {
        if (*c == ':')
            return false; /* a port has no cache form */
        const char *want = *c == '.' ? "-" : *c == '-' ? "--" : NULL;
        size_t wn = want ? strlen(want) : 1;
        if (want ? strncmp(o, want, wn) != 0 : *o != *c)
            return false;
        o += wn;
    }
    return strcmp(o, cache) == 0;
}

/* AMP's CORS rules: the document's origin is __amp_source_origin; the request comes from that
 * origin or from its AMP cache (Origin), or is same-origin (no Origin, AMP-Same-Origin: true).
 * Whether the source origin is the account's is checked by the visit. */
static int amp_cors(struct http_req *req, struct http_resp *resp, const char *source)
{
    const char *origin = req->h_origin;
    const char *same = http_req_header(req, "AMP-Same-Origin");
    if (!source[0])
        return errf(&req->eb, ERR_INVALID, "__amp_source_origin",
                    "'__amp_source_origin' is required");
    if (origin ? strcmp(origin, source) != 0 && !is_amp_cache_of(origin, source)
               : !(same && strcmp(same, "true") == 0))
        return errf(&req->eb, ERR_FORBIDDEN, NULL,
                    "origin is neither the AMP document's origin nor its AMP cache");
    if (origin) {
        http_header(resp, "Access-Control-Allow-Origin", "%s", origin);
        http_header(resp, "Access-Control-Allow-Credentials", "true");
        http_header(resp, "Vary", "Origin");
    }
    http_header(resp, "AMP-Access-Control-Allow-Source-Origin", "%s", source);
    http_header(resp, "Access-Control-Expose-Headers", "AMP-Access-Control-Allow-Source-Origin");
    http_header(resp, "Cache-Control", "private, no-store");
    return ERR_OK;
}

/* A query parameter into out ("" when absent); ERR_INVALID (field name) when over cap - 1. */
static int query_param(struct http_req *req, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    if (http_query(req, name, out, cap) && strlen(out) >= cap - 1)
        return errf(&req->eb, ERR_INVALID, name, "'%s' is too long", name);
    return ERR_OK;
}

struct amp_query {
    char account[STORE_ID_MAX], client_id[AMP_CLIENT_ID_MAX + 2], source[256], url[2048],
        referrer[2048], target_in[64], target[PHONE_E164_MAX];
};

static int parse_amp(struct http_req *req, struct amp_query *q)
{
    int rc = query_param(req, "__amp_source_origin", q->source, sizeof(q->source));
    if (rc == ERR_OK)
        rc = query_param(req, "account", q->account, sizeof(q->account));
    if (rc == ERR_OK)
        rc = query_param(req, "client_id", q->client_id, sizeof(q->client_id));
    if (rc == ERR_OK)
        rc = query_param(req, "url", q->url, sizeof(q->url));
    if (rc == ERR_OK)
        rc = query_param(req, "referrer", q->referrer, sizeof(q->referrer));
    if (rc == ERR_OK)
        rc = query_param(req, "target", q->target_in, sizeof(q->target_in));
    if (rc == ERR_OK && !q->account[0])
        rc = errf(&req->eb, ERR_INVALID, "account", "'account' is required");
    if (rc == ERR_OK && q->target_in[0] && phone_parse(q->target_in, q->target, &req->eb))
        rc = errf(&req->eb, ERR_INVALID, "target", "'target' is not a phone number");
    return rc;
}

int h_visit_amp(struct http_req *req, struct http_resp *resp)
{
    int64_t now = time_now_ms();
    char client[CLIENTADDR_MAX];
    http_client_of(req, client, sizeof(client));
    struct amp_query *q = xcalloc(1, sizeof(*q));
    int rc = limit_address(req, client, now);
    if (rc == ERR_OK)
        rc = parse_amp(req, q);
    if (rc == ERR_OK)
        rc = amp_cors(req, resp, q->source);
    struct visit *v = NULL;
    if (rc == ERR_OK) {
        struct amp_in in = {.account = q->account,
                            .client_id = q->client_id,
                            .source_origin = q->source,
                            .url = q->url[0] ? q->url : NULL,
                            .referrer = q->referrer[0] ? q->referrer : NULL,
                            .target = q->target[0] ? q->target : NULL,
                            .user_agent = req->h_user_agent,
                            .region = req->h_geo,
                            .client = client};
        rc = amp_page_view(req->app, &in, now, &v, &req->retry_after_s, &req->eb);
    }
    free(q);
    if (rc == ERR_OK && visit_result(v)->n_numbers == 0) {
        visit_free(v);
        return errf(&req->eb, ERR_NOTFOUND, "account", "the account has no target number");
    }
    return rc ? rc : answer_with(req, resp, v, write_amp);
}

/* ---- GET /v1/origins (the iframe bridge's check) ---- */

int h_visit_origins(struct http_req *req, struct http_resp *resp)
{
    char account[STORE_ID_MAX];
    int rc = query_param(req, "account", account, sizeof(account));
    if (rc == ERR_OK && !account[0])
        rc = errf(&req->eb, ERR_INVALID, "account", "'account' is required");
    const struct acct *acct = NULL;
    if (rc == ERR_OK && accounts_get(req->app->accounts, account, time_now_ms(), &acct))
        rc = errf(&req->eb, ERR_NOTFOUND, "account", "unknown account");
    if (rc)
        return rc;
    json_t *list = json_array();
    for (size_t i = 0; i < acct->n_origins; i++)
        json_array_append_new(list, json_string(acct->origins[i]));
    accounts_put(req->app->accounts, acct);
    /* Public: the same origins the visit API's CORS answers reveal. */
    http_header(resp, "Access-Control-Allow-Origin", "*");
    http_header(resp, "Cache-Control", "public, max-age=60");
    resp->content_type = "application/json";
    return json_dump_take(json_pack("{s:o}", "origins", list), &resp->body);
}

/* ---- GET /v1/sessions/{id} (admin): a session with its source and leases ---- */

struct lease_list {
    int64_t last_active_at; /* the session's latest activity seen */
    json_t *arr;
};

static int add_lease_json(void *ctx, const struct admin_lease *l)
{
    struct lease_list *ll = ctx;
    if (l->last_active_at > ll->last_active_at)
        ll->last_active_at = l->last_active_at;
    json_array_append_new(ll->arr, json_pack("{s:s,s:o,s:o,s:o,s:b}", "number", l->number,
                                             "leased_at", json_time(l->leased_at), "last_active_at",
                                             json_time(l->last_active_at), "expires_at",
                                             json_time(l->expires_at), "shared", l->shared));
    return 0;
}

static int add_event_json(void *ctx, const struct st_event *e)
{
    json_array_append_new(ctx, json_pack("{s:s,s:o,s:o,s:o}", "type", e->type, "number",
                                         json_str_or_null(e->number), "detail",
                                         json_str_or_null(e->detail), "at", json_time(e->at)));
    return 0;
}

static int add_page_view_json(void *ctx, const struct st_page_view *pv)
{
    json_array_append_new(ctx, json_pack("{s:s,s:o,s:o,s:b}", "path", pv->path, "title",
                                         json_str_or_null(pv->title), "at", json_time(pv->at),
                                         "landing", false));
    return 0;
}

/* The session's page views: its landing page (the session's own row), then the later ones. */
static json_t *page_views_json(struct http_req *req, const struct st_session *ss)
{
    char path[STORE_PAGE_PATH_MAX];
    visits_page_path(ss->landing_page, path, sizeof(path));
    json_t *arr = json_array();
    json_array_append_new(arr, json_pack("{s:s,s:n,s:o,s:b}", "path", path, "title", "at",
                                         json_time(ss->created_at), "landing", true));
    admin_session_page_views(req->app, req->account.id, ss->id, STORE_PAGE_VIEWS_MAX,
                             add_page_view_json, arr);
    return arr;
}

int h_session_get(struct http_req *req, struct http_resp *resp)
{
    struct st_session ss;
    if (admin_session_get(req->app, req->account.id, req->params[0], &ss) != ERR_OK)
        return errf(&req->eb, ERR_NOTFOUND, NULL, "no session '%s'", req->params[0]);
    struct lease_list ll = {ss.last_active_at, json_array()};
    admin_session_leases(req->app, ss.account_id, ss.id, time_now_ms(), add_lease_json, &ll);
    json_t *events = json_array();
    admin_session_events(req->app, ss.account_id, ss.id, 1000, add_event_json, events);
    json_t *ids = ss.click_ids[0] ? json_loads(ss.click_ids, 0, NULL) : NULL;
    resp->content_type = "application/json";
    return json_dump_take(
        json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:{s:s,s:o,s:o,s:o,s:o,s:o},s:o,s:o,s:o,s:o,s:o}", "id",
                  ss.ext_id, "visitor_id", ss.visitor_id, "created_at", json_time(ss.created_at),
                  "last_active_at", json_time(ll.last_active_at), "landing_page",
                  json_str_or_null(ss.landing_page), "referrer", json_str_or_null(ss.referrer),
                  "source", "channel", ss.channel, "source", json_str_or_null(ss.source), "medium",
                  json_str_or_null(ss.medium), "campaign", json_str_or_null(ss.campaign), "keyword",
                  json_str_or_null(ss.keyword), "click_ids", ids ? ids : json_object(), "device",
                  json_str_or_null(ss.device), "leases", ll.arr, "region",
                  json_str_or_null(ss.region), "events", events, "page_views",
                  page_views_json(req, &ss)),
        &resp->body);
}
