/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Random identifiers from base/rng.h's generator (ChaCha20 per thread, seeded from the
 * kernel): external ids, session ids, API keys. Safe from any thread. */
#ifndef OPENDNI_BASE_IDS_H
#define OPENDNI_BASE_IDS_H

#include <stddef.h>
#include <stdint.h>

/* Writes prefix + n_chars random base32 characters (5 bits each) into out (cap bytes,
 * truncated to fit). Aborts if the kernel cannot supply a seed. */
void id_new(const char *prefix, size_t n_chars, char *out, size_t cap);

/* Like id_new, but the first 9 characters encode at (Unix ms) so ids sort by creation time:
 * B-tree inserts then land at the right edge of the index instead of on random pages (far less
 * write amplification in the store), while n_chars random characters keep the id unguessable.
 * The creation time is visible in the id; nothing secret is in it. */
void id_new_sorted(const char *prefix, int64_t at, size_t n_chars, char *out, size_t cap);

/* true if s is 1..max_len characters of [A-Za-z0-9_-] (ids that clients send back). */
int id_valid(const char *s, size_t max_len);

#endif
