/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* telephony: the Telnyx Ed25519 webhook signature against the committed vector of
 * INTERFACES.md §3.4 (made with node:crypto from the seed 01..20 and accepted by the official
 * telnyx npm SDK, so hard-coding it is the point), the 300 s freshness window, base64 keys and
 * the TeXML callback fields. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "telephony/form.h"
#include "telephony/telnyx.h"

#define PUBKEY "ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="
#define TS "1736874311"
#define SIG                                                                                        \
    "v+TzSH9b9YimATlJiG3a2xvWnliuo0/Wq1ouIbtn+qOT/z1sc+IOtARKkKozJ2K6SlfK8FCjrtl8Hj2hsfbPCA=="
/* The second vector of interfaces/ed25519.out.txt: same key and body, another timestamp. */
#define TS2 "1795665566"
#define SIG2                                                                                       \
    "kaAfmDlRacokw64kVeTmOWE8gMq+nyZrW2KSfKJ4zIMsAPmm6J0XOvaMJ7j8NUVJiwD9Hvghlg0ZNChEoiZqDg=="

static const char body[] =
    "{\"data\":{\"event_type\":\"call.initiated\",\"id\":\"0ccc7b54-4df3-4bca-a65a-3da1ecc777f0\","
    "\"occurred_at\":\"2025-01-14T17:05:11.000000Z\",\"payload\":{\"call_control_id\":\"v3:test-"
    "ccid\",\"call_leg_id\":\"leg-1\",\"call_session_id\":\"sess-1\",\"client_state\":null,"
    "\"connection_id\":\"1234567890\",\"direction\":\"incoming\",\"from\":\"+14155550123\","
    "\"state\":\"parked\",\"to\":\"+15125550100\"},\"record_type\":\"event\"},\"meta\":{"
    "\"attempt\":1,\"delivered_to\":\"https://dni.example.com/telnyx/webhook\"}}";

static void key(unsigned char out[TELNYX_KEY_LEN])
{
    assert_int_equal(telnyx_public_key(PUBKEY, out), ERR_OK);
}

/* ==== public key ============================================================================= */

static void public_key_decodes(void **state)
{
    (void)state;
    unsigned char k[TELNYX_KEY_LEN];
    key(k);
    /* "ebVWLo/m" is 0x79 b5 56 2e 8f e6 by hand (6-bit groups 30 27 21 22 11 40 63 38); the
     * last quantum "lmQ=" is 0x96 64 with the two padding bits dropped. */
    const unsigned char head[] = {0x79, 0xb5, 0x56, 0x2e, 0x8f, 0xe6};
    assert_memory_equal(k, head, sizeof(head));
    assert_int_equal(k[30], 0x96);
    assert_int_equal(k[31], 0x64);
}

static void public_key_rejects(void **state)
{
    (void)state;
    unsigned char k[TELNYX_KEY_LEN];
    assert_int_equal(telnyx_public_key(NULL, k), ERR_INVALID);
    assert_int_equal(telnyx_public_key("", k), ERR_INVALID);
    /* no padding, extra padding, a space, a character outside the alphabet, 33 bytes */
    assert_int_equal(telnyx_public_key("ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ", k),
                     ERR_INVALID);
    assert_int_equal(telnyx_public_key("ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60Elm==", k),
                     ERR_INVALID);
    assert_int_equal(telnyx_public_key(" ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=", k),
                     ERR_INVALID);
    assert_int_equal(telnyx_public_key("ebVWLo-mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=", k),
                     ERR_INVALID);
    assert_int_equal(telnyx_public_key("ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQA", k),
                     ERR_INVALID);
    assert_int_equal(telnyx_public_key("eb=WLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=", k),
                     ERR_INVALID);
    /* the two unused bits of the last character set ('Q' is 010000, 'R'..'T' decode to the same
     * key): one text per key (found by fuzz/fz_telnyx.c) */
    assert_int_equal(telnyx_public_key("ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmR=", k),
                     ERR_INVALID);
    assert_int_equal(telnyx_public_key("ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmT=", k),
                     ERR_INVALID);
}

/* ==== signature ============================================================================== */

static void vector_verifies(void **state)
{
    (void)state;
    unsigned char k[TELNYX_KEY_LEN];
    key(k);
    assert_true(telnyx_verify(k, TS, body, strlen(body), SIG));
    assert_true(telnyx_verify(k, TS2, body, strlen(body), SIG2));
}

static void tampering_fails(void **state)
{
    (void)state;
    unsigned char k[TELNYX_KEY_LEN];
    key(k);
    char spaced[sizeof(body) + 1];
    snprintf(spaced, sizeof(spaced), "%s ", body);
    assert_false(telnyx_verify(k, TS, spaced, strlen(spaced), SIG));
    assert_false(telnyx_verify(k, TS, body, strlen(body) - 1, SIG));
    /* each signature signs its own timestamp only */
    assert_false(telnyx_verify(k, TS2, body, strlen(body), SIG));
    assert_false(telnyx_verify(k, TS " ", body, strlen(body), SIG));
    assert_false(telnyx_verify(k, TS, "", 0, SIG));
    assert_false(telnyx_verify(k, TS, NULL, 0, SIG));
    /* one bit of the signature: 'v' -> 'w' */
    assert_false(telnyx_verify(k, TS, body, strlen(body),
                               "w+TzSH9b9YimATlJiG3a2xvWnliuo0/Wq1ouIbtn+qOT/z1sc+IOtARKkKozJ2K6"
                               "SlfK8FCjrtl8Hj2hsfbPCA=="));
}

static void wrong_key_fails(void **state)
{
    (void)state;
    unsigned char k[TELNYX_KEY_LEN];
    key(k);
    k[0] ^= 0x01;
    assert_false(telnyx_verify(k, TS, body, strlen(body), SIG));
    unsigned char zero[TELNYX_KEY_LEN] = {0};
    assert_false(telnyx_verify(zero, TS, body, strlen(body), SIG));
    assert_false(telnyx_verify(NULL, TS, body, strlen(body), SIG));
}

static void bad_base64_fails(void **state)
{
    (void)state;
    unsigned char k[TELNYX_KEY_LEN];
    key(k);
    const char *bad[] = {
        NULL,
        "",
        /* padding dropped (86 characters) */
        "v+TzSH9b9YimATlJiG3a2xvWnliuo0/Wq1ouIbtn+qOT/z1sc+IOtARKkKozJ2K6SlfK8FCjrtl8Hj2hsfbPCA",
        /* a character outside the alphabet */
        "v+TzSH9b9YimATlJiG3a2xvWnliuo0/Wq1ouIbtn+qOT/z1sc+IOtARKkKozJ2K6SlfK8FCjrtl8Hj2hsfbP!==",
        /* base64url instead of base64 */
        "v-TzSH9b9YimATlJiG3a2xvWnliuo0_Wq1ouIbtn-qOT_z1sc-IOtARKkKozJ2K6SlfK8FCjrtl8Hj2hsfbPCA==",
        /* whitespace around it (EVP_DecodeBlock alone would skip it) */
        " v+TzSH9b9YimATlJiG3a2xvWnliuo0/Wq1ouIbtn+qOT/z1sc+IOtARKkKozJ2K6SlfK8FCjrtl8Hj2hsfbPCA==",
        /* 63 bytes: one byte short */
        "v+TzSH9b9YimATlJiG3a2xvWnliuo0/Wq1ouIbtn+qOT/z1sc+IOtARKkKozJ2K6SlfK8FCjrtl8Hj2hsfbP",
        /* 66 bytes: the padding replaced with data */
        "v+TzSH9b9YimATlJiG3a2xvWnliuo0/Wq1ouIbtn+qOT/z1sc+IOtARKkKozJ2K6SlfK8FCjrtl8Hj2hsfbPCAAA",
        /* the four unused bits of the last character set ('A' -> 'D', 'P'): the same 64 bytes
         * in another text, which would make the header malleable (found by fz_telnyx) */
        "v+TzSH9b9YimATlJiG3a2xvWnliuo0/Wq1ouIbtn+qOT/z1sc+IOtARKkKozJ2K6SlfK8FCjrtl8Hj2hsfbPCD==",
        "v+TzSH9b9YimATlJiG3a2xvWnliuo0/Wq1ouIbtn+qOT/z1sc+IOtARKkKozJ2K6SlfK8FCjrtl8Hj2hsfbPCP==",
        /* padding in the middle */
        "v+TzSH9b9YimATlJiG3a2xvWnliuo0/Wq1ouIbtn+qOT/z1sc+IOtARKkKozJ2K6SlfK8FCjrtl8Hj2hsfb=CA=",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(telnyx_verify(k, TS, body, strlen(body), bad[i]));
}

/* ==== freshness ============================================================================== */

static void freshness_boundaries(void **state)
{
    (void)state;
    int64_t ts = 1736874311;
    assert_true(telnyx_fresh(TS, ts, TELNYX_TOLERANCE_S));
    assert_true(telnyx_fresh(TS, ts + 300, TELNYX_TOLERANCE_S));
    assert_false(telnyx_fresh(TS, ts + 301, TELNYX_TOLERANCE_S));
    assert_true(telnyx_fresh(TS, ts - 300, TELNYX_TOLERANCE_S)); /* sender's clock ahead */
    assert_false(telnyx_fresh(TS, ts - 301, TELNYX_TOLERANCE_S));
    assert_true(telnyx_fresh(TS, ts, 0));
    assert_false(telnyx_fresh(TS, ts + 1, 0));
    assert_false(telnyx_fresh(TS, ts, -1));
}

static void freshness_rejects_non_numbers(void **state)
{
    (void)state;
    int64_t now = 1736874311;
    const char *bad[] = {
        NULL,           "",      "+1736874311", "-1736874311", " 1736874311",      "1736874311 ",
        "1736874311.5", "1.7e9", "0x67869f47",  "abc",         "9999999999999999", "1736874311\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(telnyx_fresh(bad[i], now, TELNYX_TOLERANCE_S));
    /* leading zeros are still the same number of seconds */
    assert_true(telnyx_fresh("01736874311", now, TELNYX_TOLERANCE_S));
}

/* ==== TeXML fields =========================================================================== */

static struct form parse(const char *b)
{
    struct form f;
    assert_int_equal(form_parse(b, strlen(b), &f), ERR_OK);
    return f;
}

static void texml_fields(void **state)
{
    (void)state;
    struct form f = parse("AccountSid=b3877c40-da60-4998-90ad-b792e98472af&CallSid=v3%3AabC_d-9"
                          "&CallStatus=completed&From=%2B15125550123&To=%2B15555550101"
                          "&CallDuration=95&SequenceNumber=4&Timestamp=2024-01-15T10%3A30%3A00Z"
                          "&CallbackSource=call-progress-events");
    struct tel_webhook w;
    assert_int_equal(telnyx_webhook_parse(&f, &w, NULL), ERR_OK);
    assert_string_equal(w.call_sid, "v3:abC_d-9");
    assert_string_equal(w.account_sid, "b3877c40-da60-4998-90ad-b792e98472af");
    assert_string_equal(w.call_status, "completed");
    assert_string_equal(w.from, "+15125550123");
    assert_string_equal(w.to, "+15555550101");
    assert_int_equal(w.call_duration_s, 95);
    assert_int_equal(w.sequence_number, 4);
    assert_int_equal(w.dial_call_duration_s, -1);
    assert_null(w.dial_call_status);
    form_release(&f);
}

static void texml_rejects(void **state)
{
    (void)state;
    const char *bad[][2] = {
        {"From=%2B1", "CallSid"},
        {"CallSid=", "CallSid"},
        {"CallSid=v3%3Aa%20b", "CallSid"},
        {"CallSid=v3%3Aab&CallStatus=Completed", "CallStatus"},
        {"CallSid=v3%3Aab&DialCallStatus=", "DialCallStatus"},
        {"CallSid=v3%3Aab&CallDuration=-1", "CallDuration"},
        {"CallSid=v3%3Aab&DialCallDuration=1000000001", "DialCallDuration"},
        {"CallSid=v3%3Aab&SequenceNumber=1.5", "SequenceNumber"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct form f = parse(bad[i][0]);
        struct tel_webhook w;
        struct errbuf eb = {{0}, NULL};
        assert_int_equal(telnyx_webhook_parse(&f, &w, &eb), ERR_INVALID);
        assert_non_null(eb.field);
        assert_string_equal(eb.field, bad[i][1]);
        form_release(&f);
    }
    char sid[160] = "CallSid=";
    memset(sid + 8, 'a', 128); /* 128 characters: one too many */
    struct form f = parse(sid);
    struct tel_webhook w;
    assert_int_equal(telnyx_webhook_parse(&f, &w, NULL), ERR_INVALID);
    form_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(public_key_decodes),   cmocka_unit_test(public_key_rejects),
        cmocka_unit_test(vector_verifies),      cmocka_unit_test(tampering_fails),
        cmocka_unit_test(wrong_key_fails),      cmocka_unit_test(bad_base64_fails),
        cmocka_unit_test(freshness_boundaries), cmocka_unit_test(freshness_rejects_non_numbers),
        cmocka_unit_test(texml_fields),         cmocka_unit_test(texml_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
