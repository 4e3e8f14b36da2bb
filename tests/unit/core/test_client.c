/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/client: client keys. An IPv4 address is its own key, an IPv6 address is keyed by its
 * /64 (so a client rotating the host half stays one client), an IPv4-mapped address by the
 * IPv4 address; anything else is an unknown client (""). */
#include "base/prelude.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "core/client.h"

/* client_ipv4_text writes what inet_ntop does, for every value of every byte position. */
static void ipv4_text_as_inet_ntop(void **state)
{
    (void)state;
    for (unsigned v = 0; v < 256; v++)
        for (int pos = 0; pos < 4; pos++) {
            unsigned char a[4] = {1, 20, 203, 9};
            a[pos] = (unsigned char)v;
            char want[INET_ADDRSTRLEN], got[CLIENT_IPV4_MAX];
            assert_non_null(inet_ntop(AF_INET, a, want, sizeof(want)));
            client_ipv4_text(a, got);
            assert_string_equal(got, want);
        }
}

static void keys_of_addresses(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"203.0.113.7", "203.0.113.7"},
        {"127.0.0.1", "127.0.0.1"},
        {"2001:db8:1:2::5", "2001:db8:1:2::/64"},
        {"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
        {"2001:DB8:1:2:0:0:0:1", "2001:db8:1:2::/64"},
        {"::1", "::/64"},
        {"fe80::1", "fe80::/64"},
        {"0:0:0:5:1:2:3:4", "0:0:0:5::/64"},
        {"::ffff:198.51.100.9", "198.51.100.9"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char out[CLIENT_KEY_MAX];
        assert_int_equal(client_key(cases[i].in, out, sizeof(out)), ERR_OK);
        assert_string_equal(out, cases[i].want);
    }
}

static void one_slash64_is_one_client(void **state)
{
    (void)state;
    char a[CLIENT_KEY_MAX], b[CLIENT_KEY_MAX], c[CLIENT_KEY_MAX];
    assert_int_equal(client_key("2001:db8:abcd:12::1", a, sizeof(a)), ERR_OK);
    assert_int_equal(client_key("2001:db8:abcd:12:ffff:1:2:3", b, sizeof(b)), ERR_OK);
    assert_int_equal(client_key("2001:db8:abcd:13::1", c, sizeof(c)), ERR_OK);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
}

static void not_an_address_is_unknown(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",           "localhost", "203.0.113", "203.0.113.7/24", "2001:db8::1::2", " 203.0.113.7",
        "unix:/run/x"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char out[CLIENT_KEY_MAX] = "x";
        assert_int_equal(client_key(bad[i], out, sizeof(out)), ERR_INVALID);
        assert_string_equal(out, "");
    }
    char out[CLIENT_KEY_MAX] = "x";
    assert_int_equal(client_key(NULL, out, sizeof(out)), ERR_INVALID);
    assert_string_equal(out, "");
    char small[8] = "x";
    assert_int_equal(client_key("203.0.113.7", small, sizeof(small)), ERR_INVALID);
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_of_addresses),
        cmocka_unit_test(ipv4_text_as_inet_ntop),
        cmocka_unit_test(one_slash64_is_one_client),
        cmocka_unit_test(not_an_address_is_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
