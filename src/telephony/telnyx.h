/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Telnyx protocol pieces: the Ed25519 webhook signature of INTERFACES.md §3.4 (kept apart from
 * the freshness check, so fixed test vectors stay usable), the account's public key, and the
 * TeXML callback fields we read (§3.2). TeXML answers are TwiML: see twilio.h twiml_dial.
 * The Telnyx provider's table (provider.h) is built from them in telnyx.c. No I/O and no state.
 * Ownership: arguments are borrowed for the call; output goes to caller-owned storage. THREADING:
 * reentrant (OpenSSL 3 one-shot calls, no shared state). */
#ifndef OPENDNI_TELEPHONY_TELNYX_H
#define OPENDNI_TELEPHONY_TELNYX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "telephony/form.h"
#include "telephony/provider.h"

/* Bytes of an Ed25519 public key and of a signature. */
#define TELNYX_KEY_LEN 32
#define TELNYX_SIG_LEN 64
/* How far telnyx-timestamp may be from now, either way (the official Node SDK's window). */
#define TELNYX_TOLERANCE_S 300

/* Decodes the account's public key as the Mission Control Portal shows it: standard base64
 * with padding (44 characters) of exactly TELNYX_KEY_LEN bytes, canonical (the unused low bits
 * of the last character zero). Returns ERR_OK, or ERR_INVALID (NULL, wrong length, a character
 * outside the alphabet, misplaced padding, unused bits set).
 * out: the key bytes (unspecified on error). */
int telnyx_public_key(const char *b64, unsigned char out[TELNYX_KEY_LEN]);

/* true if sig_b64 (the telnyx-signature-ed25519 header: padded canonical base64 of exactly 64
 * bytes, as telnyx_public_key reads keys) is
 * pubkey's Ed25519 signature of the bytes "<timestamp>|<body[0..len)>", timestamp being the
 * telnyx-timestamp header exactly as received. Does not look at the clock: pair it with
 * telnyx_fresh. false for a NULL pubkey/timestamp/sig_b64, a body NULL with len > 0, a
 * signature that does not decode to 64 bytes, or any failure inside libcrypto. */
bool telnyx_verify(const unsigned char pubkey[TELNYX_KEY_LEN], const char *timestamp,
                   const char *body, size_t len, const char *sig_b64);

/* true if timestamp is 1..15 decimal digits (Unix seconds, nothing else) within tolerance_s
 * of now_s in either direction (|now_s - ts| <= tolerance_s). false for NULL, anything else,
 * a negative tolerance, or now_s beyond +-INT64_MAX / 2 (no clock: keeps the arithmetic
 * defined). */
bool telnyx_fresh(const char *timestamp, int64_t now_s, int64_t tolerance_s);

/* Reads a TeXML callback (voice webhook, status callback or <Dial action>) into the same
 * fields as a Twilio one. Checks what the handlers rely on: CallSid present, 1..127
 * characters of [A-Za-z0-9:_-] (Telnyx sends "v3:…" ids); CallStatus and DialCallStatus, when
 * present, 1..32 characters of [a-z-]; CallDuration, DialCallDuration and SequenceNumber,
 * when present, whole decimal integers in 0..10^9. Unknown parameters are ignored.
 * Strings are borrowed from f (valid until form_release), NULL when absent; numbers -1.
 * Returns ERR_OK or ERR_INVALID with eb (optional) naming the field. out: *out. */
int telnyx_webhook_parse(const struct form *f, struct tel_webhook *out, struct errbuf *eb);

#endif
