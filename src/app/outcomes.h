/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call outcomes (issue #18 item 1; DESIGN.md "Call outcomes"): what a person says about a call
 * after it happened: tags (a small set of short labels), notes, a lead status (new, qualified,
 * won, lost, spam: a person's verdict, not the conversion rules' "qualified"), a revenue value
 * (minor units of the account's currency) and a billable flag with who set it (a person through
 * an API key or a dashboard session; a target's rule may set it later, recorded as a rule).
 * PATCH /v1/calls/{id} changes the fields its body names (outcomes_set); the CALL object shows
 * them as `outcome` (outcomes_call_json, from calls_json).
 * Ownership: arguments are borrowed for the call; JSON results are new references.
 * THREADING: every function may be called from any HTTP worker thread at once (outcomes_set
 * writes on the calling thread's store connection, in its own transaction). */
#ifndef OPENDNI_APP_OUTCOMES_H
#define OPENDNI_APP_OUTCOMES_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "app/records.h"

struct app;

#define OUTCOMES_TAGS_MAX 20    /* tags per call */
#define OUTCOMES_TAG_MAX 32     /* bytes per tag */
#define OUTCOMES_NOTES_MAX 4096 /* bytes of notes (UTF-8) */
/* The largest revenue accepted, in minor units (a trillion in a two-decimal currency; exact
 * in a JSON number read as a double by any client). */
#define OUTCOMES_REVENUE_MAX ((int64_t)100000000000000)

/* Applies a PATCH body to o (pure). The body is an object of at most these keys, each optional:
 * tags (array of 0..20 distinct strings, each 1..32 bytes of letters, digits, space, '-', '_',
 * '.', ':' or '/', not starting or ending with a space; null = none; duplicates are kept once,
 * in first-seen order), notes (string of at most 4096 bytes without control characters other
 * than tab, CR and LF; null = ""), lead_status (one of the five), revenue (an integer
 * 0..OUTCOMES_REVENUE_MAX, or null = not given) and billable (true, false, or null = unset).
 * A billable value records who set it: user (a dashboard user's email) or, when user is NULL
 * or "", an API key; and when (now). updated_at = now.
 * Returns ERR_OK, or ERR_INVALID with eb naming the field (an empty body, an unknown key, a
 * wrong type or value); on error o may hold the fields read before the bad one. */
int outcomes_apply(json_t *body, const char *user, int64_t now, struct st_call_outcome *o,
                   struct errbuf *eb);

/* PATCH /v1/calls/{call_ext}: in one transaction, reads the account's call and its outcome,
 * applies body (outcomes_apply) and writes the outcome. Nothing is written on any error.
 * out: *c (the call, for the response).
 * Returns ERR_OK; ERR_NOTFOUND (no such call in this account: another account's call is not
 * found); ERR_INVALID (eb names the field); ERR_BACKEND (eb says so). */
int outcomes_set(struct app *app, int64_t account_id, const char *call_ext, json_t *body,
                 const char *user, int64_t now, struct st_call *c, struct errbuf *eb);

/* The CALL object's `outcome` for o:
 * {"tags":[…],"notes":"…","lead_status":"new","revenue":N|null,"billable":true|false|null,
 *  "billable_set_by":{"by":"api|user","user":"…"|null,"at":"…"}|null,"updated_at":"…"|null}
 * New reference (NULL only on allocation failure). */
json_t *outcomes_json(const struct st_call_outcome *o);

/* outcomes_json of call c's stored outcome (the defaults when it has none, or when the read
 * fails: a CALL object is still shown). */
json_t *outcomes_call_json(struct app *app, const struct st_call *c);

#endif
