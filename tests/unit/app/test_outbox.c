/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The outbox's pure pieces: the webhook signature of API.md (checked against a value computed
 * independently with openssl), the retry backoff, and the outbound client's private-address
 * rule. */
#include "base/prelude.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "app/outbound.h"
#include "app/outbox.h"

static void signature_is_hmac_sha256_over_t_dot_body(void **state)
{
    (void)state;
    char sig[160];
    const char *body = "{\"id\":\"evt_1\"}";
    outbox_sign("whsec_test", 1700000000, body, strlen(body), sig, sizeof(sig));
    /* printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test */
    assert_string_equal(sig, "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd5"
                             "8cea9022bd80ccc78230f3942d632925");
}

static void backoff_doubles_to_an_hour_with_jitter(void **state)
{
    (void)state;
    assert_int_equal(outbox_backoff_ms(1, 0.0), 5000);
    assert_int_equal(outbox_backoff_ms(1, 0.999999), 9999);
    assert_int_equal(outbox_backoff_ms(2, 0.0), 10000);
    assert_int_equal(outbox_backoff_ms(3, 0.0), 20000);
    assert_int_equal(outbox_backoff_ms(20, 0.0), 1800000);
    assert_true(outbox_backoff_ms(100, 0.999) < 3600000);
    /* 3 days of attempts: about 80, not thousands */
    int64_t t = 0;
    int n = 0;
    while (t < OUTBOX_RETRY_FOR_MS)
        t += outbox_backoff_ms(++n, 0.5);
    assert_in_range(n, 60, 120);
}

static bool priv4(const char *a)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    inet_pton(AF_INET, a, &in.sin_addr);
    return outbound_addr_private((struct sockaddr *)&in);
}

static bool priv6(const char *a)
{
    struct sockaddr_in6 in = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, a, &in.sin6_addr);
    return outbound_addr_private((struct sockaddr *)&in);
}

static void private_addresses_are_refused(void **state)
{
    (void)state;
    const char *refused4[] = {"127.0.0.1",   "10.1.2.3",        "172.16.0.1", "172.31.255.255",
                              "192.168.1.1", "169.254.169.254", "0.0.0.0",    "100.64.0.1",
                              "224.0.0.1",   "255.255.255.255"};
    for (size_t i = 0; i < ARRAY_SIZE(refused4); i++)
        assert_true(priv4(refused4[i]));
    const char *public4[] = {"8.8.8.8", "172.32.0.1", "1.1.1.1", "192.169.0.1", "100.128.0.1"};
    for (size_t i = 0; i < ARRAY_SIZE(public4); i++)
        assert_false(priv4(public4[i]));
    const char *refused6[] = {"::1",     "::",      "fe80::1",          "fc00::1",
                              "fd12::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"};
    for (size_t i = 0; i < ARRAY_SIZE(refused6); i++)
        assert_true(priv6(refused6[i]));
    assert_false(priv6("2606:4700::1111"));
    assert_false(priv6("::ffff:8.8.8.8"));
}

static void event_types_are_known(void **state)
{
    (void)state;
    assert_true(outbox_event_known("call.completed"));
    assert_true(outbox_event_known("alert.pool_exhausted"));
    assert_false(outbox_event_known("webhook.test")); /* sent on request only */
    assert_false(outbox_event_known("call"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signature_is_hmac_sha256_over_t_dot_body),
        cmocka_unit_test(backoff_doubles_to_an_hour_with_jitter),
        cmocka_unit_test(private_addresses_are_refused),
        cmocka_unit_test(event_types_are_known),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
