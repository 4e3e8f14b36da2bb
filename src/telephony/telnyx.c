/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Telnyx webhooks: Ed25519 signature over "<telnyx-timestamp>|<raw body>" (INTERFACES.md
 * §3.4) with libcrypto's EVP_PKEY_ED25519, the separate freshness check, base64 keys, and the
 * TeXML callback fields (§3.2). Sits under http/handlers; uses only libcrypto. */
#include "base/prelude.h"
#include "telephony/telnyx.h"

#include <openssl/evp.h>

#include "base/xalloc.h"

#define B64_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define MAX_DIGITS 15 /* telnyx_fresh: keeps now_s - ts far from int64 overflow */

/* ==== base64 ================================================================================= */

/* Decodes padded standard base64 of exactly want bytes. EVP_DecodeBlock itself skips
 * surrounding whitespace, takes '=' anywhere in the last quantum and counts padding as zero
 * bytes, so the text is checked here first and the padding subtracted from its result. */
static bool b64_decode_exact(const char *in, unsigned char *out, size_t want)
{
    size_t chars = (want + 2) / 3 * 4;
    size_t pad = chars / 4 * 3 - want;
    if (!in || strlen(in) != chars)
        return false;
    if (strspn(in, B64_ALPHABET) != chars - pad || strspn(in + chars - pad, "=") != pad)
        return false;
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

int telnyx_webhook_parse(const struct form *f, struct twilio_webhook *out, struct errbuf *eb)
{
    return twilio_webhook_parse_as(f, 127, ":_-", out, eb);
}
