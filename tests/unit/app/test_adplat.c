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
#include "app/outbound.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(meta_lead_hashes_the_caller_and_builds_fbc),
        cmocka_unit_test(ga4_events_name_the_call_and_the_qualified_call),
        cmocka_unit_test(ga_detail_is_the_cookie_ids),
        cmocka_unit_test(destination_urls_check_ids_and_credentials),
        cmocka_unit_test(verdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
