/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* report/gads: the Google Ads conversion files. Expected headers and rows are the examples of
 * INTERFACES.md §4.1/§4.2; the instant 2025-01-14T17:05:11Z is Unix 1736874311 (the Telnyx
 * vector of §3.4 pairs the two), which is 11:05:11 at -0600 (Chicago in January). */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "report/gads.h"

#define AT_170511 (1736874311LL * 1000)

/* The zone lookup gads_tz_parse is given (the server gives app/zones.h's): America/Chicago
 * read from the system's zone data, nothing else. */
static int chicago(const char *name, const struct zone **out)
{
    static struct zone z;
    static bool loaded;
    if (strcmp(name, "America/Chicago") != 0)
        return ERR_NOTFOUND;
    if (!loaded) {
        static unsigned char data[65536];
        FILE *f = fopen("/usr/share/zoneinfo/America/Chicago", "rb");
        assert_non_null(f);
        size_t n = fread(data, 1, sizeof(data), f);
        fclose(f);
        assert_int_equal(zone_parse_tzif(&z, name, data, n, NULL), ERR_OK);
        loaded = true;
    }
    *out = &z;
    return ERR_OK;
}
#define CLICK_HEADER                                                                               \
    "Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency\r\n"
#define CALL_HEADER                                                                                \
    "Caller's Phone Number,Call Start Time,Conversion Name,Conversion Time,Conversion Value,"      \
    "Conversion Currency\r\n"

static void tz_parse_accepts_utc_and_offsets(void **state)
{
    (void)state;
    static const struct {
        const char *in, *label;
        int offset;
    } cases[] = {
        {NULL, "UTC", 0},         {"", "UTC", 0},          {"UTC", "UTC", 0},
        {"GMT", "UTC", 0},        {"Z", "UTC", 0},         {"+0000", "+0000", 0},
        {"-0500", "-0500", -300}, {"+0530", "+0530", 330}, {"+05:30", "+0530", 330},
        {"-06", "-0600", -360},   {"+1400", "+1400", 840}, {"-1200", "-1200", -720},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct gads_tz tz;
        assert_int_equal(gads_tz_parse(cases[i].in, chicago, &tz, NULL), ERR_OK);
        assert_string_equal(tz.label, cases[i].label);
        assert_int_equal(tz.offset_min, cases[i].offset);
    }
}

static void tz_parse_rejects_names_and_nonsense(void **state)
{
    (void)state;
    static const char *const bad[] = {"Nowhere/Atlantis",
                                      "../etc/passwd",
                                      "utc",
                                      "+1500",
                                      "-1300",
                                      "+0560",
                                      "0500",
                                      "+5",
                                      "+05:3",
                                      "+05300",
                                      "=1+2",
                                      "+0a00"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct gads_tz tz;
        struct errbuf eb = {{0}, NULL};
        assert_int_equal(gads_tz_parse(bad[i], chicago, &tz, &eb), ERR_INVALID);
        assert_string_equal(eb.field, "tz");
    }
}

static void times_are_written_in_the_zone(void **state)
{
    (void)state;
    char out[GADS_TIME_LEN];
    struct gads_tz tz;
    gads_tz_parse("UTC", chicago, &tz, NULL);
    assert_string_equal(gads_time(AT_170511, &tz, out), "2025-01-14 17:05:11");
    assert_string_equal(gads_time(AT_170511 + 999, &tz, out), "2025-01-14 17:05:11");
    gads_tz_parse("-0600", chicago, &tz, NULL);
    assert_string_equal(gads_time(AT_170511, &tz, out), "2025-01-14 11:05:11");
    gads_tz_parse("+0530", chicago, &tz, NULL);
    assert_string_equal(gads_time(AT_170511, &tz, out), "2025-01-14 22:35:11");
    gads_tz_parse("+1400", chicago, &tz, NULL); /* crosses midnight */
    assert_string_equal(gads_time(AT_170511, &tz, out), "2025-01-15 07:05:11");
    gads_tz_parse("UTC", chicago, &tz, NULL);
    assert_string_equal(gads_time(0, &tz, out), "1970-01-01 00:00:00");
    assert_string_equal(gads_time(951782400LL * 1000, &tz, out), "2000-02-29 00:00:00");
}

static void iana_zones_follow_dst(void **state)
{
    (void)state;
    char out[GADS_TIME_LEN];
    struct gads_tz tz;
    assert_int_equal(gads_tz_parse("America/Chicago", chicago, &tz, NULL), ERR_OK);
    assert_string_equal(tz.label, "America/Chicago");
    /* 2026-03-08 08:00:00Z: 02:00 CST becomes 03:00 CDT; 2026-11-01 07:00:00Z back again. */
    assert_string_equal(gads_time(1772956799000LL, &tz, out), "2026-03-08 01:59:59");
    assert_string_equal(gads_time(1772956800000LL, &tz, out), "2026-03-08 03:00:00");
    assert_string_equal(gads_time(1793516399000LL, &tz, out), "2026-11-01 01:59:59");
    assert_string_equal(gads_time(1793516400000LL, &tz, out), "2026-11-01 01:00:00");
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(gads_click_header(&b, &tz, GADS_GCLID), ERR_OK);
    assert_true(strncmp(b.data, "Parameters:TimeZone=America/Chicago\r\n", 37) == 0);
    buf_release(&b);
}

static void click_file_matches_the_template(void **state)
{
    (void)state;
    struct gads_tz tz;
    gads_tz_parse("-0600", chicago, &tz, NULL);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(gads_click_header(&b, &tz, GADS_GCLID), ERR_OK);
    struct gads_conversion c = {.click_id = "Cj0KCQiA-gclid_1",
                                .name = "Phone call 60s",
                                .at = AT_170511,
                                .value = 150,
                                .currency = "USD"};
    assert_int_equal(gads_click_row(&b, &tz, &c), ERR_OK);
    assert_string_equal(b.data,
                        "Parameters:TimeZone=-0600\r\n" CLICK_HEADER
                        "Cj0KCQiA-gclid_1,Phone call 60s,2025-01-14 11:05:11,150.00,USD\r\n");
    buf_release(&b);
}

static void click_file_id_columns(void **state)
{
    (void)state;
    struct gads_tz tz;
    gads_tz_parse(NULL, chicago, &tz, NULL);
    struct buf b;
    buf_init(&b, 0);
    gads_click_header(&b, &tz, GADS_GBRAID);
    assert_string_equal(b.data, "Parameters:TimeZone=UTC\r\nGBRAID,Conversion Name,Conversion "
                                "Time,Conversion Value,Conversion Currency\r\n");
    buf_reset(&b);
    gads_click_header(&b, &tz, GADS_WBRAID);
    assert_true(strncmp(strchr(b.data, '\n') + 1, "WBRAID,Conversion Name,", 23) == 0);
    buf_release(&b);
    enum gads_id id;
    assert_int_equal(gads_id_parse(NULL, &id, NULL), ERR_OK);
    assert_int_equal(id, GADS_GCLID);
    assert_int_equal(gads_id_parse("wbraid", &id, NULL), ERR_OK);
    assert_int_equal(id, GADS_WBRAID);
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(gads_id_parse("msclkid", &id, &eb), ERR_INVALID);
    assert_string_equal(eb.field, "id");
}

static void each_conversion_goes_in_one_file(void **state)
{
    (void)state;
    assert_int_equal(gads_pick_id("abc", "def", "ghi"), GADS_GCLID);
    assert_int_equal(gads_pick_id(NULL, "def", "ghi"), GADS_GBRAID);
    assert_int_equal(gads_pick_id("", "", "ghi"), GADS_WBRAID);
    assert_int_equal(gads_pick_id("=bad", NULL, "ghi"), GADS_WBRAID); /* invalid gclid */
    assert_int_equal(gads_pick_id(NULL, NULL, NULL), -1);
}

static void hostile_values_are_neutralized_or_refused(void **state)
{
    (void)state;
    struct gads_tz tz;
    gads_tz_parse(NULL, chicago, &tz, NULL);
    struct buf b;
    buf_init(&b, 0);
    struct gads_conversion c = {
        .click_id = "=HYPERLINK(\"x\")", .name = "x", .at = AT_170511, .currency = "USD"};
    assert_int_equal(gads_click_row(&b, &tz, &c), ERR_INVALID);
    c.click_id = "abc,def";
    assert_int_equal(gads_click_row(&b, &tz, &c), ERR_INVALID);
    assert_int_equal(b.len, 0);
    char longid[GADS_CLICK_ID_MAX + 2];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    c.click_id = longid;
    assert_int_equal(gads_click_row(&b, &tz, &c), ERR_INVALID);
    c.click_id = "-Gx_1"; /* a leading '-' would read as a formula: refused, never altered */
    assert_int_equal(gads_click_row(&b, &tz, &c), ERR_INVALID);
    assert_int_equal(b.len, 0);
    c.click_id = "Gx_1-";
    c.name = "=HYPERLINK(\"http://evil.example\",\"x\")";
    c.currency = "@US";
    assert_int_equal(gads_click_row(&b, &tz, &c), ERR_OK);
    assert_string_equal(b.data, "Gx_1-,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","
                                "2025-01-14 17:05:11,0.00,'@US\r\n");
    buf_release(&b);
}

static void call_file_matches_the_template(void **state)
{
    (void)state;
    struct gads_tz tz;
    gads_tz_parse("-0600", chicago, &tz, NULL);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(gads_call_header(&b, &tz), ERR_OK);
    struct gads_conversion c = {.caller = "+14155550123",
                                .call_started_at = AT_170511 - 309000,
                                .name = "Qualified call",
                                .at = AT_170511,
                                .value = 150,
                                .currency = "USD"};
    assert_int_equal(gads_call_row(&b, &tz, &c), ERR_OK);
    assert_string_equal(b.data, "Parameters:TimeZone=-0600\r\n" CALL_HEADER
                                "+14155550123,2025-01-14 11:00:02,Qualified call,"
                                "2025-01-14 11:05:11,150.00,USD\r\n");
    size_t len = b.len;
    static const char *const bad[] = {
        "sip:alice@example.com", "client:bob",       "4155550123", "+1415555012a", "=1+2", "+", "",
        "+0155550123",           "+1234567890123456"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        c.caller = bad[i];
        assert_int_equal(gads_call_row(&b, &tz, &c), ERR_INVALID);
    }
    assert_int_equal(b.len, len);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tz_parse_accepts_utc_and_offsets),
        cmocka_unit_test(tz_parse_rejects_names_and_nonsense),
        cmocka_unit_test(times_are_written_in_the_zone),
        cmocka_unit_test(iana_zones_follow_dst),
        cmocka_unit_test(click_file_matches_the_template),
        cmocka_unit_test(click_file_id_columns),
        cmocka_unit_test(each_conversion_goes_in_one_file),
        cmocka_unit_test(hostile_values_are_neutralized_or_refused),
        cmocka_unit_test(call_file_matches_the_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
