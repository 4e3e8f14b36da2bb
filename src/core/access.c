/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Roles, their order, email and password rules, session liveness: see access.h. */
#include "base/prelude.h"
#include "core/access.h"

static const char *const role_names[] = {
    [ACCESS_NONE] = "none",   [ACCESS_VIEWER] = "viewer", [ACCESS_ANALYST] = "analyst",
    [ACCESS_ADMIN] = "admin", [ACCESS_OWNER] = "owner",
};

enum access_role access_role_parse(const char *name)
{
    for (size_t i = ACCESS_VIEWER; name && i < ARRAY_SIZE(role_names); i++)
        if (strcmp(name, role_names[i]) == 0)
            return (enum access_role)i;
    return ACCESS_NONE;
}

const char *access_role_name(enum access_role role)
{
    if ((int)role < 0 || (size_t)role >= ARRAY_SIZE(role_names))
        return "none";
    return role_names[role];
}

bool access_allows(enum access_role held, enum access_role needed)
{
    return held > ACCESS_NONE && held <= ACCESS_OWNER && held >= needed;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* A byte no address of ours may hold (control characters, blanks, quotes, brackets). */
static bool is_bad(unsigned char ch)
{
    return ch < 0x21 || ch == 0x7f || ch == '"' || ch == '\'' || ch == '<' || ch == '>' ||
           ch == '(' || ch == ')' || ch == ',' || ch == ';' || ch == '\\';
}

bool access_email_normalize(const char *in, char *out, size_t cap)
{
    if (!in || cap == 0)
        return false;
    out[0] = '\0';
    while (is_blank(*in))
        in++;
    size_t n = strlen(in);
    while (n > 0 && is_blank(in[n - 1]))
        n--;
    if (n < 3 || n > ACCESS_EMAIL_MAX || n >= cap)
        return false;
    size_t at = n, n_at = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (is_bad(ch))
            return false;
        if (ch == '@') {
            at = i;
            n_at++;
        }
        out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    out[n] = '\0';
    if (n_at != 1 || at == 0 || at == n - 1)
        return false;
    const char *dot = strchr(out + at + 1, '.');
    return dot && dot != out + at + 1 && dot[1] != '\0';
}

bool access_password_ok(const char *pw, size_t len)
{
    if (!pw || len < ACCESS_PASSWORD_MIN || len > ACCESS_PASSWORD_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (pw[i] == '\0' || pw[i] == '\n' || pw[i] == '\r')
            return false;
    return true;
}

bool access_session_alive(int64_t created_at, int64_t last_seen_at, int64_t now, int64_t idle_ms,
                          int64_t max_ms)
{
    return now < last_seen_at + idle_ms && now < created_at + max_ms;
}
