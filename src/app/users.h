/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The dashboard's users service: passwords (scrypt with a random salt, its parameters stored
 * with the hash, compared in constant time), users and their roles per account (`opendni user`,
 * each change written to the audit log), and app sessions: a login (rate limited per client
 * address and per email) creates a 256-bit random token whose SHA-256 alone is stored, with an
 * idle and an absolute expiry; a CSRF token is derived from the session token; logout ends it.
 * Ownership: arguments are borrowed for the call; results go to caller-owned storage.
 * THREADING: every function may be called from any thread (the serving ones from HTTP threads
 * at once); the KDF runs on the calling thread (tens of milliseconds, by design). */
#ifndef OPENDNI_APP_USERS_H
#define OPENDNI_APP_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "core/access.h"
#include "app/records.h"

struct app;
struct users_session;

#define USERS_TOKEN_MAX 64 /* a session token as the cookie carries it, NUL included */
#define USERS_CSRF_MAX 65  /* hex SHA-256 */
#define USERS_IDLE_S_DEFAULT (12 * 3600)
#define USERS_MAX_S_DEFAULT (14 * 86400)
#define USERS_LOGIN_PER_ADDR 30  /* login attempts per client address per minute */
#define USERS_LOGIN_PER_EMAIL 10 /* login attempts per email per minute */

/* ---- passwords ---- */

/* Hashes a password with scrypt (N = 2^15, r = 8, p = 1) and a fresh 16-byte random salt into
 * out as "scrypt$LOG2N$R$P$SALT$KEY" (base64). ERR_INVALID if pw breaks access_password_ok,
 * ERR_NOMEM if the KDF cannot run. */
int users_password_hash(const char *pw, size_t len, char out[STORE_PWHASH_MAX]);
/* Whether pw matches a stored hash (any parameters users_password_hash may have written, within
 * bounds that keep one check under ~100 ms). Constant-time on the derived key. false for a
 * malformed hash. */
bool users_password_verify(const char *pw, size_t len, const char *stored);

/* ---- users and roles (the CLI: a store and an actor, no server needed) ---- */

/* Gives the user with this email `role` in the account, creating the user with password pw
 * when there is none (pw NULL: refused with ERR_INVALID for a new user; ignored for an existing
 * one, whose password stays). Writes an audit entry by actor ("cli"). out: *created (may be
 * NULL). ERR_INVALID (bad email, role or password, detail in eb), ERR_NOTFOUND (no such
 * account), ERR_BACKEND. */
int users_add(struct store *s, const char *email, const char *account_ext, const char *role,
              const char *pw, size_t pw_len, const char *actor, int64_t now, bool *created,
              struct errbuf *eb);
/* Replaces the user's password and ends their sessions; audited. ERR_NOTFOUND for an unknown
 * user, ERR_INVALID for a bad password. */
int users_set_password(struct store *s, const char *email, const char *pw, size_t pw_len,
                       const char *actor, int64_t now, struct errbuf *eb);
/* Takes the user's role in account_ext away, or (account_ext NULL) deletes the user with all
 * their roles and sessions; audited. ERR_NOTFOUND for an unknown user, account or role. */
int users_remove(struct store *s, const char *email, const char *account_ext, const char *actor,
                 int64_t now, struct errbuf *eb);

/* ---- users and roles from the dashboard (an owner's session) ---- */

/* The account's members (st_membership rows with email), by email. */
int users_members(struct app *app, int64_t account_id, store_membership_fn fn, void *ctx);
/* As users_add/users_remove for the account the session looks at, by the session's user
 * (the audit's actor), through the server's store; role NULL removes the user's role there.
 * ERR_CONFLICT (nothing changes) when it would leave the account without an owner. */
int users_member_set(struct app *app, const struct users_session *us, const char *email,
                     const char *role, const char *pw, size_t pw_len, int64_t now, bool *created,
                     struct errbuf *eb);

/* ---- sessions (serving) ---- */

/* A live session as a request sees it. */
struct users_session {
    struct st_app_session row; /* row.role: the user's role in row.account_id */
    enum access_role role;
    struct st_account account; /* the account row.account_id names */
    char email[STORE_EMAIL_MAX];
    char csrf[USERS_CSRF_MAX]; /* the token state changes must carry */
};

/* What a good login hands the client. */
struct users_login {
    char token[USERS_TOKEN_MAX]; /* the cookie's value: shown to this client once */
    struct users_session session;
};

/* Logs in: rate limits (per address and per email: ERR_LIMITED with *retry_after_s), checks the
 * password (the KDF runs for unknown emails too, so timing tells nothing), purges expired
 * sessions and creates one looking at the user's first account. ERR_AUTH for a wrong email or
 * password, or a user with no role anywhere (one message for all). out: *out. */
int users_login(struct app *app, const char *email, const char *pw, size_t pw_len,
                const char *client_addr, int64_t now, struct users_login *out, int *retry_after_s,
                struct errbuf *eb);
/* The live session of a cookie token at now, its last activity moved forward (written at most
 * once a minute). ERR_AUTH when the token is unknown, ended, expired (idle or absolute), or its
 * user no longer holds a role in the account it looks at. out: *out. */
int users_session(struct app *app, const char *token, int64_t now, struct users_session *out);
/* Checks again, without moving its activity forward, the session whose token's hash is
 * token_hash (st_app_session.token_hash): ERR_OK while it is alive (idle and absolute expiry at
 * now), looks at account_id, and its user still holds a role there; ERR_AUTH otherwise; the
 * store's code when it cannot answer. For GET /v1/stream's re-checks of a session's listener:
 * a logout, an expiry, a switch of account or a role taken away ends the stream. */
int users_session_check(struct app *app, const char *token_hash, int64_t account_id, int64_t now);
/* Whether csrf is the CSRF token of the session token `token` (constant time). */
bool users_csrf_ok(const char *token, const char *csrf);
/* Ends the session of this token. ERR_NOTFOUND if there was none. */
int users_logout(struct app *app, const char *token);
/* Points the session at account_ext, one of its user's accounts. ERR_NOTFOUND (the user holds
 * no role there: nothing changes). out: *us updated. */
int users_switch(struct app *app, struct users_session *us, const char *account_ext, int64_t now);
/* Calls fn for each account the user holds a role in (st_membership rows, by account id). */
int users_memberships(struct app *app, int64_t user_id, store_membership_fn fn, void *ctx);
/* The account's audit entries with id < before_id, newest first, at most max. */
int users_audit_list(struct app *app, int64_t account_id, int64_t before_id, size_t max,
                     store_audit_fn fn, void *ctx);
/* Writes an audit entry for the session's account (actor: the user's email). */
int users_audit(struct app *app, const struct users_session *us, const char *action,
                const char *subject, const char *detail, int64_t now);

#endif
