/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Conversion rules: a finished call (status, talk time, first-time flag, attributed channel
 * and campaign) in, "is it a conversion and what is it worth" out. Pure core; the status
 * callback handler and the reports call it after the call is complete. */
#include "base/prelude.h"
#include "core/convert.h"

#include <strings.h>

void convert_rules_default(struct convert_rules *r)
{
    memset(r, 0, sizeof(*r));
    r->min_duration_s = CONVERT_DEFAULT_MIN_DURATION_S;
    r->answered_only = true;
    r->first_time_only = false;
    r->value = 0;
    r->name = CONVERT_DEFAULT_NAME;
}

/* A rule field matches when it is NULL (any) or equal, ignoring ASCII case, to the call's. */
static bool field_matches(const char *rule, const char *call)
{
    if (!rule)
        return true;
    return call && strcasecmp(rule, call) == 0;
}

/* How specific a matching override is (higher wins), or -1 if it does not match:
 * campaign and channel 3, campaign only 2, channel only 1, catch-all 0. */
static int override_rank(const struct convert_value *v, const struct convert_call *c)
{
    if (!field_matches(v->channel, c->channel) || !field_matches(v->campaign, c->campaign))
        return -1;
    return (v->campaign ? 2 : 0) + (v->channel ? 1 : 0);
}

double convert_value_of(const struct convert_rules *r, const struct convert_call *c)
{
    if (!r || !c)
        return 0;
    double value = r->value;
    int best = -1;
    for (size_t i = 0; r->values && i < r->n_values; i++) {
        int rank = override_rank(&r->values[i], c);
        if (rank > best) {
            best = rank;
            value = r->values[i].value;
        }
    }
    return value;
}

static bool qualifies(const struct convert_rules *r, const struct convert_call *c)
{
    if (c->duration_s < 0 || c->duration_s < r->min_duration_s)
        return false;
    if (r->answered_only) {
        bool completed = c->status && strcmp(c->status, "completed") == 0;
        if (!completed || c->duration_s <= 0)
            return false;
    }
    if (r->ivr_digits && r->ivr_digits[0] &&
        (!c->digits || strncmp(c->digits, r->ivr_digits, strlen(r->ivr_digits)) != 0))
        return false;
    return !r->first_time_only || c->first_time_caller;
}

bool convert_check(const struct convert_rules *r, const struct convert_call *c, double *out_value)
{
    bool ok = r && c && qualifies(r, c);
    if (out_value)
        *out_value = ok ? convert_value_of(r, c) : 0;
    return ok;
}
