/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Every route handler, grouped by file. Each takes the request (with req->params filled from
 * the {…} path segments and, on AUTH routes, req->account set) and fills the response, or
 * returns an error code with req->eb set. Called from an HTTP worker thread. */
#ifndef OPENDNI_HTTP_HANDLERS_H
#define OPENDNI_HTTP_HANDLERS_H

#include "http/http.h"

/* h_health.c: GET /healthz (alive: always 200), GET /readyz (200 when the store can commit, 503
 * "unavailable" when it cannot), GET /metrics */
int h_healthz(struct http_req *req, struct http_resp *resp);
int h_readyz(struct http_req *req, struct http_resp *resp);
int h_metrics(struct http_req *req, struct http_resp *resp);
/* h_assets.c */
int h_asset(struct http_req *req, struct http_resp *resp);
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
int h_rule_list(struct http_req *req, struct http_resp *resp);
int h_rule_delete(struct http_req *req, struct http_resp *resp);
/* h_visit.c */
int h_visit(struct http_req *req, struct http_resp *resp);
int h_visit_ping(struct http_req *req, struct http_resp *resp);
int h_visit_event(struct http_req *req, struct http_resp *resp);
int h_session_get(struct http_req *req, struct http_resp *resp);
/* h_telephony.c: provider webhooks (signature-checked, no Bearer key) and the PBX lookup */
/* POST /v1/telephony/{provider}/voice|status|dial, for each provider of telephony/provider.h
 * (404 for a provider it does not know, or a kind the provider does not send). */
int h_tel_voice(struct http_req *req, struct http_resp *resp);
int h_tel_status(struct http_req *req, struct http_resp *resp);
int h_tel_dial(struct http_req *req, struct http_resp *resp);
int h_pbx_lookup(struct http_req *req, struct http_resp *resp);
/* h_calls.c */
int h_call_list(struct http_req *req, struct http_resp *resp);
int h_call_get(struct http_req *req, struct http_resp *resp);

/* h_reports.c: call reports and the Google Ads CSV exports (account-scoped) */
int h_report_calls(struct http_req *req, struct http_resp *resp);
int h_export_click_conversions(struct http_req *req, struct http_resp *resp);
int h_export_call_conversions(struct http_req *req, struct http_resp *resp);
/* h_test.c: the test binary's clock and fault hooks (routed only there) */
int h_test_clock(struct http_req *req, struct http_resp *resp);
int h_test_faults(struct http_req *req, struct http_resp *resp);
/* h_stream.c: GET /v1/stream, Server-Sent Events (hands resp->stream to the server) */
int h_stream(struct http_req *req, struct http_resp *resp);

#endif
