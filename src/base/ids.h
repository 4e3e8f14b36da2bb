/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Random identifiers from the kernel's generator (getrandom): external ids, session ids,
 * API keys. Safe from any thread. */
#ifndef OPENDNI_BASE_IDS_H
#define OPENDNI_BASE_IDS_H

#include <stddef.h>

/* Writes prefix + n_chars random base32 characters (5 bits each) into out (cap bytes,
 * truncated to fit). Aborts if the kernel cannot supply randomness. */
void id_new(const char *prefix, size_t n_chars, char *out, size_t cap);

/* true if s is 1..max_len characters of [A-Za-z0-9_-] (ids that clients send back). */
int id_valid(const char *s, size_t max_len);

#endif
