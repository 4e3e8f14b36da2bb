/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Typed JSON access for request bodies and response helpers. */
#include "base/prelude.h"
#include "base/json.h"

#include "base/timefmt.h"

int json_parse_object(const char *body, size_t len, json_t **out, struct errbuf *eb)
{
    json_error_t je;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        return errf(eb, ERR_INVALID, NULL, "malformed JSON at line %d column %d: %s", je.line,
                    je.column, je.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return errf(eb, ERR_INVALID, NULL, "the body must be a JSON object");
    }
    *out = v;
    return ERR_OK;
}

static int wrong_type(const char *key, const char *want, struct errbuf *eb)
{
    return errf(eb, ERR_INVALID, key, "'%s' must be %s", key, want);
}

int json_get_str(json_t *o, const char *key, const char **out, struct errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_string(v))
        return wrong_type(key, "a string", eb);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return errf(eb, ERR_INVALID, key, "'%s' must not contain NUL characters", key);
    *out = json_string_value(v);
    return ERR_OK;
}

int json_get_int(json_t *o, const char *key, long long *out, struct errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_integer(v))
        return wrong_type(key, "a whole number", eb);
    *out = json_integer_value(v);
    return ERR_OK;
}

int json_get_bool(json_t *o, const char *key, bool *out, struct errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_boolean(v))
        return wrong_type(key, "true or false", eb);
    *out = json_is_true(v);
    return ERR_OK;
}

int json_get_number(json_t *o, const char *key, double *out, struct errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_number(v))
        return wrong_type(key, "a number", eb);
    *out = json_number_value(v);
    return ERR_OK;
}

int json_only_keys(json_t *o, const char *const *keys, struct errbuf *eb)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool known = false;
        for (const char *const *p = keys; *p && !known; p++)
            known = strcmp(*p, k) == 0;
        if (!known) {
            /* The key is the client's text, so eb->field cannot be a static string: it points
             * into eb->msg, past the message's terminator (struct errbuf). */
            errf(eb, ERR_INVALID, NULL, "unknown field '%.64s'", k);
            if (eb) {
                size_t at = strlen(eb->msg) + 1;
                snprintf(eb->msg + at, sizeof(eb->msg) - at, "%.64s", k);
                eb->field = eb->msg + at;
            }
            return ERR_INVALID;
        }
    }
    return ERR_OK;
}

int json_dump_take(json_t *v, struct buf *out)
{
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!s)
        return ERR_NOMEM;
    int rc = buf_adds(out, s);
    free(s);
    return rc;
}

void json_error_body(struct buf *out, const char *code, const char *message, const char *field)
{
    json_t *e = json_pack("{s:{s:s,s:s,s:o}}", "error", "code", code, "message", message, "field",
                          field ? json_string(field) : json_null());
    if (!e || json_dump_take(e, out) != ERR_OK)
        buf_adds(out, "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\","
                      "\"field\":null}}");
}

json_t *json_str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *json_time(int64_t at)
{
    char t[TIME_RFC3339_LEN];
    return at ? json_string(time_format(at, t)) : json_null();
}
