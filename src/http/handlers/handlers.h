/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Every route handler, grouped by file. Each takes the request (with req->params filled from
 * the {…} path segments and, on AUTH routes, req->account set) and fills the response, or
 * returns an error code with req->eb set. Called from an HTTP worker thread. */
#ifndef OPENDNI_HTTP_HANDLERS_H
#define OPENDNI_HTTP_HANDLERS_H

#include <jansson.h>

#include "core/access.h"
#include "http/http.h"

/* h_health.c: GET /healthz (alive: always 200), GET /readyz (200 when the store can commit, 503
 * "unavailable" when it cannot), GET /metrics */
int h_healthz(struct http_req *req, struct http_resp *resp);
int h_readyz(struct http_req *req, struct http_resp *resp);
int h_metrics(struct http_req *req, struct http_resp *resp);
/* h_assets.c */
int h_asset(struct http_req *req, struct http_resp *resp);
/* h_app.c: the dashboard (docs/dashboard.md) */
/* Authenticates a request by its session cookie for a route that needs role `needed`: a live
 * session, and for anything but GET/HEAD a same-origin request carrying the session's CSRF
 * token. Sets req->session and req->account. ERR_AUTH (no or dead session), ERR_FORBIDDEN
 * (cross-origin, no CSRF token, or a role below needed), with req->eb set. Called by the
 * router before the handler. */
int h_app_authenticate(struct http_req *req, enum access_role needed);
/* Writes the audit entry of a state change a session made (after the handler succeeded); a
 * no-op for reads and for Bearer-key requests. */
void h_app_audit(struct http_req *req);
/* Hides what the session's role may not see in a CALL object (viewers: the caller's number is
 * masked, conversion values and outcome revenue are null). A no-op for Bearer-key requests. */
void h_app_redact_call(const struct http_req *req, json_t *call);
/* GET /app/ and its files: the embedded bundle with a strict Content-Security-Policy. */
int h_app_page(struct http_req *req, struct http_resp *resp);
/* POST /app/login (JSON or form: email, password; same-origin only): sets the session cookie,
 * answers as GET /v1/app/me (a form post is redirected to /app/). 401 on a wrong email or
 * password, 429 when rate limited. */
int h_app_login(struct http_req *req, struct http_resp *resp);
/* POST /app/logout: ends the session and clears the cookie (204). */
int h_app_logout(struct http_req *req, struct http_resp *resp);
/* GET /v1/app/me: the user, the account looked at, the role, its rights, the user's accounts
 * and the CSRF token. */
int h_app_me(struct http_req *req, struct http_resp *resp);
/* POST /v1/app/account {"account":"acc_…"}: switches the session to another of the user's
 * accounts; answers as GET /v1/app/me. */
int h_app_switch(struct http_req *req, struct http_resp *resp);
/* GET /v1/app/audit?before=ID: the account's audit log (owners). */
int h_app_audit_list(struct http_req *req, struct http_resp *resp);
/* h_admin.c */
int h_pool_create(struct http_req *req, struct http_resp *resp);
int h_pool_list(struct http_req *req, struct http_resp *resp);
int h_pool_get(struct http_req *req, struct http_resp *resp);
int h_pool_update(struct http_req *req, struct http_resp *resp);
int h_pool_delete(struct http_req *req, struct http_resp *resp);
int h_pool_health(struct http_req *req, struct http_resp *resp);
int h_number_create(struct http_req *req, struct http_resp *resp);
int h_number_list(struct http_req *req, struct http_resp *resp);
int h_number_get(struct http_req *req, struct http_resp *resp);
int h_number_update(struct http_req *req, struct http_resp *resp);
int h_number_delete(struct http_req *req, struct http_resp *resp);
int h_rule_create(struct http_req *req, struct http_resp *resp);
int h_rule_update(struct http_req *req, struct http_resp *resp);
int h_rule_list(struct http_req *req, struct http_resp *resp);
int h_rule_delete(struct http_req *req, struct http_resp *resp);
/* h_visit.c */
int h_visit(struct http_req *req, struct http_resp *resp);
int h_visit_ping(struct http_req *req, struct http_resp *resp);
int h_visit_event(struct http_req *req, struct http_resp *resp);
/* GET /v1/amp/call-tracking: amp-call-tracking's config (docs/api.md), AMP's CORS rules. */
int h_visit_amp(struct http_req *req, struct http_resp *resp);
/* GET /v1/origins?account=: the account's allowed origins, for the iframe side of the tracker's
 * postMessage bridge (dni-frame.js). */
int h_visit_origins(struct http_req *req, struct http_resp *resp);
int h_session_get(struct http_req *req, struct http_resp *resp);
/* h_telephony.c: provider webhooks (signature-checked, no Bearer key) and the PBX lookup */
/* POST /v1/telephony/{provider}/voice|status|dial, for each provider of telephony/provider.h
 * (404 for a provider it does not know, or a kind the provider does not send). */
int h_tel_voice(struct http_req *req, struct http_resp *resp);
int h_tel_status(struct http_req *req, struct http_resp *resp);
int h_tel_dial(struct http_req *req, struct http_resp *resp);
/* POST /v1/telephony/{provider}/route?ev=&p=&st=: a routed call's callbacks (app/routing.h) */
int h_tel_route(struct http_req *req, struct http_resp *resp);
/* POST /v1/telephony/{provider}/recording: a plain forward's recordingStatusCallback */
int h_tel_recording(struct http_req *req, struct http_resp *resp);
/* h_routing.c: /v1/locations and /v1/routing-plans (POST, GET, GET/PUT/DELETE {id}), and
 * GET /v1/reports/routing?group_by=location|target&since=&until= */
int h_routing_create(struct http_req *req, struct http_resp *resp);
int h_routing_replace(struct http_req *req, struct http_resp *resp);
int h_routing_get(struct http_req *req, struct http_resp *resp);
int h_routing_list(struct http_req *req, struct http_resp *resp);
int h_routing_delete(struct http_req *req, struct http_resp *resp);
int h_report_routing(struct http_req *req, struct http_resp *resp);
int h_pbx_lookup(struct http_req *req, struct http_resp *resp);
/* h_calls.c */
int h_call_list(struct http_req *req, struct http_resp *resp);
int h_call_get(struct http_req *req, struct http_resp *resp);
/* PATCH /v1/calls/{id}: sets the call's outcome (app/outcomes.h); 200 with the CALL object. */
int h_call_patch(struct http_req *req, struct http_resp *resp);

/* h_reports.c: call reports and the Google Ads CSV exports (account-scoped) */
int h_app_rollup(struct http_req *req, struct http_resp *resp);
/* h_admin.c: GET /v1/pools/{id}/usage (numbers in use over time) */
int h_pool_usage(struct http_req *req, struct http_resp *resp);
/* h_settings.c: the dashboard's Settings (keys, origins, provider credentials, users) */
int h_app_key_list(struct http_req *req, struct http_resp *resp);
int h_app_key_create(struct http_req *req, struct http_resp *resp);
int h_app_key_revoke(struct http_req *req, struct http_resp *resp);
int h_app_origin_list(struct http_req *req, struct http_resp *resp);
int h_app_origin_add(struct http_req *req, struct http_resp *resp);
int h_app_origin_delete(struct http_req *req, struct http_resp *resp);
int h_app_provider_list(struct http_req *req, struct http_resp *resp);
int h_app_provider_set(struct http_req *req, struct http_resp *resp);
int h_app_user_list(struct http_req *req, struct http_resp *resp);
int h_app_user_set(struct http_req *req, struct http_resp *resp);
int h_app_user_remove(struct http_req *req, struct http_resp *resp);
int h_report_calls(struct http_req *req, struct http_resp *resp);
/* GET /v1/reports/pnl (analyst): the P&L of pay-per-call (app/pnl.h). */
int h_report_pnl(struct http_req *req, struct http_resp *resp);
/* h_publishers.c: /v1/publishers (POST, GET; GET/PUT/DELETE {id}): admin to change, analyst to
 * read. */
int h_publisher_create(struct http_req *req, struct http_resp *resp);
int h_publisher_replace(struct http_req *req, struct http_resp *resp);
int h_publisher_get(struct http_req *req, struct http_resp *resp);
int h_publisher_list(struct http_req *req, struct http_resp *resp);
int h_publisher_delete(struct http_req *req, struct http_resp *resp);
int h_report_funnel(struct http_req *req, struct http_resp *resp);
int h_report_cohorts(struct http_req *req, struct http_resp *resp);
int h_export_calls(struct http_req *req, struct http_resp *resp);
int h_spend_import(struct http_req *req, struct http_resp *resp);
int h_spend_list(struct http_req *req, struct http_resp *resp);
int h_export_click_conversions(struct http_req *req, struct http_resp *resp);
int h_export_call_conversions(struct http_req *req, struct http_resp *resp);
int h_export_msads_conversions(struct http_req *req, struct http_resp *resp);
/* h_privacy.c: erasure requests and their log (docs/api.md "Erasure"). */
int h_erasure_create(struct http_req *req, struct http_resp *resp);
int h_erasure_list(struct http_req *req, struct http_resp *resp);
int h_erasure_get(struct http_req *req, struct http_resp *resp);

/* The Google Ads scheduled-import feed: POST/DELETE /v1/exports/google-ads/feed (Bearer, admin)
 * make or revoke its credential; GET /v1/feeds/google-ads/click-conversions.csv answers the
 * click file (default range: the last 90 days) to HTTP Basic with that credential only. */
int h_feed_create(struct http_req *req, struct http_resp *resp);
int h_feed_delete(struct http_req *req, struct http_resp *resp);
int h_feed_click_conversions(struct http_req *req, struct http_resp *resp);
/* h_webhooks.c: outbound webhooks, Slack and email destinations (API.md "Outbound webhooks"):
 * POST/GET /v1/webhooks, GET/DELETE /v1/webhooks/{id}, GET /v1/webhooks/{id}/deliveries,
 * POST /v1/webhooks/{id}/test (a sample event), /redeliver {"event_id"}, /enable */
int h_webhook_create(struct http_req *req, struct http_resp *resp);
int h_webhook_list(struct http_req *req, struct http_resp *resp);
int h_webhook_get(struct http_req *req, struct http_resp *resp);
int h_webhook_delete(struct http_req *req, struct http_resp *resp);
int h_webhook_enable(struct http_req *req, struct http_resp *resp);
int h_webhook_credential(struct http_req *req, struct http_resp *resp);
int h_webhook_deliveries(struct http_req *req, struct http_resp *resp);
int h_webhook_test(struct http_req *req, struct http_resp *resp);
int h_webhook_redeliver(struct http_req *req, struct http_resp *resp);
/* h_test.c: the test binary's clock and fault hooks (routed only there) */
int h_test_clock(struct http_req *req, struct http_resp *resp);
int h_test_faults(struct http_req *req, struct http_resp *resp);
/* h_stream.c: GET /v1/stream, Server-Sent Events (hands resp->stream to the server) */
int h_stream(struct http_req *req, struct http_resp *resp);

/* h_numbers.c: numbers bought and released by opendni (docs/api.md "Buying numbers") */
int h_number_settings_get(struct http_req *req, struct http_resp *resp);
int h_number_settings_put(struct http_req *req, struct http_resp *resp);
int h_pool_autoscale_get(struct http_req *req, struct http_resp *resp);
int h_pool_autoscale_put(struct http_req *req, struct http_resp *resp);
int h_pool_number_actions(struct http_req *req, struct http_resp *resp);
int h_pool_numbers_buy(struct http_req *req, struct http_resp *resp);
int h_pool_number_release(struct http_req *req, struct http_resp *resp);
/* h_dash.c: the dashboard's pool sweep (app/poolsim.h) */
int h_pool_simulate(struct http_req *req, struct http_resp *resp);
/* GET /v1/calls/{id}/recording: the call's recording, relayed from the provider (audited) */
int h_call_recording(struct http_req *req, struct http_resp *resp);
/* POST /v1/test/numbers-check (test binary): runs the number service's periodic work now. */
int h_test_numbers_check(struct http_req *req, struct http_resp *resp);

#endif
