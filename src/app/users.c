/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The dashboard's users service: see users.h. Passwords use OpenSSL's scrypt; tokens come from
 * the kernel (base/ids.h) and are stored as SHA-256 (as API keys are). */
#include "base/prelude.h"
#include "app/users.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "base/ids.h"
#include "base/log.h"
#include "app/accounts.h"
#include "app/app.h"
#include "app/ratelimit.h"
#include "store/store.h"

/* ==== passwords ============================================================================== */

#define KDF_LOG2N 15 /* N = 32768: 32 MiB and tens of ms per hash */
#define KDF_R 8
#define KDF_P 1
#define KDF_SALT 16
#define KDF_KEY 32
#define KDF_MAXMEM ((uint64_t)256 << 20)

/* Keeps a hash from the store from asking for more than ~256 MiB or ~1 s. */
static bool kdf_params_ok(long log2n, long r, long p)
{
    return log2n >= 10 && log2n <= 20 && r >= 1 && r <= 16 && p >= 1 && p <= 4 &&
           ((uint64_t)128 << log2n) * (uint64_t)r <= KDF_MAXMEM / 2;
}

static int kdf(const char *pw, size_t len, const unsigned char *salt, size_t salt_len, long log2n,
               long r, long p, unsigned char key[KDF_KEY])
{
    if (EVP_PBE_scrypt(pw, len, salt, salt_len, (uint64_t)1 << log2n, (uint64_t)r, (uint64_t)p,
                       KDF_MAXMEM, key, KDF_KEY) != 1)
        return ERR_NOMEM;
    return ERR_OK;
}

int users_password_hash(const char *pw, size_t len, char out[STORE_PWHASH_MAX])
{
    if (!access_password_ok(pw, len))
        return ERR_INVALID;
    unsigned char salt[KDF_SALT], key[KDF_KEY];
    if (RAND_bytes(salt, sizeof(salt)) != 1)
        return ERR_NOMEM;
    int rc = kdf(pw, len, salt, sizeof(salt), KDF_LOG2N, KDF_R, KDF_P, key);
    if (rc)
        return rc;
    unsigned char salt64[32], key64[48];
    EVP_EncodeBlock(salt64, salt, sizeof(salt));
    EVP_EncodeBlock(key64, key, sizeof(key));
    OPENSSL_cleanse(key, sizeof(key));
    snprintf(out, STORE_PWHASH_MAX, "scrypt$%d$%d$%d$%s$%s", KDF_LOG2N, KDF_R, KDF_P,
             (const char *)salt64, (const char *)key64);
    return ERR_OK;
}

/* Reads "NUM$" at *p into *v. */
static bool take_num(const char **p, long *v)
{
    char *end;
    *v = strtol(*p, &end, 10);
    if (end == *p || *end != '$')
        return false;
    *p = end + 1;
    return true;
}

/* Decodes base64 text of known decoded size want (with padding) into out. */
static bool take_b64(const char *s, size_t n, unsigned char *out, size_t want)
{
    unsigned char tmp[64];
    if (n == 0 || n > 4 * ((want + 2) / 3) || n % 4 != 0)
        return false;
    int got = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
    size_t pad = (s[n - 1] == '=') + (s[n - 2] == '=');
    if (got < 0 || (size_t)got - pad != want)
        return false;
    memcpy(out, tmp, want);
    return true;
}

bool users_password_verify(const char *pw, size_t len, const char *stored)
{
    long log2n, r, p;
    const char *s = stored;
    if (!pw || !stored || strncmp(s, "scrypt$", 7) != 0)
        return false;
    s += 7;
    if (!take_num(&s, &log2n) || !take_num(&s, &r) || !take_num(&s, &p) ||
        !kdf_params_ok(log2n, r, p))
        return false;
    const char *dollar = strchr(s, '$');
    unsigned char salt[KDF_SALT], want[KDF_KEY], got[KDF_KEY];
    if (!dollar || !take_b64(s, (size_t)(dollar - s), salt, sizeof(salt)) ||
        !take_b64(dollar + 1, strlen(dollar + 1), want, sizeof(want)))
        return false;
    if (len > ACCESS_PASSWORD_MAX || kdf(pw, len, salt, sizeof(salt), log2n, r, p, got))
        return false;
    bool ok = CRYPTO_memcmp(got, want, sizeof(got)) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    return ok;
}

/* ==== users and roles ======================================================================== */

static void audit(struct store *s, int64_t account_id, const char *actor, const char *action,
                  const char *subject, const char *detail, int64_t now)
{
    struct st_audit a = {.account_id = account_id, .at = now};
    snprintf(a.actor, sizeof(a.actor), "%s", actor);
    snprintf(a.action, sizeof(a.action), "%s", action);
    snprintf(a.subject, sizeof(a.subject), "%s", subject);
    snprintf(a.detail, sizeof(a.detail), "%s", detail);
    if (store_audit_add(s, &a) != ERR_OK)
        log_error("users", "cannot write the audit entry for %s", action);
}

static int bad_email(struct errbuf *eb)
{
    return errf(eb, ERR_INVALID, "email", "not an email address");
}

static int bad_password(struct errbuf *eb)
{
    return errf(eb, ERR_INVALID, "password",
                "a password takes %d to %d bytes on one line, no NUL byte", ACCESS_PASSWORD_MIN,
                ACCESS_PASSWORD_MAX);
}

/* Finds or creates the user (in the open transaction). */
static int user_ensure(struct store *s, const char *email, const char *pw, size_t pw_len,
                       int64_t now, struct st_user *u, bool *created, struct errbuf *eb)
{
    int rc = store_user_get(s, email, u);
    *created = false;
    if (rc != ERR_NOTFOUND)
        return rc ? errf(eb, rc, NULL, "cannot read user") : ERR_OK;
    if (!pw)
        return errf(eb, ERR_INVALID, "password", "a new user needs a password");
    *u = (struct st_user){0};
    snprintf(u->email, sizeof(u->email), "%s", email);
    rc = users_password_hash(pw, pw_len, u->password_hash);
    if (rc)
        return rc == ERR_INVALID ? bad_password(eb) : errf(eb, rc, NULL, "cannot hash password");
    rc = store_user_create(s, u, now);
    *created = rc == ERR_OK;
    return rc ? errf(eb, rc, NULL, "cannot create user") : ERR_OK;
}

int users_add(struct store *s, const char *email, const char *account_ext, const char *role,
              const char *pw, size_t pw_len, const char *actor, int64_t now, bool *created,
              struct errbuf *eb)
{
    char norm[STORE_EMAIL_MAX];
    if (!access_email_normalize(email, norm, sizeof(norm)))
        return bad_email(eb);
    if (access_role_parse(role) == ACCESS_NONE)
        return errf(eb, ERR_INVALID, "role", "a role is owner, admin, analyst or viewer");
    if (pw && !access_password_ok(pw, pw_len))
        return bad_password(eb);
    struct st_account a;
    int rc = store_account_get(s, account_ext, &a);
    if (rc)
        return errf(eb, rc, "account", rc == ERR_NOTFOUND ? "no account '%s'" : "cannot read '%s'",
                    account_ext);
    if (store_begin(s) != ERR_OK)
        return errf(eb, ERR_BACKEND, NULL, "cannot start a transaction");
    struct st_user u;
    bool is_new = false;
    rc = user_ensure(s, norm, pw, pw_len, now, &u, &is_new, eb);
    if (rc == ERR_OK)
        rc = store_membership_set(s, u.id, a.id, role, now);
    if (rc == ERR_OK) {
        char detail[64];
        snprintf(detail, sizeof(detail), "role %s%s", role, is_new ? ", new user" : "");
        audit(s, a.id, actor, "user.add", norm, detail, now);
        rc = store_commit(s);
    }
    if (rc) {
        store_rollback(s);
        return eb && eb->msg[0] ? rc : errf(eb, rc, NULL, "cannot add user");
    }
    if (created)
        *created = is_new;
    return ERR_OK;
}

/* The user named by email (normalised). */
static int find_user(struct store *s, const char *email, struct st_user *u, struct errbuf *eb)
{
    char norm[STORE_EMAIL_MAX];
    if (!access_email_normalize(email, norm, sizeof(norm)))
        return bad_email(eb);
    int rc = store_user_get(s, norm, u);
    if (rc)
        return errf(eb, rc, "email", rc == ERR_NOTFOUND ? "no user '%s'" : "cannot read '%s'",
                    norm);
    return ERR_OK;
}

int users_set_password(struct store *s, const char *email, const char *pw, size_t pw_len,
                       const char *actor, int64_t now, struct errbuf *eb)
{
    struct st_user u;
    int rc = find_user(s, email, &u, eb);
    if (rc)
        return rc;
    char hash[STORE_PWHASH_MAX];
    rc = users_password_hash(pw, pw_len, hash);
    if (rc)
        return rc == ERR_INVALID ? bad_password(eb) : errf(eb, rc, NULL, "cannot hash password");
    if (store_begin(s) != ERR_OK)
        return errf(eb, ERR_BACKEND, NULL, "cannot start a transaction");
    int64_t ended = 0;
    rc = store_user_set_password(s, u.id, hash, now);
    if (rc == ERR_OK) /* whoever knew the old password is logged out */
        rc = store_app_session_delete_user(s, u.id, &ended);
    if (rc == ERR_OK) {
        char detail[64];
        snprintf(detail, sizeof(detail), "%" PRId64 " session(s) ended", ended);
        audit(s, 0, actor, "user.password", u.email, detail, now);
        rc = store_commit(s);
    }
    if (rc) {
        store_rollback(s);
        return errf(eb, rc, NULL, "cannot set the password");
    }
    return ERR_OK;
}

int users_remove(struct store *s, const char *email, const char *account_ext, const char *actor,
                 int64_t now, struct errbuf *eb)
{
    struct st_user u;
    int rc = find_user(s, email, &u, eb);
    if (rc)
        return rc;
    struct st_account a = {0};
    rc = account_ext ? store_account_get(s, account_ext, &a) : ERR_OK;
    if (rc)
        return errf(eb, rc, "account", "no account '%s'", account_ext);
    if (store_begin(s) != ERR_OK)
        return errf(eb, ERR_BACKEND, NULL, "cannot start a transaction");
    rc = account_ext ? store_membership_delete(s, u.id, a.id) : store_user_delete(s, u.id);
    if (rc == ERR_OK) {
        audit(s, a.id, actor, "user.remove", u.email, account_ext ? "role removed" : "user deleted",
              now);
        rc = store_commit(s);
    }
    if (rc) {
        store_rollback(s);
        return errf(eb, rc, NULL,
                    rc == ERR_NOTFOUND ? "'%s' holds no role in that account"
                                       : "cannot remove '%s'",
                    u.email);
    }
    return ERR_OK;
}

/* ==== users and roles from the dashboard ====================================================== */

int users_members(struct app *app, int64_t account_id, store_membership_fn fn, void *ctx)
{
    return store_membership_list(app->store, 0, account_id, fn, ctx);
}

struct owners {
    const char *email; /* normalised */
    int n;             /* owners of the account */
    bool target_owner; /* email is one of them */
};

static int count_owner(void *ctx, const struct st_membership *m)
{
    struct owners *o = ctx;
    if (access_role_parse(m->role) == ACCESS_OWNER) {
        o->n++;
        o->target_owner |= strcmp(m->email, o->email) == 0;
    }
    return 0;
}

int users_member_set(struct app *app, const struct users_session *us, const char *email,
                     const char *role, const char *pw, size_t pw_len, int64_t now, bool *created,
                     struct errbuf *eb)
{
    char norm[STORE_EMAIL_MAX];
    if (!access_email_normalize(email, norm, sizeof(norm)))
        return bad_email(eb);
    struct owners o = {norm, 0, false};
    int rc = store_membership_list(app->store, 0, us->account.id, count_owner, &o);
    if (rc)
        return errf(eb, rc, NULL, "cannot read the account's users");
    bool demotes = !role || access_role_parse(role) != ACCESS_OWNER;
    if (o.target_owner && o.n == 1 && demotes)
        return errf(eb, ERR_CONFLICT, "email",
                    "'%s' is the account's only owner: make someone else owner first", norm);
    if (!role)
        return users_remove(app->store, norm, us->account.ext_id, us->email, now, eb);
    return users_add(app->store, norm, us->account.ext_id, role, pw, pw_len, us->email, now,
                     created, eb);
}

/* ==== sessions =============================================================================== */

/* The CSRF token of a session token: hex SHA-256 over a label and the token, so it reveals
 * nothing of the token and needs no storage. */
static void csrf_of(const char *token, char out[USERS_CSRF_MAX])
{
    char in[16 + USERS_TOKEN_MAX];
    int n = snprintf(in, sizeof(in), "opendni-csrf:%s", token);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)in, n > 0 ? (size_t)n : 0, md);
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

bool users_csrf_ok(const char *token, const char *csrf)
{
    char want[USERS_CSRF_MAX];
    if (!token || !csrf || strlen(csrf) != USERS_CSRF_MAX - 1)
        return false;
    csrf_of(token, want);
    return CRYPTO_memcmp(want, csrf, USERS_CSRF_MAX - 1) == 0;
}

static int64_t idle_ms(const struct app *app)
{
    return (app->cfg.session_idle_s > 0 ? app->cfg.session_idle_s : USERS_IDLE_S_DEFAULT) * 1000;
}

static int64_t max_ms(const struct app *app)
{
    return (app->cfg.session_max_s > 0 ? app->cfg.session_max_s : USERS_MAX_S_DEFAULT) * 1000;
}

static int first_account(void *ctx, const struct st_membership *m)
{
    *(int64_t *)ctx = m->account_id;
    return 1;
}

/* A hash no password matches, checked for unknown emails so they cost what known ones do. */
static const char dummy_hash[] = "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
                                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

static int check_limits(struct app *app, const char *email, const char *client_addr, int64_t now,
                        int *retry_after_s, struct errbuf *eb)
{
    char key[STORE_EMAIL_MAX + 4];
    snprintf(key, sizeof(key), "a:%s", client_addr ? client_addr : "");
    bool ok = ratelimit_take(app->login_addr_limit, key, now, retry_after_s);
    if (ok) {
        snprintf(key, sizeof(key), "e:%s", email);
        ok = ratelimit_take(app->login_email_limit, key, now, retry_after_s);
    }
    return ok ? ERR_OK : errf(eb, ERR_LIMITED, NULL, "too many login attempts; try again later");
}

int users_login(struct app *app, const char *email, const char *pw, size_t pw_len,
                const char *client_addr, int64_t now, struct users_login *out, int *retry_after_s,
                struct errbuf *eb)
{
    char norm[STORE_EMAIL_MAX];
    if (!access_email_normalize(email, norm, sizeof(norm)))
        snprintf(norm, sizeof(norm), "%.64s", email ? email : ""); /* still limited, and wrong */
    int rc = check_limits(app, norm, client_addr, now, retry_after_s, eb);
    if (rc)
        return rc;
    struct st_user u;
    rc = store_user_get(app->store, norm, &u);
    if (rc && rc != ERR_NOTFOUND)
        return errf(eb, rc, NULL, "cannot read user");
    bool ok = users_password_verify(pw, pw_len, rc ? dummy_hash : u.password_hash) && rc == ERR_OK;
    int64_t account_id = 0;
    if (ok && store_membership_list(app->store, u.id, 0, first_account, &account_id) != ERR_OK)
        return errf(eb, ERR_BACKEND, NULL, "cannot read memberships");
    if (!ok || !account_id)
        return errf(eb, ERR_AUTH, NULL, "wrong email or password");
    store_app_session_purge(app->store, now - idle_ms(app), now, NULL);
    *out = (struct users_login){0};
    id_new("ods_", 52, out->token, sizeof(out->token)); /* 52 x 5 = 260 random bits */
    struct st_app_session *ss = &out->session.row;
    accounts_key_hash(out->token, ss->token_hash);
    ss->user_id = u.id;
    ss->account_id = account_id;
    ss->created_at = ss->last_seen_at = now;
    ss->expires_at = now + max_ms(app);
    rc = store_app_session_create(app->store, ss);
    if (rc)
        return errf(eb, rc, NULL, "cannot create the session");
    return users_session(app, out->token, now, &out->session)
               ? errf(eb, ERR_BACKEND, NULL, "session lost at once")
               : ERR_OK;
}

#define TOUCH_EVERY_MS 60000 /* last activity is written at most this often */

int users_session(struct app *app, const char *token, int64_t now, struct users_session *out)
{
    if (!token || !*token || strlen(token) >= USERS_TOKEN_MAX)
        return ERR_AUTH;
    char hash[STORE_TOKEN_HASH_MAX];
    accounts_key_hash(token, hash);
    *out = (struct users_session){0};
    int rc = store_app_session_get(app->store, hash, &out->row);
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_AUTH : rc;
    struct st_app_session *ss = &out->row;
    if (!access_session_alive(ss->created_at, ss->last_seen_at, now, idle_ms(app), max_ms(app)) ||
        ss->expires_at <= now) {
        store_app_session_delete(app->store, hash);
        return ERR_AUTH;
    }
    out->role = access_role_parse(ss->role);
    if (out->role == ACCESS_NONE)
        return ERR_AUTH; /* the role in this account was taken away */
    struct st_user u;
    rc = store_user_by_id(app->store, ss->user_id, &u);
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_AUTH : rc;
    snprintf(out->email, sizeof(out->email), "%s", u.email);
    rc = store_account_by_id(app->store, ss->account_id, &out->account);
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_AUTH : rc;
    csrf_of(token, out->csrf);
    if (now - ss->last_seen_at >= TOUCH_EVERY_MS &&
        store_app_session_update(app->store, ss->id, ss->account_id, now) == ERR_OK)
        ss->last_seen_at = now;
    return ERR_OK;
}

int users_session_check(struct app *app, const char *token_hash, int64_t account_id, int64_t now)
{
    struct st_app_session ss;
    int rc = store_app_session_get(app->store, token_hash, &ss);
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_AUTH : rc;
    if (!access_session_alive(ss.created_at, ss.last_seen_at, now, idle_ms(app), max_ms(app)) ||
        ss.expires_at <= now || ss.account_id != account_id ||
        access_role_parse(ss.role) == ACCESS_NONE)
        return ERR_AUTH;
    return ERR_OK;
}

int users_logout(struct app *app, const char *token)
{
    char hash[STORE_TOKEN_HASH_MAX];
    accounts_key_hash(token, hash);
    return store_app_session_delete(app->store, hash);
}

struct find_account {
    const char *ext;
    struct st_membership m;
    bool found;
};

static int match_account(void *ctx, const struct st_membership *m)
{
    struct find_account *f = ctx;
    if (strcmp(m->account_ext, f->ext) != 0)
        return 0;
    f->m = *m;
    f->found = true;
    return 1;
}

int users_switch(struct app *app, struct users_session *us, const char *account_ext, int64_t now)
{
    struct find_account f = {.ext = account_ext};
    int rc = store_membership_list(app->store, us->row.user_id, 0, match_account, &f);
    if (rc)
        return rc;
    if (!f.found)
        return ERR_NOTFOUND;
    struct st_account a;
    rc = store_account_by_id(app->store, f.m.account_id, &a);
    if (rc == ERR_OK)
        rc = store_app_session_update(app->store, us->row.id, f.m.account_id, now);
    if (rc)
        return rc;
    us->account = a;
    us->row.account_id = f.m.account_id;
    us->row.last_seen_at = now;
    snprintf(us->row.role, sizeof(us->row.role), "%s", f.m.role);
    us->role = access_role_parse(f.m.role);
    return ERR_OK;
}

int users_audit(struct app *app, const struct users_session *us, const char *action,
                const char *subject, const char *detail, int64_t now)
{
    struct st_audit a = {.account_id = us->row.account_id, .at = now};
    snprintf(a.actor, sizeof(a.actor), "%s", us->email);
    snprintf(a.action, sizeof(a.action), "%s", action);
    snprintf(a.subject, sizeof(a.subject), "%s", subject);
    snprintf(a.detail, sizeof(a.detail), "%s", detail);
    return store_audit_add(app->store, &a);
}

int users_memberships(struct app *app, int64_t user_id, store_membership_fn fn, void *ctx)
{
    return store_membership_list(app->store, user_id, 0, fn, ctx);
}

int users_audit_list(struct app *app, int64_t account_id, int64_t before_id, size_t max,
                     store_audit_fn fn, void *ctx)
{
    return store_audit_list(app->store, account_id, before_id, max, fn, ctx);
}
