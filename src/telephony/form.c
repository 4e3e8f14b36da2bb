/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Form-urlencoded parser for webhook bodies. One allocation per form: the pair array is
 * followed by the decoded strings, so form_release is a single free().
 * Decoding never lengthens text, which is what bounds the string area (see form_parse). */
#include "base/prelude.h"
#include "telephony/form.h"

#include "base/err.h"
#include "base/xalloc.h"

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Number of non-empty '&'-separated pairs in s[0..len). */
static size_t count_pairs(const char *s, size_t len)
{
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '&') {
            n += i > start;
            start = i + 1;
        }
    }
    return n;
}

/* Decodes s[0..len) into dst, NUL-terminates it and returns the decoded length via *out_len.
 * Returns ERR_OK or ERR_INVALID (bad or NUL escape). */
static int decode(const char *s, size_t len, char *dst, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            if (i + 2 >= len)
                return ERR_INVALID;
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return ERR_INVALID;
            ch = (char)(hi << 4 | lo);
            i += 2;
        }
        dst[o++] = ch;
    }
    dst[o] = '\0';
    *out_len = o;
    return ERR_OK;
}

/* Decodes one pair s[0..len) into *p, writing its strings at *area (advanced past them). */
static int parse_pair(const char *s, size_t len, struct form_param *p, char **area)
{
    const char *eq = memchr(s, '=', len);
    size_t name_len = eq ? (size_t)(eq - s) : len;
    size_t used = 0;
    p->name = *area;
    int rc = decode(s, name_len, p->name, &used);
    if (rc)
        return rc;
    p->value = p->name + used + 1;
    size_t value_len = eq ? len - name_len - 1 : 0;
    rc = decode(eq ? eq + 1 : s + len, value_len, p->value, &used);
    *area = p->value + used + 1;
    return rc;
}

static int parse_pairs(const char *body, size_t len, struct form *f, char *area)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && body[i] != '&')
            continue;
        if (i > start) {
            int rc = parse_pair(body + start, i - start, &f->params[f->n], &area);
            if (rc)
                return rc;
            f->n++;
        }
        start = i + 1;
    }
    return ERR_OK;
}

int form_parse(const char *body, size_t len, struct form *out)
{
    out->params = NULL;
    out->n = 0;
    /* A raw NUL would cut a decoded string short, as %00 would (rejected likewise). */
    if ((!body && len) || (len && memchr(body, '\0', len)))
        return ERR_INVALID;
    size_t n = count_pairs(body, len);
    if (n == 0)
        return ERR_OK;
    if (n > FORM_MAX_PARAMS)
        return ERR_TOOBIG;
    /* Each pair of encoded length k decodes to at most k bytes plus two NULs. */
    size_t array = n * sizeof(struct form_param);
    struct form f = {.params = xmalloc(array + len + 2 * n), .n = 0};
    int rc = parse_pairs(body, len, &f, (char *)f.params + array);
    if (rc) {
        free(f.params);
        return rc;
    }
    *out = f;
    return ERR_OK;
}

void form_release(struct form *f)
{
    free(f->params);
    f->params = NULL;
    f->n = 0;
}

const char *form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->params[i].name, name) == 0)
            return f->params[i].value;
    return NULL;
}
