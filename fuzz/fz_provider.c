/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Fuzz target: every provider of the table (telephony/provider.h) on one webhook request:
 * tel_provider_for_route, check (signature headers, Telnyx's freshness), parse, verify with
 * each kind of secret, status and answer. Input: the request URL, '\n', header lines
 * "Name: value" (the header callback finds them case-insensitively, first one wins), an empty
 * line, the body. The clock is the committed Telnyx vectors' (1736874311); the secrets are none,
 * empty, a fixed token, the Twilio vectors' token and the Telnyx vectors' public key.
 * Invariants: check passes exactly when the provider's headers are there (and, for Telnyx, the
 * timestamp is fresh by telnyx_fresh), else ERR_FORBIDDEN with a message; parse gives ERR_OK
 * with the fields provider.h and twilio.h promise (a CallSid of the provider's characters and
 * length, statuses of [a-z-], counts in 0..10^9, all borrowed from the form) or ERR_INVALID /
 * ERR_TOOBIG with a message; verify is false for a NULL or empty secret and agrees with the
 * signature primitives (twilio_verify_as, telnyx_verify) on the request's headers, and the
 * Twilio-style providers accept the signature computed for the request; status maps onto the
 * merge's words or returns its argument; answer keeps out as it was on error. */
#include "base/prelude.h"

#include <ctype.h>
#include <strings.h>

#include "base/buf.h"
#include "base/err.h"
#include "telephony/form.h"
#include "telephony/provider.h"
#include "telephony/telnyx.h"
#include "telephony/twilio.h"
#include "fuzz.h"

#define NOW_S 1736874311
#define TOKEN "fuzz-auth-token-0123456789abcdef"
#define PUBKEY "ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="
#define VECTOR_TOKEN "dni-test-auth-token-0123456789ab" /* interfaces/vectors.js */
#define MAX_HEADERS 32

struct headers {
    size_t n;
    const char *name[MAX_HEADERS + 1];
    const char *value[MAX_HEADERS + 1];
};

static const char *header(void *ctx, const char *name)
{
    const struct headers *h = ctx;
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

/* Splits the header lines of s (up to an empty line or the end) into h; returns the body. */
static char *read_headers(char *s, struct headers *h)
{
    while (*s && *s != '\n') {
        char *nl = strchr(s, '\n');
        char *next = nl ? nl + 1 : s + strlen(s);
        if (nl)
            *nl = '\0';
        char *colon = strchr(s, ':');
        if (colon && h->n < MAX_HEADERS) {
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ')
                v++;
            h->name[h->n] = s;
            h->value[h->n++] = v;
        }
        s = next;
    }
    return *s == '\n' ? s + 1 : s;
}

static bool has(const struct tel_request *rq, const char *name, bool nonempty)
{
    const char *v = header(rq->ctx, name);
    return v && (!nonempty || *v);
}

static void check_check(const struct tel_provider *p, const struct tel_request *rq)
{
    struct errbuf eb = {{0}, NULL};
    int rc = p->check(rq, &eb);
    bool want;
    if (strcmp(p->name, "telnyx") == 0)
        want = has(rq, "telnyx-signature-ed25519", false) &&
               telnyx_fresh(header(rq->ctx, "telnyx-timestamp"), NOW_S, TELNYX_TOLERANCE_S);
    else if (strcmp(p->name, "signalwire") == 0)
        want = has(rq, "X-SignalWire-Signature", true) || has(rq, "X-Twilio-Signature", true);
    else
        want = has(rq, "X-Twilio-Signature", true);
    FUZZ_CHECK(rc == (want ? ERR_OK : ERR_FORBIDDEN));
    FUZZ_CHECK(want || eb.msg[0]);
}

static bool sid_ok(const struct tel_provider *p, const char *s)
{
    bool telnyx = strcmp(p->name, "telnyx") == 0;
    size_t n = strlen(s);
    if (n < 1 || n > (telnyx ? 127u : 64u))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(telnyx ? ":_-" : "-", s[i]))
            return false;
    return true;
}

static void check_fields(const struct tel_provider *p, const struct tel_hook *h)
{
    const struct tel_webhook *w = &h->wh;
    FUZZ_CHECK(w->call_sid && w->call_sid == form_get(&h->form, "CallSid") &&
               sid_ok(p, w->call_sid));
    FUZZ_CHECK(w->to == form_get(&h->form, "To") && w->from == form_get(&h->form, "From"));
    const char *st[] = {w->call_status, w->dial_call_status};
    for (size_t i = 0; i < ARRAY_SIZE(st); i++) {
        if (!st[i])
            continue;
        size_t n = strlen(st[i]);
        FUZZ_CHECK(n >= 1 && n <= 32 && strspn(st[i], "abcdefghijklmnopqrstuvwxyz-") == n);
        const char *m = p->status(st[i]);
        FUZZ_CHECK(m == st[i] || strcmp(m, "ringing") == 0);
    }
    const int64_t nums[] = {w->call_duration_s, w->dial_call_duration_s, w->sequence_number};
    for (size_t i = 0; i < ARRAY_SIZE(nums); i++)
        FUZZ_CHECK(nums[i] == -1 || (nums[i] >= 0 && nums[i] <= 1000000000));
}

/* What verify must say for secret, from the primitives. */
static bool expected(const struct tel_provider *p, const struct tel_request *rq,
                     const struct tel_hook *h, const char *secret)
{
    if (!secret || !*secret)
        return false;
    if (strcmp(p->name, "telnyx") == 0) {
        unsigned char key[TELNYX_KEY_LEN];
        return telnyx_public_key(secret, key) == ERR_OK &&
               telnyx_verify(key, header(rq->ctx, "telnyx-timestamp"), rq->body, rq->len,
                             header(rq->ctx, "telnyx-signature-ed25519"));
    }
    static const char *const names[] = {"X-Twilio-Signature", "X-SignalWire-Signature"};
    bool ok = false;
    for (size_t i = 0; i < (strcmp(p->name, "signalwire") == 0 ? 2u : 1u); i++) {
        const char *sig = header(rq->ctx, names[i]);
        for (int fl = TWILIO_FLAVOR_TWILIO; sig && rq->url && fl <= TWILIO_FLAVOR_SIGNALWIRE; fl++)
            ok |= twilio_verify_as((enum twilio_flavor)fl, secret, rq->url, &h->form, sig);
    }
    return ok;
}

/* A Twilio-style provider accepts the signature computed for the request. */
static void check_signed(const struct tel_provider *p, const struct tel_request *rq,
                         const struct tel_hook *h)
{
    if (strcmp(p->name, "telnyx") == 0 || !rq->url)
        return;
    char sig[TWILIO_SIG_LEN + 1];
    FUZZ_CHECK(twilio_signature_as(TWILIO_FLAVOR_TWILIO, TOKEN, rq->url, &h->form, sig) == ERR_OK);
    struct headers one = {1, {"x-twilio-signature"}, {sig}};
    struct tel_request signed_rq = *rq;
    signed_rq.ctx = &one;
    FUZZ_CHECK(p->verify(&signed_rq, h, TOKEN));
    FUZZ_CHECK(!p->verify(&signed_rq, h, "another-token"));
}

static void check_answer(const struct tel_provider *p, const struct tel_webhook *w)
{
    const enum tel_answer_kind kinds[] = {TEL_ANSWER_DIAL, TEL_ANSWER_REJECT, TEL_ANSWER_EMPTY};
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        struct buf out;
        buf_init(&out, 1 << 20);
        FUZZ_CHECK(buf_add(&out, "x", 1) == ERR_OK);
        struct tel_answer a = {.kind = kinds[i],
                               .base_url = "https://dni.example.com",
                               .forward_to = w->to,
                               .caller_id = w->from,
                               .record = w->recording_url != NULL,
                               .notice = w->caller_name};
        int rc = p->answer(&out, &a);
        FUZZ_CHECK(rc == ERR_OK || rc == ERR_INVALID || rc == ERR_TOOBIG);
        FUZZ_CHECK(rc == ERR_OK ? out.len > 1 : out.len == 1);
        FUZZ_CHECK(rc != ERR_INVALID || (kinds[i] == TEL_ANSWER_DIAL && (!w->to || !*w->to)));
        buf_release(&out);
    }
}

static void check_provider(const struct tel_provider *p, const struct tel_request *rq)
{
    FUZZ_CHECK(tel_provider_by_name(p->name) == p && strlen(p->name) <= TEL_NAME_MAX);
    check_check(p, rq);
    struct tel_hook h;
    memset(&h, 0x5a, sizeof(h));
    struct errbuf eb = {{0}, NULL};
    int rc = p->parse(rq, &h, &eb);
    FUZZ_CHECK(rc == ERR_OK || rc == ERR_INVALID || rc == ERR_TOOBIG);
    if (rc == ERR_OK) {
        check_fields(p, &h);
        const char *secrets[] = {NULL, "", TOKEN, VECTOR_TOKEN, PUBKEY};
        for (size_t i = 0; i < ARRAY_SIZE(secrets); i++)
            FUZZ_CHECK(p->verify(rq, &h, secrets[i]) == expected(p, rq, &h, secrets[i]));
        check_signed(p, rq, &h);
        check_answer(p, &h.wh);
    } else {
        FUZZ_CHECK(eb.msg[0]);
    }
    tel_hook_release(&h);
    tel_hook_release(&h);
    FUZZ_CHECK(p->status(NULL) == NULL);
}

static void check_routes(const struct tel_request *rq)
{
    bool sw = has(rq, "X-SignalWire-Signature", true);
    FUZZ_CHECK(tel_provider_for_route("twilio", rq) ==
               tel_provider_by_name(sw ? "signalwire" : "twilio"));
    FUZZ_CHECK(tel_provider_for_route("signalwire", rq) == tel_provider_by_name("signalwire"));
    FUZZ_CHECK(tel_provider_for_route("telnyx", rq) == tel_provider_by_name("telnyx"));
    FUZZ_CHECK(tel_provider_for_route("nobody", rq) == NULL);
    FUZZ_CHECK(tel_provider_for_route(NULL, rq) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *s = xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    char *nl = strchr(s, '\n');
    if (nl)
        *nl = '\0';
    struct headers hs = {0};
    char *body_at = nl ? read_headers(nl + 1, &hs) : s + size;
    size_t len = size - (size_t)(body_at - s);
    char *body = len ? xmalloc(len) : NULL; /* exactly its size, for ASan */
    if (len)
        memcpy(body, body_at, len);
    struct tel_request rq = {.url = s[0] ? s : NULL,
                             .body = body,
                             .len = len,
                             .header = header,
                             .ctx = &hs,
                             .now_s = NOW_S};
    check_routes(&rq);
    for (size_t i = 0; tel_providers[i]; i++)
        check_provider(tel_providers[i], &rq);
    free(body);
    free(s);
    return 0;
}
