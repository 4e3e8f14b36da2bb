/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sim/synth: synthetic traffic for `opendni simulate` without a trace: visits arriving by a
 * diurnal profile, sessions of a few page views over a few minutes to half an hour, tel: clicks
 * before most mobile calls, calls during the visit, soon after, or hours to days later, and
 * calls from people with no session. The model and its defaults are in docs/pool-sizing.md.
 * Ownership: the generator fills a caller-owned trace. THREADING: reentrant; no shared state. */
#ifndef OPENDNI_SIM_SYNTH_H
#define OPENDNI_SIM_SYNTH_H

#include <stdint.h>

#include "base/err.h"
#include "sim/trace.h"

enum { SIM_DELAY_IMMEDIATE, SIM_DELAY_SOON, SIM_DELAY_LATE, SIM_DELAYS };

struct sim_synth {
    double visits_per_day;  /* mean sessions a day (default 2,000) */
    uint32_t days;          /* default 7 */
    double call_rate;       /* share of sessions whose visitor calls (default 0.05) */
    double mobile_share;    /* default 0.60 */
    double tablet_share;    /* default 0.05; the rest are desktop */
    double untracked_share; /* share of all calls placed by people with no session (0.10) */
    /* Call-delay mix, normalised: IMMEDIATE (within 5 min of the last activity, 0.65), SOON
     * (5 min to 3 h, 0.25), LATE (3 h to 7 days, 0.10). */
    double delay_mix[SIM_DELAYS];
    double diurnal[24]; /* relative visit rate per hour of the day (trace starts 00:00) */
    uint64_t seed;      /* default 1 */
};

/* Fills c with the defaults above and the default business-hours diurnal profile. */
void sim_synth_default(struct sim_synth *c);

/* ERR_OK if c is usable: visits_per_day in (0, 10^7], days in 1..366, shares in [0, 1]
 * (untracked_share < 1, mobile + tablet <= 1), delay mix and diurnal weights >= 0 with a
 * positive sum. Else ERR_INVALID naming the field in eb. */
int sim_synth_validate(const struct sim_synth *c, struct errbuf *eb);

/* Generates the traffic of c into out (freshly initialised with sim_trace_init): same c, same
 * rows, on every machine. c must pass sim_synth_validate. */
void sim_synth_generate(const struct sim_synth *c, struct sim_trace *out);

#endif
