/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The dashboard's pool sweep (POST /v1/pools/{id}/simulate, app/poolsim.h) and call recordings
 * (GET /v1/calls/{id}/recording, app/recordings.h): the request is read here, the work runs on
 * the service's own thread while the request waits suspended. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include <math.h>
#include <strings.h>

#include "base/json.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "app/app.h"
#include "app/poolsim.h"
#include "app/recordings.h"

struct sim_wait {
    struct http_req *req;
    struct http_resp *resp;
    struct poolsim_req q;
};

static void sim_done(void *arg, struct poolsim_result *r)
{
    struct sim_wait *w = arg;
    struct http_req *req = w->req;
    if (r->rc) {
        errf(&req->eb, r->rc, r->field[0] ? r->field : NULL, "%s", r->message);
        if (r->rc == ERR_LIMITED)
            req->retry_after_s = 5;
        http_error_resp(req, w->resp, r->rc);
    } else {
        w->resp->status = 200;
        w->resp->content_type = "application/json";
        /* 10 significant digits: 0.95 stays 0.95 (as simulate --json prints its figures) */
        char *text = json_dumps(r->body, JSON_COMPACT | JSON_REAL_PRECISION(10));
        json_decref(r->body);
        if (!text || buf_adds(&w->resp->body, text) != ERR_OK)
            http_error_resp(req, w->resp, ERR_NOMEM);
        free(text);
    }
    r->body = NULL;
    free(w);
    http_resume(req); /* req and resp may be gone after this */
}

static void sim_submit(void *arg)
{
    struct sim_wait *w = arg;
    poolsim_run(w->req->app->poolsim, &w->q, sim_done, w);
}

/* {"days":N,"target_accuracy":X}, both optional (an empty body too). */
static int sim_body(struct http_req *req, struct poolsim_req *q)
{
    q->days = POOLSIM_DAYS_DEFAULT;
    q->target = POOLSIM_TARGET_DEFAULT;
    if (req->body.len == 0)
        return ERR_OK;
    json_t *o = NULL;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    static const char *const keys[] = {"days", "target_accuracy", NULL};
    if (rc == ERR_OK)
        rc = json_only_keys(o, keys, &req->eb);
    long long days = q->days;
    if (rc == ERR_OK && json_object_get(o, "days")) {
        rc = json_get_int(o, "days", &days, &req->eb);
        if (rc == ERR_OK && (days < 1 || days > POOLSIM_DAYS_MAX))
            rc = errf(&req->eb, ERR_INVALID, "days", "'days' must be 1..%d", POOLSIM_DAYS_MAX);
        q->days = days;
    }
    if (rc == ERR_OK && json_object_get(o, "target_accuracy")) {
        rc = json_get_number(o, "target_accuracy", &q->target, &req->eb);
        if (rc == ERR_OK && !(q->target > 0 && q->target <= 1))
            rc = errf(&req->eb, ERR_INVALID, "target_accuracy",
                      "'target_accuracy' must be more than 0 and at most 1");
    }
    json_decref(o);
    return rc;
}

int h_pool_simulate(struct http_req *req, struct http_resp *resp)
{
    struct sim_wait *w = xcalloc(1, sizeof(*w));
    int rc = sim_body(req, &w->q);
    if (rc == ERR_OK) {
        rc = poolsim_reserve(req->app->poolsim, req->account.id);
        if (rc == ERR_LIMITED) {
            req->retry_after_s = 5;
            errf(&req->eb, rc, NULL, "a simulation of this account is running: one at a time");
        } else if (rc) {
            errf(&req->eb, rc, NULL, "the pool simulator is busy; try again shortly");
        }
    }
    if (rc) {
        free(w);
        return rc;
    }
    w->req = req;
    w->resp = resp;
    w->q.account_id = req->account.id;
    w->q.now = time_now_ms();
    snprintf(w->q.pool, sizeof(w->q.pool), "%s", req->params[0]);
    http_defer(req, sim_submit, w);
    return ERR_OK;
}

/* ==== GET /v1/calls/{id}/recording (app/recordings.h) ========================================= */

struct rec_wait {
    struct http_req *req;
    struct http_resp *resp;
    struct recording_src src;
};

/* The audio types answered as the provider named them (a static string for the response);
 * any other audio type is answered as MP3, what Twilio's and SignalWire's .mp3 renditions are. */
static const char *audio_type(const char *given)
{
    static const char *const known[] = {"audio/mpeg", "audio/wav", "audio/x-wav",
                                        "audio/wave", "audio/ogg", "audio/webm",
                                        "audio/mp4",  "audio/aac", "audio/flac"};
    for (size_t i = 0; i < ARRAY_SIZE(known); i++)
        if (strcasecmp(given, known[i]) == 0)
            return known[i];
    return "audio/mpeg";
}

static void rec_done(void *arg, struct recording_result *r)
{
    struct rec_wait *w = arg;
    struct http_req *req = w->req;
    struct http_resp *resp = w->resp;
    if (r->rc == ERR_OK) {
        resp->status = 200;
        resp->content_type = audio_type(r->content_type);
        buf_release(&resp->body);
        resp->body = (struct buf){.data = r->body, .len = r->len, .cap = r->len + 1, .max = 0};
        r->body = NULL;
        http_header(resp, "Cache-Control", "private, no-store");
        http_header(resp, "X-Content-Type-Options", "nosniff");
        http_header(resp, "Content-Disposition", "inline");
    } else if (r->rc == ERR_BACKEND || r->rc == ERR_TOOBIG) {
        /* the provider's failure, not ours: 502 in the error format */
        resp->status = 502;
        resp->content_type = "application/json";
        buf_reset(&resp->body);
        json_error_body(&resp->body, "provider_error", r->message, NULL);
    } else {
        errf(&req->eb, r->rc, NULL, "%s", r->message);
        http_error_resp(req, resp, r->rc);
    }
    free(r->body);
    free(w);
    http_resume(req); /* req and resp may be gone after this */
}

static void rec_submit(void *arg)
{
    struct rec_wait *w = arg;
    recordings_fetch(w->req->app->recordings, &w->src, rec_done, w);
}

int h_call_recording(struct http_req *req, struct http_resp *resp)
{
    struct rec_wait *w = xcalloc(1, sizeof(*w));
    int rc = recordings_source(req->app, req->account.id, req->params[0], &w->src, &req->eb);
    if (rc == ERR_OK) {
        rc = recordings_reserve(req->app->recordings);
        if (rc)
            errf(&req->eb, rc, NULL, "too many recordings are being fetched; try again shortly");
    }
    if (rc) {
        free(w);
        return rc;
    }
    /* a recording is the caller's voice: every playback is in the account's audit log */
    struct users_session api = {.row.account_id = req->account.id};
    snprintf(api.email, sizeof(api.email), "api");
    char detail[96];
    snprintf(detail, sizeof(detail), "recording of %s (%s)", w->src.call, w->src.provider);
    users_audit(req->app, req->session.row.id ? &req->session : &api, "GET /v1/calls/{}/recording",
                req->path, detail, time_now_ms());
    w->req = req;
    w->resp = resp;
    http_defer(req, rec_submit, w);
    return ERR_OK;
}
