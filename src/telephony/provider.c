/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The provider registry: the one list of providers (adding one is its file and one line here)
 * and the lookups the HTTP routes use. */
#include "base/prelude.h"
#include "telephony/provider.h"

#include "telephony/provider_int.h"

const struct tel_provider *const tel_providers[] = {
    &tel__twilio,
    &tel__signalwire,
    &tel__telnyx,
    NULL,
};

const struct tel_provider *tel_provider_by_name(const char *name)
{
    for (size_t i = 0; name && tel_providers[i]; i++)
        if (strcmp(tel_providers[i]->name, name) == 0)
            return tel_providers[i];
    return NULL;
}

static bool carries(const struct tel_request *rq, const char *header)
{
    const char *v = rq->header ? rq->header(rq->ctx, header) : NULL;
    return v && *v;
}

const struct tel_provider *tel_provider_for_route(const char *route, const struct tel_request *rq)
{
    if (!route)
        return NULL;
    for (size_t i = 0; tel_providers[i]; i++) {
        const struct tel_provider *p = tel_providers[i];
        if (p->host && strcmp(p->host, route) == 0 && carries(rq, p->host_header))
            return p;
    }
    return tel_provider_by_name(route);
}

void tel_hook_release(struct tel_hook *h)
{
    form_release(&h->form);
    memset(&h->wh, 0, sizeof(h->wh));
}
