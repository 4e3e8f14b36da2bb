/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Who may do what in the dashboard, as pure decisions (no I/O, no clock: time comes in): the
 * four roles and their order, the right each route needs (DESIGN.md "Roles"), what an email
 * address and a password must look like, and whether an app session is still alive.
 * Ownership: strings are borrowed for the call; outputs go to caller-owned buffers.
 * THREADING: every function is pure and may be called from any thread. */
#ifndef OPENDNI_CORE_ACCESS_H
#define OPENDNI_CORE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Roles in an account, each holding every right of the ones below it. */
enum access_role {
    ACCESS_NONE = 0,
    ACCESS_VIEWER = 1,  /* reads calls, pools, numbers, rules */
    ACCESS_ANALYST = 2, /* + reports, exports, call outcomes */
    ACCESS_ADMIN = 3,   /* + pools, numbers, rules, settings, keys */
    ACCESS_OWNER = 4,   /* + users and roles, the audit log */
};

#define ACCESS_PASSWORD_MIN 10  /* bytes */
#define ACCESS_PASSWORD_MAX 512 /* bytes: the KDF's input stays small */
#define ACCESS_EMAIL_MAX 254    /* RFC 5321 path limit */

/* The role named "owner", "admin", "analyst" or "viewer"; ACCESS_NONE for anything else. */
enum access_role access_role_parse(const char *name);
/* The role's name; "none" for ACCESS_NONE or an out-of-range value. Static string. */
const char *access_role_name(enum access_role role);
/* Whether a user holding `held` may use something that needs `needed`. ACCESS_NONE never may. */
bool access_allows(enum access_role held, enum access_role needed);

/* Normalises an email address into out (cap bytes): surrounding blanks dropped, lowercase
 * (addresses are compared this way, so "Ann@X.com" and "ann@x.com" are one user). Returns true
 * if the result is a plausible address: 3 to ACCESS_EMAIL_MAX bytes, one '@' with text on both
 * sides, a dot in the domain, no control character, space, quote or angle bracket. */
bool access_email_normalize(const char *in, char *out, size_t cap);
/* Whether a password is acceptable: ACCESS_PASSWORD_MIN to ACCESS_PASSWORD_MAX bytes, no NUL
 * (len counts bytes), no newline (passwords come one per line on standard input). */
bool access_password_ok(const char *pw, size_t len);

/* Whether a session created at created_at, last seen at last_seen_at, is alive at now with
 * these lifetimes (ms): it dies idle_ms after its last activity and max_ms after its creation,
 * whichever comes first. */
bool access_session_alive(int64_t created_at, int64_t last_seen_at, int64_t now, int64_t idle_ms,
                          int64_t max_ms);

#endif
