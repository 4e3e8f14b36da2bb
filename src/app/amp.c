/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* AMP page views (see amp.h): ids derived from (account, CLIENT_ID), then an ordinary visit. */
#include "base/prelude.h"
#include "app/amp.h"

#include "app/accounts.h"
#include "app/visits.h"

/* "s_amp_…" / "v_amp_…": 24 hex digits (96 bits) of SHA-256 over kind, account and client id,
 * so the same AMP client of the same account always maps to the same ids, and nobody can pick
 * another client's ids without knowing its client id. */
static void derive_id(char kind, const char *account, const char *client_id, char *out, size_t cap)
{
    char in[STORE_ID_MAX + AMP_CLIENT_ID_MAX + 8];
    snprintf(in, sizeof(in), "%c\n%s\n%s", kind, account, client_id);
    char hex[65];
    accounts_key_hash(in, hex);
    snprintf(out, cap, "%c_amp_%.24s", kind, hex);
}

static bool client_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > AMP_CLIENT_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

int amp_page_view(struct app *app, const struct amp_in *in, int64_t now, struct visit **out,
                  int *retry_after_s, struct errbuf *eb)
{
    *out = NULL;
    if (!client_id_valid(in->client_id))
        return errf(eb, ERR_INVALID, "client_id",
                    "'client_id' is required: printable ASCII, at most %d bytes",
                    AMP_CLIENT_ID_MAX);
    char session[STORE_ID_MAX];
    char visitor[STORE_ID_MAX];
    derive_id('s', in->account, in->client_id, session, sizeof(session));
    derive_id('v', in->account, in->client_id, visitor, sizeof(visitor));
    char home[512];
    snprintf(home, sizeof(home), "%s/", in->source_origin);
    struct visit_in v = {.account = in->account,
                         .url = in->url ? in->url : home,
                         .referrer = in->referrer,
                         .visitor_id = visitor,
                         .session_id = session,
                         .new_session_id = session,
                         .origin = in->source_origin,
                         .user_agent = in->user_agent,
                         .region = in->region,
                         .client = in->client,
                         .all_targets = in->target == NULL};
    if (in->target) {
        snprintf(v.targets[0], sizeof(v.targets[0]), "%s", in->target);
        v.n_targets = 1;
    }
    bool origin_ok = false;
    return visits_page_view(app, &v, now, out, &origin_ok, retry_after_s, eb);
}
