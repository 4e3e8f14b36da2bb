/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Ad-platform bodies and verdicts (app/adplat.h): the Meta phone hash of INTERFACES.md §5.2
 * (SHA-256 of the digits with the country code), fbc, GA4's body and names, the ga_client detail
 * rule, the configuration checks and the verdict on answers (a refused credential ends the
 * retries, a 5xx or 429 does not). */
#include "base/prelude.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "app/adplat.h"
#include "app/calls.h"
#include "app/outbound.h"
#include "app/zones.h"

static struct st_call sample_call(void)
{
    struct st_call c = {.started_at = 1736874000000LL, .duration_s = 93, .session_id = 7};
    snprintf(c.ext_id, sizeof(c.ext_id), "call_abc");
    snprintf(c.provider_call_id, sizeof(c.provider_call_id), "CA00000000000000000000000000000001");
    snprintf(c.to, sizeof(c.to), "+15125550100");
    snprintf(c.from, sizeof(c.from), "+14155550123");
    snprintf(c.status, sizeof(c.status), "completed");
    return c;
}

static struct st_conversion sample_conversion(void)
{
    struct st_conversion cv = {.value = 150, .at = 1736874311000LL};
    snprintf(cv.name, sizeof(cv.name), "Qualified call");
    snprintf(cv.currency, sizeof(cv.currency), "USD");
    return cv;
}

static void meta_lead_hashes_the_caller_and_builds_fbc(void **state)
{
    (void)state;
    struct st_call c = sample_call();
    struct st_conversion cv = sample_conversion();
    struct adplat_call a = {
        .call = &c, .cv = &cv, .fbclid = "IwAR2F4-dbP0l7Mn1IawQQ", .fbclid_at = 1736870000000LL};
    char *body = adplat_meta_body(&a);
    assert_non_null(body);
    json_t *v = json_loads(body, 0, NULL);
    json_t *e = json_array_get(json_object_get(v, "data"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "event_name")), "Lead");
    assert_string_equal(json_string_value(json_object_get(e, "action_source")), "phone_call");
    assert_string_equal(json_string_value(json_object_get(e, "event_id")), "call_abc");
    assert_int_equal(json_integer_value(json_object_get(e, "event_time")), 1736874311);
    json_t *u = json_object_get(e, "user_data");
    /* INTERFACES.md §5.2: SHA-256 of "14155550123" */
    assert_string_equal(json_string_value(json_array_get(json_object_get(u, "ph"), 0)),
                        "413ba75461ab5f99d36820e561ea97e2bd80f9cb586f7ecea6cf4c496518950a");
    assert_string_equal(json_string_value(json_object_get(u, "fbc")),
                        "fb.1.1736870000000.IwAR2F4-dbP0l7Mn1IawQQ");
    json_decref(v);
    free(body);
    /* Nothing to match by: no body. */
    snprintf(c.from, sizeof(c.from), "anonymous");
    a.fbclid = "";
    assert_null(adplat_meta_body(&a));
    a.cv = NULL;
    assert_null(adplat_meta_body(&a));
}

static void ga4_events_name_the_call_and_the_qualified_call(void **state)
{
    (void)state;
    struct st_call c = sample_call();
    struct st_conversion cv = sample_conversion();
    struct adplat_call a = {.call = &c,
                            .cv = NULL,
                            .ga_client_id = "1234567890.1736870000",
                            .ga_session_id = "1736871111"};
    char *body = adplat_ga4_body(&a, "call.completed");
    json_t *v = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(v, "client_id")),
                        "1234567890.1736870000");
    assert_int_equal(json_integer_value(json_object_get(v, "timestamp_micros")),
                     1736874000000000LL);
    json_t *e = json_array_get(json_object_get(v, "events"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "name")), "phone_call");
    json_t *p = json_object_get(e, "params");
    assert_string_equal(json_string_value(json_object_get(p, "session_id")), "1736871111");
    assert_int_equal(json_integer_value(json_object_get(p, "call_duration_sec")), 93);
    assert_null(json_object_get(p, "value"));
    json_decref(v);
    free(body);
    a.cv = &cv;
    body = adplat_ga4_body(&a, "conversion.created");
    v = json_loads(body, 0, NULL);
    e = json_array_get(json_object_get(v, "events"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "name")), "qualified_call");
    p = json_object_get(e, "params");
    assert_true(json_number_value(json_object_get(p, "value")) == 150.0);
    assert_string_equal(json_string_value(json_object_get(p, "currency")), "USD");
    json_decref(v);
    free(body);
    a.ga_client_id = ""; /* GA4 needs a client id: nothing is sent without one */
    assert_null(adplat_ga4_body(&a, "call.completed"));
}

static void ga_detail_is_the_cookie_ids(void **state)
{
    (void)state;
    assert_true(adplat_ga_detail_valid("1234567890.1736870000"));
    assert_true(adplat_ga_detail_valid("1234567890.1736870000 1736871111"));
    assert_false(adplat_ga_detail_valid("GA1.1.1234567890.1736870000"));
    assert_false(adplat_ga_detail_valid("123"));
    assert_false(adplat_ga_detail_valid("123.456 "));
    assert_false(adplat_ga_detail_valid("123.456 7x"));
    assert_false(adplat_ga_detail_valid("123.456\n"));
    assert_false(adplat_ga_detail_valid(""));
}

static void destination_urls_check_ids_and_credentials(void **state)
{
    (void)state;
    char url[512];
    struct errbuf eb = {0};
    assert_int_equal(
        adplat_destination_url("ga4", "G-ABC1234", "secret_123", url, sizeof(url), &eb), ERR_OK);
    assert_string_equal(url,
                        "https://www.google-analytics.com/mp/collect?measurement_id=G-ABC1234");
    assert_int_equal(
        adplat_destination_url("meta", "1234567890", "EAAB_token", url, sizeof(url), &eb), ERR_OK);
    assert_string_equal(url,
                        "https://graph.facebook.com/" ADPLAT_META_VERSION "/1234567890/events");
    assert_int_equal(
        adplat_destination_url("ga4", "G-ABC&x=1", "secret_123", url, sizeof(url), &eb),
        ERR_INVALID);
    assert_int_equal(adplat_destination_url("ga4", "G-ABC1234", "s&api=1x", url, sizeof(url), &eb),
                     ERR_INVALID); /* the credential goes into a query string unescaped */
    assert_int_equal(adplat_destination_url("meta", "12/../3", "EAAB_token", url, sizeof(url), &eb),
                     ERR_INVALID);
    struct st_destination d = {0};
    snprintf(d.format, sizeof(d.format), "ga4");
    snprintf(d.url, sizeof(d.url), "%s", ADPLAT_GA4_BASE "/mp/collect?measurement_id=G-ABC1234");
    snprintf(d.secret, sizeof(d.secret), "secret_123");
    assert_true(adplat_request_url(&d, url, sizeof(url)));
    assert_string_equal(url, "https://www.google-analytics.com/mp/collect?measurement_id="
                             "G-ABC1234&api_secret=secret_123");
    d.secret[0] = '\0'; /* a secret the store could not open is never sent as "" */
    assert_false(adplat_request_url(&d, url, sizeof(url)));
}

static void verdicts(void **state)
{
    (void)state;
    char why[256];
    struct outbound_result r = {.status = 400, .retry_after_s = -1};
    snprintf(r.snippet, sizeof(r.snippet), "%s",
             "{\"error\":{\"message\":\"Invalid OAuth access token.\",\"type\":"
             "\"OAuthException\",\"code\":190,\"fbtrace_id\":\"A\"}}");
    assert_int_equal(adplat_verdict("meta", &r, why, sizeof(why)), ADPLAT_REJECTED);
    assert_non_null(strstr(why, "Invalid OAuth access token."));
    snprintf(r.snippet, sizeof(r.snippet), "%s",
             "{\"error\":{\"message\":\"Invalid parameter\",\"type\":\"OAuthException\","
             "\"code\":100}}");
    assert_int_equal(adplat_verdict("meta", &r, why, sizeof(why)), ADPLAT_DROP);
    r.status = 403;
    assert_int_equal(adplat_verdict("ga4", &r, why, sizeof(why)), ADPLAT_REJECTED);
    assert_int_equal(adplat_retry_for_ms("ga4", 3 * 86400000LL), 72 * 3600000LL);
    assert_int_equal(adplat_retry_for_ms("meta", 3 * 86400000LL), 3 * 86400000LL);
    static const int retried[] = {0, 200, 204, 302, 408, 429, 500, 503};
    for (size_t i = 0; i < ARRAY_SIZE(retried); i++) {
        r.status = retried[i];
        assert_int_equal(adplat_verdict("meta", &r, why, sizeof(why)), ADPLAT_RETRY);
    }
}

/* ---- Google Ads (Data Manager API) ---- */

static void gads_events_follow_the_rule_and_the_zone(void **state)
{
    (void)state;
    struct st_call c = sample_call();
    snprintf(c.method, sizeof(c.method), "exact");
    c.confidence = 1;
    struct st_conversion cv = sample_conversion(); /* 2025-01-14 17:05:11 UTC */
    struct calls_settings cs;
    assert_int_equal(calls_settings_parse("{\"conversion\":{\"value\":42}}", &cs, NULL), ERR_OK);
    struct adplat_call a = {.call = &c,
                            .cv = &cv,
                            .gclid = "Cj0KCQiA-click",
                            .gbraid = "",
                            .wbraid = "",
                            .click_at = cv.at - 3600000};
    const struct zone *chicago;
    assert_int_equal(zones_get("America/Chicago", &chicago), ERR_OK);
    char *body = adplat_gads_event(&a, &cs, chicago);
    assert_non_null(body);
    json_t *v = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(v, "eventTimestamp")),
                        "2025-01-14T11:05:11-06:00");
    assert_string_equal(json_string_value(json_object_get(v, "transactionId")), "call_abc");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(v, "adIdentifiers"), "gclid")),
        "Cj0KCQiA-click");
    assert_true(json_real_value(json_object_get(v, "conversionValue")) == 150.0);
    assert_string_equal(json_string_value(json_object_get(v, "currency")), "USD");
    assert_string_equal(json_string_value(json_object_get(v, "eventSource")), "PHONE");
    json_decref(v);
    free(body);
    /* DST: July in Chicago is UTC-5; no zone is UTC; no value: the rule's default value */
    cv.at = 1752512711000LL; /* 2025-07-14 17:05:11 UTC */
    cv.value = 0;
    a.click_at = cv.at - 1000;
    body = adplat_gads_event(&a, &cs, chicago);
    assert_non_null(strstr(body, "\"eventTimestamp\":\"2025-07-14T12:05:11-05:00\""));
    assert_non_null(strstr(body, "\"conversionValue\":42"));
    free(body);
    body = adplat_gads_event(&a, &cs, NULL);
    assert_non_null(strstr(body, "\"eventTimestamp\":\"2025-07-14T17:05:11+00:00\""));
    free(body);
    /* the first valid of gclid, gbraid, wbraid */
    a.gclid = "=HYPERLINK(1)";
    a.wbraid = "wbraid_1";
    body = adplat_gads_event(&a, &cs, NULL);
    assert_non_null(strstr(body, "\"adIdentifiers\":{\"wbraid\":\"wbraid_1\"}"));
    free(body);
    /* what the rule does not send: late attributions, low confidence, old clicks, no click */
    snprintf(c.method, sizeof(c.method), "late");
    assert_null(adplat_gads_event(&a, &cs, NULL));
    snprintf(c.method, sizeof(c.method), "shared");
    c.confidence = 0.5;
    assert_null(adplat_gads_event(&a, &cs, NULL));
    c.confidence = 0.9;
    a.click_at = cv.at - CALLS_GADS_CLICK_MAX_AGE_MS - 1;
    assert_null(adplat_gads_event(&a, &cs, NULL));
    a.click_at = cv.at - 1000;
    a.wbraid = "";
    assert_null(adplat_gads_event(&a, &cs, NULL));
    a.cv = NULL;
    a.gclid = "Cj0KCQiA-click";
    assert_null(adplat_gads_event(&a, &cs, NULL));
}

static void gads_settings_and_credentials(void **state)
{
    (void)state;
    struct adplat_gads_config cfg = {.customer_id = "1234567890",
                                     .login_customer_id = "9876543210",
                                     .action_id = "555",
                                     .time_zone = "America/Chicago",
                                     .ad_user_data = "granted",
                                     .validate_only = true};
    char url[512];
    struct errbuf eb = {0};
    assert_int_equal(adplat_gads_destination_url(&cfg, url, sizeof(url), &eb), ERR_OK);
    struct adplat_gads_config back;
    assert_true(adplat_gads_config_parse(url, &back));
    assert_string_equal(back.customer_id, "1234567890");
    assert_string_equal(back.login_customer_id, "9876543210");
    assert_string_equal(back.action_id, "555");
    assert_string_equal(back.time_zone, "America/Chicago");
    assert_string_equal(back.ad_user_data, "granted");
    assert_string_equal(back.ad_personalization, "");
    assert_true(back.validate_only);
    const char *events[] = {"{\"transactionId\":\"call_a\"}", "{\"transactionId\":\"call_b\"}"};
    char *req = adplat_gads_request_body(&back, events, 2);
    json_t *v = json_loads(req, 0, NULL);
    json_t *d = json_array_get(json_object_get(v, "destinations"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(d, "operatingAccount"), "accountId")),
        "1234567890");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(d, "loginAccount"), "accountType")),
        "GOOGLE_ADS");
    assert_string_equal(json_string_value(json_object_get(d, "productDestinationId")), "555");
    assert_int_equal(json_array_size(json_object_get(v, "events")), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(v, "consent"), "adUserData")),
        "CONSENT_GRANTED");
    assert_null(json_object_get(json_object_get(v, "consent"), "adPersonalization"));
    assert_true(json_is_true(json_object_get(v, "validateOnly")));
    json_decref(v);
    free(req);
    const char *not_json[] = {"{\"transactionId\":"};
    assert_null(adplat_gads_request_body(&back, not_json, 1));
    cfg.customer_id[3] = 'x';
    assert_int_equal(adplat_gads_destination_url(&cfg, url, sizeof(url), &eb), ERR_INVALID);
    assert_string_equal(eb.field, "customer_id");
    assert_false(
        adplat_gads_config_parse("https://datamanager.googleapis.com/v1/events:ingest", &back));
    /* the credential: three values, one per line, each checked */
    char packed[STORE_DEST_SECRET_CLEAR_MAX];
    assert_int_equal(adplat_gads_credential("id-1.apps.googleusercontent.com", "GOCSPX-secret",
                                            "1//0gToken/with+chars=", packed, sizeof(packed), &eb),
                     ERR_OK);
    struct adplat_gads_cred c;
    assert_true(adplat_gads_cred_parse(packed, &c));
    assert_string_equal(c.refresh_token, "1//0gToken/with+chars=");
    char turl[256];
    char *form = adplat_gads_token_request(&c, turl, sizeof(turl));
    assert_string_equal(turl, "https://oauth2.googleapis.com/token");
    assert_string_equal(form, "grant_type=refresh_token&client_id=id-1.apps.googleusercontent.com"
                              "&client_secret=GOCSPX-secret&refresh_token=1%2F%2F0gToken%2Fwith%"
                              "2Bchars%3D");
    free(form);
    assert_int_equal(adplat_gads_credential("id-1.apps", "GOCSPX-secret", "tok\nen12345", packed,
                                            sizeof(packed), &eb),
                     ERR_INVALID);
    assert_string_equal(eb.field, "refresh_token");
    assert_false(adplat_gads_cred_parse("a\nb", &c));
    assert_int_equal(adplat_credential_check("google_ads", "just-one-token", &eb), ERR_INVALID);
}

static void gads_answers(void **state)
{
    (void)state;
    enum adplat_gads_outcome out[3];
    char why[3][ADPLAT_WHY_MAX], detail[3][ADPLAT_WHY_MAX];
    struct outbound_result r = {.status = 200, .retry_after_s = -1};
    adplat_gads_outcomes(&r, 3, out, why, detail);
    assert_int_equal(out[2], ADPLAT_GADS_DELIVERED);
    static const int transient[] = {0, 408, 429, 500, 503};
    for (size_t i = 0; i < ARRAY_SIZE(transient); i++) {
        r.status = transient[i];
        adplat_gads_outcomes(&r, 3, out, why, detail);
        assert_int_equal(out[0], ADPLAT_GADS_RETRY);
    }
    r.status = 401;
    adplat_gads_outcomes(&r, 3, out, why, detail);
    assert_int_equal(out[1], ADPLAT_GADS_REAUTH);
    r.status = 403;
    snprintf(
        r.snippet, sizeof(r.snippet), "%s",
        "{\"error\":{\"code\":403,\"message\":\"No access\",\"status\":\"PERMISSION_DENIED\"}}");
    adplat_gads_outcomes(&r, 3, out, why, detail);
    assert_int_equal(out[0], ADPLAT_GADS_REJECTED);
    assert_string_equal(why[0],
                        "credential rejected by Google (HTTP 403 PERMISSION_DENIED: No access)");
    /* fast fail: events[1] refused, the others not processed */
    r.status = 400;
    const char *bad =
        "{\"error\":{\"code\":400,\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":"
        "\"type.googleapis.com/google.rpc.BadRequest\",\"fieldViolations\":[{\"field\":"
        "\"events[1].ad_identifiers.gclid\",\"description\":\"Bad gclid.\",\"reason\":"
        "\"INVALID_FORMAT\"}]}]}}";
    r.body = bad;
    adplat_gads_outcomes(&r, 3, out, why, detail);
    assert_int_equal(out[0], ADPLAT_GADS_RETRY_NOW);
    assert_int_equal(out[1], ADPLAT_GADS_DROP);
    assert_int_equal(out[2], ADPLAT_GADS_RETRY_NOW);
    assert_string_equal(
        why[1], "refused by Google: INVALID_FORMAT events[1].ad_identifiers.gclid: Bad gclid.");
    assert_non_null(strstr(detail[1], "INVALID_FORMAT"));
    assert_string_equal(detail[0], "");
    assert_non_null(strstr(why[2], "events[1]"));
    /* refused as a whole (the conversion action): every event given up */
    r.body = "{\"error\":{\"code\":400,\"message\":\"Conversion action ID is not valid.\","
             "\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":\"type.googleapis.com/"
             "google.rpc.BadRequest\",\"fieldViolations\":[{\"field\":\"destinations[0]."
             "product_destination_id\",\"reason\":\"INVALID_CONVERSION_ACTION_ID\"}]}]}}";
    adplat_gads_outcomes(&r, 3, out, why, detail);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(out[i], ADPLAT_GADS_DROP);
    assert_non_null(strstr(why[0], "Conversion action ID is not valid."));
    /* the token endpoint */
    char token[ADPLAT_GADS_TOKEN_MAX];
    int64_t life = 0;
    char w[ADPLAT_WHY_MAX];
    struct outbound_result t = {.status = 200,
                                .retry_after_s = -1,
                                .body = "{\"access_token\":\"ya29.a0Ab\",\"expires_in\":3599,"
                                        "\"token_type\":\"Bearer\"}"};
    assert_int_equal(adplat_gads_token_answer(&t, token, sizeof(token), &life, w, sizeof(w)),
                     ADPLAT_RETRY);
    assert_string_equal(token, "ya29.a0Ab");
    assert_int_equal(life, 3599);
    t.status = 400;
    t.body = "{\"error\":\"invalid_grant\",\"error_description\":\"Token has been expired or "
             "revoked.\"}";
    assert_int_equal(adplat_gads_token_answer(&t, token, sizeof(token), &life, w, sizeof(w)),
                     ADPLAT_REJECTED);
    assert_string_equal(token, "");
    assert_string_equal(
        w, "credential rejected by Google (HTTP 400, invalid_grant: Token has been expired or "
           "revoked.)");
    t.status = 503;
    t.body = "down";
    assert_int_equal(adplat_gads_token_answer(&t, token, sizeof(token), &life, w, sizeof(w)),
                     ADPLAT_RETRY);
    assert_string_equal(token, "");
    t.status = 200;
    t.body = "{\"token_type\":\"Bearer\"}";
    assert_int_equal(adplat_gads_token_answer(&t, token, sizeof(token), &life, w, sizeof(w)),
                     ADPLAT_RETRY);
    assert_string_equal(token, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(meta_lead_hashes_the_caller_and_builds_fbc),
        cmocka_unit_test(ga4_events_name_the_call_and_the_qualified_call),
        cmocka_unit_test(ga_detail_is_the_cookie_ids),
        cmocka_unit_test(destination_urls_check_ids_and_credentials),
        cmocka_unit_test(verdicts),
        cmocka_unit_test(gads_events_follow_the_rule_and_the_zone),
        cmocka_unit_test(gads_settings_and_credentials),
        cmocka_unit_test(gads_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
