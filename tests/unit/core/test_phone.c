/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/phone: E.164 parsing of human and provider input, display formatting, NANP regions
 * and toll-free detection. Expected values come from the numbering plans, not from the code. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "core/phone.h"

static void parse_accepts_common_writings(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"+15555550123", "+15555550123"},
        {"(555) 555-0123", "+15555550123"},
        {"555.555.0123", "+15555550123"},
        {"555-555-0123", "+15555550123"},
        {"555 555 0123", "+15555550123"},
        {"5555550123", "+15555550123"},
        {"1-555-555-0123", "+15555550123"},
        {"15555550123", "+15555550123"},
        {"+1 (555) 555-0123", "+15555550123"},
        {"+1 555 555 0123", "+15555550123"},
        {"  (512) 555-0100  ", "+15125550100"},
        {"tel:+15555550123", "+15555550123"},
        {"TEL:+1-555-555-0123", "+15555550123"},
        {"tel:555-555-0123", "+15555550123"},
        {"555/555-0123", "+15555550123"},
        {"+44 20 7946 0958", "+442079460958"},
        {"+33 1 42 68 53 00", "+33142685300"},
        {"+49 30 123456", "+4930123456"}, /* 10 digits */
        {"+61 2 9374 4000", "+61293744000"},
        {"+86 138 0013 8000", "+8613800138000"},
        {"+493012345678901", "+493012345678901"}, /* 15 digits: the E.164 maximum */
        /* pasted from web pages: no-break space, en dash, non-breaking hyphen */
        {"555\xc2\xa0"
         "555\xe2\x80\x93"
         "0123",
         "+15555550123"},
        {"+1\xc2\xa0"
         "555\xe2\x80\x91"
         "555\xe2\x80\x91"
         "0123",
         "+15555550123"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char out[PHONE_E164_MAX];
        struct errbuf eb = {0};
        int rc = phone_parse(cases[i].in, out, &eb);
        if (rc != ERR_OK)
            print_error("case %zu '%s': %s\n", i, cases[i].in, eb.msg);
        assert_int_equal(rc, ERR_OK);
        assert_string_equal(out, cases[i].want);
    }
}

static void parse_rejects_what_is_not_a_number(void **state)
{
    static const char *const bad[] = {
        "",
        "   ",
        "tel:",
        "abc",
        "555-0123",          /* 7 digits: no area code */
        "55555501234",       /* 11 digits not starting with 1 */
        "555555012",         /* 9 digits */
        "+1 555 555 012",    /* +1 with 9 more digits */
        "+1 555 555 01234",  /* +1 with 11 more digits */
        "(155) 555-0123",    /* area code starts with 1 */
        "(055) 555-0123",    /* area code starts with 0 */
        "(555) 155-0123",    /* exchange starts with 1 */
        "(555) 055-0123",    /* exchange starts with 0 */
        "(911) 555-0123",    /* N11 service code as area code */
        "(555) 411-0123",    /* N11 service code as exchange */
        "+0123456789",       /* country code 0 */
        "+4412345",          /* 7 digits: too short for international */
        "+1234567890123456", /* 16 digits */
        "442079460958",      /* international without '+' */
        "++15555550123",
        "1+5555550123",
        "+1555555+0123",
        "555-555-0123 ext 5", /* extensions are not part of the number */
        "1-800-FLOWERS",      /* vanity numbers are not parsed */
        "555-555-0123;ext=5",
        "sip:+15555550123@example.com",
        "client:alice",
        "+1555\0015550123", /* a control character */
        "5555550123\xff",
        "+1 555 555 0123 000000000000000000000000000000000000000000000000000000000000",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char out[PHONE_E164_MAX] = "junk";
        struct errbuf eb = {0};
        int rc = phone_parse(bad[i], out, &eb);
        if (rc != ERR_INVALID)
            print_error("case %zu '%s' was accepted as %s\n", i, bad[i], out);
        assert_int_equal(rc, ERR_INVALID);
        assert_string_equal(out, "");
        assert_string_equal(eb.field, "number");
        assert_true(strlen(eb.msg) > 0);
        assert_null(strstr(eb.msg, "0123")); /* numbers are PII: never echoed */
    }
    char out[PHONE_E164_MAX];
    assert_int_equal(phone_parse(NULL, out, NULL), ERR_INVALID);
    assert_int_equal(phone_parse("12", out, NULL), ERR_INVALID); /* NULL errbuf is allowed */
}

static void parse_output_parses_to_itself(void **state)
{
    static const char *const in[] = {"(555) 555-0123", "+44 20 7946 0958", "tel:+1 512 555 0100"};
    for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
        char once[PHONE_E164_MAX], twice[PHONE_E164_MAX];
        assert_int_equal(phone_parse(in[i], once, NULL), ERR_OK);
        assert_int_equal(phone_parse(once, twice, NULL), ERR_OK);
        assert_string_equal(once, twice);
    }
}

static void format_nanp_and_international(void **state)
{
    static const struct {
        const char *e164, *want;
    } cases[] = {
        {"+15555550123", "(555) 555-0123"},
        {"+15125550100", "(512) 555-0100"},
        {"+18005550199", "(800) 555-0199"},
        {"+442079460958", "+44 2079460958"},   /* UK: 2-digit code */
        {"+33142685300", "+33 142685300"},     /* France */
        {"+74951234567", "+7 4951234567"},     /* Russia: 1-digit code */
        {"+35312345678", "+353 12345678"},     /* Ireland: 3-digit code in block 35x */
        {"+8613800138000", "+86 13800138000"}, /* China */
        {"+8521234567", "+852 1234567"},       /* Hong Kong: 3-digit code in block 85x */
        {"+97143001234", "+971 43001234"},     /* UAE */
        {"+2012345678", "+20 12345678"},       /* Egypt */
        {"+2341234567", "+234 1234567"},       /* Nigeria */
        {"+2812345678", "+2812345678"},        /* spare block 28x: code length unknown */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char out[PHONE_DISPLAY_MAX];
        assert_int_equal(phone_format(cases[i].e164, out, sizeof(out)), ERR_OK);
        assert_string_equal(out, cases[i].want);
    }
}

static void format_rejects_non_canonical_and_small_buffers(void **state)
{
    static const char *const bad[] = {
        "5555550123",
        "(555) 555-0123",
        "tel:+15555550123",
        "+1555555012",
        "+15551550123",
        "+0123456789",
        "",
        "+",
        "+1 5555550123",
    };
    char out[PHONE_DISPLAY_MAX];
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(phone_format(bad[i], out, sizeof(out)), ERR_INVALID);
        assert_string_equal(out, "");
    }
    assert_int_equal(phone_format(NULL, out, sizeof(out)), ERR_INVALID);
    char small[14]; /* "(555) 555-0123" needs 15 bytes */
    assert_int_equal(phone_format("+15555550123", small, sizeof(small)), ERR_TOOBIG);
    assert_string_equal(small, "");
    char exact[15];
    assert_int_equal(phone_format("+15555550123", exact, sizeof(exact)), ERR_OK);
    /* the longest output fits PHONE_DISPLAY_MAX */
    assert_int_equal(phone_format("+353123456789012", out, sizeof(out)), ERR_OK);
    assert_string_equal(out, "+353 123456789012");
}

static void nanp_predicate(void **state)
{
    assert_true(phone_is_nanp("+15555550123"));
    assert_true(phone_is_nanp("+18765550123")); /* Jamaica is NANP */
    assert_false(phone_is_nanp("+442079460958"));
    assert_false(phone_is_nanp("+74951234567"));
    assert_false(phone_is_nanp("5555550123"));
    assert_false(phone_is_nanp("+1555555012"));
    assert_false(phone_is_nanp("+11555550123"));
    assert_false(phone_is_nanp(""));
    assert_false(phone_is_nanp(NULL));
}

static void region_of_states_and_provinces(void **state)
{
    static const struct {
        const char *e164, *want;
    } cases[] = {
        {"+15125550100", "US-TX"},                            /* Austin */
        {"+12145550100", "US-TX"},                            /* Dallas */
        {"+17135550100", "US-TX"},                            /* Houston */
        {"+14155550123", "US-CA"},                            /* San Francisco */
        {"+13105550100", "US-CA"},                            /* Los Angeles */
        {"+12125550100", "US-NY"},                            /* Manhattan */
        {"+17185550100", "US-NY"},                            /* Brooklyn */
        {"+13055550100", "US-FL"},                            /* Miami */
        {"+13125550100", "US-IL"},                            /* Chicago */
        {"+12065550100", "US-WA"},                            /* Seattle */
        {"+12025550100", "US-DC"}, {"+14045550100", "US-GA"}, /* Atlanta */
        {"+16175550100", "US-MA"},                            /* Boston */
        {"+16025550100", "US-AZ"},                            /* Phoenix */
        {"+13035550100", "US-CO"},                            /* Denver */
        {"+19075550100", "US-AK"}, {"+18085550100", "US-HI"},
        {"+17025550100", "US-NV"}, /* Las Vegas */
        {"+14165550100", "CA-ON"}, /* Toronto */
        {"+16135550100", "CA-ON"}, /* Ottawa */
        {"+15145550100", "CA-QC"}, /* Montréal */
        {"+14185550100", "CA-QC"}, /* Québec City */
        {"+16045550100", "CA-BC"}, /* Vancouver */
        {"+14035550100", "CA-AB"}, /* Calgary */
        {"+17805550100", "CA-AB"}, /* Edmonton */
        {"+12045550100", "CA-MB"}, /* Winnipeg */
        {"+13065550100", "CA-SK"}, {"+15065550100", "CA-NB"},
        {"+17095550100", "CA-NL"}, {"+19025550100", "CA-NS"}, /* shared with PEI */
        {"+17875550100", "US-PR"}, {"+18765550100", "JM"},
        {"+12425550100", "BS"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *got = phone_region(cases[i].e164);
        if (!got || strcmp(got, cases[i].want) != 0)
            print_error("%s: got %s\n", cases[i].e164, got ? got : "NULL");
        assert_non_null(got);
        assert_string_equal(got, cases[i].want);
    }
}

static void region_is_null_when_not_geographic(void **state)
{
    static const char *const none[] = {
        "+18005550100",
        "+18885550100",
        "+18335550100", /* toll-free */
        "+15555550123", /* fictional 555 area code */
        "+19005550100", /* premium */
        "+15005550100",
        "+15335550100",  /* personal communications */
        "+18675550100",  /* YT, NT and NU share it */
        "+442079460958", /* not NANP */
        "5125550100",
        "+1512555010",
        "",
        NULL, /* not canonical E.164 */
    };
    for (size_t i = 0; i < ARRAY_SIZE(none); i++)
        assert_null(phone_region(none[i]));
}

/* Walks every NANP area code through the public API: each region string is well formed,
 * every US state, DC and every province (PEI shares 902/782 with NS) has at least one code,
 * and no N11 or toll-free code has a region. */
static void region_table_covers_every_state_and_province(void **state)
{
    static const char *const want[] = {
        "US-AL", "US-AK", "US-AZ", "US-AR", "US-CA", "US-CO", "US-CT", "US-DE", "US-DC", "US-FL",
        "US-GA", "US-HI", "US-ID", "US-IL", "US-IN", "US-IA", "US-KS", "US-KY", "US-LA", "US-ME",
        "US-MD", "US-MA", "US-MI", "US-MN", "US-MS", "US-MO", "US-MT", "US-NE", "US-NV", "US-NH",
        "US-NJ", "US-NM", "US-NY", "US-NC", "US-ND", "US-OH", "US-OK", "US-OR", "US-PA", "US-RI",
        "US-SC", "US-SD", "US-TN", "US-TX", "US-UT", "US-VT", "US-VA", "US-WA", "US-WV", "US-WI",
        "US-WY", "CA-AB", "CA-BC", "CA-MB", "CA-NB", "CA-NL", "CA-NS", "CA-ON", "CA-QC", "CA-SK",
    };
    size_t seen[ARRAY_SIZE(want)] = {0};
    size_t with_region = 0;
    for (int npa = 200; npa <= 999; npa++) {
        char e164[PHONE_E164_MAX];
        snprintf(e164, sizeof(e164), "+1%d5550100", npa);
        const char *r = phone_region(e164);
        bool n11 = npa % 100 == 11;
        if (!r)
            continue;
        with_region++;
        assert_false(n11);
        assert_false(phone_is_toll_free(e164));
        size_t len = strlen(r);
        assert_true(len == 2 || (len == 5 && r[2] == '-'));
        for (size_t i = 0; i < ARRAY_SIZE(want); i++)
            seen[i] += strcmp(r, want[i]) == 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        if (!seen[i])
            print_error("no area code maps to %s\n", want[i]);
        assert_true(seen[i] > 0);
    }
    assert_true(seen[4] >= 30); /* California has more than thirty area codes */
    assert_true(with_region > 400);
}

static void toll_free(void **state)
{
    static const char *const yes[] = {"+18005550100", "+18335550100", "+18445550100",
                                      "+18555550100", "+18665550100", "+18775550100",
                                      "+18885550100"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
        assert_true(phone_is_toll_free(yes[i]));
    static const char *const no[] = {
        "+19005550100", "+15125550100", "+15555550123", "+448005550100", "8005550100", "", NULL};
    for (size_t i = 0; i < ARRAY_SIZE(no); i++)
        assert_false(phone_is_toll_free(no[i]));
    char e164[PHONE_E164_MAX];
    assert_int_equal(phone_parse("1-800-555-0199", e164, NULL), ERR_OK);
    assert_true(phone_is_toll_free(e164));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_accepts_common_writings),
        cmocka_unit_test(parse_rejects_what_is_not_a_number),
        cmocka_unit_test(parse_output_parses_to_itself),
        cmocka_unit_test(format_nanp_and_international),
        cmocka_unit_test(format_rejects_non_canonical_and_small_buffers),
        cmocka_unit_test(nanp_predicate),
        cmocka_unit_test(region_of_states_and_provinces),
        cmocka_unit_test(region_is_null_when_not_geographic),
        cmocka_unit_test(region_table_covers_every_state_and_province),
        cmocka_unit_test(toll_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
