/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Merging the provider's status reports of a call's two legs (see callstatus.h). */
#include "base/prelude.h"
#include "core/callstatus.h"

bool callstatus_final(const char *status)
{
    static const char *const finals[] = {"completed", "busy", "no-answer", "failed", "canceled"};
    for (size_t i = 0; status && i < ARRAY_SIZE(finals); i++)
        if (strcmp(status, finals[i]) == 0)
            return true;
    return false;
}

/* DialCallStatus "answered" (conference case) ends the dialled leg as connected. */
static bool leg_final(const char *status)
{
    return callstatus_final(status) || strcmp(status, "answered") == 0;
}

static bool merge_leg(char status[CALLSTATUS_MAX], int64_t *duration, int64_t *seq,
                      const struct call_report *u)
{
    if (u->seq >= 0 && u->seq <= *seq)
        return false; /* older than, or a retry of, what we have */
    bool has_status = u->status && *u->status;
    if (has_status && leg_final(status) && !leg_final(u->status))
        return false; /* a late "ringing" after "completed" */
    bool changed = false;
    if (has_status && strcmp(status, u->status) != 0) {
        snprintf(status, CALLSTATUS_MAX, "%s", u->status);
        changed = true;
    }
    if (u->duration_s >= 0 && *duration != u->duration_s) {
        *duration = u->duration_s;
        changed = true;
    }
    if (u->seq >= 0) {
        *seq = u->seq;
        changed = true;
    }
    return changed;
}

/* The call's status in API.md's terms (ringing, in-progress, or a final one): a provider's other
 * live statuses (queued, initiated, answered on a leg, anything new) map onto the two live ones. */
static const char *effective_status(const struct call_legs *c)
{
    if (c->dial_status[0] && leg_final(c->dial_status))
        return strcmp(c->dial_status, "answered") == 0 ? "completed" : c->dial_status;
    if (callstatus_final(c->call_status))
        return c->call_status;
    if (strcmp(c->dial_status, "in-progress") == 0 || strcmp(c->call_status, "in-progress") == 0 ||
        strcmp(c->call_status, "answered") == 0)
        return "in-progress";
    return "ringing";
}

static int64_t effective_duration(const struct call_legs *c)
{
    if (callstatus_final(c->status) && strcmp(c->status, "completed") != 0)
        return 0; /* busy, no-answer…: nobody talked */
    if (c->dial_duration_s >= 0)
        return c->dial_duration_s;
    return c->call_duration_s >= 0 ? c->call_duration_s : 0;
}

bool callstatus_merge(struct call_legs *c, const struct call_report *u, int64_t now)
{
    bool changed = u->leg == CALL_LEG_CALLER
                       ? merge_leg(c->call_status, &c->call_duration_s, &c->status_seq, u)
                       : merge_leg(c->dial_status, &c->dial_duration_s, &c->dial_seq, u);
    if (!changed)
        return false;
    snprintf(c->status, sizeof(c->status), "%s", effective_status(c));
    c->duration_s = effective_duration(c);
    if (callstatus_final(c->status) && !c->ended_at)
        c->ended_at = now;
    c->updated_at = now;
    return true;
}
