/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The per-thread ChaCha20 generator (see rng.h). */
#include "base/prelude.h"
#include "base/rng.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/random.h>

/* Blocks made per refill: the first 32 bytes re-key, the rest are handed out. */
#define RNG_BLOCKS 8

struct rng {
    uint32_t key[8];
    uint8_t buf[RNG_BLOCKS * 64];
    size_t pos;          /* next unused byte of buf; sizeof(buf) when empty */
    size_t since_seed;   /* bytes handed out since the last kernel seed */
    unsigned generation; /* fork_generation when seeded */
    bool seeded;
};

static _Thread_local struct rng rng;
static atomic_uint fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A forked child must not repeat its parent's stream: every thread's state is stale there. */
static void on_fork_child(void)
{
    atomic_fetch_add(&fork_generation, 1);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

static inline uint32_t rotl(uint32_t v, int n)
{
    return (v << n) | (v >> (32 - n));
}

#define QR(a, b, c, d)                                                                             \
    do {                                                                                           \
        a += b;                                                                                    \
        d = rotl(d ^ a, 16);                                                                       \
        c += d;                                                                                    \
        b = rotl(b ^ c, 12);                                                                       \
        a += b;                                                                                    \
        d = rotl(d ^ a, 8);                                                                        \
        c += d;                                                                                    \
        b = rotl(b ^ c, 7);                                                                        \
    } while (0)

void rng_chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
                        uint8_t out[64])
{
    uint32_t in[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574, key[0], key[1],
                       key[2],     key[3],     key[4],     key[5],     key[6], key[7],
                       counter,    nonce[0],   nonce[1],   nonce[2]};
    uint32_t x[16];
    memcpy(x, in, sizeof(x));
    for (int i = 0; i < 10; i++) {
        QR(x[0], x[4], x[8], x[12]);
        QR(x[1], x[5], x[9], x[13]);
        QR(x[2], x[6], x[10], x[14]);
        QR(x[3], x[7], x[11], x[15]);
        QR(x[0], x[5], x[10], x[15]);
        QR(x[1], x[6], x[11], x[12]);
        QR(x[2], x[7], x[8], x[13]);
        QR(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++) {
        uint32_t v = x[i] + in[i];
        out[4 * i] = (uint8_t)v;
        out[4 * i + 1] = (uint8_t)(v >> 8);
        out[4 * i + 2] = (uint8_t)(v >> 16);
        out[4 * i + 3] = (uint8_t)(v >> 24);
    }
}

static void seed(struct rng *r)
{
    pthread_once(&atfork_once, register_atfork);
    if (getrandom(r->key, sizeof(r->key), 0) != (ssize_t)sizeof(r->key))
        abort();
    r->generation = atomic_load(&fork_generation);
    r->since_seed = 0;
    r->pos = sizeof(r->buf);
    r->seeded = true;
}

/* Makes the next buffer and re-keys from its first 32 bytes (then wiped). */
static void refill(struct rng *r)
{
    static const uint32_t nonce[3] = {0, 0, 0};
    for (uint32_t i = 0; i < RNG_BLOCKS; i++)
        rng_chacha20_block(r->key, i, nonce, r->buf + 64 * i);
    memcpy(r->key, r->buf, sizeof(r->key));
    memset(r->buf, 0, sizeof(r->key));
    r->pos = sizeof(r->key);
}

void rng_bytes(void *out, size_t n)
{
    struct rng *r = &rng;
    if (!r->seeded || r->since_seed >= RNG_RESEED_BYTES ||
        r->generation != atomic_load_explicit(&fork_generation, memory_order_relaxed))
        seed(r);
    uint8_t *o = out;
    while (n) {
        if (r->pos == sizeof(r->buf))
            refill(r);
        size_t k = sizeof(r->buf) - r->pos;
        if (k > n)
            k = n;
        memcpy(o, r->buf + r->pos, k);
        memset(r->buf + r->pos, 0, k); /* handed out: not kept */
        r->pos += k;
        r->since_seed += k;
        o += k;
        n -= k;
    }
}
