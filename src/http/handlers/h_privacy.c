/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Erasure requests (docs/api.md "Erasure"): POST /v1/erasures erases a visitor or a caller from
 * the account, GET /v1/erasures lists the erasure log. app/privacy.c does the work. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/json.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "app/app.h"
#include "app/privacy.h"
#include "app/records.h"

#define ERASURES_MAX 1000

static int reply(struct http_resp *resp, int status, json_t *v)
{
    resp->status = status;
    resp->content_type = "application/json";
    return v ? json_dump_take(v, &resp->body) : ERR_NOMEM;
}

int h_erasure_create(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    static const char *const keys[] = {"visitor_id", "caller", "reference", NULL};
    const char *visitor = NULL, *caller = NULL, *reference = NULL;
    rc = json_only_keys(o, keys, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "visitor_id", &visitor, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "caller", &caller, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "reference", &reference, &req->eb);
    if (rc == ERR_OK && !visitor == !caller)
        rc = errf(&req->eb, ERR_INVALID, visitor ? "caller" : "visitor_id",
                  "give exactly one of 'visitor_id' and 'caller'");
    struct st_erasure *e = NULL;
    if (rc == ERR_OK) {
        e = xcalloc(1, sizeof(*e));
        const char *actor = req->session.row.id ? req->session.email : "api";
        rc =
            privacy_erase(req->app->store, req->account.id, visitor ? "visitor" : "caller",
                          visitor ? visitor : caller, actor, reference, time_now_ms(), e, &req->eb);
    }
    json_decref(o);
    if (rc) {
        free(e);
        return rc;
    }
    http_header(resp, "Location", "/v1/erasures/%s", e->ext_id);
    json_t *v = privacy_erasure_json(e);
    free(e);
    return reply(resp, 201, v);
}

static int add_erasure(void *ctx, const struct st_erasure *e)
{
    json_array_append_new(ctx, privacy_erasure_json(e));
    return 0;
}

static int list(struct http_req *req, json_t **out)
{
    json_t *a = json_array();
    int rc = privacy_erasures(req->app->store, req->account.id, ERASURES_MAX, add_erasure, a);
    if (rc) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return ERR_OK;
}

int h_erasure_list(struct http_req *req, struct http_resp *resp)
{
    json_t *a = NULL;
    int rc = list(req, &a);
    return rc ? rc : reply(resp, 200, json_pack("{s:o}", "erasures", a));
}

int h_erasure_get(struct http_req *req, struct http_resp *resp)
{
    json_t *a = NULL;
    int rc = list(req, &a);
    if (rc)
        return rc;
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "id")), req->params[0]) == 0) {
            json_incref(e);
            json_decref(a);
            return reply(resp, 200, e);
        }
    }
    json_decref(a);
    return errf(&req->eb, ERR_NOTFOUND, NULL, "no erasure '%.48s'", req->params[0]);
}
