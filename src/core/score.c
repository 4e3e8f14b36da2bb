/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call scoring (see score.h). */
#include "base/prelude.h"
#include "core/score.h"

void score_rules_default(struct score_rules *r)
{
    *r = (struct score_rules){.answered = 25, .first_time = 25, .n_steps = 2};
    r->steps[0].min_s = 60;
    r->steps[0].points = 25;
    r->steps[1].min_s = 180;
    r->steps[1].points = 25;
}

static void add(struct score_result *out, int points, const char *what)
{
    if (points == 0 || out->n_reasons >= SCORE_MAX_REASONS)
        return;
    out->score += points;
    snprintf(out->reasons[out->n_reasons++], SCORE_REASON_MAX, "%s %+d", what, points);
}

void score_call(const struct score_rules *r, const struct score_call *c, struct score_result *out)
{
    *out = (struct score_result){0};
    bool answered = c->status && strcmp(c->status, "completed") == 0 && c->duration_s > 0;
    if (answered) {
        add(out, r->answered, "answered");
        for (size_t i = 0; i < r->n_steps && i < SCORE_MAX_STEPS; i++) {
            char what[40];
            snprintf(what, sizeof(what), "talk time >= %lld s", (long long)r->steps[i].min_s);
            if (c->duration_s >= r->steps[i].min_s)
                add(out, r->steps[i].points, what);
        }
    }
    if (c->first_time_caller)
        add(out, r->first_time, "first-time caller");
}
