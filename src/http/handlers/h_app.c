/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The operator dashboard's transport (docs/dashboard.md): its page and bundle under /app/ with a
 * strict Content-Security-Policy, login and logout, the session cookie (HttpOnly,
 * SameSite=Strict, Secure behind an https public URL), the session check the router runs for
 * routes a dashboard session may call (role, CSRF token, same-origin), GET /v1/app/me, switching
 * accounts, and the audit log. The use cases are app/users.h; nothing here touches the store. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/json.h"
#include "base/timefmt.h"
#include "app/admin.h"
#include "app/app.h"
#include "app/calls.h"
#include "app/users.h"
#include "telephony/form.h"

#define COOKIE "opendni_sid"
#define CSRF_HEADER "X-CSRF-Token"
#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "                  \
    "frame-ancestors 'none'"

/* ==== the session check ======================================================================= */

/* The session token of the request's cookie into out; false without one. */
static bool cookie_token(const struct http_req *req, char *out, size_t cap)
{
    const char *h = http_req_header(req, "Cookie");
    const size_t name_len = strlen(COOKIE);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        size_t len = strcspn(h, ";");
        if (len > name_len && strncmp(h, COOKIE "=", name_len + 1) == 0) {
            size_t vlen = len - name_len - 1;
            if (vlen == 0 || vlen >= cap)
                return false;
            memcpy(out, h + name_len + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        h += len;
    }
    return false;
}

/* The request comes from a page of this server: Sec-Fetch-Site (sent by current browsers) says
 * same-origin, or else the Origin header is the public URL. A request with neither is not a
 * browser's cross-site request (browsers send Origin on every cross-origin POST). */
static bool same_origin(const struct http_req *req)
{
    const char *site = http_req_header(req, "Sec-Fetch-Site");
    if (site)
        return strcmp(site, "same-origin") == 0;
    return !req->h_origin || strcmp(req->h_origin, req->app->public_url) == 0;
}

static bool is_read(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

int h_app_authenticate(struct http_req *req, enum access_role needed)
{
    char token[USERS_TOKEN_MAX];
    if (!cookie_token(req, token, sizeof(token)))
        return errf(&req->eb, ERR_AUTH, NULL, "log in first (or send a Bearer API key)");
    int rc = users_session(req->app, token, time_now_ms(), &req->session);
    if (rc == ERR_AUTH)
        return errf(&req->eb, ERR_AUTH, NULL, "the session has ended; log in again");
    if (rc)
        return errf(&req->eb, rc, NULL, "cannot check the session");
    if (!is_read(req->method)) {
        if (!same_origin(req))
            return errf(&req->eb, ERR_FORBIDDEN, NULL, "refused: the request is cross-origin");
        if (!users_csrf_ok(token, http_req_header(req, CSRF_HEADER)))
            return errf(&req->eb, ERR_FORBIDDEN, NULL,
                        "refused: missing or wrong " CSRF_HEADER " header");
    }
    if (!access_allows(req->session.role, needed))
        return errf(&req->eb, ERR_FORBIDDEN, NULL, "the %s role may not do this (it needs %s)",
                    access_role_name(req->session.role), access_role_name(needed));
    req->account = req->session.account;
    /* re-checkable by GET /v1/stream (admin_credential_check): the stored hash, not the token */
    snprintf(req->credential, sizeof(req->credential), ADMIN_SESSION_CRED "%s",
             req->session.row.token_hash);
    return ERR_OK;
}

void h_app_audit(struct http_req *req)
{
    if (!req->session.row.id || is_read(req->method))
        return;
    char action[48];
    snprintf(action, sizeof(action), "%s %s", req->method, req->route ? req->route : "?");
    users_audit(req->app, &req->session, action, req->path, req->audit_detail, time_now_ms());
}

void h_app_redact_call(const struct http_req *req, json_t *call)
{
    if (!req->session.row.id || access_allows(req->session.role, ACCESS_ANALYST))
        return;
    calls_mask_json(call); /* viewers: no caller number and no money */
}

/* ==== the page ================================================================================ */

int h_app_page(struct http_req *req, struct http_resp *resp)
{
    http_header(resp, "Content-Security-Policy", "%s", CSP);
    http_header(resp, "Referrer-Policy", "same-origin");
    return h_asset(req, resp);
}

/* ==== me, login, logout ======================================================================= */

static json_t *rights_json(enum access_role r)
{
    return json_pack("{s:b,s:b,s:b,s:b}", "read", access_allows(r, ACCESS_VIEWER), "analyse",
                     access_allows(r, ACCESS_ANALYST), "manage", access_allows(r, ACCESS_ADMIN),
                     "users", access_allows(r, ACCESS_OWNER));
}

static int add_account(void *ctx, const struct st_membership *m)
{
    json_array_append_new(ctx, json_pack("{s:s,s:s,s:s}", "id", m->account_ext, "name",
                                         m->account_name, "role", m->role));
    return 0;
}

/* {"user","account","role","rights","accounts","csrf","public_url"} for the session (the URL
 * for the tracking snippet on the Settings screen). */
static int me_json(struct http_req *req, const struct users_session *us, struct http_resp *resp)
{
    json_t *accounts = json_array();
    int rc = users_memberships(req->app, us->row.user_id, add_account, accounts);
    if (rc) {
        json_decref(accounts);
        return errf(&req->eb, rc, NULL, "cannot list the user's accounts");
    }
    resp->content_type = "application/json";
    http_header(resp, "Cache-Control", "no-store");
    return json_dump_take(json_pack("{s:{s:s},s:{s:s,s:s},s:s,s:o,s:o,s:s,s:s}", "user", "email",
                                    us->email, "account", "id", us->account.ext_id, "name",
                                    us->account.name, "role", access_role_name(us->role), "rights",
                                    rights_json(us->role), "accounts", accounts, "csrf", us->csrf,
                                    "public_url", req->app->public_url),
                          &resp->body);
}

int h_app_me(struct http_req *req, struct http_resp *resp)
{
    return me_json(req, &req->session, resp);
}

/* Email and password from a JSON or a form body. The strings are copied into out. */
struct credentials {
    char email[STORE_EMAIL_MAX];
    char password[ACCESS_PASSWORD_MAX + 1];
    size_t password_len;
    bool is_form;
};

static int copy_credentials(struct http_req *req, const char *email, const char *pw,
                            struct credentials *c)
{
    if (!email || !pw || strlen(email) >= sizeof(c->email) || strlen(pw) >= sizeof(c->password))
        return errf(&req->eb, ERR_INVALID, email ? "password" : "email",
                    "send an email and a password");
    snprintf(c->email, sizeof(c->email), "%s", email);
    c->password_len = strlen(pw);
    memcpy(c->password, pw, c->password_len + 1);
    return ERR_OK;
}

static int parse_credentials(struct http_req *req, struct credentials *c)
{
    const char *type = req->h_content_type ? req->h_content_type : "";
    if (strncmp(type, "application/x-www-form-urlencoded", 33) == 0) {
        struct form f;
        c->is_form = true;
        if (form_parse(req->body.data, req->body.len, &f) != ERR_OK)
            return errf(&req->eb, ERR_INVALID, NULL, "malformed form body");
        int rc = copy_credentials(req, form_get(&f, "email"), form_get(&f, "password"), c);
        form_release(&f);
        return rc;
    }
    json_t *o = NULL;
    const char *email = NULL, *pw = NULL;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "email", &email, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "password", &pw, &req->eb);
    if (rc == ERR_OK)
        rc = copy_credentials(req, email, pw, c);
    json_decref(o);
    return rc;
}

static bool secure_cookie(const struct http_req *req)
{
    return strncmp(req->app->public_url, "https://", 8) == 0;
}

/* A plain HTML form (no script) gets a redirect back to the app instead of JSON. */
static int redirect(struct http_resp *resp, const char *to)
{
    resp->status = 303;
    http_header(resp, "Location", "%s", to);
    return ERR_OK;
}

int h_app_login(struct http_req *req, struct http_resp *resp)
{
    if (!same_origin(req))
        return errf(&req->eb, ERR_FORBIDDEN, NULL, "refused: the request is cross-origin");
    struct credentials c = {0};
    int rc = parse_credentials(req, &c);
    if (rc)
        return rc;
    struct users_login in;
    rc = users_login(req->app, c.email, c.password, c.password_len, req->client_addr, time_now_ms(),
                     &in, &req->retry_after_s, &req->eb);
    memset(c.password, 0, sizeof(c.password));
    if (rc == ERR_AUTH && c.is_form)
        return redirect(resp, "/app/?login=failed");
    if (rc)
        return rc;
    http_header(resp, "Set-Cookie", COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
                in.token, req->app->cfg.session_max_s, secure_cookie(req) ? "; Secure" : "");
    if (c.is_form)
        return redirect(resp, "/app/");
    return me_json(req, &in.session, resp);
}

int h_app_logout(struct http_req *req, struct http_resp *resp)
{
    char token[USERS_TOKEN_MAX];
    if (cookie_token(req, token, sizeof(token)))
        users_logout(req->app, token);
    http_header(resp, "Set-Cookie", COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                secure_cookie(req) ? "; Secure" : "");
    http_header(resp, "Cache-Control", "no-store");
    resp->status = 204;
    return ERR_OK;
}

/* POST /v1/app/account {"account":"acc_…"}: look at another account the user holds a role in. */
int h_app_switch(struct http_req *req, struct http_resp *resp)
{
    json_t *o = NULL;
    const char *id = NULL;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "account", &id, &req->eb);
    if (rc == ERR_OK && !id)
        rc = errf(&req->eb, ERR_INVALID, "account", "'account' is required");
    if (rc == ERR_OK) {
        rc = users_switch(req->app, &req->session, id, time_now_ms());
        if (rc == ERR_NOTFOUND)
            errf(&req->eb, rc, "account", "you hold no role in account '%s'", id);
    }
    json_decref(o);
    if (rc)
        return rc;
    req->account = req->session.account;
    return me_json(req, &req->session, resp);
}

static int add_audit(void *ctx, const struct st_audit *a)
{
    json_array_append_new(ctx, json_pack("{s:I,s:s,s:s,s:s,s:s,s:o}", "id", (json_int_t)a->id,
                                         "actor", a->actor, "action", a->action, "subject",
                                         a->subject, "detail", a->detail, "at", json_time(a->at)));
    return 0;
}

/* GET /v1/app/audit?before=ID: the account's audit log, newest first, 100 a page (owners). */
int h_app_audit_list(struct http_req *req, struct http_resp *resp)
{
    char v[32];
    long long before = INT64_MAX;
    if (http_query(req, "before", v, sizeof(v)) && v[0]) {
        char *end;
        before = strtoll(v, &end, 10);
        if (*end || before < 1)
            return errf(&req->eb, ERR_INVALID, "before", "'before' must be an entry id");
    }
    json_t *rows = json_array();
    int rc = users_audit_list(req->app, req->account.id, before, 100, add_audit, rows);
    if (rc) {
        json_decref(rows);
        return errf(&req->eb, rc, NULL, "cannot read the audit log");
    }
    resp->content_type = "application/json";
    return json_dump_take(json_pack("{s:o}", "entries", rows), &resp->body);
}
