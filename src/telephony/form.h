/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* application/x-www-form-urlencoded parsing for provider webhooks (and query strings):
 * name=value pairs split on '&', percent-decoded, '+' read as a space, order and repeated
 * names kept. Ownership: a parsed struct form owns its strings; form_release frees them.
 * THREADING: no shared state; a form may be read from several threads once parsed. */
#ifndef OPENDNI_TELEPHONY_FORM_H
#define OPENDNI_TELEPHONY_FORM_H

#include <stddef.h>

/* Most pairs form_parse accepts; more is ERR_TOOBIG. */
#define FORM_MAX_PARAMS 256

struct form_param {
    char *name;
    char *value;
};

struct form {
    struct form_param *params; /* n pairs in body order; NULL when n == 0 */
    size_t n;
};

/* Parses len bytes of body (need not be NUL-terminated; NULL allowed when len is 0).
 * Empty pairs ("a=1&&b=2", a trailing '&') are skipped; a pair without '=' has an empty
 * value; names and values are percent-decoded and '+' becomes a space. No charset check:
 * the bytes are kept as sent (Twilio sends UTF-8).
 * Returns ERR_OK; ERR_INVALID for a '%' not followed by two hex digits, or for a NUL byte,
 * raw or as an escape (it would silently truncate a C string); ERR_TOOBIG for more than
 * FORM_MAX_PARAMS pairs. out: *out (owned by the caller, form_release it); on error *out is
 * left empty and nothing needs releasing. */
int form_parse(const char *body, size_t len, struct form *out);

/* Frees the pairs and leaves f empty. A zeroed or already released form is a no-op. */
void form_release(struct form *f);

/* Value of the first pair named name (byte-exact, case-sensitive), or NULL if there is none.
 * Borrowed: valid until form_release. */
const char *form_get(const struct form *f, const char *name);

#endif
