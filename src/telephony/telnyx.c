/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Telnyx webhooks: Ed25519 signature over "<telnyx-timestamp>|<raw body>" (INTERFACES.md
 * §3.4) with libcrypto's EVP_PKEY_ED25519, the separate freshness check, base64 keys, and the
 * TeXML callback fields (§3.2), and the Telnyx provider's table (provider.h). Sits under
 * http/handlers; uses only libcrypto. */
#include "base/prelude.h"
#include "telephony/telnyx.h"

#include <openssl/evp.h>

#include "base/xalloc.h"
#include "telephony/numbers.h"
#include "telephony/provider_int.h"
#include "telephony/twilio.h"

#define B64_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define MAX_DIGITS 15 /* telnyx_fresh: keeps now_s - ts far from int64 overflow */

/* ==== base64 ================================================================================= */

/* Decodes padded standard base64 of exactly want bytes, in its one canonical text. EVP_DecodeBlock
 * itself skips surrounding whitespace, takes '=' anywhere in the last quantum, counts padding
 * as zero bytes and ignores the bits of the last character that fall past the data, so the
 * text is checked here first (those bits must be zero: otherwise four texts would give the same
 * signature, RFC 4648 §3.5) and the padding subtracted from its result. */
static bool b64_decode_exact(const char *in, unsigned char *out, size_t want)
{
    size_t chars = (want + 2) / 3 * 4;
    size_t pad = chars / 4 * 3 - want;
    if (!in || strlen(in) != chars)
        return false;
    if (strspn(in, B64_ALPHABET) != chars - pad || strspn(in + chars - pad, "=") != pad)
        return false;
    size_t last = (size_t)(strchr(B64_ALPHABET, in[chars - pad - 1]) - B64_ALPHABET);
    if (last & ((1u << (2 * pad)) - 1))
        return false; /* pad '=' leave 2 * pad bits of the last character unused */
    unsigned char *tmp = xmalloc(chars / 4 * 3 + 1);
    int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)chars);
    bool ok = n >= 0 && (size_t)n == want + pad;
    if (ok)
        memcpy(out, tmp, want);
    free(tmp);
    return ok;
}

int telnyx_public_key(const char *b64, unsigned char out[TELNYX_KEY_LEN])
{
    return b64_decode_exact(b64, out, TELNYX_KEY_LEN) ? ERR_OK : ERR_INVALID;
}

/* ==== signature ============================================================================== */

static bool ed25519_verify(const unsigned char *pubkey, const unsigned char *sig,
                           const unsigned char *msg, size_t len)
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pubkey, TELNYX_KEY_LEN);
    EVP_MD_CTX *ctx = pk ? EVP_MD_CTX_new() : NULL;
    bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
              EVP_DigestVerify(ctx, sig, TELNYX_SIG_LEN, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok;
}

bool telnyx_verify(const unsigned char pubkey[TELNYX_KEY_LEN], const char *timestamp,
                   const char *body, size_t len, const char *sig_b64)
{
    unsigned char sig[TELNYX_SIG_LEN];
    if (!pubkey || !timestamp || (!body && len) || !b64_decode_exact(sig_b64, sig, sizeof(sig)))
        return false;
    size_t ts_len = strlen(timestamp);
    if (len > SIZE_MAX - ts_len - 2)
        return false;
    unsigned char *msg = xmalloc(ts_len + 1 + len + 1);
    memcpy(msg, timestamp, ts_len);
    msg[ts_len] = '|';
    if (len)
        memcpy(msg + ts_len + 1, body, len);
    bool ok = ed25519_verify(pubkey, sig, msg, ts_len + 1 + len);
    free(msg);
    return ok;
}

bool telnyx_fresh(const char *timestamp, int64_t now_s, int64_t tolerance_s)
{
    if (!timestamp || tolerance_s < 0)
        return false;
    size_t n = strlen(timestamp);
    if (n < 1 || n > MAX_DIGITS || strspn(timestamp, "0123456789") != n)
        return false;
    int64_t ts = 0;
    for (size_t i = 0; i < n; i++)
        ts = ts * 10 + (timestamp[i] - '0');
    if (now_s < INT64_MIN / 2 || now_s > INT64_MAX / 2)
        return false; /* no clock is that far off; keeps the subtraction defined */
    int64_t gap = now_s - ts;
    return gap <= tolerance_s && gap >= -tolerance_s;
}

/* ==== TeXML callback fields ================================================================== */

int telnyx_webhook_parse(const struct form *f, struct tel_webhook *out, struct errbuf *eb)
{
    return twilio_webhook_parse_as(f, 127, ":_-", out, eb);
}

/* ==== the Telnyx provider ===================================================================== */

#define TS_HEADER "telnyx-timestamp"
#define SIG_HEADER "telnyx-signature-ed25519"

static const char *header_of(const struct tel_request *rq, const char *name)
{
    return rq->header ? rq->header(rq->ctx, name) : NULL;
}

static int texml_check(const struct tel_request *rq, struct errbuf *eb)
{
    const char *ts = header_of(rq, TS_HEADER);
    if (!header_of(rq, SIG_HEADER) || !ts)
        return errf(eb, ERR_FORBIDDEN, NULL, "missing " SIG_HEADER " or " TS_HEADER);
    if (!telnyx_fresh(ts, rq->now_s, TELNYX_TOLERANCE_S))
        return errf(eb, ERR_FORBIDDEN, NULL, TS_HEADER " is not within %d s of now",
                    TELNYX_TOLERANCE_S);
    return ERR_OK;
}

static int texml_parse(const struct tel_request *rq, struct tel_hook *out, struct errbuf *eb)
{
    return tel__form_parse(rq, 127, ":_-", out, eb);
}

/* The signature covers the timestamp and the raw body, not the URL nor the parsed form. */
static bool texml_verify(const struct tel_request *rq, const struct tel_hook *h, const char *secret)
{
    (void)h;
    unsigned char key[TELNYX_KEY_LEN];
    if (!secret || telnyx_public_key(secret, key) != ERR_OK)
        return false;
    return telnyx_verify(key, header_of(rq, TS_HEADER), rq->body, rq->len,
                         header_of(rq, SIG_HEADER));
}

/* TeXML has no dial route: the <Dial action> posts to the status route too. */
static int texml_answer(struct buf *out, const struct tel_answer *a)
{
    const char *paths[TEL_HOOK_N];
    memcpy(paths, tel__telnyx.paths, sizeof(paths));
    paths[TEL_HOOK_DIAL] = paths[TEL_HOOK_STATUS];
    return tel__twiml_answer(out, a, paths);
}

const struct tel_provider tel__telnyx = {
    .name = "telnyx",
    .paths = {"/v1/telephony/telnyx/voice", "/v1/telephony/telnyx/status", NULL,
              "/v1/telephony/telnyx/route", "/v1/telephony/telnyx/recording"},
    .signer_by_account_sid = true,   /* account set --telnyx-account-sid */
    .signer_fallback_unkeyed = true, /* keys stored without their account id: see provider.h */
    .content_type = "text/xml",
    .check = texml_check,
    .parse = texml_parse,
    .verify = texml_verify,
    .answer = texml_answer,
    .status = tel__twilio_status,
    .numbers = &tel_numbers_telnyx,
};
