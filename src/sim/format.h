/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sim/format: what `opendni simulate` prints: one JSON object per pool size (the normative
 * API.md shape), the human table with the rules of thumb, and the accuracy chart as a
 * standalone SVG document written as text.
 * Ownership: everything is appended to a caller-owned struct buf; inputs are borrowed.
 * THREADING: reentrant. */
#ifndef OPENDNI_SIM_FORMAT_H
#define OPENDNI_SIM_FORMAT_H

#include <stddef.h>

#include "base/buf.h"
#include "sim/sim.h"
#include "sim/trace.h"

/* Index of the smallest pool size in r[0..n) whose accuracy is >= target (results in
 * ascending pool size), or -1 if none reaches it. */
int sim_smallest_reaching(const struct sim_result *r, size_t n, double target);

/* Appends one line: {"pool_size":N,"calls":N,"attributable":N,"correct":N,"accuracy":X,
 * "accuracy_within_30min":X,"misattributed":N,"unattributed":N,"by_method":{"exact":N,
 * "shared":N,"late":N,"source":N,"unattributed":N},"exhaustion_events":N} and a newline.
 * An accuracy with no calls to measure is null. Returns ERR_OK or ERR_TOOBIG (b's max). */
int sim_format_json(struct buf *b, const struct sim_result *r);

/* Appends the human report: the table (one row per result in r), the traffic facts and the
 * rules of thumb with the accuracy each would give (looked up by pool size in r, then in
 * extra[0..n_extra), e.g. runs made just for the rules; "not simulated" if in neither), and, when
 * target is a number (not NaN) and n > 1, the smallest pool in r reaching it.
 * Returns ERR_OK or ERR_TOOBIG. */
int sim_format_table(struct buf *b, const struct sim_result *r, size_t n,
                     const struct sim_result *extra, size_t n_extra, const struct sim_stats *st,
                     double target);

/* Index of the smallest pool size in r[0..n) whose accuracy within 30 min is >= target, or -1. */
int sim_smallest_reaching_30min(const struct sim_result *r, size_t n, double target);

/* Appends the side-by-side comparison of the old and the new policy (issue 20): per pool size
 * (old[i] and neu[i] are the same size), the accuracy within 30 min and overall of each and the
 * difference; then the smallest size each needs for 99 % within 30 min, and, at the size where
 * the old policy first credits 97 % of the calls within 30 min, what the new one does there.
 * Returns ERR_OK or ERR_TOOBIG. */
int sim_format_compare(struct buf *b, const struct sim_result *old, const struct sim_result *neu,
                       size_t n);

/* Appends the model's weights, one "name weight (factor xF)" line each. Returns ERR_OK or
 * ERR_TOOBIG. */
int sim_format_weights(struct buf *b, const struct attrib_model *m);

/* Appends a standalone SVG 1.1 document: accuracy and accuracy within 30 min against pool size
 * (of r; and of rn, the other policy's results for the same sizes, when not NULL),
 * the target line (if target is not NaN), the rules of thumb marked on the size axis (listed in
 * the legend, "off the chart" when outside the simulated range) and the smallest size reaching
 * the target. Returns ERR_OK, ERR_INVALID for n == 0, or ERR_TOOBIG. */
int sim_format_svg(struct buf *b, const struct sim_result *r, const struct sim_result *rn, size_t n,
                   const struct sim_rules *rules, double target);

#endif
