/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* JSON for handlers (jansson): parsing request bodies with typed field access that reports the
 * offending field, and writing responses. Values returned by the getters are borrowed from the
 * json_t and live as long as it. */
#ifndef OPENDNI_BASE_JSON_H
#define OPENDNI_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Parses body (which must be a JSON object). ERR_INVALID with eb naming the problem. */
int json_parse_object(const char *body, size_t len, json_t **out, struct errbuf *eb);

/* Typed optional fields: absent or null leaves *out unchanged and returns ERR_OK; present with
 * the wrong type returns ERR_INVALID with eb->field = key. */
int json_get_str(json_t *o, const char *key, const char **out, struct errbuf *eb);
int json_get_int(json_t *o, const char *key, long long *out, struct errbuf *eb);
int json_get_bool(json_t *o, const char *key, bool *out, struct errbuf *eb);
int json_get_number(json_t *o, const char *key, double *out, struct errbuf *eb);
/* Rejects keys that are not in the NULL-terminated list (typos must not pass silently). */
int json_only_keys(json_t *o, const char *const *keys, struct errbuf *eb);

/* A fast path for the hot request bodies: a flat JSON object whose keys and values are plain
 * strings (printable ASCII without '"' or '\\') or, for values, null. On such a text this
 * gives the pairs that json_parse_object would give (in order; value NULL for null) without
 * building a tree: it writes a NUL over the closing quote of each key and value in text (len
 * bytes) and points the pairs into it. Anything else (escapes, other UTF-8, numbers,
 * booleans, arrays, nested objects, a repeated key, more than max pairs, bad JSON, trailing
 * text) returns false with text unchanged, and the caller parses it with json_parse_object,
 * which also names what is wrong. */
struct json_flat_pair {
    const char *key;
    const char *value; /* NULL: null */
};
bool json_flat_parse(char *text, size_t len, struct json_flat_pair *out, size_t max, size_t *n);

/* Serialises v into out (compact) and decrefs v. */
int json_dump_take(json_t *v, struct buf *out);
/* Writes the contract's error object. */
void json_error_body(struct buf *out, const char *code, const char *message, const char *field);
/* json_string for a possibly-empty C string: "" gives JSON null. New reference. */
json_t *json_str_or_null(const char *s);
/* RFC 3339 string for a Unix-ms time (0 gives null). New reference. */
json_t *json_time(int64_t at);

/* Writing JSON text straight into a buffer (the hot answers, without building json_t trees).
 * The output is what json_dumps(JSON_COMPACT) writes for the same values: '"', '\\' and control
 * characters escaped (\b \f \n \r \t, else \u00XX), other UTF-8 as is; an invalid UTF-8
 * byte, which jansson refuses, is written as \ufffd. Each returns ERR_OK or buf_add's error. */
int json_buf_str(struct buf *b, const char *s);
/* s as a JSON string, or null when s is NULL or "" (json_str_or_null's rule). */
int json_buf_str_or_null(struct buf *b, const char *s);
/* "key": with the key written as a string (keys are trusted literals: not escaped). */
int json_buf_key(struct buf *b, const char *key);
/* A Unix-ms time as an RFC 3339 string, or null for 0 (json_time's rule). */
int json_buf_time(struct buf *b, int64_t at);

#endif
