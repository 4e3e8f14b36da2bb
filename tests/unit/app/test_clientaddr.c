/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* app/clientaddr: --trust-proxy lists (addresses and CIDRs, IPv4 and IPv6, bad entries named),
 * the client behind trusted proxies (X-Forwarded-For read from the right; an untrusted peer's
 * header is ignored; spoofed entries to the left are never taken), and client keys (/64). */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "app/clientaddr.h"

static void parses_lists_and_refuses_bad_entries(void **state)
{
    (void)state;
    struct clientaddr_trust t;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(clientaddr_trust_parse("", &t, &eb), ERR_OK);
    assert_int_equal(t.n, 0);
    assert_int_equal(clientaddr_trust_parse("127.0.0.1, 10.0.0.0/8,2001:db8::/32", &t, &eb),
                     ERR_OK);
    assert_int_equal(t.n, 3);
    const char *bad[] = {"true",    "1",          "10.0.0.0/33", "10.0.0.0/",
                         "::1/129", "10.0.0.1,,", "10.0.0.0/8x"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(clientaddr_trust_parse(bad[i], &t, &eb), ERR_INVALID);
}

static void matches_networks(void **state)
{
    (void)state;
    struct clientaddr_trust t;
    assert_int_equal(
        clientaddr_trust_parse("10.1.0.0/16,192.0.2.5,2001:db8::/32,0.0.0.0/0x", &t, NULL),
        ERR_INVALID);
    assert_int_equal(clientaddr_trust_parse("10.1.0.0/16,192.0.2.5,2001:db8::/32", &t, NULL),
                     ERR_OK);
    assert_true(clientaddr_trusted(&t, "10.1.200.3"));
    assert_false(clientaddr_trusted(&t, "10.2.0.1"));
    assert_true(clientaddr_trusted(&t, "192.0.2.5"));
    assert_false(clientaddr_trusted(&t, "192.0.2.6"));
    assert_true(clientaddr_trusted(&t, "::ffff:192.0.2.5"));
    assert_true(clientaddr_trusted(&t, "2001:db8:ffff::1"));
    assert_false(clientaddr_trusted(&t, "2001:db9::1"));
    assert_false(clientaddr_trusted(&t, "not an address"));
    assert_false(clientaddr_trusted(NULL, "10.1.0.1"));
}

static void resolves_the_client_behind_trusted_proxies(void **state)
{
    (void)state;
    struct clientaddr_trust t;
    assert_int_equal(clientaddr_trust_parse("127.0.0.1,10.0.0.0/8", &t, NULL), ERR_OK);
    char out[CLIENTADDR_MAX];
    clientaddr_resolve(&t, "203.0.113.1", "198.51.100.1", out, sizeof(out));
    assert_string_equal(out, "203.0.113.1"); /* an untrusted peer's header is ignored */
    clientaddr_resolve(&t, "127.0.0.1", NULL, out, sizeof(out));
    assert_string_equal(out, "127.0.0.1");
    clientaddr_resolve(&t, "127.0.0.1", "1.2.3.4, 198.51.100.7", out, sizeof(out));
    assert_string_equal(out, "198.51.100.7"); /* spoofed 1.2.3.4 to the left is not taken */
    clientaddr_resolve(&t, "127.0.0.1", "1.2.3.4, 198.51.100.7 , 10.0.0.3", out, sizeof(out));
    assert_string_equal(out, "198.51.100.7"); /* two proxies */
    clientaddr_resolve(&t, "127.0.0.1", "10.0.0.9, 10.0.0.3", out, sizeof(out));
    assert_string_equal(out, "10.0.0.9"); /* all trusted: the leftmost */
}

static void keys_ipv6_by_64(void **state)
{
    (void)state;
    char out[CLIENTADDR_MAX];
    clientaddr_key("192.0.2.7", out, sizeof(out));
    assert_string_equal(out, "192.0.2.7");
    clientaddr_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", out, sizeof(out));
    assert_string_equal(out, "2001:db8:1:2::/64");
    char other[CLIENTADDR_MAX];
    clientaddr_key("2001:db8:1:2::99", other, sizeof(other));
    assert_string_equal(out, other);
    clientaddr_key("::ffff:192.0.2.7", out, sizeof(out));
    assert_string_equal(out, "192.0.2.7");
    clientaddr_key("garbage", out, sizeof(out));
    assert_string_equal(out, "garbage");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_lists_and_refuses_bad_entries),
        cmocka_unit_test(matches_networks),
        cmocka_unit_test(resolves_the_client_behind_trusted_proxies),
        cmocka_unit_test(keys_ipv6_by_64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
