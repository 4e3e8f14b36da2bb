/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The store's dispatch layer for provider credentials: store_provider_cred_* seal a secret
 * before the backend writes it and open it after the backend read it (store/secrets.h), so
 * every backend — SQLite now, PostgreSQL later — holds sealed values only and none has to know
 * about keys. Also the keys themselves (store_secrets_keys) and the re-sealing that `opendni
 * init` (clear rows of older versions) and `opendni secrets rotate` (a new key) run.
 * Webhook destinations' signing secrets are sealed the same way (the row's account and the label
 * "webhook" bound in): store_destination_add seals, the reads open.
 * Why here and not in the app layer: the CLI writes and reads secrets too (account set, call
 * simulate), without the app; one place under every caller cannot be bypassed. */
#include "base/prelude.h"
#include "store/store.h"

#include "base/log.h"
#include "base/xalloc.h"
#include "store/store_int.h"

#define DEST_LABEL "webhook"
#define NO_KEY_HINT "give --secrets-key-file FILE or set " SECRETS_ENV

void store_secrets_keys(struct store *s, const struct secrets_key *current,
                        const struct secrets_key *previous)
{
    s->n_keys = 0;
    if (current)
        s->keys[s->n_keys++] = *current;
    if (current && previous)
        s->keys[s->n_keys++] = *previous;
}

/* The configured key whose id sealed v, or NULL. */
static const struct secrets_key *key_for(const struct store *s, const char *v)
{
    char kid[SECRETS_KID_LEN + 1];
    if (!secrets_kid_of(v, kid))
        return NULL;
    for (int i = 0; i < s->n_keys; i++)
        if (strcmp(s->keys[i].kid, kid) == 0)
            return &s->keys[i];
    return NULL;
}

/* The secrets this thread opened last, by their sealed form: a webhook checks its account's
 * secret per request, and AES-256-GCM per request cost ~9k instructions. A sealed value has a
 * random nonce, so a change of the secret is a new sealed value (and is opened afresh); the
 * account and provider are bound in as when opening, the key by its id and bytes. Clear
 * secrets in memory, as the callers hold them anyway. */
#define OPENED_MAX 4
struct opened {
    struct secrets_key key;
    int64_t account_id;
    char provider[STORE_PROVIDER_MAX];
    char sealed[STORE_SECRET_SEALED_MAX];
    char clear[STORE_SECRET_MAX];
};
static _Thread_local struct opened opened[OPENED_MAX];
static _Thread_local unsigned opened_next;

static const char *opened_find(const struct secrets_key *k, const struct st_provider_cred *c)
{
    for (int i = 0; i < OPENED_MAX; i++) {
        const struct opened *o = &opened[i];
        if (o->sealed[0] && o->account_id == c->account_id && strcmp(o->sealed, c->secret) == 0 &&
            strcmp(o->provider, c->provider) == 0 &&
            memcmp(o->key.key, k->key, sizeof(k->key)) == 0)
            return o->clear;
    }
    return NULL;
}

static void opened_add(const struct secrets_key *k, const struct st_provider_cred *c,
                       const char *clear)
{
    if (strlen(c->secret) >= sizeof(opened[0].sealed))
        return;
    struct opened *o = &opened[opened_next++ % OPENED_MAX];
    o->key = *k;
    o->account_id = c->account_id;
    snprintf(o->provider, sizeof(o->provider), "%s", c->provider);
    snprintf(o->sealed, sizeof(o->sealed), "%s", c->secret);
    snprintf(o->clear, sizeof(o->clear), "%s", clear);
}

/* Opens c->secret in place (a row as the backend returned it). ERR_OK (also for "" and, while
 * a key is configured, a clear row of an older version); ERR_UNSUPPORTED (no key, or not one
 * of the keys given); ERR_INVALID (does not authenticate). Logged with the account and
 * provider, never the value. */
static int open_cred(struct store *s, struct st_provider_cred *c)
{
    if (!c->secret[0])
        return ERR_OK;
    if (!secrets_is_sealed(c->secret)) {
        if (s->n_keys == 0) {
            log_error("store",
                      "provider secret of account %" PRId64 " (%s) is stored in clear and no "
                      "secrets key is configured: " NO_KEY_HINT ", then run opendni init",
                      c->account_id, c->provider);
            return ERR_UNSUPPORTED;
        }
        log_warn("store",
                 "provider secret of account %" PRId64 " (%s) is stored in clear: run opendni "
                 "init to seal it",
                 c->account_id, c->provider);
        return ERR_OK;
    }
    const struct secrets_key *k = key_for(s, c->secret);
    if (!k) {
        char kid[SECRETS_KID_LEN + 1] = "?";
        secrets_kid_of(c->secret, kid);
        log_error("store",
                  "provider secret of account %" PRId64 " (%s) is sealed with key %s, which is "
                  "not %s: " NO_KEY_HINT " with that key",
                  c->account_id, c->provider, kid,
                  s->n_keys ? "the configured key" : "configured (no key)");
        return ERR_UNSUPPORTED;
    }
    const char *known = opened_find(k, c);
    if (known) {
        snprintf(c->secret, sizeof(c->secret), "%s", known);
        return ERR_OK;
    }
    char clear[STORE_SECRET_MAX];
    int rc = secrets_open(k, c->account_id, c->provider, c->secret, clear, sizeof(clear));
    if (rc) {
        log_error("store",
                  "provider secret of account %" PRId64 " (%s) does not authenticate with key "
                  "%s (damaged, or copied from another row)",
                  c->account_id, c->provider, k->kid);
        return ERR_INVALID;
    }
    opened_add(k, c, clear);
    snprintf(c->secret, sizeof(c->secret), "%s", clear);
    memset(clear, 0, sizeof(clear));
    return ERR_OK;
}

int store_provider_cred_set(struct store *s, int64_t account_id, const char *provider,
                            const char *account_sid, const char *secret, int64_t now)
{
    if (store__write_fault(s, "provider cred set"))
        return ERR_BACKEND;
    if (!provider || !*provider || strlen(provider) >= STORE_PROVIDER_MAX ||
        (secret && strlen(secret) >= STORE_SECRET_MAX))
        return ERR_INVALID;
    char sealed[STORE_SECRET_SEALED_MAX];
    if (secret && *secret) {
        if (s->n_keys == 0) {
            log_error("store",
                      "cannot store a provider secret without a secrets key: " NO_KEY_HINT);
            return ERR_UNSUPPORTED;
        }
        int rc = secrets_seal(&s->keys[0], account_id, provider, secret, sealed, sizeof(sealed));
        if (rc)
            return rc == ERR_INVALID ? ERR_INVALID : ERR_BACKEND;
        secret = sealed;
    }
    return s->ops->provider_cred_set(s, account_id, provider, account_sid, secret, now);
}

int store_provider_cred_get(struct store *s, int64_t account_id, const char *provider,
                            struct st_provider_cred *c)
{
    int rc = s->ops->provider_cred_get(s, account_id, provider, c);
    return rc ? rc : open_cred(s, c);
}

/* A walk's callback that opens each row before the caller's callback sees it. */
struct opening {
    struct store *s;
    store_provider_cred_fn fn;
    void *ctx;
    int rc; /* the first row that could not be opened */
};

static int open_row(void *arg, const struct st_provider_cred *row)
{
    struct opening *o = arg;
    struct st_provider_cred c = *row;
    o->rc = open_cred(o->s, &c);
    int stop = o->rc ? 1 : o->fn(o->ctx, &c);
    memset(c.secret, 0, sizeof(c.secret));
    return stop;
}

int store_provider_cred_find(struct store *s, const char *provider, const char *account_sid,
                             store_provider_cred_fn fn, void *ctx)
{
    struct opening o = {s, fn, ctx, ERR_OK};
    int rc = s->ops->provider_cred_find(s, provider, account_sid, open_row, &o);
    return rc ? rc : o.rc;
}

int store_provider_cred_list(struct store *s, int64_t account_id, store_provider_cred_fn fn,
                             void *ctx)
{
    struct opening o = {s, fn, ctx, ERR_OK};
    int rc = s->ops->provider_cred_list(s, account_id, open_row, &o);
    return rc ? rc : o.rc;
}

/* ---- re-sealing (init, rotation) ---- */

static int open_dest(struct store *s, struct st_destination *d);

struct rows {
    struct st_provider_cred *v;
    size_t n, cap;
    struct st_destination *d; /* webhook destinations with a signing secret */
    size_t n_d, cap_d;
    int64_t *ids; /* accounts, collected first: a list callback must not start another walk
                   * of the same operation */
    size_t n_ids;
};

static int add_row(void *arg, const struct st_provider_cred *c)
{
    struct rows *r = arg;
    if (!c->secret[0])
        return 0;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
    }
    r->v[r->n++] = *c;
    return 0;
}

static int add_dest(void *arg, const struct st_destination *d)
{
    struct rows *r = arg;
    if (!d->secret[0])
        return 0;
    if (r->n_d == r->cap_d) {
        r->cap_d = r->cap_d ? 2 * r->cap_d : 16;
        r->d = xrealloc(r->d, r->cap_d * sizeof(*r->d));
    }
    r->d[r->n_d++] = *d;
    return 0;
}

/* Every stored secret as the backend holds it (sealed or clear): provider credentials and
 * webhook signing secrets. */
static int collect(struct store *s, struct rows *r)
{
    int rc = store_account_ids(s, &r->ids, &r->n_ids);
    for (size_t i = 0; rc == ERR_OK && i < r->n_ids; i++) {
        rc = s->ops->provider_cred_list(s, r->ids[i], add_row, r);
        if (rc == ERR_OK)
            rc = s->ops->destination_list(s, r->ids[i], add_dest, r);
    }
    return rc;
}

/* Whether a stored value needs re-sealing: it is in clear, or sealed with a key other than the
 * current one. Without a key only clear values do (there is nothing to compare sealed ones
 * with). */
static bool stale(const struct store *s, const char *v)
{
    return !secrets_is_sealed(v) || (s->n_keys > 0 && key_for(s, v) != &s->keys[0]);
}

static int stale_err(struct errbuf *eb, int rc, const char *what, const char *v)
{
    char kid[SECRETS_KID_LEN + 1] = "?";
    secrets_kid_of(v, kid);
    return errf(eb, rc, NULL, "%s is sealed with key %s, %s", what, kid,
                rc == ERR_UNSUPPORTED ? "which was not given" : "and does not open");
}

/* Keeps in r only the rows to re-seal, in clear: clear rows of older versions, and rows sealed
 * with the previous key. ERR_OK, or ERR_UNSUPPORTED (a row sealed with a key not given: eb names
 * it) / ERR_INVALID (it does not authenticate). */
static int open_stale(struct store *s, struct rows *r, struct errbuf *eb)
{
    char what[128];
    size_t kept = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct st_provider_cred *c = &r->v[i];
        if (!stale(s, c->secret))
            continue;
        char sealed[sizeof(c->secret)];
        snprintf(sealed, sizeof(sealed), "%s", c->secret);
        int rc = secrets_is_sealed(c->secret) ? open_cred(s, c) : ERR_OK;
        if (rc) {
            snprintf(what, sizeof(what), "the secret of account %" PRId64 " (%s)", c->account_id,
                     c->provider);
            return stale_err(eb, rc, what, sealed);
        }
        r->v[kept++] = *c;
    }
    r->n = kept;
    kept = 0;
    for (size_t i = 0; i < r->n_d; i++) {
        struct st_destination *d = &r->d[i];
        if (!stale(s, d->secret))
            continue;
        char sealed[sizeof(d->secret)];
        snprintf(sealed, sizeof(sealed), "%s", d->secret);
        int rc = open_dest(s, d);
        if (rc) {
            snprintf(what, sizeof(what), "the signing secret of webhook %s", d->ext_id);
            return stale_err(eb, rc, what, sealed);
        }
        r->d[kept++] = *d;
    }
    r->n_d = kept;
    return ERR_OK;
}

bool store_secret_stale(struct store *s, const char *v)
{
    return v && v[0] && stale(s, v);
}

/* Writes r's secrets sealed, and fn's, in one transaction. ERR_OK (out: *n_more, fn's), or an
 * error eb explains: nothing changed. */
static int write_sealed(struct store *s, struct rows *r, int64_t now, store_reseal_fn fn, void *ctx,
                        int64_t *n_more, struct errbuf *eb)
{
    int rc = store_begin(s);
    for (size_t i = 0; rc == ERR_OK && i < r->n; i++)
        rc = store_provider_cred_set(s, r->v[i].account_id, r->v[i].provider, NULL, r->v[i].secret,
                                     now);
    for (size_t i = 0; rc == ERR_OK && i < r->n_d; i++) {
        struct st_destination *d = &r->d[i];
        char sealed[sizeof(d->secret)];
        rc =
            secrets_seal(&s->keys[0], d->account_id, DEST_LABEL, d->secret, sealed, sizeof(sealed));
        if (rc == ERR_OK)
            rc = s->ops->destination_secret_set(s, d->account_id, d->ext_id, sealed);
        memset(sealed, 0, sizeof(sealed));
    }
    if (rc == ERR_OK && fn) {
        rc = fn(ctx, s, now, n_more, eb);
        if (rc) {
            store_rollback(s);
            return rc;
        }
    }
    if (rc == ERR_OK)
        rc = store_commit(s);
    if (rc) {
        store_rollback(s);
        return errf(eb, ERR_BACKEND, NULL, "cannot write the sealed secrets: nothing changed");
    }
    return ERR_OK;
}

int store_secrets_reseal(struct store *s, int64_t now, int64_t *n_resealed, struct errbuf *eb)
{
    return store_secrets_reseal_with(s, now, NULL, NULL, n_resealed, eb);
}

int store_secrets_reseal_with(struct store *s, int64_t now, store_reseal_fn fn, void *ctx,
                              int64_t *n_resealed, struct errbuf *eb)
{
    struct rows r = {0};
    int rc = collect(s, &r);
    if (rc)
        rc = errf(eb, rc, NULL, "cannot read the stored secrets");
    else
        rc = open_stale(s, &r, eb);
    size_t n = r.n + r.n_d;
    int64_t more = 0;
    if (rc == ERR_OK && n && s->n_keys == 0)
        rc = errf(eb, ERR_UNSUPPORTED, NULL,
                  "%zu secret(s) stored in clear and no secrets key: " NO_KEY_HINT, n);
    else if (rc == ERR_OK && (n || (fn && s->n_keys > 0)))
        rc = write_sealed(s, &r, now, fn, ctx, &more, eb);
    if (n_resealed)
        *n_resealed = rc == ERR_OK || rc == ERR_UNSUPPORTED ? (int64_t)n + more : 0;
    for (size_t i = 0; i < r.n; i++)
        memset(r.v[i].secret, 0, sizeof(r.v[i].secret));
    for (size_t i = 0; i < r.n_d; i++)
        memset(r.d[i].secret, 0, sizeof(r.d[i].secret));
    free(r.v);
    free(r.d);
    free(r.ids);
    return rc;
}

/* ==== webhook signing secrets ===================================================================
 */

/* Opens d->secret in place. A clear value (a destination written before secrets were sealed)
 * is used as it is. ERR_OK, ERR_UNSUPPORTED (no key, or not the key that sealed it), ERR_INVALID
 * (does not authenticate). */
static int open_dest(struct store *s, struct st_destination *d)
{
    if (!d->secret[0] || !secrets_is_sealed(d->secret))
        return ERR_OK;
    const struct secrets_key *k = key_for(s, d->secret);
    if (!k) {
        log_error("store",
                  "the signing secret of webhook %s is sealed with a key that is not "
                  "configured: " NO_KEY_HINT " with that key",
                  d->ext_id);
        return ERR_UNSUPPORTED;
    }
    char clear[STORE_DEST_SECRET_CLEAR_MAX];
    if (secrets_open(k, d->account_id, DEST_LABEL, d->secret, clear, sizeof(clear)) != ERR_OK) {
        log_error("store", "the signing secret of webhook %s does not authenticate", d->ext_id);
        return ERR_INVALID;
    }
    snprintf(d->secret, sizeof(d->secret), "%s", clear);
    memset(clear, 0, sizeof(clear));
    return ERR_OK;
}

int store_secret_seal(struct store *s, int64_t account_id, const char *label, const char *clear,
                      char *out, size_t cap)
{
    if (s->n_keys == 0) {
        log_error("store", "cannot seal a %s secret without a secrets key: " NO_KEY_HINT, label);
        return ERR_UNSUPPORTED;
    }
    int rc = secrets_seal(&s->keys[0], account_id, label, clear, out, cap);
    return rc == ERR_BACKEND ? ERR_BACKEND : rc;
}

int store_secret_open(struct store *s, int64_t account_id, const char *label, const char *sealed,
                      char *out, size_t cap)
{
    const struct secrets_key *k = key_for(s, sealed);
    if (!k)
        return ERR_UNSUPPORTED;
    return secrets_open(k, account_id, label, sealed, out, cap);
}

int store_destination_add(struct store *s, struct st_destination *d)
{
    if (!d->secret[0])
        return s->ops->destination_add(s, d);
    if (s->n_keys == 0) {
        log_error("store",
                  "cannot store a webhook signing secret without a secrets key: " NO_KEY_HINT);
        return ERR_UNSUPPORTED;
    }
    char clear[STORE_DEST_SECRET_CLEAR_MAX];
    if (strlen(d->secret) >= sizeof(clear))
        return ERR_INVALID;
    snprintf(clear, sizeof(clear), "%s", d->secret);
    int rc =
        secrets_seal(&s->keys[0], d->account_id, DEST_LABEL, clear, d->secret, sizeof(d->secret));
    if (rc == ERR_OK)
        rc = s->ops->destination_add(s, d);
    snprintf(d->secret, sizeof(d->secret), "%s", clear); /* the caller shows it once */
    memset(clear, 0, sizeof(clear));
    return rc;
}

int store_destination_secret_set(struct store *s, int64_t account_id, const char *ext_id,
                                 const char *secret)
{
    if (store__write_fault(s, "destination secret set"))
        return ERR_BACKEND;
    if (!secret || !*secret || strlen(secret) >= STORE_DEST_SECRET_CLEAR_MAX)
        return ERR_INVALID;
    if (s->n_keys == 0) {
        log_error("store",
                  "cannot store a destination's secret without a secrets key: " NO_KEY_HINT);
        return ERR_UNSUPPORTED;
    }
    char sealed[STORE_DEST_SECRET_MAX];
    int rc = secrets_seal(&s->keys[0], account_id, DEST_LABEL, secret, sealed, sizeof(sealed));
    if (rc)
        return rc == ERR_INVALID ? ERR_INVALID : ERR_BACKEND;
    return s->ops->destination_secret_set(s, account_id, ext_id, sealed);
}

int store_destination_get(struct store *s, int64_t account_id, const char *ext_id,
                          struct st_destination *d)
{
    int rc = s->ops->destination_get(s, account_id, ext_id, d);
    return rc ? rc : open_dest(s, d);
}

struct dest_opening {
    struct store *s;
    store_destination_fn fn;
    void *ctx;
    int rc;
};

static int open_dest_row(void *arg, const struct st_destination *row)
{
    struct dest_opening *o = arg;
    struct st_destination d = *row;
    o->rc = open_dest(o->s, &d);
    int stop = o->rc ? 1 : o->fn(o->ctx, &d);
    memset(d.secret, 0, sizeof(d.secret));
    return stop;
}

int store_destination_list(struct store *s, int64_t account_id, store_destination_fn fn, void *ctx)
{
    struct dest_opening o = {s, fn, ctx, ERR_OK};
    int rc = s->ops->destination_list(s, account_id, open_dest_row, &o);
    return rc ? rc : o.rc;
}

/* A destination row without its secret (never opened). */
static int target_row(void *arg, const struct st_destination *row)
{
    struct dest_opening *o = arg;
    struct st_destination d = *row;
    memset(d.secret, 0, sizeof(d.secret));
    return o->fn(o->ctx, &d);
}

int store_destination_targets(struct store *s, int64_t account_id, store_destination_fn fn,
                              void *ctx)
{
    struct dest_opening o = {s, fn, ctx, ERR_OK};
    return s->ops->destination_list(s, account_id, target_row, &o);
}

/* A claim's destinations, opened: a destination's messages come together (a batch), so the one
 * opened last is kept while the next row has the same sealed secret. */
struct claim_opening {
    struct store *s;
    store_outbox_fn fn;
    void *ctx;
    struct st_destination d; /* opened */
    char sealed[STORE_DEST_SECRET_MAX];
};

/* A claimed message whose destination cannot be opened is still handed on with an empty secret:
 * the sender then fails that attempt (and retries it later) instead of the claim losing it. */
static int open_claim_row(void *arg, const struct st_outbox_msg *m,
                          const struct st_destination *row)
{
    struct claim_opening *o = arg;
    if (o->d.id != row->id || strcmp(o->sealed, row->secret) != 0) {
        o->d = *row;
        memcpy(o->sealed, row->secret, sizeof(o->sealed));
        if (open_dest(o->s, &o->d) != ERR_OK)
            o->d.secret[0] = '\0';
    }
    return o->fn(o->ctx, m, &o->d);
}

/* Claims through open_claim_row (claim: the backend's claim or claim batch, bound by run). */
static struct claim_opening *opening_new(struct store *s, store_outbox_fn fn, void *ctx)
{
    struct claim_opening *o = xcalloc(1, sizeof(*o)); /* a sealed and an opened secret: heap */
    o->s = s;
    o->fn = fn;
    o->ctx = ctx;
    return o;
}

/* Wipes the last opened secret. Returns rc. */
static int opening_end(struct claim_opening *o, int rc)
{
    memset(o->d.secret, 0, sizeof(o->d.secret));
    free(o);
    return rc;
}

int store_outbox_claim(struct store *s, int64_t now, int64_t lease_until, const char *owner,
                       int64_t per_dest, size_t max, store_outbox_fn fn, void *ctx)
{
    struct claim_opening *o = opening_new(s, fn, ctx);
    return opening_end(
        o, s->ops->outbox_claim(s, now, lease_until, owner, per_dest, max, open_claim_row, o));
}

int store_outbox_claim_batch(struct store *s, int64_t account_id, int64_t destination_id,
                             int64_t now, int64_t lease_until, const char *owner, size_t max,
                             store_outbox_fn fn, void *ctx)
{
    if (store__write_fault(s, "outbox claim batch"))
        return ERR_BACKEND;
    struct claim_opening *o = opening_new(s, fn, ctx);
    return opening_end(o, s->ops->outbox_claim_batch(s, account_id, destination_id, now,
                                                     lease_until, owner, max, open_claim_row, o));
}
