/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The one error enum. Functions that can fail return an enum err; detail goes in an errbuf.
 * err_str() and err_http_status() are the only places the codes are mapped. */
#ifndef OPENDNI_BASE_ERR_H
#define OPENDNI_BASE_ERR_H

enum err {
    ERR_OK = 0,
    ERR_NOMEM = -1,
    ERR_INVALID = -2,   /* bad input: 400 */
    ERR_NOTFOUND = -3,  /* unknown id: 404 */
    ERR_CONFLICT = -4,  /* duplicate, or in use: 409 */
    ERR_EXHAUSTED = -5, /* pool has no number to give */
    ERR_EXPIRED = -6,   /* lease or session ended */
    ERR_TOOBIG = -7,    /* over a size limit: 413 */
    ERR_IO = -8,        /* file or socket failure */
    ERR_BACKEND = -9,   /* store failure: 500 */
    ERR_UNSUPPORTED = -10,
    ERR_AUTH = -11,        /* missing or wrong credentials: 401 */
    ERR_FORBIDDEN = -12,   /* bad provider signature: 403 */
    ERR_LIMITED = -13,     /* rate limited: 429 */
    ERR_UNAVAILABLE = -14, /* cannot serve now (the store cannot commit): 503 */
};

/* Detail for an error: a fixed buffer, so filling it never fails. */
struct errbuf {
    char msg[256];
    /* The offending input field, or NULL: a static string, or (a field the client named, as
     * json_only_keys reports) a string stored in msg past the message's terminator. */
    const char *field;
};

/* Static lowercase name of the code ("invalid", "not_found"…), used as the API error code. */
const char *err_str(int code);

/* HTTP status for the code (400, 404, 409, 413, 429, 500…). */
int err_http_status(int code);

/* Formats the detail into eb (if non-NULL) and returns code, so callers can
 * `return errf(eb, ERR_INVALID, "number", "cannot parse '%s'", s);`. */
int errf(struct errbuf *eb, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
