/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/access: the four roles and their order (DESIGN.md "Roles": each role holds the rights of
 * those below it), email normalisation (one user per address whatever its case or blanks),
 * password rules (one line of standard input, bounded for the KDF) and session liveness (idle
 * and absolute expiry, whichever comes first; the boundary instant is already dead). */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/access.h"

static void roles_parse_name_and_order(void **state)
{
    (void)state;
    static const char *const names[] = {"viewer", "analyst", "admin", "owner"};
    for (int i = 0; i < 4; i++) {
        enum access_role r = access_role_parse(names[i]);
        assert_int_equal(r, ACCESS_VIEWER + i);
        assert_string_equal(access_role_name(r), names[i]);
    }
    assert_int_equal(access_role_parse("Owner"), ACCESS_NONE); /* exact names only */
    assert_int_equal(access_role_parse(""), ACCESS_NONE);
    assert_int_equal(access_role_parse(NULL), ACCESS_NONE);
    assert_int_equal(access_role_parse("none"), ACCESS_NONE);
    assert_string_equal(access_role_name(ACCESS_NONE), "none");
    assert_string_equal(access_role_name((enum access_role)42), "none");
    assert_true(access_allows(ACCESS_OWNER, ACCESS_ADMIN));
    assert_true(access_allows(ACCESS_ADMIN, ACCESS_ADMIN));
    assert_false(access_allows(ACCESS_ANALYST, ACCESS_ADMIN));
    assert_false(access_allows(ACCESS_VIEWER, ACCESS_ANALYST));
    assert_true(access_allows(ACCESS_VIEWER, ACCESS_VIEWER));
    assert_false(access_allows(ACCESS_NONE, ACCESS_NONE)); /* no role: nothing at all */
    assert_false(access_allows((enum access_role)9, ACCESS_VIEWER));
}

static void emails_are_normalised_or_refused(void **state)
{
    (void)state;
    char out[ACCESS_EMAIL_MAX + 1];
    assert_true(access_email_normalize("  Ann.Lee@Example.COM \n", out, sizeof(out)));
    assert_string_equal(out, "ann.lee@example.com");
    static const char *const bad[] = {"",
                                      "ann",
                                      "@example.com",
                                      "ann@",
                                      "ann@example",
                                      "ann@@example.com",
                                      "a b@example.com",
                                      "ann@example.",
                                      "<ann@example.com>",
                                      "ann@.com",
                                      "ann\"@example.com"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_false(access_email_normalize(bad[i], out, sizeof(out)));
    char big[300];
    memset(big, 'a', sizeof(big));
    memcpy(big + 250, "@x.io", 6); /* 255 bytes: one over the limit */
    assert_false(access_email_normalize(big, out, sizeof(out)));
    assert_false(access_email_normalize("ann@example.com", out, 8)); /* does not fit */
}

static void passwords_are_bounded_single_lines(void **state)
{
    (void)state;
    assert_true(access_password_ok("correct horse", 13));
    assert_false(access_password_ok("short", 5));
    assert_false(access_password_ok("123456789", 9));
    assert_true(access_password_ok("1234567890", 10));
    assert_false(access_password_ok("two\nlines here", 14));
    assert_false(access_password_ok("nul\0inside it", 13));
    assert_false(access_password_ok(NULL, 12));
    char big[ACCESS_PASSWORD_MAX + 1];
    memset(big, 'p', sizeof(big));
    assert_true(access_password_ok(big, ACCESS_PASSWORD_MAX));
    assert_false(access_password_ok(big, ACCESS_PASSWORD_MAX + 1));
}

static void sessions_die_idle_or_at_their_absolute_end(void **state)
{
    (void)state;
    const int64_t idle = 1000, max = 5000;
    assert_true(access_session_alive(0, 0, 999, idle, max));
    assert_false(access_session_alive(0, 0, 1000, idle, max)); /* idle, at the instant */
    assert_true(access_session_alive(0, 4500, 4999, idle, max));
    assert_false(access_session_alive(0, 4500, 5000, idle, max)); /* absolute, while active */
    assert_false(access_session_alive(0, 4999, 5001, idle, max));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roles_parse_name_and_order),
        cmocka_unit_test(emails_are_normalised_or_refused),
        cmocka_unit_test(passwords_are_bounded_single_lines),
        cmocka_unit_test(sessions_die_idle_or_at_their_absolute_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
