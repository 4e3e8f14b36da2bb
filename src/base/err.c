/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Error codes: names, HTTP statuses and the errbuf formatter. */
#include "base/prelude.h"
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    int code;
    const char *name;
    int status;
} err_table[] = {
    {ERR_OK, "ok", 200},
    {ERR_NOMEM, "out_of_memory", 500},
    {ERR_INVALID, "invalid", 400},
    {ERR_NOTFOUND, "not_found", 404},
    {ERR_CONFLICT, "conflict", 409},
    {ERR_EXHAUSTED, "exhausted", 409},
    {ERR_EXPIRED, "expired", 404},
    {ERR_TOOBIG, "too_large", 413},
    {ERR_IO, "io_error", 500},
    {ERR_BACKEND, "store_error", 500},
    {ERR_UNSUPPORTED, "unsupported", 501},
    {ERR_AUTH, "unauthorized", 401},
    {ERR_FORBIDDEN, "forbidden", 403},
    {ERR_LIMITED, "rate_limited", 429},
    {ERR_UNAVAILABLE, "unavailable", 503},
};

const char *err_str(int code)
{
    for (size_t i = 0; i < ARRAY_SIZE(err_table); i++)
        if (err_table[i].code == code)
            return err_table[i].name;
    return "internal";
}

int err_http_status(int code)
{
    for (size_t i = 0; i < ARRAY_SIZE(err_table); i++)
        if (err_table[i].code == code)
            return err_table[i].status;
    return 500;
}

int errf(struct errbuf *eb, int code, const char *field, const char *fmt, ...)
{
    if (!eb)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
    va_end(ap);
    eb->field = field;
    return code;
}
