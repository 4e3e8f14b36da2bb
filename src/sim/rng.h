/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sim/rng: the simulator's seeded pseudo-random numbers (xoshiro256** seeded through
 * splitmix64), so the same seed gives the same synthetic traffic and the same dialled numbers
 * on every machine. Not for anything secret.
 * Ownership: a struct sim_rng is plain caller-owned state. THREADING: one generator per thread. */
#ifndef OPENDNI_SIM_RNG_H
#define OPENDNI_SIM_RNG_H

#include <stdint.h>

struct sim_rng {
    uint64_t s[4];
};

/* Seeds the generator; every seed (0 included) gives a distinct, valid state. */
void sim_rng_seed(struct sim_rng *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t sim_rng_next(struct sim_rng *r);

/* A uniform double in [0, 1). */
double sim_rng_unit(struct sim_rng *r);

/* A uniform integer in [0, n); 0 when n is 0. Unbiased (rejection sampling). */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);

/* A uniform double in [lo, hi). */
double sim_rng_uniform(struct sim_rng *r, double lo, double hi);

/* Log-uniform in [lo, hi) (lo > 0): every factor of 2 in the range is equally likely. */
double sim_rng_log_uniform(struct sim_rng *r, double lo, double hi);

/* A Poisson count of mean `mean` (exact below 30, normal approximation above). */
uint64_t sim_rng_poisson(struct sim_rng *r, double mean);

#endif
