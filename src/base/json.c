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

/* ---- flat objects of plain strings (json_flat_parse) ---- */

static bool flat_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Printable ASCII other than the quote and the backslash: a string's byte as is. */
static bool flat_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* A plain string starting at text[*i] (the opening quote): its start, *i past the closing
 * quote, *end at that quote. */
static bool flat_string(const char *text, size_t len, size_t *i, size_t *start, size_t *end)
{
    if (*i >= len || text[*i] != '"')
        return false;
    size_t j = *i + 1;
    while (j < len && flat_plain((unsigned char)text[j]))
        j++;
    if (j >= len || text[j] != '"')
        return false;
    *start = *i + 1;
    *end = j;
    *i = j + 1;
    return true;
}

static void flat_skip_ws(const char *text, size_t len, size_t *i)
{
    while (*i < len && flat_ws(text[*i]))
        (*i)++;
}

bool json_flat_parse(char *text, size_t len, struct json_flat_pair *out, size_t max, size_t *n)
{
    size_t ends[2 * 32]; /* where the NULs go, written only once the whole text is accepted */
    size_t starts[2 * 32];
    bool nulls[32];
    size_t k = 0, i = 0;
    if (max > 32)
        max = 32;
    flat_skip_ws(text, len, &i);
    if (i >= len || text[i++] != '{')
        return false;
    flat_skip_ws(text, len, &i);
    if (i < len && text[i] == '}') {
        i++;
    } else {
        for (;;) {
            if (k == max)
                return false;
            if (!flat_string(text, len, &i, &starts[2 * k], &ends[2 * k]))
                return false;
            flat_skip_ws(text, len, &i);
            if (i >= len || text[i++] != ':')
                return false;
            flat_skip_ws(text, len, &i);
            nulls[k] = i + 4 <= len && memcmp(text + i, "null", 4) == 0;
            if (nulls[k])
                i += 4;
            else if (!flat_string(text, len, &i, &starts[2 * k + 1], &ends[2 * k + 1]))
                return false;
            for (size_t p = 0; p < k; p++) /* a repeated key: jansson's error */
                if (ends[2 * p] - starts[2 * p] == ends[2 * k] - starts[2 * k] &&
                    memcmp(text + starts[2 * p], text + starts[2 * k],
                           ends[2 * k] - starts[2 * k]) == 0)
                    return false;
            k++;
            flat_skip_ws(text, len, &i);
            if (i < len && text[i] == ',') {
                i++;
                flat_skip_ws(text, len, &i);
                continue;
            }
            if (i < len && text[i] == '}') {
                i++;
                break;
            }
            return false;
        }
    }
    flat_skip_ws(text, len, &i);
    if (i != len)
        return false;
    for (size_t p = 0; p < k; p++) {
        text[ends[2 * p]] = '\0';
        out[p].key = text + starts[2 * p];
        if (nulls[p]) {
            out[p].value = NULL;
        } else {
            text[ends[2 * p + 1]] = '\0';
            out[p].value = text + starts[2 * p + 1];
        }
    }
    *n = k;
    return true;
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

/* ---- writing JSON text into a buffer ---- */

/* The length of the valid UTF-8 sequence at s (1-4), or 0 if the bytes there are not one
 * (overlong forms, surrogates, past U+10FFFF, truncated: what jansson's check refuses). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    if (c < 0xe0) {
        n = 2;
        cp = c & 0x1f;
    } else if (c < 0xf0) {
        n = 3;
        cp = c & 0x0f;
    } else {
        n = 4;
        cp = c & 0x07;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

int json_buf_str(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF"; /* jansson writes \u001F */
    const unsigned char *p = (const unsigned char *)s;
    int rc = buf_addc(b, '"');
    size_t run = 0; /* bytes at p written as they are, not yet added */
    while (rc == ERR_OK && p[run]) {
        unsigned char c = p[run];
        size_t n = 1;
        if (c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || (n = utf8_len(p + run)))) {
            run += n;
            continue;
        }
        rc = buf_add(b, p, run);
        p += run;
        run = 0;
        char esc[7] = {'\\', 0};
        size_t len = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            if (c < 0x20)
                snprintf(esc, sizeof(esc), "\\u00%c%c", hex[c >> 4], hex[c & 15]);
            else /* a byte that starts no valid UTF-8 sequence */
                memcpy(esc, "\\ufffd", 6);
            len = 6;
        }
        if (rc == ERR_OK)
            rc = buf_add(b, esc, len);
        p++;
    }
    if (rc == ERR_OK)
        rc = buf_add(b, p, run);
    return rc ? rc : buf_addc(b, '"');
}

int json_buf_str_or_null(struct buf *b, const char *s)
{
    return s && *s ? json_buf_str(b, s) : buf_add(b, "null", 4);
}

int json_buf_key(struct buf *b, const char *key)
{
    int rc = buf_addc(b, '"');
    if (rc == ERR_OK)
        rc = buf_adds(b, key);
    return rc ? rc : buf_add(b, "\":", 2);
}

int json_buf_time(struct buf *b, int64_t at)
{
    char t[TIME_RFC3339_LEN];
    return at ? json_buf_str(b, time_format(at, t)) : buf_add(b, "null", 4);
}
