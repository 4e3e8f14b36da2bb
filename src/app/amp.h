/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* AMP pages (amp-call-tracking): a page view whose visitor is AMP's CLIENT_ID. AMP pages run no
 * tracker, so nothing keeps a session id between views; the visitor and session ids are derived
 * from the account and the client id instead, and a repeat view of the same AMP client is the same
 * session, renewing the same lease (or getting its number back after the lease ended, if free).
 * The landing source is the first AMP view's. Ownership as app/visits.h: *out belongs to the
 * caller until visit_commit or visit_free. THREADING: callable from any thread. */
#ifndef OPENDNI_APP_AMP_H
#define OPENDNI_APP_AMP_H

#include <stdint.h>

#include "base/err.h"

struct app;
struct visit;

/* An AMP config request as the transport parsed it; strings borrowed for the call. */
struct amp_in {
    const char *account;       /* acc_… (required) */
    const char *client_id;     /* AMP's CLIENT_ID(…) value (required, printable ASCII) */
    const char *source_origin; /* the AMP document's origin (__amp_source_origin), checked
                                  against the account's allowed origins */
    const char *url;           /* the page URL (SOURCE_URL or CANONICAL_URL), or NULL: the
                                  source origin's "/" */
    const char *referrer;      /* or NULL */
    const char *target;        /* E.164 of the target number to replace, or NULL: the first */
    const char *user_agent, *region, *client; /* as struct visit_in */
};

/* The longest client id accepted. */
#define AMP_CLIENT_ID_MAX 200

/* A page view of an AMP document (app/visits.h visits_page_view, with derived ids). Errors as
 * visits_page_view, and ERR_INVALID for a missing or malformed client id (eb->field
 * "client_id"). The result's first number is the one to show. */
int amp_page_view(struct app *app, const struct amp_in *in, int64_t now, struct visit **out,
                  int *retry_after_s, struct errbuf *eb);

#endif
