/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* base: JSON text written straight into a buffer is what jansson writes for the same values. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"

/* json_buf_str(s) against json_dumps of the same string (JSON_ENCODE_ANY | JSON_COMPACT). */
static void check_like_jansson(const char *s)
{
    json_t *v = json_string(s);
    assert_non_null(v);
    char *want = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(v);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(json_buf_str(&b, s), ERR_OK);
    assert_string_equal(b.data, want);
    free(want);
    buf_release(&b);
}

static void strings_match_jansson(void **state)
{
    (void)state;
    check_like_jansson("");
    check_like_jansson("plain ascii 0123 /slash");
    check_like_jansson("quote \" backslash \\ end");
    check_like_jansson("\b\f\n\r\t\x01\x1f\x7f");
    check_like_jansson("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8");
    /* every ASCII byte, one string */
    char all[128];
    for (int i = 1; i < 128; i++)
        all[i - 1] = (char)i;
    all[127] = '\0';
    check_like_jansson(all);
    /* random valid UTF-8 built from code points */
    unsigned seed = 7;
    for (int round = 0; round < 2000; round++) {
        char s[64];
        size_t n = 0;
        while (n < sizeof(s) - 5) {
            seed = seed * 1103515245u + 12345u;
            uint32_t cp = (seed >> 8) % 0x110000;
            if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
                continue;
            if (cp < 0x80) {
                s[n++] = (char)cp;
            } else if (cp < 0x800) {
                s[n++] = (char)(0xc0 | (cp >> 6));
                s[n++] = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                s[n++] = (char)(0xe0 | (cp >> 12));
                s[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                s[n++] = (char)(0x80 | (cp & 0x3f));
            } else {
                s[n++] = (char)(0xf0 | (cp >> 18));
                s[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
                s[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                s[n++] = (char)(0x80 | (cp & 0x3f));
            }
            if ((seed & 7) == 0)
                s[n++] = (char)((seed >> 3) & 0x7f ? (seed >> 3) & 0x7f : '"');
        }
        s[n] = '\0';
        check_like_jansson(s);
    }
}

/* What jansson refuses (invalid UTF-8) is written as U+FFFD, byte by byte; the rest as is. */
static void invalid_utf8_is_replaced(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"a\xff"
         "b",
         "\"a\\ufffdb\""},
        {"\xc0\xaf", "\"\\ufffd\\ufffd\""},                       /* overlong '/' */
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},            /* a surrogate */
        {"\xe2\x82", "\"\\ufffd\\ufffd\""},                       /* truncated */
        {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* past U+10FFFF */
        {"ok\xc3\xa9\x80", "\"ok\xc3\xa9\\ufffd\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_null(json_string(cases[i].in));
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(json_buf_str(&b, cases[i].in), ERR_OK);
        assert_string_equal(b.data, cases[i].out);
        buf_release(&b);
    }
}

static void null_and_time(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(json_buf_str_or_null(&b, ""), ERR_OK);
    assert_int_equal(buf_addc(&b, ','), ERR_OK);
    assert_int_equal(json_buf_str_or_null(&b, NULL), ERR_OK);
    assert_int_equal(buf_addc(&b, ','), ERR_OK);
    assert_int_equal(json_buf_key(&b, "k"), ERR_OK);
    assert_int_equal(json_buf_time(&b, 0), ERR_OK);
    assert_int_equal(buf_addc(&b, ','), ERR_OK);
    assert_int_equal(json_buf_time(&b, 1764130800000), ERR_OK);
    assert_string_equal(b.data, "null,null,\"k\":null,\"2025-11-26T04:20:00Z\"");
    buf_reset(&b);
    b.max = 4; /* the buffer's maximum holds */
    assert_int_equal(json_buf_str(&b, "abcdef"), ERR_TOOBIG);
    buf_release(&b);
}

/* json_flat_parse on text: when it accepts, jansson (json_parse_object) accepts too and gives
 * the same pairs; when it refuses, text is unchanged. Returns whether it accepted. */
static bool flat_like_jansson(const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    struct json_flat_pair kv[8];
    size_t n = 99;
    bool ok = json_flat_parse(copy, len, kv, 8, &n);
    json_t *o = NULL;
    struct errbuf eb = {{0}, NULL};
    int rc = json_parse_object(text, len, &o, &eb);
    if (!ok) {
        assert_memory_equal(copy, text, len);
    } else {
        assert_int_equal(rc, ERR_OK);
        assert_int_equal(json_object_size(o), n);
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_object_get(o, kv[i].key);
            assert_non_null(v);
            if (kv[i].value)
                assert_string_equal(json_string_value(v), kv[i].value);
            else
                assert_true(json_is_null(v));
        }
    }
    json_decref(o);
    free(copy);
    return ok;
}

static void flat_objects_match_jansson(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "{}",
        " { } ",
        "{\"account\":\"acc_1\",\"url\":\"https://a.example/x?u=1&v=2\",\"referrer\":null}",
        "\t{\r\n\"a\" : \"\" , \"b\":\"x y\"}\n",
        "{\"\":\"empty key\"}",
    };
    static const char *const no[] = {
        "",
        "{",
        "}",
        "[]",
        "\"a\"",
        "null",
        "{\"a\":\"b\"",
        "{\"a\":\"b\",}",
        "{,}",
        "{\"a\":1}",
        "{\"a\":true}",
        "{\"a\":[\"x\"]}",
        "{\"a\":{}}",
        "{\"a\":\"\\n\"}",
        "{\"a\":\"\\u0041\"}",
        "{\"a\":\"caf\xc3\xa9\"}",
        "{\"a\":\"\x01\"}",
        "{\"a\":\"b\"}x",
        "{\"a\":\"b\"}{}",
        "{\"a\":\"b\",\"a\":\"c\"}",
        "{\"a\":nul}",
        "{\"a\":nullx}",
        "{a:\"b\"}",
        "{\"a\" \"b\"}",
        "{\"a\":\"b\" \"c\":\"d\"}",
        "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
        assert_true(flat_like_jansson(yes[i], strlen(yes[i])));
    for (size_t i = 0; i < ARRAY_SIZE(no); i++)
        assert_false(flat_like_jansson(no[i], strlen(no[i])));
    assert_false(flat_like_jansson("{\"a\":\"b\"}\0", 10)); /* a NUL after the object */
    /* a NUL inside: not plain, jansson's error */
    assert_false(flat_like_jansson("{\"a\":\"b\0c\"}", 11));
    /* more pairs than asked for: refused */
    char many[256] = "{";
    for (int i = 0; i < 9; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s\"k%d\":\"v\"", i ? "," : "",
                 i);
    snprintf(many + strlen(many), sizeof(many) - strlen(many), "}");
    assert_false(flat_like_jansson(many, strlen(many)));
    /* random texts from JSON's alphabet: every one accepted is jansson's reading */
    static const char alphabet[] = "{}{}\"\"\"\"::,, \tnulabc\\\xc3";
    unsigned seed = 12345;
    int accepted = 0;
    for (int t = 0; t < 200000; t++) {
        char text[24];
        seed = seed * 1103515245u + 12345u;
        size_t len = 2 + (seed >> 16) % 20;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            text[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        accepted += flat_like_jansson(text, len);
    }
    assert_true(accepted > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_match_jansson),
        cmocka_unit_test(invalid_utf8_is_replaced),
        cmocka_unit_test(null_and_time),
        cmocka_unit_test(flat_objects_match_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
