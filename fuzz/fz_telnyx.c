/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Fuzz target: the Telnyx webhook signature pieces (telephony/telnyx.h): the account's base64
 * public key, the telnyx-signature-ed25519 header checked against "<telnyx-timestamp>|<body>",
 * and the telnyx-timestamp freshness check. Input: key line '\n' timestamp line '\n' signature
 * line '\n' body (missing parts are empty).
 * Invariants: telnyx_public_key accepts exactly 43 base64 characters and '=' (a reference
 * decides, canonical: the unused bits of the last character zero), and the key re-encodes to
 * its text; with the fixed key of the committed vectors (seed 01..20), a signature header
 * verifies exactly when it is the base64 of that key's signature of timestamp|body (made here
 * with libcrypto), which always verifies and (checked on bodies of a length divisible by 4)
 * stops verifying when one byte of the body or the timestamp changes; telnyx_fresh agrees with a
 * reference reading of telnyx.h for clocks and tolerances at and around the edges. */
#include "base/prelude.h"

#include <openssl/evp.h>

#include "base/err.h"
#include "telephony/telnyx.h"
#include "fuzz.h"

#define B64 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

static EVP_PKEY *priv;                    /* the vectors' key, seed 01..20 */
static unsigned char pub[TELNYX_KEY_LEN]; /* its public half */

static void init_key(void)
{
    unsigned char seed[32];
    for (size_t i = 0; i < sizeof(seed); i++)
        seed[i] = (unsigned char)(i + 1);
    priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
    size_t n = sizeof(pub);
    FUZZ_CHECK(priv && EVP_PKEY_get_raw_public_key(priv, pub, &n) == 1 && n == sizeof(pub));
    unsigned char want[TELNYX_KEY_LEN];
    FUZZ_CHECK(telnyx_public_key("ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=", want) == ERR_OK);
    FUZZ_CHECK(memcmp(want, pub, sizeof(pub)) == 0);
}

/* The next '\n'-terminated part of *p (the rest if none), NUL-terminated in place. */
static char *part(char **p)
{
    char *s = *p, *nl = strchr(s, '\n');
    *p = nl ? nl + 1 : s + strlen(s);
    if (nl)
        *nl = '\0';
    return s;
}

/* Padded standard base64 of exactly `bytes` bytes, canonical, as the reference sees it: the
 * last character before the padding is one of those whose unused low bits are zero. */
static bool ref_b64(const char *s, size_t bytes)
{
    size_t chars = (bytes + 2) / 3 * 4, pad = chars / 4 * 3 - bytes;
    if (strlen(s) != chars || strspn(s, B64) != chars - pad || strspn(s + chars - pad, "=") != pad)
        return false;
    const char *last = pad == 1 ? "AEIMQUYcgkosw048" : pad == 2 ? "AQgw" : B64;
    return strchr(last, s[chars - pad - 1]) != NULL;
}

static void check_key(const char *text)
{
    unsigned char k[TELNYX_KEY_LEN];
    int rc = telnyx_public_key(text, k);
    FUZZ_CHECK(rc == ERR_OK || rc == ERR_INVALID);
    FUZZ_CHECK((rc == ERR_OK) == ref_b64(text, TELNYX_KEY_LEN));
    if (rc != ERR_OK)
        return;
    char enc[64];
    FUZZ_CHECK(EVP_EncodeBlock((unsigned char *)enc, k, TELNYX_KEY_LEN) == 44);
    FUZZ_CHECK(strcmp(enc, text) == 0); /* one text per key */
}

/* The fixed key's signature of ts|body, base64, into out[89]. */
static void sign(const char *ts, const char *body, size_t len, char out[89])
{
    size_t ts_len = strlen(ts);
    unsigned char *msg = xmalloc(ts_len + 1 + len + 1);
    memcpy(msg, ts, ts_len);
    msg[ts_len] = '|';
    memcpy(msg + ts_len + 1, body, len);
    unsigned char sig[TELNYX_SIG_LEN];
    size_t n = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    FUZZ_CHECK(ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, priv) == 1);
    FUZZ_CHECK(EVP_DigestSign(ctx, sig, &n, msg, ts_len + 1 + len) == 1 && n == sizeof(sig));
    EVP_MD_CTX_free(ctx);
    free(msg);
    FUZZ_CHECK(EVP_EncodeBlock((unsigned char *)out, sig, TELNYX_SIG_LEN) == 88);
}

static void check_signature(const char *ts, const char *sig, char *body, size_t len)
{
    char real[89];
    sign(ts, body, len, real);
    FUZZ_CHECK(telnyx_verify(pub, ts, body, len, real));
    /* Ed25519 (RFC 8032, as libcrypto checks it) has one valid signature per key and message,
     * and canonical base64 of 64 bytes one text: the header verifies exactly when it is that
     * text. */
    FUZZ_CHECK(telnyx_verify(pub, ts, body, len, sig) == (strcmp(sig, real) == 0));
    FUZZ_CHECK(!telnyx_verify(NULL, ts, body, len, real));
    FUZZ_CHECK(!telnyx_verify(pub, NULL, body, len, real));
    FUZZ_CHECK(!telnyx_verify(pub, ts, NULL, 1, real));
    FUZZ_CHECK(!telnyx_verify(pub, ts, body, len, NULL));
    /* Tampering costs three more Ed25519 checks (libcrypto's run ~100x slower than the rest of
     * an input under ASan): on the bodies whose length is a multiple of 4, so the fuzzer's
     * inputs reach it and the others run four times as many inputs. */
    if (len % 4 != 0)
        return;
    if (len > 0) {
        body[len - 1] ^= 0x20;
        FUZZ_CHECK(!telnyx_verify(pub, ts, body, len, real));
        body[len - 1] ^= 0x20;
        FUZZ_CHECK(!telnyx_verify(pub, ts, body, len - 1, real));
    }
    size_t ts2_cap = strlen(ts) + 2;
    char *ts2 = xmalloc(ts2_cap);
    snprintf(ts2, ts2_cap, "%s0", ts);
    FUZZ_CHECK(!telnyx_verify(pub, ts2, body, len, real));
    free(ts2);
}

/* telnyx.h: 1..15 digits, |now - ts| <= tolerance; false for a negative tolerance and for a
 * clock beyond +-INT64_MAX / 2 (no clock is that far off). */
static bool ref_fresh(const char *ts, int64_t now, int64_t tol)
{
    size_t n = strlen(ts);
    if (n < 1 || n > 15 || strspn(ts, "0123456789") != n || tol < 0)
        return false;
    if (now < INT64_MIN / 2 || now > INT64_MAX / 2)
        return false;
    int64_t v = strtoll(ts, NULL, 10);
    return (now >= v ? now - v : v - now) <= tol;
}

static void check_fresh(const char *ts)
{
    int64_t v = 0;
    for (const char *p = ts; *p >= '0' && *p <= '9' && p - ts < 15; p++)
        v = v * 10 + (*p - '0');
    const int64_t nows[] = {1736874311, v,  v + 300,       v - 300,   v + 301,       v - 301,
                            0,          -1, INT64_MAX / 2, INT64_MAX, INT64_MIN / 2, INT64_MIN};
    const int64_t tols[] = {TELNYX_TOLERANCE_S, 0, -1, INT64_MAX};
    for (size_t i = 0; i < ARRAY_SIZE(nows); i++)
        for (size_t j = 0; j < ARRAY_SIZE(tols); j++)
            FUZZ_CHECK(telnyx_fresh(ts, nows[i], tols[j]) == ref_fresh(ts, nows[i], tols[j]));
    FUZZ_CHECK(!telnyx_fresh(NULL, v, TELNYX_TOLERANCE_S));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!priv)
        init_key();
    if (size > 16384)
        return 0;
    char *s = xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    char *p = s;
    char *key = part(&p), *ts = part(&p), *sig = part(&p);
    size_t len = size - (size_t)(p - s); /* the body keeps any NUL it has */
    char *body = xmalloc(len ? len : 1); /* exactly its size, for ASan */
    memcpy(body, p, len);
    check_key(key);
    check_fresh(ts);
    check_signature(ts, sig, body, len);
    free(body);
    free(s);
    return 0;
}
