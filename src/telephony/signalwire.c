/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The SignalWire provider (Compatibility API, cXML; INTERFACES.md §3.1): Twilio's webhook form,
 * signature scheme and markup, keyed by the project's Signing Key, with UUID call and account
 * ids. Its calls are stored as provider "signalwire". It takes its own routes
 * (/v1/telephony/signalwire/…) and, for numbers set up before those existed, requests on
 * Twilio's routes that carry X-SignalWire-Signature. Its answers send the callbacks to its own
 * routes, so every request of a call reaches the same provider. Built from compat.c. */
#include "base/prelude.h"

#include "telephony/provider_int.h"

/* SignalWire's SDK takes X-Twilio-Signature as an alias on Compatibility callbacks. */
static const char *const signalwire_headers[] = {"X-SignalWire-Signature", "X-Twilio-Signature",
                                                 NULL};

static int signalwire_check(const struct tel_request *rq, struct errbuf *eb)
{
    return tel__require_header(rq, signalwire_headers, eb);
}

static int signalwire_parse(const struct tel_request *rq, struct tel_hook *out, struct errbuf *eb)
{
    return tel__form_parse(rq, 64, "-", out, eb);
}

static bool signalwire_verify(const struct tel_request *rq, const struct tel_hook *h,
                              const char *secret)
{
    return tel__twilio_verify(rq, h, secret, signalwire_headers);
}

static int signalwire_answer(struct buf *out, const struct tel_answer *a)
{
    return tel__twiml_answer(out, a, tel__signalwire.paths);
}

const struct tel_provider tel__signalwire = {
    .name = "signalwire",
    .paths = {"/v1/telephony/signalwire/voice", "/v1/telephony/signalwire/status",
              "/v1/telephony/signalwire/dial", "/v1/telephony/signalwire/route",
              "/v1/telephony/signalwire/recording"},
    .host = "twilio",
    .host_header = "X-SignalWire-Signature",
    .signer_by_account_sid = true,
    .content_type = "text/xml",
    .check = signalwire_check,
    .parse = signalwire_parse,
    .verify = signalwire_verify,
    .answer = signalwire_answer,
    .status = tel__twilio_status,
};
