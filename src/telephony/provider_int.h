/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared inside src/telephony/ only: the Twilio-compatible provider pieces (form body, the
 * X-Twilio-Signature scheme, TwiML answers, Twilio's call statuses) that twilio.c,
 * signalwire.c and telnyx.c build their tables from, so no provider copies another's code.
 * Implemented in compat.c. Ownership and threading as provider.h. */
#ifndef OPENDNI_TELEPHONY_PROVIDER_INT_H
#define OPENDNI_TELEPHONY_PROVIDER_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "telephony/provider.h"

/* The providers' tables, each defined in its own file and listed in tel_providers[]. */
extern const struct tel_provider tel__twilio;     /* twilio.c */
extern const struct tel_provider tel__signalwire; /* signalwire.c */
extern const struct tel_provider tel__telnyx;     /* telnyx.c */

/* ERR_OK if rq carries at least one of the NULL-terminated headers (with a non-empty value),
 * else ERR_FORBIDDEN with eb (optional) "missing <first header>". */
int tel__require_header(const struct tel_request *rq, const char *const *headers,
                        struct errbuf *eb);

/* Parses a form-encoded body into out: the fields of twilio.h twilio_webhook_parse_as, with a
 * call id of 1..sid_max characters of [A-Za-z0-9] plus sid_extra. Same contract as
 * tel_provider.parse (eb names "body" when the body is not a form). */
int tel__form_parse(const struct tel_request *rq, size_t sid_max, const char *sid_extra,
                    struct tel_hook *out, struct errbuf *eb);

/* true if the value of one of the NULL-terminated headers is an X-Twilio-Signature of
 * rq->url and h->form with secret, in either flavour (Twilio's or SignalWire's way of signing
 * repeated names) and either port form (twilio.h twilio_verify_as). Every present header is
 * checked: no early exit tells which matched. */
bool tel__twilio_verify(const struct tel_request *rq, const struct tel_hook *h, const char *secret,
                        const char *const *headers);

/* Writes the TwiML (or TeXML: the same XML) answer, with the callback paths of the provider
 * (paths[kind], NULL: none): DIAL with <Dial action> base_url + paths[TEL_HOOK_DIAL] and
 * <Number statusCallback> base_url + paths[TEL_HOOK_STATUS]; a recorded DIAL without a
 * route_query also with <Dial recordingStatusCallback> base_url + paths[TEL_HOOK_RECORDING];
 * REJECT and EMPTY as twiml_reject and twiml_empty; the routing kinds with their callbacks at
 * base_url + paths[TEL_HOOK_ROUTE] + "?" + the answer's query. Contract of tel_provider.answer. */
int tel__twiml_answer(struct buf *out, const struct tel_answer *a,
                      const char *const paths[TEL_HOOK_N]);

/* Twilio's call statuses (also SignalWire's and Telnyx TeXML's) in the merge's terms:
 * "queued" and "initiated" are "ringing", the others are the merge's own words. Contract of
 * tel_provider.status. */
const char *tel__twilio_status(const char *s);

#endif
