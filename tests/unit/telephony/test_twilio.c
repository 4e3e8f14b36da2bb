/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* telephony: form-urlencoded parsing, X-Twilio-Signature against every vector published in
 * INTERFACES.md §2.2 (made with the official twilio npm 6.2.0 / twilio-python; the expected
 * signatures are theirs, so hard-coding them here is the point), TwiML and webhook fields. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "telephony/form.h"
#include "telephony/twilio.h"

#define TOKEN "dni-test-auth-token-0123456789ab"

/* ==== helpers ================================================================================ */

static struct form parse(const char *body)
{
    struct form f;
    assert_int_equal(form_parse(body, strlen(body), &f), ERR_OK);
    return f;
}

static char *read_shared(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/interfaces/%s", SHARED_DIR, name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    struct buf b;
    buf_init(&b, 1 << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        assert_int_equal(buf_add(&b, chunk, n), ERR_OK);
    fclose(fp);
    return buf_detach(&b, NULL);
}

/* The line after the one that starts with label, or the rest of that line after label;
 * returned in a static buffer without the newline. */
static const char *spec_line(const char *text, const char *label, bool next_line)
{
    static char line[2048];
    const char *p = strstr(text, label);
    assert_non_null(p);
    p += strlen(label);
    if (next_line)
        p = strchr(p, '\n') + 1;
    size_t n = strcspn(p, "\r\n");
    assert_true(n < sizeof(line));
    memcpy(line, p, n);
    line[n] = '\0';
    return line;
}

/* ==== form =================================================================================== */

static void form_decodes_pairs(void **state)
{
    (void)state;
    struct form f = parse("a=1+2&b=%41%2b%2F&c&=v&&d=&a=second&");
    assert_int_equal(f.n, 6);
    assert_string_equal(form_get(&f, "a"), "1 2"); /* first of the repeated name */
    assert_string_equal(f.params[5].value, "second");
    assert_string_equal(form_get(&f, "b"), "A+/");
    assert_string_equal(form_get(&f, "c"), "");
    assert_string_equal(form_get(&f, ""), "v");
    assert_string_equal(form_get(&f, "d"), "");
    assert_null(form_get(&f, "A")); /* names are case-sensitive */
    form_release(&f);
    assert_null(f.params);
    assert_int_equal(f.n, 0);
    form_release(&f); /* twice is fine */
}

static void form_decodes_names_and_utf8(void **state)
{
    (void)state;
    struct form f = parse("Caller+Name=Jos%C3%A9+%C3%91%C3%BA%C3%B1ez&%2BX=1");
    assert_string_equal(form_get(&f, "Caller Name"), "José Ñúñez");
    assert_string_equal(form_get(&f, "+X"), "1");
    form_release(&f);
}

static void form_respects_len(void **state)
{
    (void)state;
    const char *body = "a=1&b=2&c=3";
    struct form f;
    assert_int_equal(form_parse(body, 5, &f), ERR_OK); /* "a=1&b" */
    assert_int_equal(f.n, 2);
    assert_string_equal(form_get(&f, "b"), "");
    assert_null(form_get(&f, "c"));
    form_release(&f);
    assert_int_equal(form_parse(NULL, 0, &f), ERR_OK);
    assert_int_equal(f.n, 0);
    assert_null(f.params);
    assert_int_equal(form_parse("&&&", 3, &f), ERR_OK);
    assert_int_equal(f.n, 0);
}

static void form_rejects_bad_escapes(void **state)
{
    (void)state;
    static const char *const bad[] = {"a=%",   "a=%4",    "a=%zz", "a=%4g",
                                      "%G0=1", "a=1&b=%", "a=%00", "a%00=1"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct form f = {.n = 99};
        assert_int_equal(form_parse(bad[i], strlen(bad[i]), &f), ERR_INVALID);
        assert_null(f.params);
        assert_int_equal(f.n, 0);
    }
    /* "%4" cut by len is malformed even if the byte after it is a hex digit */
    struct form f;
    assert_int_equal(form_parse("a=%41", 4, &f), ERR_INVALID);
    /* a raw NUL inside len truncates like %00 would */
    static const char raw_nul[] = "From=%2B1555&To=+1\0extra";
    assert_int_equal(form_parse(raw_nul, sizeof(raw_nul) - 1, &f), ERR_INVALID);
}

static void form_bounds_params(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < FORM_MAX_PARAMS; i++)
        assert_int_equal(buf_addf(&b, "%sp%d=%d", i ? "&" : "", i, i), ERR_OK);
    struct form f;
    assert_int_equal(form_parse(b.data, b.len, &f), ERR_OK);
    assert_int_equal(f.n, FORM_MAX_PARAMS);
    assert_string_equal(form_get(&f, "p255"), "255");
    form_release(&f);
    assert_int_equal(buf_adds(&b, "&one=more"), ERR_OK);
    assert_int_equal(form_parse(b.data, b.len, &f), ERR_TOOBIG);
    assert_null(f.params);
    buf_release(&b);
}

/* ==== signatures: the published vectors ====================================================== */

#define V1_BODY                                                                                    \
    "AccountSid=AC00000000000000000000000000000001&ApiVersion=2010-04-01&CallSid=CA00000000000"    \
    "000000000000000000001&CallStatus=ringing&Called=%2B15125550100&Caller=%2B14155550123&Dire"    \
    "ction=inbound&From=%2B14155550123&FromCity=SAN+FRANCISCO&FromCountry=US&FromState=CA&From"    \
    "Zip=94103&To=%2B15125550100&ToCity=AUSTIN&ToCountry=US&ToState=TX&ToZip=78701"
#define V1_URL "https://dni.example.com/twilio/voice/inbound"
#define V1_URL_443 "https://dni.example.com:443/twilio/voice/inbound"
/* V2's table in body order, not sorted, so the test proves we sort. */
#define V2_BODY                                                                                    \
    "CallSid=CA00000000000000000000000000000002&AccountSid=AC00000000000000000000000000000001&"    \
    "CallStatus=completed&CallDuration=42&Timestamp=Tue%2C+14+Jan+2025+17%3A05%3A11+%2B0000&Se"    \
    "quenceNumber=3&CallerName=Jos%C3%A9+%C3%91%C3%BA%C3%B1ez&From=%2B14155550123&To=%2B151255"    \
    "50100"
#define V2_URL "https://dni.example.com:8443/twilio/status?pool=7&session=ab%20cd"
#define V2_URL_NOPORT "https://dni.example.com/twilio/status?pool=7&session=ab%20cd"
#define V2B_BODY "Digits=1&CallSid=CA00000000000000000000000000000003"
#define V3_BODY "b=2&a=z&a=x&a=x&a=y&A=0"
#define OFF_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define OFF_BODY                                                                                   \
    "CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&To=%2B18005551212&Caller=%2B1415"   \
    "8675309"
#define OFF_DUP_BODY "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"

struct vector {
    const char *name;
    const char *token;
    const char *url;
    const char *body; /* form body; "" for none */
    const char *sig;  /* what the official library computes */
};

static const struct vector vectors[] = {
    {"V1", TOKEN, V1_URL, V1_BODY, "UHHlq3jYUj1WeGMa+ZOz3QDu9aY="},
    {"V1 :443 form", TOKEN, V1_URL_443, V1_BODY, "Ai03/6gmHWjMl18EuZ6N4s426SY="},
    {"V2", TOKEN, V2_URL, V2_BODY, "SbrLvCDbfCj2n3ipEzPz/lhzh8Q="},
    {"V2 port stripped", TOKEN, V2_URL_NOPORT, V2_BODY, "sbGdPsIg+nFNK9X0j9mbG7H5Q5A="},
    {"V2b", TOKEN, "http://10.0.0.5/hook", V2B_BODY, "wy8LLco91mp1I7Z/xdnLHR5b8VQ="},
    {"V2b :80", TOKEN, "http://10.0.0.5:80/hook", V2B_BODY, "mjFezm6fZp2HahehO2oCvj7N3G8="},
    {"V3 repeated keys", TOKEN, "https://dni.example.com/hook", V3_BODY,
     "wJjzF2KBvEodgCnn4dW9rt5djL4="},
    {"V3 empty params", TOKEN, "https://dni.example.com/hook", "", "WXFWYi4VvZEQ3xoZSPcUeCn+enU="},
    {"V4 JSON url", TOKEN,
     "https://dni.example.com/twilio/json?bodySHA256="
     "9cbd84aa5c22f4f4defc04fa30a48d7df79a918f2ad2a9fffef2cadcb69f76ce",
     "", "3sl0V9rY7Yn7HGB187UuAJGdcMo="},
    {"official", "12345", OFF_URL, OFF_BODY, "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
    {"official :443", "12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", OFF_BODY,
     "kvajT1Ptam85bY51eRf/AJRuM3w="},
    {"official http :80", "12345", "http://mycompany.com:80/myapp.php?foo=1&bar=2", OFF_BODY,
     "0ZXoZLH/DfblKGATFgpif+LLRf4="},
    {"official http :1234", "12345", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", OFF_BODY,
     "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="},
    {"official duplicates", "12345", OFF_URL, OFF_DUP_BODY, "IK+Dwps556ElfBT0I3Rgjkr1wJU="},
    {"official JSON url", "12345",
     OFF_URL "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", "",
     "a9nBmqA0ju/hNViExpshrM61xv4="},
};

static void signatures_match_official_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
        const struct vector *v = &vectors[i];
        struct form f = parse(v->body);
        char sig[TWILIO_SIG_LEN + 1];
        print_message("vector %s\n", v->name);
        assert_int_equal(twilio_signature(v->token, v->url, &f, sig), ERR_OK);
        assert_string_equal(sig, v->sig);
        assert_true(twilio_verify(v->token, v->url, &f, v->sig));
        assert_false(twilio_verify("wrong-token", v->url, &f, v->sig));
        char flipped[TWILIO_SIG_LEN + 1];
        memcpy(flipped, v->sig, sizeof(flipped));
        flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
        assert_false(twilio_verify(v->token, v->url, &f, flipped));
        form_release(&f);
    }
}

/* Changing, adding or removing any parameter must break the signature. */
static void tampered_params_fail(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
        const struct vector *v = &vectors[i];
        struct form f = parse(v->body);
        for (size_t k = 0; k < f.n; k++) {
            char *saved = f.params[k].value;
            f.params[k].value = (char *)"tampered";
            assert_false(twilio_verify(v->token, v->url, &f, v->sig));
            f.params[k].value = saved;
        }
        if (f.n > 0) { /* drop the first parameter (unique in every vector) */
            struct form rest = {.params = f.params + 1, .n = f.n - 1};
            assert_false(twilio_verify(v->token, v->url, &rest, v->sig));
        }
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(buf_addf(&b, "%s%sExtra=1", v->body, *v->body ? "&" : ""), ERR_OK);
        struct form extra = parse(b.data);
        buf_release(&b);
        assert_false(twilio_verify(v->token, v->url, &extra, v->sig));
        form_release(&extra);
        form_release(&f);
    }
}

/* V1 with a changed From (the vector's own negative case) and a tampered signature. */
static void v1_negative_cases(void **state)
{
    (void)state;
    struct form f = parse(V1_BODY);
    assert_true(twilio_verify(TOKEN, V1_URL, &f, "UHHlq3jYUj1WeGMa+ZOz3QDu9aY="));
    assert_false(twilio_verify(TOKEN, V1_URL, &f, "UHHlq3jYUj1WeGMa+ZOz3QDu9aZ="));
    assert_false(twilio_verify(TOKEN, V1_URL, &f, "UHHlq3jYUj1WeGMa+ZOz3QDu9aY"));
    assert_false(twilio_verify(TOKEN, V1_URL, &f, "UHHlq3jYUj1WeGMa+ZOz3QDu9aY=="));
    assert_false(twilio_verify(TOKEN, V1_URL, &f, ""));
    assert_false(twilio_verify(TOKEN, V1_URL, &f, NULL));
    assert_false(twilio_verify(NULL, V1_URL, &f, "UHHlq3jYUj1WeGMa+ZOz3QDu9aY="));
    assert_false(twilio_verify(TOKEN, "http://dni.example.com/twilio/voice/inbound", &f,
                               "UHHlq3jYUj1WeGMa+ZOz3QDu9aY="));
    assert_false(twilio_verify(TOKEN, V1_URL "/", &f, "UHHlq3jYUj1WeGMa+ZOz3QDu9aY="));
    for (size_t i = 0; i < f.n; i++)
        if (strcmp(f.params[i].name, "From") == 0)
            f.params[i].value = (char *)"+14155550999";
    assert_false(twilio_verify(TOKEN, V1_URL, &f, "UHHlq3jYUj1WeGMa+ZOz3QDu9aY="));
    form_release(&f);
}

/* §2.1 item 5: a signature over either port form validates against the other. */
static void verify_accepts_both_port_forms(void **state)
{
    (void)state;
    struct form v1 = parse(V1_BODY);
    assert_true(twilio_verify(TOKEN, V1_URL_443, &v1, "UHHlq3jYUj1WeGMa+ZOz3QDu9aY="));
    assert_true(twilio_verify(TOKEN, V1_URL, &v1, "Ai03/6gmHWjMl18EuZ6N4s426SY="));
    struct form v2 = parse(V2_BODY);
    /* a proxy stripped the non-default port before Twilio signed, or we see it stripped */
    assert_true(twilio_verify(TOKEN, V2_URL, &v2, "sbGdPsIg+nFNK9X0j9mbG7H5Q5A="));
    assert_false(twilio_verify(TOKEN, V2_URL_NOPORT, &v2, "SbrLvCDbfCj2n3ipEzPz/lhzh8Q="));
    struct form v2b = parse(V2B_BODY);
    assert_true(
        twilio_verify(TOKEN, "http://10.0.0.5:80/hook", &v2b, "wy8LLco91mp1I7Z/xdnLHR5b8VQ="));
    assert_true(twilio_verify(TOKEN, "http://10.0.0.5/hook", &v2b, "mjFezm6fZp2HahehO2oCvj7N3G8="));
    /* http's default port is 80, not 443 */
    assert_false(
        twilio_verify(TOKEN, "http://10.0.0.5/hook", &v2b, "Ai03/6gmHWjMl18EuZ6N4s426SY="));
    struct form off = parse(OFF_BODY);
    /* official.out.txt: "validate https:1234 url with port-less sig true" */
    assert_true(twilio_verify("12345", "https://mycompany.com:1234/myapp.php?foo=1&bar=2", &off,
                              "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    assert_true(twilio_verify("12345", OFF_URL, &off, "kvajT1Ptam85bY51eRf/AJRuM3w="));
    assert_true(twilio_verify("12345", "http://mycompany.com/myapp.php?foo=1&bar=2", &off,
                              "0ZXoZLH/DfblKGATFgpif+LLRf4="));
    form_release(&off);
    form_release(&v2b);
    form_release(&v2);
    form_release(&v1);
}

/* Userinfo and IPv6 hosts: only a real port is removed or added. Expected values are the
 * signatures of the URL forms spelled out by hand, computed by the same (vector-checked)
 * signer, so this tests the port logic only. */
static void port_forms_handle_odd_authorities(void **state)
{
    (void)state;
    static const struct {
        const char *seen;
        const char *signed_as;
    } cases[] = {
        {"https://[2001:db8::1]/hook", "https://[2001:db8::1]:443/hook"},
        {"https://[2001:db8::1]:8443/hook", "https://[2001:db8::1]/hook"},
        {"https://u:p@h.example/x?y=1:2", "https://u:p@h.example:443/x?y=1:2"},
        {"HTTPS://h.example/x", "HTTPS://h.example:443/x"},
        {"https://h.example?q=1", "https://h.example:443?q=1"},
    };
    struct form f = parse(V2B_BODY);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char sig[TWILIO_SIG_LEN + 1];
        assert_int_equal(twilio_signature(TOKEN, cases[i].signed_as, &f, sig), ERR_OK);
        assert_true(twilio_verify(TOKEN, cases[i].seen, &f, sig));
    }
    /* a ':' in an IPv6 literal is not a port: removing it must not produce a match */
    char sig[TWILIO_SIG_LEN + 1];
    assert_int_equal(twilio_signature(TOKEN, "https://[2001:db8:]/hook", &f, sig), ERR_OK);
    assert_false(twilio_verify(TOKEN, "https://[2001:db8::1]/hook", &f, sig));
    form_release(&f);
}

static void signalwire_keeps_repeated_values(void **state)
{
    (void)state;
    struct form f = parse(V3_BODY);
    char sig[TWILIO_SIG_LEN + 1];
    assert_int_equal(twilio_signature_as(TWILIO_FLAVOR_SIGNALWIRE, TOKEN,
                                         "https://dni.example.com/hook", &f, sig),
                     ERR_OK);
    assert_string_equal(sig, "plpu+DgiosRhZoz2jBzkgiSiNUc="); /* §2.2 V3, SignalWire 3.2.0 */
    assert_true(twilio_verify_as(TWILIO_FLAVOR_SIGNALWIRE, TOKEN, "https://dni.example.com/hook",
                                 &f, "plpu+DgiosRhZoz2jBzkgiSiNUc="));
    assert_false(
        twilio_verify(TOKEN, "https://dni.example.com/hook", &f, "plpu+DgiosRhZoz2jBzkgiSiNUc="));
    form_release(&f);
    /* without repeated names both flavours agree (the SignalWire script's V1 and official) */
    struct form v1 = parse(V1_BODY);
    assert_true(twilio_verify_as(TWILIO_FLAVOR_SIGNALWIRE, TOKEN, V1_URL, &v1,
                                 "UHHlq3jYUj1WeGMa+ZOz3QDu9aY="));
    form_release(&v1);
    struct form off = parse(OFF_BODY);
    assert_true(twilio_verify_as(TWILIO_FLAVOR_SIGNALWIRE, "12345", OFF_URL, &off,
                                 "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    form_release(&off);
}

/* twilio_verify_any (one key set-up, each distinct string to sign once) accepts exactly what
 * either flavour's twilio_verify_as accepts: both port forms, repeated names, no parameters. */
static void verify_any_is_either_flavour(void **state)
{
    (void)state;
    static const char *const bodies[] = {V1_BODY,  V2_BODY,      V2B_BODY, V3_BODY,
                                         OFF_BODY, OFF_DUP_BODY, ""};
    static const char *const urls[] = {V1_URL,
                                       V1_URL_443,
                                       V2_URL,
                                       V2_URL_NOPORT,
                                       "http://10.0.0.5/hook",
                                       "http://10.0.0.5:80/hook",
                                       "https://[2001:db8::1]/hook",
                                       "ftp://h.example/x"};
    int accepted = 0;
    for (size_t b = 0; b < ARRAY_SIZE(bodies); b++) {
        struct form f = parse(bodies[b]);
        for (size_t signer = 0; signer < ARRAY_SIZE(urls); signer++) {
            for (int flavour = 0; flavour < 2; flavour++) {
                enum twilio_flavor fl = flavour ? TWILIO_FLAVOR_SIGNALWIRE : TWILIO_FLAVOR_TWILIO;
                char sig[TWILIO_SIG_LEN + 1];
                assert_int_equal(twilio_signature_as(fl, TOKEN, urls[signer], &f, sig), ERR_OK);
                for (size_t seen = 0; seen < ARRAY_SIZE(urls); seen++) {
                    bool want =
                        twilio_verify_as(TWILIO_FLAVOR_TWILIO, TOKEN, urls[seen], &f, sig) ||
                        twilio_verify_as(TWILIO_FLAVOR_SIGNALWIRE, TOKEN, urls[seen], &f, sig);
                    assert_int_equal(twilio_verify_any(TOKEN, urls[seen], &f, sig), want);
                    accepted += want;
                    assert_false(twilio_verify_any("wrong-token", urls[seen], &f, sig));
                }
                assert_true(twilio_verify_any(TOKEN, urls[signer], &f, sig));
                char flipped[TWILIO_SIG_LEN + 1];
                memcpy(flipped, sig, sizeof(flipped));
                flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
                assert_false(twilio_verify_any(TOKEN, urls[signer], &f, flipped));
                sig[TWILIO_SIG_LEN - 1] = '\0';
                assert_false(twilio_verify_any(TOKEN, urls[signer], &f, sig));
            }
        }
        form_release(&f);
    }
    assert_true(accepted > (int)(ARRAY_SIZE(bodies) * ARRAY_SIZE(urls) * 2)); /* port forms too */
    struct form v3 = parse(V3_BODY); /* §2.2 V3: SignalWire's signature of repeated values */
    assert_true(twilio_verify_any(TOKEN, "https://dni.example.com/hook", &v3,
                                  "plpu+DgiosRhZoz2jBzkgiSiNUc="));
    assert_false(twilio_verify_any(NULL, "https://dni.example.com/hook", &v3,
                                   "plpu+DgiosRhZoz2jBzkgiSiNUc="));
    assert_false(twilio_verify_any(TOKEN, NULL, &v3, "plpu+DgiosRhZoz2jBzkgiSiNUc="));
    form_release(&v3);
}

/* The strings to sign printed in vectors.out.txt (produced by the official library). */
static void signed_data_matches_spec_file(void **state)
{
    (void)state;
    char *text = read_shared("vectors.out.txt");
    if (!text)
        skip();
    struct buf b;
    buf_init(&b, 0);
    struct form f = parse(V1_BODY);
    assert_int_equal(twilio_signed_data(&b, TWILIO_FLAVOR_TWILIO, V1_URL, &f), ERR_OK);
    assert_string_equal(b.data, spec_line(text, "V1 string-to-sign:", true));
    assert_string_equal(vectors[0].sig, spec_line(text, "V1 sig: ", false));
    form_release(&f);
    buf_reset(&b);
    f = parse(V2_BODY);
    assert_int_equal(twilio_signed_data(&b, TWILIO_FLAVOR_TWILIO, V2_URL, &f), ERR_OK);
    assert_string_equal(b.data, spec_line(text, "V2 string-to-sign:", true));
    assert_string_equal(vectors[2].sig, spec_line(text, "V2 sig: ", false));
    form_release(&f);
    buf_reset(&b);
    f = parse(V3_BODY);
    assert_int_equal(
        twilio_signed_data(&b, TWILIO_FLAVOR_TWILIO, "https://dni.example.com/hook", &f), ERR_OK);
    assert_string_equal(b.data, spec_line(text, "string-to-sign: ", false));
    form_release(&f);
    buf_release(&b);
    free(text);
}

#define V4_BODY "{\"CallSid\":\"CA00000000000000000000000000000004\",\"CallStatus\":\"completed\"}"
#define V4_HASH "9cbd84aa5c22f4f4defc04fa30a48d7df79a918f2ad2a9fffef2cadcb69f76ce"
#define V4_URL "https://dni.example.com/twilio/json?bodySHA256=" V4_HASH
#define OFF_JSON "{\"property\": \"value\", \"boolean\": true}"
#define OFF_JSON_URL                                                                               \
    OFF_URL "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"

static void json_body_vectors(void **state)
{
    (void)state;
    const char *sig = "3sl0V9rY7Yn7HGB187UuAJGdcMo=";
    assert_true(twilio_verify_body(TOKEN, V4_URL, V4_BODY, strlen(V4_BODY), sig));
    const char *busy =
        "{\"CallSid\":\"CA00000000000000000000000000000004\",\"CallStatus\":\"busy\"}";
    assert_false(twilio_verify_body(TOKEN, V4_URL, busy, strlen(busy), sig));
    assert_false(twilio_verify_body("wrong", V4_URL, V4_BODY, strlen(V4_BODY), sig));
    assert_false(twilio_verify_body(TOKEN, V4_URL, V4_BODY, strlen(V4_BODY) - 1, sig));
    /* the hash alone is not enough: the url without it is not what was signed */
    assert_false(twilio_verify_body(TOKEN, "https://dni.example.com/twilio/json", V4_BODY,
                                    strlen(V4_BODY), sig));
    /* port rule applies to JSON too */
    assert_true(twilio_verify_body(TOKEN,
                                   "https://dni.example.com:443/twilio/json?bodySHA256=" V4_HASH,
                                   V4_BODY, strlen(V4_BODY), sig));
    const char *osig = "a9nBmqA0ju/hNViExpshrM61xv4=";
    assert_true(twilio_verify_body("12345", OFF_JSON_URL, OFF_JSON, strlen(OFF_JSON), osig));
    assert_false(twilio_verify_body("12345", OFF_JSON_URL, "{}", 2, osig));
    assert_false(twilio_verify_body("12345", OFF_JSON_URL, NULL, 0, osig));
}

/* ==== TwiML ================================================================================== */

#define XML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

static void twiml_dial_plain(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    struct twiml_dial d = {.forward_to = "+15125550199"};
    assert_int_equal(twiml_dial(&b, &d), ERR_OK);
    assert_string_equal(b.data,
                        XML_HEAD "<Response><Dial><Number>+15125550199</Number></Dial></Response>");
    buf_release(&b);
}

/* A sip: URI (a ping-post buyer's destination) is dialled with <Sip>, with the same attributes. */
static void twiml_dial_sip(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    struct twiml_dial d = {.forward_to = "sip:agent-7@buyer.example.com:5061",
                           .status_url = "https://dni.example.com/s"};
    assert_int_equal(twiml_dial(&b, &d), ERR_OK);
    assert_non_null(strstr(b.data, "<Dial><Sip statusCallback=\"https://dni.example.com/s\" "));
    assert_non_null(strstr(b.data, ">sip:agent-7@buyer.example.com:5061</Sip></Dial>"));
    assert_null(strstr(b.data, "<Number"));
    buf_release(&b);
}

/* Our <Dial> opening and <Number> must read exactly like the official library's output for
 * the same attributes (twiml.out.txt, first document). */
static void twiml_dial_matches_official_output(void **state)
{
    (void)state;
    char *text = read_shared("twiml.out.txt");
    if (!text)
        skip();
    struct buf b;
    buf_init(&b, 4096);
    struct twiml_dial d = {
        .forward_to = "+15125550199",
        .caller_id = "+15125550100",
        .action_url = "https://dni.example.com/twilio/dial-done?pool=7",
        .status_url = "https://dni.example.com/twilio/leg-status",
        .timeout_s = 20,
    };
    assert_int_equal(twiml_dial(&b, &d), ERR_OK);
    const char *official = text;
    size_t open_len = strstr(b.data, " timeout=\"20\"") + strlen(" timeout=\"20\"") - b.data;
    assert_memory_equal(b.data, official, open_len);
    const char *number = strstr(b.data, "<Number");
    const char *want = "<Number url=\"https://dni.example.com/twilio/screen\" ";
    const char *official_number = strstr(official, want);
    assert_non_null(number);
    assert_non_null(official_number);
    /* same attributes and tail once the official url= attribute (not ours) is skipped */
    assert_string_equal(number + strlen("<Number "),
                        spec_line(official_number + strlen(want), "", false));
    /* and the empty document is the official one, byte for byte */
    buf_reset(&b);
    assert_int_equal(twiml_empty(&b), ERR_OK);
    struct buf line;
    buf_init(&line, 0);
    assert_int_equal(buf_addf(&line, "\n%s\n", b.data), ERR_OK);
    assert_non_null(strstr(text, line.data));
    buf_release(&line);
    buf_release(&b);
    free(text);
}

static void twiml_escapes_hostile_strings(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    struct twiml_dial d = {
        .forward_to = "+1555</Number><Dial>&\"x\"\r",
        .caller_id = "\"><Hangup/><x a=\"&amp;\t\n",
        .action_url = "https://h/?a=1&b=2",
    };
    assert_int_equal(twiml_dial(&b, &d), ERR_OK);
    assert_string_equal(
        b.data,
        XML_HEAD "<Response><Dial callerId=\"&quot;>&lt;Hangup/>&lt;x a=&quot;&amp;amp;&#x9;&#xA;\""
                 " action=\"https://h/?a=1&amp;b=2\" method=\"POST\"><Number>"
                 "+1555&lt;/Number&gt;&lt;Dial&gt;&amp;\"x\"&#xD;</Number></Dial></Response>");
    buf_release(&b);
}

/* Bytes XML cannot carry are dropped; valid UTF-8 is kept. */
static void twiml_drops_invalid_characters(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    struct twiml_dial d = {
        .forward_to = "+1\x01"
                      "5\x1b"
                      "5\xff"
                      "5\xc3"
                      "(\xc0\xaf\xed\xa0\x80"
                      "5",
        .caller_id = "Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e\xef\xbf\xbe",
    };
    assert_int_equal(twiml_dial(&b, &d), ERR_OK);
    assert_string_equal(b.data, XML_HEAD "<Response><Dial callerId=\"José € \xf0\x9f\x93\x9e\">"
                                         "<Number>+1555(5</Number></Dial></Response>");
    buf_release(&b);
}

static void twiml_record_notice(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    struct twiml_dial d = {.forward_to = "+15125550199", .record = true};
    assert_int_equal(twiml_dial(&b, &d), ERR_OK);
    assert_string_equal(b.data,
                        XML_HEAD "<Response><Say>This call may be recorded.</Say>"
                                 "<Dial record=\"record-from-answer-dual\"><Number>+15125550199"
                                 "</Number></Dial></Response>");
    buf_reset(&b);
    d.notice = "Calls are recorded for Smith & Sons <QA>.";
    d.status_url = "https://h/s?x=1&y=2";
    assert_int_equal(twiml_dial(&b, &d), ERR_OK);
    assert_string_equal(b.data,
                        XML_HEAD "<Response><Say>Calls are recorded for Smith &amp; Sons "
                                 "&lt;QA&gt;.</Say><Dial record=\"record-from-answer-dual\">"
                                 "<Number statusCallback=\"https://h/s?x=1&amp;y=2\" "
                                 "statusCallbackEvent=\"initiated ringing answered completed\">"
                                 "+15125550199</Number></Dial></Response>");
    buf_reset(&b); /* where the recording is posted, escaped */
    d.notice = NULL;
    d.status_url = NULL;
    d.recording_url = "https://h/v1/telephony/twilio/recording?a=1&b=2";
    assert_int_equal(twiml_dial(&b, &d), ERR_OK);
    assert_string_equal(b.data,
                        XML_HEAD "<Response><Say>This call may be recorded.</Say>"
                                 "<Dial record=\"record-from-answer-dual\" "
                                 "recordingStatusCallback=\"https://h/v1/telephony/twilio/"
                                 "recording?a=1&amp;b=2\" recordingStatusCallbackMethod="
                                 "\"POST\"><Number>+15125550199</Number></Dial></Response>");
    buf_reset(&b); /* not recorded: no callback */
    d.record = false;
    assert_int_equal(twiml_dial(&b, &d), ERR_OK);
    assert_null(strstr(b.data, "recording"));
    buf_release(&b);
}

static void twiml_reject_and_empty(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(twiml_reject(&b), ERR_OK);
    assert_true(strncmp(b.data, XML_HEAD "<Response><Say>", strlen(XML_HEAD) + 15) == 0);
    assert_non_null(strstr(b.data, "not in service"));
    const char *tail = "</Say><Hangup/></Response>";
    assert_string_equal(b.data + b.len - strlen(tail), tail);
    buf_reset(&b);
    assert_int_equal(twiml_empty(&b), ERR_OK);
    assert_string_equal(b.data, XML_HEAD "<Response/>");
    buf_release(&b);
}

static void twiml_errors_leave_buffer_intact(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 60);
    assert_int_equal(buf_adds(&b, "keep"), ERR_OK);
    struct twiml_dial d = {.forward_to = "+15125550199"};
    assert_int_equal(twiml_dial(&b, &d), ERR_TOOBIG);
    assert_string_equal(b.data, "keep");
    assert_int_equal(twiml_reject(&b), ERR_TOOBIG);
    assert_string_equal(b.data, "keep");
    d.forward_to = "";
    assert_int_equal(twiml_dial(&b, &d), ERR_INVALID);
    d.forward_to = NULL;
    assert_int_equal(twiml_dial(&b, &d), ERR_INVALID);
    assert_int_equal(twiml_dial(&b, NULL), ERR_INVALID);
    assert_string_equal(b.data, "keep");
    buf_release(&b);
}

/* ==== webhook fields ========================================================================= */

static void webhook_fields(void **state)
{
    (void)state;
    struct form f = parse(V2_BODY "&DialCallStatus=no-answer&DialCallDuration=0&Extra=ignored");
    struct tel_webhook w;
    assert_int_equal(twilio_webhook_parse(&f, &w, NULL), ERR_OK);
    assert_string_equal(w.call_sid, "CA00000000000000000000000000000002");
    assert_string_equal(w.account_sid, "AC00000000000000000000000000000001");
    assert_string_equal(w.from, "+14155550123");
    assert_string_equal(w.to, "+15125550100");
    assert_string_equal(w.call_status, "completed");
    assert_string_equal(w.caller_name, "José Ñúñez");
    assert_string_equal(w.dial_call_status, "no-answer");
    assert_int_equal(w.call_duration_s, 42);
    assert_int_equal(w.dial_call_duration_s, 0);
    assert_int_equal(w.sequence_number, 3);
    assert_null(w.direction);
    assert_null(w.recording_url);
    form_release(&f);
    /* SignalWire ids are UUIDs; absent numbers are -1 */
    f = parse("CallSid=b3877c40-da60-4998-90ad-b792e98472af&CallStatus=ringing");
    assert_int_equal(twilio_webhook_parse(&f, &w, NULL), ERR_OK);
    assert_int_equal(w.call_duration_s, -1);
    assert_int_equal(w.sequence_number, -1);
    form_release(&f);
}

static void webhook_rejects_bad_fields(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *field;
    } bad[] = {
        {"From=%2B14155550123", "CallSid"},
        {"CallSid=", "CallSid"},
        {"CallSid=CA1%3B+DROP", "CallSid"},
        {"CallSid=CA1&CallStatus=Completed%0A", "CallStatus"},
        {"CallSid=CA1&CallDuration=12a", "CallDuration"},
        {"CallSid=CA1&CallDuration=-5", "CallDuration"},
        {"CallSid=CA1&CallDuration=99999999999", "CallDuration"},
        {"CallSid=CA1&DialCallDuration=", "DialCallDuration"},
        {"CallSid=CA1&SequenceNumber=1e3", "SequenceNumber"},
        {"CallSid=CA1&DialCallStatus=%3Cx%3E", "DialCallStatus"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct form f = parse(bad[i].body);
        struct tel_webhook w;
        struct errbuf eb = {.field = NULL};
        assert_int_equal(twilio_webhook_parse(&f, &w, &eb), ERR_INVALID);
        assert_non_null(eb.field);
        assert_string_equal(eb.field, bad[i].field);
        form_release(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(form_decodes_pairs),
        cmocka_unit_test(form_decodes_names_and_utf8),
        cmocka_unit_test(form_respects_len),
        cmocka_unit_test(form_rejects_bad_escapes),
        cmocka_unit_test(form_bounds_params),
        cmocka_unit_test(signatures_match_official_vectors),
        cmocka_unit_test(tampered_params_fail),
        cmocka_unit_test(v1_negative_cases),
        cmocka_unit_test(verify_accepts_both_port_forms),
        cmocka_unit_test(port_forms_handle_odd_authorities),
        cmocka_unit_test(verify_any_is_either_flavour),
        cmocka_unit_test(signalwire_keeps_repeated_values),
        cmocka_unit_test(signed_data_matches_spec_file),
        cmocka_unit_test(json_body_vectors),
        cmocka_unit_test(twiml_dial_plain),
        cmocka_unit_test(twiml_dial_sip),
        cmocka_unit_test(twiml_dial_matches_official_output),
        cmocka_unit_test(twiml_escapes_hostile_strings),
        cmocka_unit_test(twiml_drops_invalid_characters),
        cmocka_unit_test(twiml_record_notice),
        cmocka_unit_test(twiml_reject_and_empty),
        cmocka_unit_test(twiml_errors_leave_buffer_intact),
        cmocka_unit_test(webhook_fields),
        cmocka_unit_test(webhook_rejects_bad_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
