/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Twilio-compatible protocol pieces (Twilio, SignalWire, Telnyx TeXML): the X-Twilio-Signature
 * check of INTERFACES.md §2, TwiML replies (§1.2) and the webhook fields we read (§1.1, §1.3,
 * §1.4). The Twilio provider's table (provider.h) is built from them in twilio.c.
 * No I/O and no state: the HTTP handlers own the request, these functions only compute.
 * Ownership: arguments are borrowed for the call; output goes to caller-owned storage.
 * THREADING: reentrant; OpenSSL 3 needs no locking setup for the one-shot calls used here. */
#ifndef OPENDNI_TELEPHONY_TWILIO_H
#define OPENDNI_TELEPHONY_TWILIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "telephony/form.h"
#include "telephony/provider.h"

/* Length of a signature: base64 of a 20-byte HMAC-SHA1, with padding. */
#define TWILIO_SIG_LEN 28
/* Most bytes of URL + parameters we sign (webhook bodies are a few KB). */
#define TWILIO_MAX_SIGNED_LEN (1024 * 1024)
/* The spoken notice before a recorded call when twiml_dial.notice is NULL. */
#define TWILIO_DEFAULT_NOTICE "This call may be recorded."

/* Who signed: the two differ only for repeated parameter names (INTERFACES.md §2.2 V3). */
enum twilio_flavor {
    TWILIO_FLAVOR_TWILIO = 0, /* twilio-node/python: values de-duplicated and sorted */
    TWILIO_FLAVOR_SIGNALWIRE, /* @signalwire/compatibility-api: values as received */
};

/* ---- signatures ------------------------------------------------------------------------- */

/* base64(HMAC-SHA1(token, url + sorted params)) exactly as INTERFACES.md §2.1 (byte-wise sort
 * of names, repeated names: values de-duplicated and sorted, like twilio-node/python).
 * url is used byte for byte as given; params may be NULL (no parameters, as for GET and JSON).
 * Returns ERR_OK; ERR_INVALID for a NULL token or url; ERR_TOOBIG past TWILIO_MAX_SIGNED_LEN;
 * ERR_UNSUPPORTED if libcrypto refuses HMAC-SHA1. out: NUL-terminated signature. */
int twilio_signature(const char *token, const char *url, const struct form *params,
                     char out[TWILIO_SIG_LEN + 1]);

/* twilio_signature for either flavour. Same return codes. */
int twilio_signature_as(enum twilio_flavor flavor, const char *token, const char *url,
                        const struct form *params, char out[TWILIO_SIG_LEN + 1]);

/* Appends the string that is signed (url, then name+value pairs in signing order) to out, for
 * tests and for "why does this signature not match" diagnostics. Never log it unmasked: it
 * holds caller numbers. Returns ERR_OK, ERR_INVALID (NULL url) or ERR_TOOBIG (out's max). */
int twilio_signed_data(struct buf *out, enum twilio_flavor flavor, const char *url,
                       const struct form *params);

/* Constant-time check (CRYPTO_memcmp) against both port forms (§2.1 item 5): the url with any
 * :port removed, and the url with the scheme's default port (:443/:80) added when it has none
 * (as is when it has one). false for any NULL argument except params, a signature that is not
 * TWILIO_SIG_LEN characters, or any failure to compute. */
bool twilio_verify(const char *token, const char *url, const struct form *params, const char *sig);

/* twilio_verify for either flavour (SignalWire signs with the project's Signing Key). */
bool twilio_verify_as(enum twilio_flavor flavor, const char *token, const char *url,
                      const struct form *params, const char *sig);

/* twilio_verify_as(TWILIO) || twilio_verify_as(SIGNALWIRE), computed once per distinct string to
 * sign: the flavours differ only for repeated parameter names, and the port forms only when the
 * url has a port or a scheme with a default one. The key is set up once for all of them, and
 * every candidate is computed and compared (no early exit). */
bool twilio_verify_any(const char *token, const char *url, const struct form *params,
                       const char *sig);

/* JSON-body form: url carries bodySHA256; checks the signature over the url and the hash.
 * true only if the url's query has bodySHA256 equal to the lowercase hex SHA-256 of
 * body[0..len) and sig signs the url (no parameters, both port forms). body may be NULL when
 * len is 0. */
bool twilio_verify_body(const char *token, const char *url, const char *body, size_t len,
                        const char *sig);

/* ---- TwiML ------------------------------------------------------------------------------ */

struct twiml_dial {
    const char *forward_to; /* E.164, or a sip: URI (dialled with <Sip>) */
    const char *caller_id;  /* pass the caller through (NULL = omit the attribute) */
    const char *action_url; /* <Dial action=…> records DialCallStatus/DialCallDuration */
    const char *status_url; /* <Number statusCallback=…> (events initiated ringing
                             * answered completed) */
    bool record;            /* record="record-from-answer-dual" and speak a notice first */
    const char *notice;     /* the spoken notice (default "This call may be recorded.") */
    int timeout_s;          /* 0 = provider default */
    const char *number_url; /* <Number url=…>: TwiML run on the answering party (a whisper) */
    /* with record: <Dial recordingStatusCallback=… recordingStatusCallbackMethod="POST">, where
     * the provider posts the finished recording (NULL = omit) */
    const char *recording_url;
};

/* A routing plan's documents (core/route.h instructions), same contract as twiml_dial:
 * twiml_gather: <Gather numDigits timeout action method=POST input=dtmf><Say>say</Say>
 *   </Gather><Redirect method=POST>action</Redirect> (no input posts to action without Digits);
 * twiml_record: <Say>say</Say><Record maxLength action method=POST recordingStatusCallback/>;
 * twiml_say: <Say>say</Say> (when say is set; a whisper), then <Hangup/> when hangup;
 * twiml_block: <Reject reason="rejected"/>. */
int twiml_gather(struct buf *out, const char *say, int num_digits, int timeout_s,
                 const char *action_url);
int twiml_record(struct buf *out, const char *say, int max_len_s, const char *action_url,
                 const char *status_url);
int twiml_say(struct buf *out, const char *say, bool hangup);
int twiml_block(struct buf *out);

/* Writes the TwiML document (XML declaration first, as twiml.out.txt shows) into out:
 * <Response>[<Say>notice</Say>]<Dial callerId action method="POST" timeout record
 * recordingStatusCallback recordingStatusCallbackMethod="POST">
 * <Number statusCallback statusCallbackEvent>forward_to</Number></Dial></Response>, with
 * absent parts omitted. Text and attributes are escaped as the official library does
 * (text: & < > CR; attributes: & < " TAB LF CR); bytes that are not valid UTF-8 or not
 * allowed in XML 1.0 (most control characters) are dropped, so hostile input cannot break
 * the document. Appends to out; on error out is restored to its previous length.
 * Returns ERR_OK; ERR_INVALID if d or forward_to is NULL or forward_to is empty;
 * ERR_TOOBIG if out's max is reached. */
int twiml_dial(struct buf *out, const struct twiml_dial *d);

/* Polite refusal for a number nobody owns any more:
 * <Response><Say>…not in service…</Say><Hangup/></Response>. Same contract as twiml_dial. */
int twiml_reject(struct buf *out);

/* <Response/>: end the call, or let a screened call bridge. Same contract as twiml_dial. */
int twiml_empty(struct buf *out);

/* ---- webhook fields --------------------------------------------------------------------- */

/* Reads the fields from a parsed form. Checks only what the handlers rely on: CallSid present,
 * 1..64 characters of [A-Za-z0-9-]; CallStatus and DialCallStatus, when present, 1..32
 * characters of [a-z-] (not matched against a list: a status Twilio adds later must not make
 * us refuse a live call; compare with the documented values where it matters); the numbers,
 * when present, whole decimal integers in 0..10^9. Unknown extra parameters are ignored
 * (Twilio adds them without notice).
 * Returns ERR_OK or ERR_INVALID with eb (optional) naming the field. out: *out. */
int twilio_webhook_parse(const struct form *f, struct tel_webhook *out, struct errbuf *eb);
/* The same fields and rules for a Twilio-compatible provider whose CallSid is 1..sid_max
 * characters of [A-Za-z0-9] plus sid_extra (Twilio: 64, "-"; Telnyx "v3:…": 127, ":_-"). */
int twilio_webhook_parse_as(const struct form *f, size_t sid_max, const char *sid_extra,
                            struct tel_webhook *out, struct errbuf *eb);

#endif
