/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A userspace CSPRNG seeded from the kernel: each thread keeps a ChaCha20 generator keyed with
 * 32 bytes of getrandom(2), with fast key erasure (every refill's first 32 bytes re-key it, and
 * bytes are wiped from its buffer as they are handed out, so what it produced cannot be
 * recomputed from its state), re-seeded from the kernel every RNG_RESEED_BYTES and in a forked
 * child. Replaces a getrandom(2) system call per id on the hot paths. Safe from any thread. */
#ifndef OPENDNI_BASE_RNG_H
#define OPENDNI_BASE_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Bytes a thread's generator hands out before it is keyed again from the kernel. */
#define RNG_RESEED_BYTES (1u << 20)

/* Fills out with n cryptographically strong random bytes. Aborts if the kernel cannot supply
 * a seed (as getrandom's callers did). */
void rng_bytes(void *out, size_t n);

/* The ChaCha20 block function (RFC 8439 2.3): 64 bytes of key stream for key, block counter
 * and nonce. Exposed for its test vectors. */
void rng_chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
                        uint8_t out[64]);

#endif
