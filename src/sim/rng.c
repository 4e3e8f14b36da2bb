/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sim/rng: xoshiro256** (Blackman and Vigna) with splitmix64 seeding, written from the published
 * algorithm description; plus the few distributions the traffic generator draws from. */
#include "base/prelude.h"
#include "sim/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    *x += UINT64_C(0x9e3779b97f4a7c15);
    uint64_t z = *x;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double sim_rng_unit(struct sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* values >= limit would bias the result */
    uint64_t x = sim_rng_next(r);
    while (x >= limit)
        x = sim_rng_next(r);
    return x % n;
}

double sim_rng_uniform(struct sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sim_rng_unit(r);
}

double sim_rng_log_uniform(struct sim_rng *r, double lo, double hi)
{
    return lo * exp(log(hi / lo) * sim_rng_unit(r));
}

/* A standard normal deviate (Box-Muller; one of the pair is dropped for simplicity). */
static double normal(struct sim_rng *r)
{
    double u = 1.0 - sim_rng_unit(r); /* (0, 1]: log(u) is finite */
    double v = sim_rng_unit(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

uint64_t sim_rng_poisson(struct sim_rng *r, double mean)
{
    if (!(mean > 0))
        return 0;
    if (mean >= 30) {
        double x = floor(mean + sqrt(mean) * normal(r) + 0.5);
        return x < 0 ? 0 : (uint64_t)x;
    }
    double limit = exp(-mean); /* Knuth: multiply uniforms until the product drops below e^-mean */
    double prod = sim_rng_unit(r);
    uint64_t k = 0;
    while (prod > limit) {
        k++;
        prod *= sim_rng_unit(r);
    }
    return k;
}
