/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* telephony/numbers: the number-management requests are the providers' documented shapes
 * (method, path, query, body, authentication), values are encoded, and answers that are not
 * the documented shape are refused rather than half-read. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "telephony/numbers.h"
#include "telephony/provider.h"

static const struct tel_api_cred tw = {.base_url = "https://api.twilio.com",
                                       .account = "AC0123456789abcdef0123456789abcdef",
                                       .secret = "token"};
static const struct tel_api_cred tx = {
    .base_url = "https://api.telnyx.com", .account = "1234567890", .secret = "KEYabc"};
static const struct tel_hooks hooks = {.voice_url = "https://dni.example.com/v1/telephony/x/voice",
                                       .status_url =
                                           "https://dni.example.com/v1/telephony/x/status"};

static void providers_expose_their_tables(void **state)
{
    (void)state;
    assert_ptr_equal(tel_provider_by_name("twilio")->numbers, &tel_numbers_twilio);
    assert_ptr_equal(tel_provider_by_name("telnyx")->numbers, &tel_numbers_telnyx);
    assert_null(tel_provider_by_name("signalwire")->numbers);
}

static void twilio_requests(void **state)
{
    (void)state;
    const struct tel_numbers *t = &tel_numbers_twilio;
    struct tel_api_req r;
    struct tel_search q = {.country = "US", .area_code = "512", .limit = 5};
    assert_int_equal(t->search(&tw, &q, &r), ERR_OK);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.url, "https://api.twilio.com/2010-04-01/Accounts/"
                               "AC0123456789abcdef0123456789abcdef/AvailablePhoneNumbers/US/"
                               "Local.json?AreaCode=512&VoiceEnabled=true&PageSize=5");
    assert_string_equal(r.userpwd, "AC0123456789abcdef0123456789abcdef:token");
    q = (struct tel_search){.region = "TX", .limit = 99};
    assert_int_equal(t->search(&tw, &q, &r), ERR_OK);
    assert_non_null(strstr(r.url, "/US/Local.json?InRegion=TX&VoiceEnabled=true&PageSize=50"));
    assert_int_equal(t->buy(&tw, "+15125550111", "ni_k1", &hooks, &r), ERR_OK);
    assert_string_equal(r.method, "POST");
    assert_non_null(strstr(r.url, "/IncomingPhoneNumbers.json"));
    assert_string_equal(r.content_type, "application/x-www-form-urlencoded");
    assert_string_equal(r.body, "PhoneNumber=%2B15125550111&FriendlyName=opendni-ni_k1&VoiceUrl="
                                "https%3A%2F%2Fdni.example.com%2Fv1%2Ftelephony%2Fx%2Fvoice&"
                                "VoiceMethod=POST&StatusCallback=https%3A%2F%2Fdni.example.com%2Fv1"
                                "%2Ftelephony%2Fx%2Fstatus&StatusCallbackMethod=POST");
    struct tel_owned o = {.number = "+15125550111", .ref = "PN01"};
    size_t n = 0;
    struct tel_api_req rr[2];
    assert_int_equal(t->configure(&tw, &o, &hooks, rr, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_non_null(strstr(rr[0].url, "/IncomingPhoneNumbers/PN01.json"));
    assert_int_equal(t->find(&tw, "ni_k1", NULL, &r), ERR_OK);
    assert_non_null(strstr(r.url, "/IncomingPhoneNumbers.json?FriendlyName=opendni-ni_k1"));
    assert_int_equal(t->find(&tw, NULL, "+15125550111", &r), ERR_OK);
    assert_non_null(strstr(r.url, "?PhoneNumber=%2B15125550111"));
    assert_int_equal(t->release(&tw, &o, &r), ERR_OK);
    assert_string_equal(r.method, "DELETE");
    /* An id that would change the path is refused. */
    struct tel_owned bad = {.number = "+15125550111", .ref = "../x"};
    assert_int_equal(t->release(&tw, &bad, &r), ERR_INVALID);
    struct tel_api_cred nosecret = tw;
    nosecret.secret = "";
    assert_int_equal(t->search(&nosecret, &q, &r), ERR_INVALID);
}

static void twilio_answers(void **state)
{
    (void)state;
    const struct tel_numbers *t = &tel_numbers_twilio;
    struct tel_available av[2];
    size_t n = 9;
    assert_int_equal(
        t->parse_search("{\"available_phone_numbers\":[{\"phone_number\":\"+15125550111\"},"
                        "{\"phone_number\":\"bad\"},{\"phone_number\":\"+15125550112\"},"
                        "{\"phone_number\":\"+15125550113\"}]}",
                        av, 2, &n),
        ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(av[1].number, "+15125550112");
    assert_int_equal(t->parse_search("{\"data\":[]}", av, 2, &n), ERR_INVALID);
    assert_int_equal(t->parse_search("not json", av, 2, &n), ERR_INVALID);
    struct tel_owned o;
    assert_int_equal(t->parse_buy("{\"sid\":\"PN1\",\"phone_number\":\"+15125550111\"}", &o),
                     ERR_OK);
    assert_string_equal(o.ref, "PN1");
    assert_int_equal(t->parse_buy("{\"sid\":\"PN/1\",\"phone_number\":\"+15125550111\"}", &o),
                     ERR_INVALID);
    assert_int_equal(t->parse_find("{\"incoming_phone_numbers\":[]}", &o), ERR_NOTFOUND);
    assert_int_equal(t->parse_find("{\"incoming_phone_numbers\":[{\"sid\":\"PN2\",\"phone_number\":"
                                   "\"+15125550112\"}]}",
                                   &o),
                     ERR_OK);
    assert_string_equal(o.number, "+15125550112");
}

static void telnyx_requests_and_answers(void **state)
{
    (void)state;
    const struct tel_numbers *t = &tel_numbers_telnyx;
    struct tel_api_req r;
    struct tel_search q = {.country = "US", .area_code = "737", .limit = 3};
    assert_int_equal(t->search(&tx, &q, &r), ERR_OK);
    assert_string_equal(r.url, "https://api.telnyx.com/v2/available_phone_numbers?filter%5Bcountry_"
                               "code%5D=US&filter%5Bnational_destination_code%5D=737&filter%5B"
                               "features%5D%5B%5D=voice&filter%5Blimit%5D=3");
    assert_string_equal(r.auth_header, "Authorization: Bearer KEYabc");
    assert_int_equal(t->buy(&tx, "+17375550111", "ni_k2", &hooks, &r), ERR_OK);
    assert_string_equal(r.url, "https://api.telnyx.com/v2/number_orders");
    assert_string_equal(r.content_type, "application/json");
    assert_non_null(strstr(r.body, "\"phone_numbers\":[{\"phone_number\":\"+17375550111\"}]"));
    assert_non_null(strstr(r.body, "\"customer_reference\":\"opendni-ni_k2\""));
    assert_non_null(strstr(r.body, "\"connection_id\":\"1234567890\""));
    struct tel_owned o;
    assert_int_equal(t->parse_buy("{\"data\":{\"id\":\"o1\",\"phone_numbers\":[{\"id\":\"l1\","
                                  "\"phone_number\":\"+17375550111\"}]}}",
                                  &o),
                     ERR_OK);
    assert_string_equal(o.number, "+17375550111");
    assert_string_equal(o.ref, ""); /* the order line's id is not the number's */
    assert_int_equal(
        t->parse_find("{\"data\":[{\"id\":\"555\",\"phone_number\":\"+17375550111\"}]}", &o),
        ERR_OK);
    assert_string_equal(o.ref, "555");
    struct tel_api_req rr[2];
    size_t n = 0;
    assert_int_equal(t->configure(&tx, &o, &hooks, rr, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rr[0].method, "PATCH");
    assert_string_equal(rr[0].url, "https://api.telnyx.com/v2/texml_applications/1234567890");
    assert_non_null(
        strstr(rr[0].body, "\"voice_url\":\"https://dni.example.com/v1/telephony/x/voice\""));
    assert_string_equal(rr[1].url, "https://api.telnyx.com/v2/phone_numbers/555");
    assert_string_equal(rr[1].body, "{\"connection_id\":\"1234567890\"}");
    assert_int_equal(t->find(&tx, "ni_k2", NULL, &r), ERR_OK);
    assert_string_equal(r.url, "https://api.telnyx.com/v2/phone_numbers?filter%5Bcustomer_reference"
                               "%5D=opendni-ni_k2");
    assert_int_equal(t->release(&tx, &o, &r), ERR_OK);
    assert_string_equal(r.method, "DELETE");
    assert_string_equal(r.url, "https://api.telnyx.com/v2/phone_numbers/555");
    struct tel_api_cred crlf = tx;
    crlf.secret = "KEY\r\nX-Evil: 1";
    assert_int_equal(t->search(&crlf, &q, &r), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(providers_expose_their_tables),
        cmocka_unit_test(twilio_requests),
        cmocka_unit_test(twilio_answers),
        cmocka_unit_test(telnyx_requests_and_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
