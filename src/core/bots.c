/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* User agents (core, part of classify.h): is it a crawler, preview fetcher, monitor or script
 * (then the visit gets the static number and no lease), and which device class is it.
 * Bot detection runs on every visit, so it is one pass over the string with a per-letter index
 * of the tokens, and no copy or allocation whatever the length of the header. */
#include "base/prelude.h"
#include "core/classify.h"

/* Bot tokens, lowercase, indexed by first letter; each list ends with NULL. Every token of
 * INTERFACES.md §9.1 is here (Googlebot covers Googlebot-Image/-News/-Video, AdsBot-Google
 * covers -Mobile, Slackbot covers Slackbot-LinkExpanding), plus generic crawler words, uptime
 * monitors and HTTP libraries. Never add a token that a real browser or in-app browser sends
 * ("bot" alone matches the Cubot phone brand; "facebook" or "instagram" alone match in-app
 * browsers). A token must be at least two characters long. */
#define TOKENS(...) ((const char *const[]){__VA_ARGS__, NULL})
static const char *const *const bot_tokens['z' - 'a' + 1] = {
    ['a' - 'a'] = TOKENS("adsbot-google", "adidxbot", "ahrefsbot", "aiohttp", "amazonbot",
                         "apache-httpclient", "apis-google", "applebot", "archive.org_bot"),
    ['b' - 'a'] = TOKENS("baiduspider", "bingbot", "bingpreview", "bytespider"),
    ['c' - 'a'] =
        TOKENS("ccbot", "chatgpt-user", "chrome-lighthouse", "claudebot", "crawler", "curl"),
    ['d' - 'a'] = TOKENS("datadogsynthetics", "discordbot", "dotbot", "duckduckbot"),
    ['e' - 'a'] = TOKENS("embedly"),
    ['f' - 'a'] = TOKENS("facebookexternalhit", "facebot", "feedfetcher-google"),
    ['g' - 'a'] = TOKENS("go-http-client", "google-inspectiontool", "google-read-aloud",
                         "googlebot", "googleother", "gptbot", "gtmetrix"),
    ['h' - 'a'] = TOKENS("headlesschrome"),
    ['i' - 'a'] = TOKENS("ia_archiver"),
    ['l' - 'a'] = TOKENS("libwww-perl", "linkedinbot"),
    ['m' - 'a'] = TOKENS("mediapartners-google", "microsoftpreview", "mj12bot", "msnbot"),
    ['n' - 'a'] = TOKENS("node-fetch"),
    ['o' - 'a'] = TOKENS("oai-searchbot"),
    ['p' - 'a'] = TOKENS("perplexitybot", "petalbot", "phantomjs", "pingdom", "pinterest/0.",
                         "pinterestbot", "python-httpx", "python-requests", "python-urllib"),
    ['r' - 'a'] = TOKENS("rogerbot"),
    ['s' - 'a'] = TOKENS("scrapy", "semrushbot", "seznambot", "site24x7", "slackbot", "slurp",
                         "spider", "statuscake", "storebot-google"),
    ['t' - 'a'] = TOKENS("telegrambot", "twitterbot"),
    ['u' - 'a'] = TOKENS("uptimerobot"),
    ['w' - 'a'] = TOKENS("wget", "whatsapp"),
    ['y' - 'a'] = TOKENS("yandex.com/bots", "yandexbot"),
};

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* True if s starts with the lowercase token, ignoring ASCII case. Stops at s's NUL. */
static bool starts_with_ci(const char *s, const char *token)
{
    for (; *token; s++, token++) {
        if (lower(*s) != *token)
            return false;
    }
    return true;
}

static bool is_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

bool classify_is_bot(const char *user_agent)
{
    if (!user_agent || is_blank(user_agent))
        return true;
    for (const char *p = user_agent; *p; p++) {
        char c = lower(*p);
        if (c < 'a' || c > 'z' || !bot_tokens[c - 'a'])
            continue;
        char next = lower(p[1]); /* a cheap reject before the full comparison */
        for (const char *const *tok = bot_tokens[c - 'a']; *tok; tok++) {
            if ((*tok)[1] == next && starts_with_ci(p, *tok))
                return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------------------------ */
/* Devices                                                                                    */

/* Platform tokens a User-Agent may carry; found in one pass, then weighed in order by
 * device_of(). */
enum ua_mark {
    UA_IPAD = 1u << 0,
    UA_TABLET = 1u << 1, /* "Tablet": Firefox on Android tablets, Windows tablets */
    UA_KINDLE = 1u << 2, /* Kindle, and Silk, the Fire tablets' browser */
    UA_PLAYBOOK = 1u << 3,
    UA_WINPHONE = 1u << 4,
    UA_IPHONE = 1u << 5, /* also iPod */
    UA_ANDROID = 1u << 6,
    UA_MOBI = 1u << 7,        /* "Mobile", "Mobi" (Opera Mobi), "IEMobile" */
    UA_OTHER_PHONE = 1u << 8, /* BlackBerry, BB10, Opera Mini */
    UA_DESKTOP_OS = 1u << 9,  /* Windows, Macintosh, X11, Linux */
};

struct ua_token {
    const char *text; /* lowercase; NULL ends a list */
    unsigned mark;
};

#define MARKS(...) ((const struct ua_token[]){__VA_ARGS__, {NULL, 0}})
static const struct ua_token *const device_tokens['z' - 'a' + 1] = {
    ['a' - 'a'] = MARKS({"android", UA_ANDROID}),
    ['b' - 'a'] = MARKS({"blackberry", UA_OTHER_PHONE}, {"bb10", UA_OTHER_PHONE}),
    ['i' - 'a'] = MARKS({"ipad", UA_IPAD}, {"iphone", UA_IPHONE}, {"ipod", UA_IPHONE}),
    ['k' - 'a'] = MARKS({"kindle", UA_KINDLE}),
    ['l' - 'a'] = MARKS({"linux", UA_DESKTOP_OS}),
    ['m' - 'a'] = MARKS({"mobi", UA_MOBI}, {"macintosh", UA_DESKTOP_OS}),
    ['o' - 'a'] = MARKS({"opera mini", UA_OTHER_PHONE}),
    ['p' - 'a'] = MARKS({"playbook", UA_PLAYBOOK}),
    ['s' - 'a'] = MARKS({"silk/", UA_KINDLE}),
    ['t' - 'a'] = MARKS({"tablet", UA_TABLET}),
    ['w' - 'a'] = MARKS({"windows phone", UA_WINPHONE}, {"windows", UA_DESKTOP_OS}),
    ['x' - 'a'] = MARKS({"x11", UA_DESKTOP_OS}),
};

static unsigned ua_marks(const char *ua)
{
    unsigned marks = 0;
    for (const char *p = ua; *p; p++) {
        char c = lower(*p);
        if (c < 'a' || c > 'z' || !device_tokens[c - 'a'])
            continue;
        for (const struct ua_token *tok = device_tokens[c - 'a']; tok->text; tok++) {
            if (starts_with_ci(p, tok->text))
                marks |= tok->mark;
        }
    }
    return marks;
}

/* Tablets first (an iPad also says "Mobile"); Windows Phone before Android, since its later
 * versions also say "Android"; Android phones say "Mobile", Android tablets do not. */
static enum device device_of(unsigned marks)
{
    if (marks & (UA_IPAD | UA_TABLET | UA_KINDLE | UA_PLAYBOOK))
        return DEVICE_TABLET;
    if (marks & (UA_WINPHONE | UA_IPHONE))
        return DEVICE_MOBILE;
    if (marks & UA_ANDROID)
        return (marks & UA_MOBI) ? DEVICE_MOBILE : DEVICE_TABLET;
    if (marks & (UA_MOBI | UA_OTHER_PHONE))
        return DEVICE_MOBILE;
    return (marks & UA_DESKTOP_OS) ? DEVICE_DESKTOP : DEVICE_UNKNOWN;
}

enum device classify_device(const char *user_agent)
{
    return user_agent ? device_of(ua_marks(user_agent)) : DEVICE_UNKNOWN;
}

const char *device_name(enum device d)
{
    switch (d) {
    case DEVICE_DESKTOP:
        return "desktop";
    case DEVICE_MOBILE:
        return "mobile";
    case DEVICE_TABLET:
        return "tablet";
    default:
        return "unknown";
    }
}
