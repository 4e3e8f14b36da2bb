/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The dashboard's Settings routes (docs/dashboard.md "Settings"), for a session of the account
 * it looks at: API keys (list, create — the key shown once —, revoke; admin+), allowed origins
 * (read viewer+, change admin+), provider credentials (write-only, shown masked; admin+), users
 * and roles (owner). Parse -> app/admin.h or app/users.h -> JSON. Every change is audited by the
 * router (h_app_audit); user changes are also written by app/users.c with their detail. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include <errno.h>

#include "base/json.h"
#include "base/timefmt.h"
#include "app/admin.h"
#include "app/app.h"
#include "app/users.h"

#define KEY_PREFIX "key_"

/* ---- API keys ---- */

static json_t *key_json(const struct st_api_key *k)
{
    char id[32], fp[9];
    snprintf(id, sizeof(id), KEY_PREFIX "%" PRId64, k->id);
    snprintf(fp, sizeof(fp), "%.8s", k->key_hash); /* tells keys apart; reveals nothing usable */
    return json_pack("{s:s,s:s,s:o,s:o}", "id", id, "fingerprint", fp, "created_at",
                     json_time(k->created_at), "revoked_at",
                     k->revoked_at ? json_time(k->revoked_at) : json_null());
}

static int add_key(void *ctx, const struct st_api_key *k)
{
    json_array_append_new(ctx, key_json(k));
    return 0;
}

/* GET /v1/app/keys → {"keys":[{"id","fingerprint","created_at","revoked_at"}]} */
int h_app_key_list(struct http_req *req, struct http_resp *resp)
{
    json_t *keys = json_array();
    int rc = admin_key_list(req->app, req->account.id, add_key, keys);
    if (rc) {
        json_decref(keys);
        return errf(&req->eb, rc, NULL, "cannot list the keys");
    }
    resp->content_type = "application/json";
    return json_dump_take(json_pack("{s:o}", "keys", keys), &resp->body);
}

/* POST /v1/app/keys (no body, or {}) → 201 the key's row plus "key": shown this once. */
int h_app_key_create(struct http_req *req, struct http_resp *resp)
{
    static const char *const keys[] = {NULL};
    json_t *o = NULL;
    if (req->body.len) {
        int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
        rc = rc ? rc : json_only_keys(o, keys, &req->eb);
        json_decref(o);
        if (rc)
            return rc;
    }
    char key[ADMIN_KEY_MAX];
    struct st_api_key k;
    int rc = admin_key_create(req->app, req->account.id, time_now_ms(), key, &k);
    if (rc)
        return errf(&req->eb, rc, NULL, "cannot create a key");
    json_t *v = key_json(&k);
    snprintf(req->audit_detail, sizeof(req->audit_detail), "key_%" PRId64 " (%.8s…)", k.id,
             k.key_hash);
    json_object_set_new(v, "key", json_string(key));
    resp->status = 201;
    resp->content_type = "application/json";
    http_header(resp, "Cache-Control", "no-store");
    return json_dump_take(v, &resp->body);
}

/* DELETE /v1/app/keys/{id} → 204; 404 for no such working key of this account. */
int h_app_key_revoke(struct http_req *req, struct http_resp *resp)
{
    const char *id = req->params[0];
    char *end = NULL;
    long long n = -1;
    if (strncmp(id, KEY_PREFIX, strlen(KEY_PREFIX)) == 0) {
        errno = 0;
        n = strtoll(id + strlen(KEY_PREFIX), &end, 10);
        if (errno || !end || *end || end == id + strlen(KEY_PREFIX))
            n = -1;
    }
    int rc = n > 0 ? admin_key_revoke(req->app, req->account.id, n, time_now_ms()) : ERR_NOTFOUND;
    if (rc)
        return errf(&req->eb, rc, NULL,
                    rc == ERR_NOTFOUND ? "no working key '%s'" : "cannot revoke '%s'", id);
    snprintf(req->audit_detail, sizeof(req->audit_detail), "%s", id);
    resp->status = 204;
    return ERR_OK;
}

/* ---- allowed origins ---- */

static int add_origin(void *ctx, const char *origin)
{
    json_array_append_new(ctx, json_string(origin));
    return 0;
}

static int origins_resp(struct http_req *req, struct http_resp *resp)
{
    json_t *arr = json_array();
    int rc = admin_origins(req->app, req->account.id, add_origin, arr);
    if (rc) {
        json_decref(arr);
        return errf(&req->eb, rc, NULL, "cannot list the origins");
    }
    resp->content_type = "application/json";
    return json_dump_take(json_pack("{s:o}", "origins", arr), &resp->body);
}

/* GET /v1/app/origins → {"origins":[…]} */
int h_app_origin_list(struct http_req *req, struct http_resp *resp)
{
    return origins_resp(req, resp);
}

/* POST /v1/app/origins {"origin":"https://www.example.com"} → 201 {"origins":[…]} */
int h_app_origin_add(struct http_req *req, struct http_resp *resp)
{
    static const char *const keys[] = {"origin", NULL};
    json_t *o = NULL;
    const char *origin = NULL;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    rc = rc ? rc : json_only_keys(o, keys, &req->eb);
    rc = rc ? rc : json_get_str(o, "origin", &origin, &req->eb);
    if (rc == ERR_OK && !origin)
        rc = errf(&req->eb, ERR_INVALID, "origin", "'origin' is required");
    rc = rc ? rc : admin_origin_add(req->app, req->account.id, origin, &req->eb);
    if (rc == ERR_OK) /* origin is o's: copied before o goes */
        snprintf(req->audit_detail, sizeof(req->audit_detail), "%.200s", origin);
    json_decref(o);
    if (rc)
        return req->eb.msg[0] ? rc : errf(&req->eb, rc, NULL, "cannot add the origin");
    resp->status = 201;
    return origins_resp(req, resp);
}

/* DELETE /v1/app/origins?origin=… → 204; 404 when the account does not allow it. */
int h_app_origin_delete(struct http_req *req, struct http_resp *resp)
{
    char origin[300];
    if (!http_query(req, "origin", origin, sizeof(origin)) || !origin[0])
        return errf(&req->eb, ERR_INVALID, "origin", "'origin' is required");
    int rc = admin_origin_delete(req->app, req->account.id, origin);
    if (rc)
        return errf(&req->eb, rc, "origin",
                    rc == ERR_NOTFOUND ? "the account does not allow that origin"
                                       : "cannot remove the origin");
    snprintf(req->audit_detail, sizeof(req->audit_detail), "%.200s", origin);
    resp->status = 204;
    return ERR_OK;
}

/* ---- provider credentials ---- */

static const char *const PROVIDERS[] = {"twilio", "signalwire", "telnyx"};

/* A secret as the dashboard shows it: never the value, only that one is stored and its last
 * four characters (to tell two apart), and only when it is long enough to keep the rest. */
static json_t *masked_secret(const char *secret)
{
    size_t n = strlen(secret);
    if (!n)
        return json_null();
    char m[32]; /* each • is 3 bytes of UTF-8 */
    snprintf(m, sizeof(m), "••••%s", n >= 16 ? secret + n - 4 : "");
    return json_string(m);
}

static json_t *cred_json(const struct st_provider_cred *c)
{
    return json_pack("{s:s,s:o,s:o,s:o}", "provider", c->provider, "account_sid",
                     json_str_or_null(c->account_sid), "secret", masked_secret(c->secret),
                     "updated_at", json_time(c->updated_at));
}

static int add_cred(void *ctx, const struct st_provider_cred *c)
{
    json_array_append_new(ctx, cred_json(c));
    return 0;
}

static int providers_resp(struct http_req *req, struct http_resp *resp)
{
    json_t *arr = json_array();
    int rc = admin_provider_list(req->app, req->account.id, add_cred, arr);
    if (rc) {
        json_decref(arr);
        return errf(&req->eb, rc, NULL,
                    rc == ERR_UNSUPPORTED ? "provider secrets need the server's secrets key"
                                          : "cannot read the provider credentials");
    }
    resp->content_type = "application/json";
    http_header(resp, "Cache-Control", "no-store");
    return json_dump_take(json_pack("{s:o}", "providers", arr), &resp->body);
}

/* GET /v1/app/providers →
 * {"providers":[{"provider","account_sid","secret":"••••abcd","updated_at"}]} */
int h_app_provider_list(struct http_req *req, struct http_resp *resp)
{
    return providers_resp(req, resp);
}

static int provider_body(struct http_req *req, json_t *o, const char **provider, const char **sid,
                         const char **secret)
{
    static const char *const keys[] = {"provider", "account_sid", "secret", NULL};
    int rc = json_only_keys(o, keys, &req->eb);
    rc = rc ? rc : json_get_str(o, "provider", provider, &req->eb);
    rc = rc ? rc : json_get_str(o, "account_sid", sid, &req->eb);
    rc = rc ? rc : json_get_str(o, "secret", secret, &req->eb);
    if (rc)
        return rc;
    bool known = false;
    for (size_t i = 0; *provider && i < ARRAY_SIZE(PROVIDERS); i++)
        known |= strcmp(*provider, PROVIDERS[i]) == 0;
    if (!known)
        return errf(&req->eb, ERR_INVALID, "provider",
                    "'provider' is twilio, signalwire or telnyx");
    if (*sid && (!**sid || strlen(*sid) >= STORE_PROVIDER_SID_MAX))
        return errf(&req->eb, ERR_INVALID, "account_sid", "'account_sid' takes 1 to %d bytes",
                    STORE_PROVIDER_SID_MAX - 1);
    if (*secret && (!**secret || strlen(*secret) >= STORE_SECRET_MAX))
        return errf(&req->eb, ERR_INVALID, "secret", "'secret' takes 1 to %d bytes",
                    STORE_SECRET_MAX - 1);
    if (!*sid && !*secret)
        return errf(&req->eb, ERR_INVALID, "secret", "give 'account_sid', 'secret' or both");
    return ERR_OK;
}

/* POST /v1/app/providers {"provider","account_sid"?,"secret"?} → 200 the list, masked. What is
 * not given stays as stored. */
int h_app_provider_set(struct http_req *req, struct http_resp *resp)
{
    json_t *o = NULL;
    const char *provider = NULL, *sid = NULL, *secret = NULL;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    rc = rc ? rc : provider_body(req, o, &provider, &sid, &secret);
    if (rc == ERR_OK) {
        /* never the secret: which provider, and what was replaced */
        snprintf(req->audit_detail, sizeof(req->audit_detail), "%s:%s%s", provider,
                 sid ? " account id" : "", secret ? " secret" : "");
        rc = admin_provider_set(req->app, req->account.id, provider, sid, secret, time_now_ms());
        if (rc)
            errf(&req->eb, rc, NULL,
                 rc == ERR_UNSUPPORTED ? "provider secrets need the server's secrets key "
                                         "(docs/telephony.md)"
                                       : "cannot store the credentials");
    }
    json_decref(o);
    return rc ? rc : providers_resp(req, resp);
}

/* ---- users and roles (owners) ---- */

static int add_member(void *ctx, const struct st_membership *m)
{
    json_array_append_new(ctx, json_pack("{s:s,s:s,s:o}", "email", m->email, "role", m->role,
                                         "since", json_time(m->created_at)));
    return 0;
}

/* GET /v1/app/users → {"users":[{"email","role","since"}]} */
int h_app_user_list(struct http_req *req, struct http_resp *resp)
{
    json_t *arr = json_array();
    int rc = users_members(req->app, req->account.id, add_member, arr);
    if (rc) {
        json_decref(arr);
        return errf(&req->eb, rc, NULL, "cannot list the users");
    }
    resp->content_type = "application/json";
    return json_dump_take(json_pack("{s:o}", "users", arr), &resp->body);
}

/* POST /v1/app/users {"email","role","password"?}: gives the user this role in the account
 * (a new user needs a password, 10 to 512 bytes; an existing one keeps theirs). 201 for a new
 * user, 200 otherwise, with {"email","role","created"}. 409 when it would leave no owner. */
int h_app_user_set(struct http_req *req, struct http_resp *resp)
{
    static const char *const keys[] = {"email", "role", "password", NULL};
    json_t *o = NULL;
    const char *email = NULL, *role = NULL, *pw = NULL;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    rc = rc ? rc : json_only_keys(o, keys, &req->eb);
    rc = rc ? rc : json_get_str(o, "email", &email, &req->eb);
    rc = rc ? rc : json_get_str(o, "role", &role, &req->eb);
    rc = rc ? rc : json_get_str(o, "password", &pw, &req->eb);
    if (rc == ERR_OK && (!email || !role))
        rc = errf(&req->eb, ERR_INVALID, email ? "role" : "email", "'%s' is required",
                  email ? "role" : "email");
    bool created = false;
    if (rc == ERR_OK)
        rc = users_member_set(req->app, &req->session, email, role, pw, pw ? strlen(pw) : 0,
                              time_now_ms(), &created, &req->eb);
    json_t *v =
        rc ? NULL : json_pack("{s:s,s:s,s:b}", "email", email, "role", role, "created", created);
    json_decref(o);
    if (rc)
        return rc;
    resp->status = created ? 201 : 200;
    resp->content_type = "application/json";
    return json_dump_take(v, &resp->body);
}

/* DELETE /v1/app/users?email=… → 204: the user's role in this account is taken away (their
 * sessions looking at it end at their next request). */
int h_app_user_remove(struct http_req *req, struct http_resp *resp)
{
    char email[STORE_EMAIL_MAX + 8];
    if (!http_query(req, "email", email, sizeof(email)) || !email[0])
        return errf(&req->eb, ERR_INVALID, "email", "'email' is required");
    int rc = users_member_set(req->app, &req->session, email, NULL, NULL, 0, time_now_ms(), NULL,
                              &req->eb);
    if (rc)
        return rc;
    resp->status = 204;
    return ERR_OK;
}
