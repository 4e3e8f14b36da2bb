/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* telephony: the provider interface (provider.h) for each registered provider: the registry
 * and route choice, header checks (and Telnyx's freshness), parse, verify against the vectors
 * of INTERFACES.md §2.2 and §3.4 (made with the official twilio, @signalwire/compatibility-api
 * and telnyx packages; see ../shared/interfaces/), answers and the status map. Requests are
 * fakes: a URL, a body and a small header table. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <strings.h>

#include "base/buf.h"
#include "base/err.h"
#include "telephony/provider.h"

#define TOKEN "dni-test-auth-token-0123456789ab"
#define V1_URL "https://dni.example.com/twilio/voice/inbound"
#define V1_BODY                                                                                    \
    "AccountSid=AC00000000000000000000000000000001&ApiVersion=2010-04-01&CallSid="                 \
    "CA00000000000000000000000000000001&CallStatus=ringing&Called=%2B15125550100&Caller="          \
    "%2B14155550123&Direction=inbound&From=%2B14155550123&FromCity=SAN+FRANCISCO&FromCountry=US&"  \
    "FromState=CA&FromZip=94103&To=%2B15125550100&ToCity=AUSTIN&ToCountry=US&ToState=TX&ToZip="    \
    "78701"
#define V1_SIG "UHHlq3jYUj1WeGMa+ZOz3QDu9aY="
/* INTERFACES.md §3.4: the Ed25519 vector (seed 01..20), a Call Control body signed at TS. */
#define TELNYX_KEY "ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="
#define TELNYX_TS "1736874311"
#define TELNYX_SIG                                                                                 \
    "v+TzSH9b9YimATlJiG3a2xvWnliuo0/Wq1ouIbtn+qOT/z1sc+IOtARKkKozJ2K6SlfK8FCjrtl8Hj2hsfbPCA=="
#define TELNYX_BODY                                                                                \
    "{\"data\":{\"event_type\":\"call.initiated\",\"id\":\"0ccc7b54-4df3-4bca-a65a-"               \
    "3da1ecc777f0\","                                                                              \
    "\"occurred_at\":\"2025-01-14T17:05:11.000000Z\",\"payload\":{\"call_control_id\":\"v3:test-"  \
    "ccid\",\"call_leg_id\":\"leg-1\",\"call_session_id\":\"sess-1\",\"client_state\":null,"       \
    "\"connection_id\":\"1234567890\",\"direction\":\"incoming\",\"from\":\"+14155550123\","       \
    "\"state\":\"parked\",\"to\":\"+15125550100\"},\"record_type\":\"event\"},\"meta\":{"          \
    "\"attempt\":1,\"delivered_to\":\"https://dni.example.com/telnyx/webhook\"}}"
#define BASE "https://dni.example.com"
#define XML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

/* ==== fake requests ========================================================================== */

struct fake {
    const char *names[4];
    const char *values[4];
};

static const char *fake_header(void *ctx, const char *name)
{
    const struct fake *f = ctx;
    for (size_t i = 0; i < ARRAY_SIZE(f->names) && f->names[i]; i++)
        if (strcasecmp(f->names[i], name) == 0)
            return f->values[i];
    return NULL;
}

static struct tel_request request(const char *url, const char *body, struct fake *headers)
{
    return (struct tel_request){.url = url,
                                .body = body,
                                .len = body ? strlen(body) : 0,
                                .header = fake_header,
                                .ctx = headers,
                                .now_s = 1736874311};
}

static const struct tel_provider *provider(const char *name)
{
    const struct tel_provider *p = tel_provider_by_name(name);
    assert_non_null(p);
    return p;
}

/* ==== registry =============================================================================== */

static void registry_is_consistent(void **state)
{
    (void)state;
    size_t n = 0;
    for (const struct tel_provider *const *pp = tel_providers; *pp; pp++, n++) {
        const struct tel_provider *p = *pp;
        size_t len = strlen(p->name);
        assert_true(len >= 1 && len <= TEL_NAME_MAX);
        assert_int_equal(strspn(p->name, "abcdefghijklmnopqrstuvwxyz0123456789"), len);
        assert_ptr_equal(tel_provider_by_name(p->name), p); /* names are unique */
        assert_non_null(p->check);
        assert_non_null(p->parse);
        assert_non_null(p->verify);
        assert_non_null(p->answer);
        assert_non_null(p->status);
        assert_non_null(p->content_type);
        assert_non_null(p->paths[TEL_HOOK_VOICE]);
        assert_non_null(p->paths[TEL_HOOK_STATUS]);
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "/v1/telephony/%s/", p->name);
        for (int k = 0; k < TEL_HOOK_N; k++)
            assert_true(!p->paths[k] || strncmp(p->paths[k], prefix, strlen(prefix)) == 0);
        assert_true(!p->host || (tel_provider_by_name(p->host) && p->host_header));
    }
    assert_int_equal(n, 3);
    assert_null(tel_provider_by_name("pbx"));
    assert_null(tel_provider_by_name(NULL));
}

static void routes_pick_the_provider(void **state)
{
    (void)state;
    struct fake twilio = {{"X-Twilio-Signature"}, {V1_SIG}};
    struct fake sw = {{"x-signalwire-signature"}, {V1_SIG}};
    struct fake both = {{"X-Twilio-Signature", "X-SignalWire-Signature"}, {V1_SIG, V1_SIG}};
    struct fake none = {{NULL}, {NULL}};
    struct tel_request rq = request(V1_URL, V1_BODY, &twilio);
    assert_string_equal(tel_provider_for_route("twilio", &rq)->name, "twilio");
    rq.ctx = &sw;
    assert_string_equal(tel_provider_for_route("twilio", &rq)->name, "signalwire");
    rq.ctx = &both;
    assert_string_equal(tel_provider_for_route("twilio", &rq)->name, "signalwire");
    rq.ctx = &none;
    assert_string_equal(tel_provider_for_route("twilio", &rq)->name, "twilio");
    assert_string_equal(tel_provider_for_route("signalwire", &rq)->name, "signalwire");
    assert_string_equal(tel_provider_for_route("telnyx", &rq)->name, "telnyx");
    assert_null(tel_provider_for_route("plivo", &rq));
    assert_null(tel_provider_for_route(NULL, &rq));
}

/* ==== Twilio and SignalWire ================================================================== */

static void twilio_check_parse_verify(void **state)
{
    (void)state;
    const struct tel_provider *p = provider("twilio");
    struct fake h = {{"X-Twilio-Signature"}, {V1_SIG}};
    struct tel_request rq = request(V1_URL, V1_BODY, &h);
    assert_int_equal(p->check(&rq, NULL), ERR_OK);
    struct tel_hook hook;
    assert_int_equal(p->parse(&rq, &hook, NULL), ERR_OK);
    assert_string_equal(hook.wh.call_sid, "CA00000000000000000000000000000001");
    assert_string_equal(hook.wh.account_sid, "AC00000000000000000000000000000001");
    assert_string_equal(hook.wh.to, "+15125550100");
    assert_string_equal(hook.wh.from, "+14155550123");
    assert_string_equal(hook.wh.call_status, "ringing");
    assert_null(hook.wh.parent_call_sid);
    assert_int_equal(hook.wh.call_duration_s, -1);
    assert_true(p->verify(&rq, &hook, TOKEN));
    rq.url = "https://dni.example.com:443/twilio/voice/inbound"; /* both port forms */
    assert_true(p->verify(&rq, &hook, TOKEN));
    rq.url = V1_URL;
    assert_false(p->verify(&rq, &hook, "not-the-token"));
    assert_false(p->verify(&rq, &hook, ""));
    assert_false(p->verify(&rq, &hook, NULL));
    tel_hook_release(&hook);
    /* From changed after signing */
    rq.body = "CallSid=CA00000000000000000000000000000001&From=%2B15555550000";
    rq.len = strlen(rq.body);
    assert_int_equal(p->parse(&rq, &hook, NULL), ERR_OK);
    assert_false(p->verify(&rq, &hook, TOKEN));
    tel_hook_release(&hook);
    tel_hook_release(&hook); /* twice is fine */
}

static void twilio_official_vector_and_headers(void **state)
{
    (void)state;
    const struct tel_provider *p = provider("twilio");
    /* twilio-python tests/unit/test_request_validator.py, token 12345 */
    struct fake h = {{"X-Twilio-Signature"}, {"RSOYDt4T1cUTdK1PDd93/VVr8B8="}};
    struct tel_request rq =
        request("https://mycompany.com/myapp.php?foo=1&bar=2",
                "CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&To=%2B18005551212&"
                "Caller=%2B14158675309",
                &h);
    struct tel_hook hook;
    assert_int_equal(p->parse(&rq, &hook, NULL), ERR_OK);
    assert_true(p->verify(&rq, &hook, "12345"));
    /* The Twilio provider reads X-Twilio-Signature only; SignalWire's header is SignalWire's. */
    struct fake sw = {{"X-SignalWire-Signature"}, {"RSOYDt4T1cUTdK1PDd93/VVr8B8="}};
    rq.ctx = &sw;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(p->check(&rq, &eb), ERR_FORBIDDEN);
    assert_string_equal(eb.msg, "missing X-Twilio-Signature");
    assert_false(p->verify(&rq, &hook, "12345"));
    tel_hook_release(&hook);
}

static void twilio_parse_errors(void **state)
{
    (void)state;
    const struct tel_provider *p = provider("twilio");
    struct fake h = {{NULL}, {NULL}};
    static const char *const bad[] = {"a=%zz", "From=%2B1", "CallSid=v3:abc",
                                      "CallSid=CA1&CallStatus=Done"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct tel_request rq = request(V1_URL, bad[i], &h);
        struct tel_hook hook;
        struct errbuf eb = {{0}, NULL};
        assert_int_equal(p->parse(&rq, &hook, &eb), ERR_INVALID);
        assert_true(eb.msg[0] != '\0');
        tel_hook_release(&hook);
    }
}

static void signalwire_vectors(void **state)
{
    (void)state;
    const struct tel_provider *p = provider("signalwire");
    /* V1 (the SignalWire library reproduces it), under either header */
    struct fake sw = {{"X-SignalWire-Signature"}, {V1_SIG}};
    struct fake alias = {{"X-Twilio-Signature"}, {V1_SIG}};
    struct fake none = {{NULL}, {NULL}};
    struct tel_request rq = request(V1_URL, V1_BODY, &sw);
    struct tel_hook hook;
    assert_int_equal(p->check(&rq, NULL), ERR_OK);
    assert_int_equal(p->parse(&rq, &hook, NULL), ERR_OK);
    assert_true(p->verify(&rq, &hook, TOKEN));
    rq.ctx = &alias;
    assert_int_equal(p->check(&rq, NULL), ERR_OK);
    assert_true(p->verify(&rq, &hook, TOKEN));
    rq.ctx = &none;
    assert_int_equal(p->check(&rq, NULL), ERR_FORBIDDEN);
    assert_false(p->verify(&rq, &hook, TOKEN));
    tel_hook_release(&hook);
    /* V3: repeated names signed as received (signalwire_compat_check.js); no CallSid, so the
     * fields do not parse but the form is there to verify. */
    struct fake v3 = {{"X-SignalWire-Signature"}, {"plpu+DgiosRhZoz2jBzkgiSiNUc="}};
    rq = request("https://dni.example.com/hook", "b=2&a=z&a=x&a=x&a=y&A=0", &v3);
    assert_int_equal(p->parse(&rq, &hook, NULL), ERR_INVALID);
    assert_true(p->verify(&rq, &hook, TOKEN));
    tel_hook_release(&hook);
    /* UUID call ids */
    rq = request(V1_URL, "CallSid=b3877c40-da60-4998-90ad-b792e98472af&AccountSid=p-1", &sw);
    assert_int_equal(p->parse(&rq, &hook, NULL), ERR_OK);
    assert_string_equal(hook.wh.call_sid, "b3877c40-da60-4998-90ad-b792e98472af");
    tel_hook_release(&hook);
}

/* ==== Telnyx ================================================================================= */

static void telnyx_check_and_verify(void **state)
{
    (void)state;
    const struct tel_provider *p = provider("telnyx");
    struct fake h = {{"telnyx-timestamp", "telnyx-signature-ed25519"}, {TELNYX_TS, TELNYX_SIG}};
    struct tel_request rq = request(NULL, TELNYX_BODY, &h);
    assert_int_equal(p->check(&rq, NULL), ERR_OK);
    rq.now_s += 300;
    assert_int_equal(p->check(&rq, NULL), ERR_OK);
    rq.now_s += 1;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(p->check(&rq, &eb), ERR_FORBIDDEN);
    assert_non_null(strstr(eb.msg, "300 s"));
    struct tel_hook none = {0}; /* the signature covers the raw body, not parsed fields */
    assert_true(p->verify(&rq, &none, TELNYX_KEY));
    assert_false(p->verify(&rq, &none, "not-a-key"));
    assert_false(p->verify(&rq, &none, NULL));
    assert_false(p->verify(&rq, &none, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    struct tel_request tampered = rq;
    tampered.len--; /* the body without its last byte */
    assert_false(p->verify(&tampered, &none, TELNYX_KEY));
    struct fake no_sig = {{"telnyx-timestamp"}, {TELNYX_TS}};
    rq = request(NULL, TELNYX_BODY, &no_sig);
    assert_int_equal(p->check(&rq, NULL), ERR_FORBIDDEN);
    assert_false(p->verify(&rq, &none, TELNYX_KEY));
}

static void telnyx_parse(void **state)
{
    (void)state;
    const struct tel_provider *p = provider("telnyx");
    struct fake h = {{NULL}, {NULL}};
    struct tel_request rq = request(NULL,
                                    "AccountSid=b3877c40-da60-4998-90ad-b792e98472af&CallSid=v3:"
                                    "abc_DEF-1&CallStatus=completed&CallDuration=95&"
                                    "ParentCallSid=v3:parent&To=%2B15125550100",
                                    &h);
    struct tel_hook hook;
    assert_int_equal(p->parse(&rq, &hook, NULL), ERR_OK);
    assert_string_equal(hook.wh.call_sid, "v3:abc_DEF-1");
    assert_string_equal(hook.wh.parent_call_sid, "v3:parent");
    assert_string_equal(hook.wh.call_status, "completed");
    assert_int_equal(hook.wh.call_duration_s, 95);
    tel_hook_release(&hook);
    rq.body = TELNYX_BODY; /* Call Control JSON is not TeXML */
    rq.len = strlen(rq.body);
    assert_int_equal(p->parse(&rq, &hook, NULL), ERR_INVALID);
    tel_hook_release(&hook);
}

/* ==== answers and statuses =================================================================== */

static void answer_of(const char *name, const struct tel_answer *a, const char *want)
{
    const struct tel_provider *p = provider(name);
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(p->answer(&b, a), ERR_OK);
    assert_string_equal(b.data, want);
    assert_string_equal(p->content_type, "text/xml");
    buf_release(&b);
}

static void answers_carry_each_providers_paths(void **state)
{
    (void)state;
    struct tel_answer a = {.kind = TEL_ANSWER_DIAL,
                           .base_url = BASE,
                           .forward_to = "+15555550109",
                           .caller_id = "+15125550123"};
#define DIAL(action, status)                                                                       \
    XML_HEAD "<Response><Dial callerId=\"+15125550123\" action=\"" BASE action                     \
             "\" method=\"POST\"><Number statusCallback=\"" BASE status                            \
             "\" statusCallbackEvent=\"initiated ringing answered completed\">+15555550109"        \
             "</Number></Dial></Response>"
    answer_of("twilio", &a, DIAL("/v1/telephony/twilio/dial", "/v1/telephony/twilio/status"));
    answer_of("signalwire", &a,
              DIAL("/v1/telephony/signalwire/dial", "/v1/telephony/signalwire/status"));
    answer_of("telnyx", &a, DIAL("/v1/telephony/telnyx/status", "/v1/telephony/telnyx/status"));
#undef DIAL
    /* recorded (record_calls): the recording comes to the provider's recording route */
    a.record = true;
#define REC(action, status, rec)                                                                   \
    XML_HEAD "<Response><Say>This call may be recorded.</Say><Dial callerId=\"+15125550123\" "     \
             "action=\"" BASE action "\" method=\"POST\" record=\"record-from-answer-dual\" "      \
             "recordingStatusCallback=\"" BASE rec "\" recordingStatusCallbackMethod=\"POST\">"    \
             "<Number statusCallback=\"" BASE status                                               \
             "\" statusCallbackEvent=\"initiated ringing answered completed\">+15555550109"        \
             "</Number></Dial></Response>"
    answer_of("twilio", &a,
              REC("/v1/telephony/twilio/dial", "/v1/telephony/twilio/status",
                  "/v1/telephony/twilio/recording"));
    answer_of("signalwire", &a,
              REC("/v1/telephony/signalwire/dial", "/v1/telephony/signalwire/status",
                  "/v1/telephony/signalwire/recording"));
    answer_of("telnyx", &a,
              REC("/v1/telephony/telnyx/status", "/v1/telephony/telnyx/status",
                  "/v1/telephony/telnyx/recording"));
#undef REC
    a.record = false;
    for (const struct tel_provider *const *pp = tel_providers; *pp; pp++) {
        a.kind = TEL_ANSWER_EMPTY; /* as twiml.out.txt */
        answer_of((*pp)->name, &a, XML_HEAD "<Response/>");
        a.kind = TEL_ANSWER_REJECT;
        answer_of((*pp)->name, &a,
                  XML_HEAD "<Response><Say>We are sorry, the number you have called is not in "
                           "service.</Say><Hangup/></Response>");
    }
}

/* A routing plan's instructions: callbacks on each provider's route path with the plan's query
 * (escaped in attributes and text, as the official library writes them). */
static void routing_answers(void **state)
{
    (void)state;
    struct tel_answer a = {.kind = TEL_ANSWER_GATHER,
                           .base_url = BASE,
                           .say = "Press 1 for sales & 2 for <service>.",
                           .num_digits = 1,
                           .timeout_s = 5,
                           .route_query = "ev=gather&st=0.0.-1.-1.0."};
#define RT(name) BASE "/v1/telephony/" name "/route?ev=gather&amp;st=0.0.-1.-1.0."
    answer_of("twilio", &a,
              XML_HEAD "<Response><Gather numDigits=\"1\" timeout=\"5\" action=\"" RT(
                  "twilio") "\" method=\"POST\" input=\"dtmf\"><Say>Press 1 for sales &amp; 2 for "
                            "&lt;service&gt;.</Say></Gather><Redirect method=\"POST\">" RT(
                                "twilio") "</Redirect></Response>");
    a.say = NULL;
    answer_of("telnyx", &a,
              XML_HEAD "<Response><Gather numDigits=\"1\" timeout=\"5\" action=\"" RT(
                  "telnyx") "\" method=\"POST\" input=\"dtmf\"></Gather><Redirect "
                            "method=\"POST\">" RT("telnyx") "</Redirect></Response>");
#undef RT
    a = (struct tel_answer){.kind = TEL_ANSWER_DIAL,
                            .base_url = BASE,
                            .forward_to = "+15555550109",
                            .timeout_s = 20,
                            .route_query = "ev=dial",
                            .whisper_query = "ev=whisper"};
    answer_of("signalwire", &a,
              XML_HEAD "<Response><Dial action=\"" BASE "/v1/telephony/signalwire/route?ev=dial"
                       "\" method=\"POST\" timeout=\"20\"><Number url=\"" BASE
                       "/v1/telephony/signalwire/route?ev=whisper\" method=\"POST\" "
                       "statusCallback=\"" BASE "/v1/telephony/signalwire/status\" "
                       "statusCallbackEvent=\"initiated ringing answered completed\">+15555550109"
                       "</Number></Dial></Response>");
    a = (struct tel_answer){.kind = TEL_ANSWER_RECORD,
                            .base_url = BASE,
                            .say = "Leave a message.",
                            .max_len_s = 60,
                            .route_query = "ev=record",
                            .status_query = "ev=recording"};
    answer_of("twilio", &a,
              XML_HEAD
              "<Response><Say>Leave a message.</Say><Record maxLength=\"60\" action=\"" BASE
              "/v1/telephony/twilio/route?ev=record\" method=\"POST\" "
              "recordingStatusCallback=\"" BASE
              "/v1/telephony/twilio/route?ev=recording\"/></Response>");
    a = (struct tel_answer){.kind = TEL_ANSWER_SAY_HANGUP, .base_url = BASE, .say = "Goodbye."};
    answer_of("twilio", &a, XML_HEAD "<Response><Say>Goodbye.</Say><Hangup/></Response>");
    a.kind = TEL_ANSWER_SAY;
    answer_of("telnyx", &a, XML_HEAD "<Response><Say>Goodbye.</Say></Response>");
    a.kind = TEL_ANSWER_BLOCK;
    answer_of("twilio", &a, XML_HEAD "<Response><Reject reason=\"rejected\"/></Response>");
    /* a gather without its callback is refused, and leaves nothing half written */
    struct buf b;
    buf_init(&b, 4096);
    a = (struct tel_answer){.kind = TEL_ANSWER_GATHER, .base_url = BASE, .num_digits = 1};
    assert_int_equal(provider("twilio")->answer(&b, &a), ERR_INVALID);
    assert_int_equal(b.len, 0);
    buf_release(&b);
    for (const struct tel_provider *const *pp = tel_providers; *pp; pp++)
        assert_non_null((*pp)->paths[TEL_HOOK_ROUTE]);
}

static void answer_errors_keep_the_buffer(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(buf_adds(&b, "kept"), ERR_OK);
    struct tel_answer a = {.kind = TEL_ANSWER_DIAL, .base_url = BASE, .forward_to = ""};
    assert_int_equal(provider("twilio")->answer(&b, &a), ERR_INVALID);
    a.forward_to = "+15555550109";
    a.base_url = NULL;
    assert_int_equal(provider("signalwire")->answer(&b, &a), ERR_INVALID);
    char long_base[1200]; /* past URL_MAX (1024) */
    memset(long_base, 'h', sizeof(long_base) - 1);
    long_base[sizeof(long_base) - 1] = '\0';
    a.base_url = long_base;
    assert_int_equal(provider("telnyx")->answer(&b, &a), ERR_TOOBIG);
    assert_string_equal(b.data, "kept");
    buf_release(&b);
}

static void statuses_map_to_the_merge(void **state)
{
    (void)state;
    static const char *const same[] = {"ringing", "in-progress", "answered", "completed",
                                       "busy",    "no-answer",   "failed",   "canceled"};
    for (const struct tel_provider *const *pp = tel_providers; *pp; pp++) {
        const struct tel_provider *p = *pp;
        for (size_t i = 0; i < ARRAY_SIZE(same); i++)
            assert_string_equal(p->status(same[i]), same[i]);
        assert_string_equal(p->status("queued"), "ringing");
        assert_string_equal(p->status("initiated"), "ringing");
        const char *later = "a-status-added-later";
        assert_ptr_equal(p->status(later), later);
        assert_null(p->status(NULL));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_is_consistent),
        cmocka_unit_test(routes_pick_the_provider),
        cmocka_unit_test(twilio_check_parse_verify),
        cmocka_unit_test(twilio_official_vector_and_headers),
        cmocka_unit_test(twilio_parse_errors),
        cmocka_unit_test(signalwire_vectors),
        cmocka_unit_test(telnyx_check_and_verify),
        cmocka_unit_test(telnyx_parse),
        cmocka_unit_test(answers_carry_each_providers_paths),
        cmocka_unit_test(answer_errors_keep_the_buffer),
        cmocka_unit_test(routing_answers),
        cmocka_unit_test(statuses_map_to_the_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
