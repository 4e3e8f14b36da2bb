/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call outcomes (see outcomes.h): the PATCH body's checks, the write, and the `outcome` object. */
#include "base/prelude.h"
#include "app/outcomes.h"

#include "base/json.h"
#include "app/app.h"
#include "store/store.h"

static const char *const lead_statuses[] = {"new", "qualified", "won", "lost", "spam"};

/* ---- the body ---- */

static bool tag_char_ok(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr(" -_.:/", ch) != NULL;
}

/* One tag: 1..OUTCOMES_TAG_MAX bytes of tag_char_ok, no space at either end. */
static bool tag_ok(const char *t, size_t len)
{
    if (len == 0 || len > OUTCOMES_TAG_MAX || strlen(t) != len || t[0] == ' ' || t[len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!tag_char_ok((unsigned char)t[i]))
            return false;
    return true;
}

static int apply_tags(json_t *v, struct st_call_outcome *o, struct errbuf *eb)
{
    if (!json_is_array(v) && !json_is_null(v))
        return errf(eb, ERR_INVALID, "tags", "'tags' must be an array of strings or null");
    if (json_array_size(v) > OUTCOMES_TAGS_MAX)
        return errf(eb, ERR_INVALID, "tags", "'tags' may hold at most %d tags", OUTCOMES_TAGS_MAX);
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(v, i, t)
    {
        const char *s = json_string_value(t);
        if (!s || !tag_ok(s, json_string_length(t))) {
            json_decref(out);
            return errf(eb, ERR_INVALID, "tags",
                        "each tag must be 1 to %d letters, digits, spaces or - _ . : / (tag %zu "
                        "is not)",
                        OUTCOMES_TAG_MAX, i + 1);
        }
        bool seen = false;
        size_t j;
        json_t *u;
        json_array_foreach(out, j, u) seen = seen || strcmp(json_string_value(u), s) == 0;
        if (!seen)
            json_array_append_new(out, json_string(s));
    }
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (!text)
        return errf(eb, ERR_NOMEM, NULL, "out of memory");
    /* 20 tags of 32 unescaped bytes, quoted and separated, fit STORE_TAGS_MAX */
    snprintf(o->tags, sizeof(o->tags), "%s", text);
    free(text);
    return ERR_OK;
}

static int apply_notes(json_t *v, struct st_call_outcome *o, struct errbuf *eb)
{
    if (json_is_null(v)) {
        o->notes[0] = '\0';
        return ERR_OK;
    }
    const char *s = json_string_value(v);
    if (!s)
        return errf(eb, ERR_INVALID, "notes", "'notes' must be a string or null");
    size_t len = json_string_length(v);
    if (len > OUTCOMES_NOTES_MAX)
        return errf(eb, ERR_INVALID, "notes", "'notes' may be at most %d bytes",
                    OUTCOMES_NOTES_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') || ch == 0x7f)
            return errf(eb, ERR_INVALID, "notes",
                        "'notes' may not hold control characters (other than tab and newline)");
    }
    snprintf(o->notes, sizeof(o->notes), "%s", s);
    return ERR_OK;
}

static int apply_lead_status(json_t *v, struct st_call_outcome *o, struct errbuf *eb)
{
    const char *s = json_string_value(v);
    for (size_t i = 0; s && i < ARRAY_SIZE(lead_statuses); i++) {
        if (strcmp(s, lead_statuses[i]) == 0) {
            snprintf(o->lead_status, sizeof(o->lead_status), "%s", s);
            return ERR_OK;
        }
    }
    return errf(eb, ERR_INVALID, "lead_status",
                "'lead_status' must be new, qualified, won, lost or spam");
}

static int apply_revenue(json_t *v, struct st_call_outcome *o, struct errbuf *eb)
{
    if (json_is_null(v)) {
        o->revenue = -1;
        return ERR_OK;
    }
    json_int_t n = json_integer_value(v);
    if (!json_is_integer(v) || n < 0 || n > OUTCOMES_REVENUE_MAX)
        return errf(eb, ERR_INVALID, "revenue",
                    "'revenue' must be a whole number of minor units (cents) from 0 to %" PRId64
                    ", or null",
                    OUTCOMES_REVENUE_MAX);
    o->revenue = (int64_t)n;
    return ERR_OK;
}

static int apply_billable(json_t *v, const char *user, int64_t now, struct st_call_outcome *o,
                          struct errbuf *eb)
{
    if (!json_is_boolean(v) && !json_is_null(v))
        return errf(eb, ERR_INVALID, "billable", "'billable' must be true, false or null");
    bool by_user = user && user[0];
    o->billable = json_is_null(v) ? -1 : json_is_true(v);
    snprintf(o->billable_by, sizeof(o->billable_by), "%s", by_user ? "user" : "api");
    snprintf(o->billable_user, sizeof(o->billable_user), "%s", by_user ? user : "");
    o->billable_at = now;
    if (o->billable < 0) /* unset: nobody's word stands */
        o->billable_by[0] = o->billable_user[0] = '\0';
    return ERR_OK;
}

int outcomes_apply(json_t *body, const char *user, int64_t now, struct st_call_outcome *o,
                   struct errbuf *eb)
{
    static const char *const keys[] = {"tags", "notes", "lead_status", "revenue", "billable", NULL};
    int rc = json_only_keys(body, keys, eb);
    if (rc)
        return rc;
    if (json_object_size(body) == 0)
        return errf(eb, ERR_INVALID, NULL,
                    "nothing to change: give tags, notes, lead_status, revenue or billable");
    json_t *v;
    if (rc == ERR_OK && (v = json_object_get(body, "tags")))
        rc = apply_tags(v, o, eb);
    if (rc == ERR_OK && (v = json_object_get(body, "notes")))
        rc = apply_notes(v, o, eb);
    if (rc == ERR_OK && (v = json_object_get(body, "lead_status")))
        rc = apply_lead_status(v, o, eb);
    if (rc == ERR_OK && (v = json_object_get(body, "revenue")))
        rc = apply_revenue(v, o, eb);
    if (rc == ERR_OK && (v = json_object_get(body, "billable")))
        rc = apply_billable(v, user, now, o, eb);
    if (rc == ERR_OK)
        o->updated_at = now;
    return rc;
}

/* ---- the write ---- */

int outcomes_set(struct app *app, int64_t account_id, const char *call_ext, json_t *body,
                 const char *user, int64_t now, struct st_call *c, struct errbuf *eb)
{
    struct store *s = app->store;
    if (store_begin(s) != ERR_OK)
        return errf(eb, ERR_BACKEND, NULL, "cannot change the call: the store is busy");
    int rc = store_call_get(s, account_id, call_ext, c);
    if (rc == ERR_NOTFOUND)
        rc = errf(eb, rc, NULL, "no call '%s'", call_ext);
    struct st_call_outcome o;
    if (rc == ERR_OK) {
        rc = store_call_outcome_get(s, c->account_id, c->id, &o);
        if (rc == ERR_NOTFOUND) /* the defaults */
            rc = ERR_OK;
    }
    if (rc == ERR_OK) {
        o.account_id = account_id;
        rc = outcomes_apply(body, user, now, &o, eb);
    }
    if (rc == ERR_OK)
        rc = store_call_outcome_put(s, &o);
    /* billable from now: what its publisher is owed is recorded now (the first time only) */
    if (rc == ERR_OK && o.billable == 1)
        rc = store_call_payout_record(s, account_id, c->provider, c->provider_call_id, now);
    if (rc == ERR_OK)
        rc = store_commit(s);
    if (rc != ERR_OK)
        store_rollback(s);
    if (rc != ERR_OK && !eb->msg[0])
        rc = errf(eb, rc == ERR_NOTFOUND ? ERR_NOTFOUND : ERR_BACKEND, NULL,
                  "cannot change the call's outcome");
    return rc;
}

/* ---- the object ---- */

json_t *outcomes_json(const struct st_call_outcome *o)
{
    json_t *tags = json_loads(o->tags, 0, NULL);
    if (!json_is_array(tags)) {
        json_decref(tags);
        tags = json_array();
    }
    json_t *set_by = json_null();
    if (o->billable >= 0 && o->billable_by[0])
        set_by = json_pack("{s:s,s:o,s:o}", "by", o->billable_by, "user",
                           json_str_or_null(o->billable_user), "at", json_time(o->billable_at));
    return json_pack("{s:o,s:s,s:s,s:o,s:o,s:o,s:o}", "tags", tags, "notes", o->notes,
                     "lead_status", o->lead_status[0] ? o->lead_status : "new", "revenue",
                     o->revenue >= 0 ? json_integer((json_int_t)o->revenue) : json_null(),
                     "billable", o->billable >= 0 ? json_boolean(o->billable) : json_null(),
                     "billable_set_by", set_by, "updated_at", json_time(o->updated_at));
}

json_t *outcomes_call_json(struct app *app, const struct st_call *c)
{
    struct st_call_outcome o;
    int rc = store_call_outcome_get(app->store, c->account_id, c->id, &o);
    if (rc != ERR_OK && rc != ERR_NOTFOUND) {
        o = (struct st_call_outcome){.call_id = c->id, .revenue = -1, .billable = -1};
        snprintf(o.tags, sizeof(o.tags), "[]");
        snprintf(o.lead_status, sizeof(o.lead_status), "new");
    }
    return outcomes_json(&o);
}
