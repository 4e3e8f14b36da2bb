/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* report/spend: the ad spend files of Google Ads, Microsoft Advertising and Meta (the samples in
 * tests/data/spend/, whose README says where each format comes from). Expected values are the
 * files' own figures in cents. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "report/spend.h"

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/spend/%s", TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    *len = fread(buf, 1, sizeof(buf) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void amounts(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int exp;
        int64_t want;
        int rc;
    } cases[] = {
        {"1,234.56", 2, 123456, ERR_OK}, {"1234.5", 2, 123450, ERR_OK},
        {"$12", 2, 1200, ERR_OK},        {"--", 2, 0, ERR_OK},
        {"0.005", 2, 1, ERR_OK},         {"0.004", 2, 0, ERR_OK},
        {"1500", 0, 1500, ERR_OK},       {"1.2345", 3, 1235, ERR_OK},
        {"-5", 2, 0, ERR_INVALID},       {"", 2, 0, ERR_INVALID},
        {"1.", 2, 0, ERR_INVALID},       {"abc", 2, 0, ERR_INVALID},
        {",12", 2, 0, ERR_INVALID},      {"1,2x", 2, 0, ERR_INVALID},
        {"12 EUR", 2, 0, ERR_INVALID},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int64_t v = -1;
        int rc = spend_amount_parse(cases[i].in, cases[i].exp, &v);
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d", cases[i].in, rc);
        if (rc == ERR_OK && v != cases[i].want)
            fail_msg("'%s': %lld, want %lld", cases[i].in, (long long)v, (long long)cases[i].want);
    }
    assert_int_equal(spend_currency_exponent("JPY"), 0);
    assert_int_equal(spend_currency_exponent("KWD"), 3);
    assert_int_equal(spend_currency_exponent("USD"), 2);
}

static void days(void **state)
{
    (void)state;
    char d[11];
    assert_int_equal(spend_day_parse("2026-12-01", d), ERR_OK);
    assert_string_equal(d, "2026-12-01");
    assert_int_equal(spend_day_parse("12/1/2026", d), ERR_OK);
    assert_string_equal(d, "2026-12-01");
    assert_int_equal(spend_day_parse("2028/02/29", d), ERR_OK);
    assert_string_equal(d, "2028-02-29");
    assert_int_equal(spend_day_parse("2026-02-29", d), ERR_INVALID);
    assert_int_equal(spend_day_parse("2026-13-01", d), ERR_INVALID);
    assert_int_equal(spend_day_parse("2026-12-01x", d), ERR_INVALID);
    assert_int_equal(spend_day_parse("Dec 1, 2026", d), ERR_INVALID);
}

static void google_ads_file(void **state)
{
    (void)state;
    size_t len;
    const char *t = slurp("google_ads.csv", &len);
    struct spend_file f;
    assert_int_equal(spend_parse(SPEND_GOOGLE_ADS, t, len, NULL, &f), ERR_OK);
    assert_string_equal(f.currency, "USD");
    assert_int_equal(f.n_rows, 4); /* the two total lines and the preamble are skipped */
    assert_int_equal(f.skipped, 5);
    assert_string_equal(f.rows[0].day, "2026-12-01");
    assert_string_equal(f.rows[0].campaign, "Brand");
    assert_int_equal(f.rows[0].cost, 1000);
    assert_string_equal(f.rows[1].campaign, "Spring Sale");
    assert_int_equal(f.rows[1].cost, 123456);
    assert_string_equal(f.rows[2].campaign, "=HYPERLINK(\"http://evil.example\")");
    assert_int_equal(f.rows[3].cost, 9950);
    spend_file_free(&f);
}

static void microsoft_ads_file(void **state)
{
    (void)state;
    size_t len;
    const char *t = slurp("microsoft_ads.csv", &len);
    struct spend_file f;
    assert_int_equal(spend_parse(SPEND_MICROSOFT_ADS, t, len, NULL, &f), ERR_OK);
    assert_string_equal(f.currency, "USD");
    assert_int_equal(f.n_rows, 2); /* two rows of one keyword and day are summed */
    assert_string_equal(f.rows[0].keyword, "plumber near me");
    assert_int_equal(f.rows[0].cost, 1300);
    assert_string_equal(f.rows[1].day, "2026-12-02");
    assert_int_equal(f.rows[1].cost, 700);
    spend_file_free(&f);
}

static void meta_file(void **state)
{
    (void)state;
    size_t len;
    const char *t = slurp("meta.csv", &len);
    struct spend_file f;
    assert_int_equal(spend_parse(SPEND_META, t, len, "USD", &f), ERR_OK);
    assert_string_equal(f.currency, "EUR"); /* from "Amount spent (EUR)", over the default */
    assert_int_equal(f.n_rows, 2);
    assert_int_equal(f.rows[0].cost, 2510);
    assert_int_equal(f.rows[1].cost, 490);
    spend_file_free(&f);
    /* a row over several days is refused: spend is imported per day */
    const char *weekly = "Reporting starts,Reporting ends,Campaign name,Amount spent (EUR)\n"
                         "2026-12-01,2026-12-07,Retargeting,30.00\n";
    assert_int_equal(spend_parse(SPEND_META, weekly, strlen(weekly), NULL, &f), ERR_INVALID);
    assert_int_equal(f.n_errors, 1);
    assert_int_equal(f.errors[0].line, 2);
    assert_string_equal(f.errors[0].column, "day");
    spend_file_free(&f);
}

static void bad_rows_are_named(void **state)
{
    (void)state;
    size_t len;
    const char *t = slurp("google_ads_bad.csv", &len);
    struct spend_file f;
    assert_int_equal(spend_parse(SPEND_GOOGLE_ADS, t, len, NULL, &f), ERR_INVALID);
    assert_int_equal(f.n_errors, 4);
    assert_int_equal(f.errors[0].line, 3);
    assert_string_equal(f.errors[0].column, "day");
    assert_int_equal(f.errors[1].line, 4);
    assert_string_equal(f.errors[1].column, "campaign");
    assert_int_equal(f.errors[2].line, 5);
    assert_string_equal(f.errors[2].column, "cost");
    assert_int_equal(f.errors[3].line, 6);
    assert_string_equal(f.errors[3].column, "currency");
    spend_file_free(&f);
    /* no header, no currency */
    const char *none = "a,b,c\n1,2,3\n";
    assert_int_equal(spend_parse(SPEND_GOOGLE_ADS, none, strlen(none), NULL, &f), ERR_INVALID);
    assert_int_equal(f.errors[0].line, 0);
    spend_file_free(&f);
    const char *nocur = "Day,Campaign,Cost\n2026-12-01,A,1.00\n";
    assert_int_equal(spend_parse(SPEND_GOOGLE_ADS, nocur, strlen(nocur), NULL, &f), ERR_INVALID);
    assert_string_equal(f.errors[0].column, "currency");
    spend_file_free(&f);
    assert_int_equal(spend_parse(SPEND_GOOGLE_ADS, nocur, strlen(nocur), "USD", &f), ERR_OK);
    assert_int_equal(f.rows[0].cost, 100);
    spend_file_free(&f);
    /* a tab-separated export (Google's "Excel CSV" re-saved as UTF-8) */
    const char *tsv = "Day\tCampaign\tCurrency code\tCost\n2026-12-01\tA, B\tUSD\t1,000.00\n";
    assert_int_equal(spend_parse(SPEND_GOOGLE_ADS, tsv, strlen(tsv), NULL, &f), ERR_OK);
    assert_string_equal(f.rows[0].campaign, "A, B");
    assert_int_equal(f.rows[0].cost, 100000);
    spend_file_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(amounts),         cmocka_unit_test(days),
        cmocka_unit_test(google_ads_file), cmocka_unit_test(microsoft_ads_file),
        cmocka_unit_test(meta_file),       cmocka_unit_test(bad_rows_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
