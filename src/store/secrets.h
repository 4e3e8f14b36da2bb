/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Provider secrets at rest (account_providers.secret): AES-256-GCM with a key kept outside the
 * database, applied by the store's dispatch layer (store.c) so every backend stores only sealed
 * values. A sealed value is text, "enc1:<key id>:<base64(nonce | ciphertext | tag)>": a random
 * 96-bit nonce per value, and the row it belongs to (account id, provider) bound as associated
 * data, so a value copied to another row does not open. The key id (16 hex digits, derived
 * from the key) says which key sealed it, so a rotation knows what to re-seal and a wrong key is
 * named instead of failing obscurely. Keys are 32 random bytes written as 64 hex digits, in a
 * file (`--secrets-key-file`) or the environment (OPENDNI_SECRETS_KEY).
 * Ownership: arguments are borrowed; results go to caller storage.
 * THREADING: every function is reentrant; a struct secrets_key is read-only once filled. */
#ifndef OPENDNI_STORE_SECRETS_H
#define OPENDNI_STORE_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define SECRETS_KEY_LEN 32
#define SECRETS_KID_LEN 16      /* hex digits of a key id */
#define SECRETS_PREFIX "enc1:"  /* what every sealed value starts with */
#define SECRETS_SEALED_MAX 1536 /* a sealed value of a clear one under 1024 bytes, NUL included */
#define SECRETS_ENV "OPENDNI_SECRETS_KEY" /* the key itself, 64 hex digits */

struct secrets_key {
    unsigned char key[SECRETS_KEY_LEN];
    char kid[SECRETS_KID_LEN + 1]; /* hex, derived from key */
};

/* Parses 64 hex digits (surrounding whitespace ignored) into out and derives its id.
 * ERR_OK, or ERR_INVALID with eb saying what is wrong (never quoting the text). */
int secrets_key_parse(const char *text, struct secrets_key *out, struct errbuf *eb);
/* Reads and parses the key file at path. ERR_OK; ERR_IO (cannot read: eb names the file);
 * ERR_INVALID (not a key). A file that group or others may read is refused (ERR_INVALID): a
 * key anyone can read protects nothing. */
int secrets_key_load(const char *path, struct secrets_key *out, struct errbuf *eb);
/* The configured key: the file at path when path is non-NULL and non-empty, else the
 * environment variable SECRETS_ENV when set and non-empty. out: *found (false: no key
 * configured, *out untouched). ERR_OK, or what secrets_key_load / secrets_key_parse return. */
int secrets_key_configured(const char *path, struct secrets_key *out, bool *found,
                           struct errbuf *eb);
/* Writes a new random key to a new file at path, mode 0600 (an existing file is never
 * overwritten: ERR_CONFLICT). ERR_OK, ERR_CONFLICT or ERR_IO (eb says why). out: *out, the
 * key written (may be NULL). */
int secrets_key_generate(const char *path, struct secrets_key *out, struct errbuf *eb);

/* Whether v is a sealed value (starts with SECRETS_PREFIX). */
bool secrets_is_sealed(const char *v);
/* The id of the key that sealed v into kid (SECRETS_KID_LEN + 1 bytes). false if v is not a
 * well-formed sealed value. */
bool secrets_kid_of(const char *v, char kid[SECRETS_KID_LEN + 1]);
/* Seals clear (NUL-terminated, under 1024 bytes) for the row (account_id, provider) with key
 * into out (cap bytes; SECRETS_SEALED_MAX suffices). ERR_OK; ERR_INVALID (clear too long);
 * ERR_TOOBIG (cap too small); ERR_BACKEND (libcrypto failed: no randomness). */
int secrets_seal(const struct secrets_key *key, int64_t account_id, const char *provider,
                 const char *clear, char *out, size_t cap);
/* Opens the sealed value v of the row (account_id, provider) with key (which must be the one
 * whose id v names) into out (cap bytes). ERR_OK; ERR_INVALID (not a sealed value, another
 * key's, or it does not authenticate: damaged, or copied from another row); ERR_TOOBIG (cap). */
int secrets_open(const struct secrets_key *key, int64_t account_id, const char *provider,
                 const char *v, char *out, size_t cap);

#endif
