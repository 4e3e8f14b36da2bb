/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The test binary's routes (base/testhooks.h; routed only when testhooks_enabled()):
 * POST /v1/test/clock {"advance_ms":N} moves the clock forward and answers {"now":"…"};
 * POST /v1/test/faults {"call_store":true|false,…} switches fault hooks (any names of
 * testhooks_fault_parse: call_store, store_busy, store_full, store_io, store_commit) and
 * answers {}; an unknown name or a non-boolean is a 400 and switches nothing. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/json.h"
#include "base/testhooks.h"
#include "base/timefmt.h"

int h_test_clock(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    long long ms = 0;
    if (rc == ERR_OK)
        rc = json_get_int(o, "advance_ms", &ms, &req->eb);
    json_decref(o);
    if (rc == ERR_OK && ms < 0)
        rc = errf(&req->eb, ERR_INVALID, "advance_ms", "'advance_ms' must be >= 0");
    if (rc)
        return rc;
    testhooks_clock_advance(ms);
    resp->content_type = "application/json";
    return json_dump_take(json_pack("{s:o}", "now", json_time(time_now_ms())), &resp->body);
}

int h_test_faults(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        enum testhook_fault f;
        if (testhooks_fault_parse(key, &f) != 0 || !json_is_boolean(v)) {
            rc = errf(&req->eb, ERR_INVALID, NULL, "unknown fault or not a boolean: '%.40s'", key);
            break;
        }
    }
    json_object_foreach(o, key, v)
    {
        enum testhook_fault f;
        if (rc == ERR_OK && testhooks_fault_parse(key, &f) == 0)
            testhooks_fault_set(f, json_is_true(v));
    }
    json_decref(o);
    if (rc)
        return rc;
    resp->content_type = "application/json";
    return buf_adds(&resp->body, "{}");
}
