/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Fuzz target: a provider webhook body, before and after its signature check. form_parse, the
 * fields twilio_webhook_parse reads, X-Twilio-Signature with a fixed token (both flavours, both
 * port forms, the JSON-body form) and the TwiML answer built from the form's values.
 * Invariants: a signature verifies exactly when it is one of the two expected strings (random
 * input never passes, the real one always does); the webhook fields satisfy twilio.h; the
 * TwiML is one valid UTF-8 <Response> document whatever the caller's values hold. */
#include "base/prelude.h"

#include <ctype.h>
#include <openssl/sha.h>

#include "base/buf.h"
#include "base/err.h"
#include "telephony/form.h"
#include "telephony/twilio.h"
#include "fuzz.h"

#define TOKEN "fuzz-auth-token-0123456789abcdef"
#define URL "https://dni.example.com/v1/telephony/twilio/voice"
#define URL_443 "https://dni.example.com:443/v1/telephony/twilio/voice"

static void check_form(const struct form *f, size_t size)
{
    FUZZ_CHECK(f->n <= FORM_MAX_PARAMS);
    FUZZ_CHECK((f->n == 0) == (f->params == NULL));
    size_t text = 0;
    for (size_t i = 0; i < f->n; i++) {
        FUZZ_CHECK(f->params[i].name && f->params[i].value);
        text += strlen(f->params[i].name) + strlen(f->params[i].value);
        size_t j = 0; /* form_get is the first pair of that name */
        while (strcmp(f->params[j].name, f->params[i].name) != 0)
            j++;
        FUZZ_CHECK(form_get(f, f->params[i].name) == f->params[j].value);
    }
    FUZZ_CHECK(text <= size); /* decoding never lengthens text */
}

static bool token_chars(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
            return false;
    return true;
}

static void check_webhook(const struct form *f)
{
    struct tel_webhook w;
    struct errbuf eb = {{0}, NULL};
    if (twilio_webhook_parse(f, &w, &eb) != ERR_OK) {
        FUZZ_CHECK(eb.msg[0]);
        return;
    }
    FUZZ_CHECK(w.call_sid && token_chars(w.call_sid, 64, "-"));
    FUZZ_CHECK(w.call_sid == form_get(f, "CallSid"));
    FUZZ_CHECK(!w.call_status || token_chars(w.call_status, 32, "-"));
    FUZZ_CHECK(!w.dial_call_status || token_chars(w.dial_call_status, 32, "-"));
    for (const char *s = w.call_status; s && *s; s++)
        FUZZ_CHECK(!isupper((unsigned char)*s) && !isdigit((unsigned char)*s));
    const int64_t nums[] = {w.call_duration_s, w.dial_call_duration_s, w.sequence_number};
    for (size_t i = 0; i < ARRAY_SIZE(nums); i++)
        FUZZ_CHECK(nums[i] == -1 || (nums[i] >= 0 && nums[i] <= 1000000000));
}

/* The signature the request claims: the "sig" parameter, else the first 28 input bytes. */
static void claimed_sig(const struct form *f, const uint8_t *data, size_t size, char *out)
{
    const char *p = form_get(f, "sig");
    if (p) {
        snprintf(out, TWILIO_SIG_LEN + 8, "%s", p);
        return;
    }
    size_t n = size < TWILIO_SIG_LEN ? size : TWILIO_SIG_LEN;
    memcpy(out, data, n);
    out[n] = '\0';
}

static void check_signatures(enum twilio_flavor fl, const struct form *f, const char *claim)
{
    char want[TWILIO_SIG_LEN + 1];
    char want_443[TWILIO_SIG_LEN + 1];
    FUZZ_CHECK(twilio_signature_as(fl, TOKEN, URL, f, want) == ERR_OK);
    FUZZ_CHECK(twilio_signature_as(fl, TOKEN, URL_443, f, want_443) == ERR_OK);
    FUZZ_CHECK(strlen(want) == TWILIO_SIG_LEN);
    FUZZ_CHECK(twilio_verify_as(fl, TOKEN, URL, f, want));
    FUZZ_CHECK(twilio_verify_as(fl, TOKEN, URL, f, want_443));
    FUZZ_CHECK(twilio_verify_as(fl, TOKEN, URL_443, f, want));
    bool expected = strcmp(claim, want) == 0 || strcmp(claim, want_443) == 0;
    FUZZ_CHECK(twilio_verify_as(fl, TOKEN, URL, f, claim) == expected);
    FUZZ_CHECK(!twilio_verify_as(fl, "another-token", URL, f, want));
    want[3] ^= 0x01; /* one bit off */
    FUZZ_CHECK(!twilio_verify_as(fl, TOKEN, URL, f, want));
}

/* The JSON-body form: the url carries the body's SHA-256, the signature covers the url. */
static void check_body_signature(const uint8_t *data, size_t size, const char *claim)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, size, md);
    char url[256];
    int n = snprintf(url, sizeof(url), "%s?bodySHA256=", URL);
    for (size_t i = 0; i < sizeof(md); i++)
        n += snprintf(url + n, sizeof(url) - (size_t)n, "%02x", md[i]);
    char sig[TWILIO_SIG_LEN + 1];
    FUZZ_CHECK(twilio_signature(TOKEN, url, NULL, sig) == ERR_OK);
    FUZZ_CHECK(twilio_verify_body(TOKEN, url, (const char *)data, size, sig));
    FUZZ_CHECK(twilio_verify_body(TOKEN, url, (const char *)data, size, claim) ==
               (strcmp(claim, sig) == 0));
    if (size > 0) /* the same signature over one byte less of body */
        FUZZ_CHECK(!twilio_verify_body(TOKEN, url, (const char *)data, size - 1, sig));
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* True if s[0..n) is UTF-8 made only of XML 1.0 characters (#x9 #xA #xD, #x20-#xD7FF,
 * #xE000-#xFFFD, #x10000-#x10FFFF): what twilio.h promises to leave in a TwiML document. */
static bool xml_chars(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t c = 0;
        size_t len = fuzz_utf8_char(p + i, n - i, &c);
        if (len == 0)
            return false;
        if (c < 0x20 ? !(c == '\t' || c == '\n' || c == '\r') : c == 0xfffe || c == 0xffff)
            return false;
        i += len;
    }
    return true;
}

/* TwiML from hostile values: one document, nothing injected. */
static void check_twiml(const struct form *f)
{
    const char *to = form_get(f, "To");
    struct twiml_dial d = {.forward_to = to,
                           .caller_id = form_get(f, "From"),
                           .action_url = form_get(f, "Action"),
                           .status_url = URL,
                           .record = form_get(f, "Record") != NULL,
                           .notice = form_get(f, "CallerName"),
                           .timeout_s = 20};
    struct buf out;
    buf_init(&out, 1 << 20);
    int rc = twiml_dial(&out, &d);
    if (!to || !*to) {
        FUZZ_CHECK(rc == ERR_INVALID && out.len == 0);
    } else {
        FUZZ_CHECK(rc == ERR_OK);
        FUZZ_CHECK(xml_chars(out.data, out.len));
        FUZZ_CHECK(strlen(out.data) == out.len);
        FUZZ_CHECK(count(out.data, "<Response>") == 1 && count(out.data, "</Response>") == 1);
        FUZZ_CHECK(count(out.data, "<Dial") == 1 && count(out.data, "<Number") == 1);
        FUZZ_CHECK(count(out.data, "<Say") == (d.record ? 1u : 0u));
        const char *end = "</Dial></Response>";
        FUZZ_CHECK(out.len > strlen(end) && strcmp(out.data + out.len - strlen(end), end) == 0);
    }
    buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    struct form f = {(struct form_param *)&f, 12345}; /* must be overwritten */
    int rc = form_parse((const char *)data, size, &f);
    if (rc != ERR_OK) {
        FUZZ_CHECK(rc == ERR_INVALID || rc == ERR_TOOBIG);
        FUZZ_CHECK(f.params == NULL && f.n == 0);
        return 0;
    }
    check_form(&f, size);
    check_webhook(&f);
    char claim[TWILIO_SIG_LEN + 8];
    claimed_sig(&f, data, size, claim);
    check_signatures(TWILIO_FLAVOR_TWILIO, &f, claim);
    check_signatures(TWILIO_FLAVOR_SIGNALWIRE, &f, claim);
    check_body_signature(data, size, claim);
    check_twiml(&f);
    struct buf signed_data;
    buf_init(&signed_data, 1 << 20);
    FUZZ_CHECK(twilio_signed_data(&signed_data, TWILIO_FLAVOR_TWILIO, URL, &f) == ERR_OK);
    FUZZ_CHECK(strncmp(signed_data.data, URL, strlen(URL)) == 0);
    buf_release(&signed_data);
    form_release(&f);
    form_release(&f);
    return 0;
}
