/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Source classification (core): splits the landing URL and referrer, decodes UTM parameters and
 * click ids into bounded, sanitized fields, picks the default channel from built-in tables of
 * search engines and social networks, then applies the account's rules. Pure: no allocation,
 * work linear in the input length, so hostile URLs cost no more than their size. */
#include "base/prelude.h"
#include "core/classify.h"

const char *const click_id_names[CLICK_N] = {
    [CLICK_GCLID] = "gclid",         [CLICK_GBRAID] = "gbraid",   [CLICK_WBRAID] = "wbraid",
    [CLICK_FBCLID] = "fbclid",       [CLICK_MSCLKID] = "msclkid", [CLICK_TTCLID] = "ttclid",
    [CLICK_LI_FAT_ID] = "li_fat_id",
};

enum channel {
    CH_PAID_SEARCH,
    CH_ORGANIC_SEARCH,
    CH_PAID_SOCIAL,
    CH_ORGANIC_SOCIAL,
    CH_EMAIL,
    CH_REFERRAL,
    CH_DISPLAY,
    CH_AFFILIATE,
    CH_DIRECT,
    CH_OFFLINE,
    CH_N
};

static const char *const channel_names[CH_N] = {
    "paid_search", "organic_search", "paid_social", "organic_social", "email",
    "referral",    "display",        "affiliate",   "direct",         "offline",
};

static const char *const rule_field_names[] = {
    [RULE_UTM_SOURCE] = "utm_source",
    [RULE_UTM_MEDIUM] = "utm_medium",
    [RULE_UTM_CAMPAIGN] = "utm_campaign",
    [RULE_UTM_TERM] = "utm_term",
    [RULE_UTM_CONTENT] = "utm_content",
    [RULE_CLICK_ID] = "click_id",
    [RULE_REFERRER_HOST] = "referrer_host",
    [RULE_LANDING_PATH] = "landing_path",
    [RULE_CHANNEL] = "channel",
};

static const char *const rule_op_names[] = {
    [RULE_EQUALS] = "equals",
    [RULE_CONTAINS] = "contains",
    [RULE_PREFIX] = "prefix",
    [RULE_PRESENT] = "present",
};

/* ------------------------------------------------------------------------------------------ */
/* ASCII case-insensitive helpers (locale-independent)                                        */

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ci_equal_n(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

static bool ci_equal(const char *a, const char *b)
{
    return ci_equal_n(a, strlen(a), b, strlen(b));
}

static bool ci_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strnlen(s, n) == n && ci_equal_n(s, n, prefix, n);
}

static bool ci_contains(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    size_t len = strlen(s);
    for (size_t i = 0; i + n <= len; i++) {
        if (ci_equal_n(s + i, n, needle, n))
            return true;
    }
    return false;
}

/* True if the sep-separated list contains s[0..n), case-insensitively. */
static bool list_has(const char *list, char sep, const char *s, size_t n)
{
    while (list && *list) {
        const char *end = strchr(list, sep);
        size_t len = end ? (size_t)(end - list) : strlen(list);
        if (ci_equal_n(list, len, s, n))
            return true;
        list = end ? end + 1 : list + len;
    }
    return false;
}

/* ------------------------------------------------------------------------------------------ */
/* Bounded text fields                                                                        */

/* Writes attacker-controlled bytes into a fixed field: complete UTF-8 characters only, invalid
 * sequences replaced by U+FFFD, C0/C1 controls and DEL dropped, leading and trailing spaces
 * trimmed. Once a character does not fit the field is full and ignores everything after, so
 * the result is always a prefix of the cleaned input ending on a character boundary. */
struct text {
    char *out;
    size_t cap; /* bytes of out, NUL included */
    size_t len;
    unsigned char seq[4];
    size_t seq_len;
    size_t seq_need; /* bytes of the pending sequence, 0 if none */
    bool full;
};

static const unsigned char replacement_char[] = {0xef, 0xbf, 0xbd};

static void text_init(struct text *t, char *out, size_t cap)
{
    *t = (struct text){.out = out, .cap = cap};
    out[0] = '\0';
}

static void text_emit(struct text *t, const unsigned char *p, size_t n)
{
    if (t->full || (t->len == 0 && n == 1 && p[0] == ' '))
        return;
    if (t->len + n > t->cap - 1) {
        t->full = true;
        return;
    }
    memcpy(t->out + t->len, p, n);
    t->len += n;
    t->out[t->len] = '\0';
}

/* Length of the UTF-8 sequence a lead byte starts (2-4), or 0 if it cannot start one. */
static size_t utf8_need(unsigned char b)
{
    if (b >= 0xc2 && b <= 0xdf)
        return 2;
    if (b >= 0xe0 && b <= 0xef)
        return 3;
    if (b >= 0xf0 && b <= 0xf4)
        return 4;
    return 0;
}

/* Whether b may follow the pending bytes: rejects overlong forms, surrogates and > U+10FFFF. */
static bool utf8_continues(const struct text *t, unsigned char b)
{
    if ((b & 0xc0) != 0x80)
        return false;
    if (t->seq_len > 1)
        return true;
    switch (t->seq[0]) {
    case 0xe0:
        return b >= 0xa0;
    case 0xed:
        return b <= 0x9f;
    case 0xf0:
        return b >= 0x90;
    case 0xf4:
        return b <= 0x8f;
    default:
        return true;
    }
}

static void text_byte(struct text *t, unsigned char b)
{
    /* the common case: a printable ASCII byte with room for it (text_emit's rules) */
    if (!t->seq_need && b > 0x20 && b < 0x7f && !t->full && t->len + 1 < t->cap) {
        t->out[t->len++] = (char)b;
        t->out[t->len] = '\0';
        return;
    }
    if (t->seq_need && utf8_continues(t, b)) {
        t->seq[t->seq_len++] = b;
        if (t->seq_len < t->seq_need)
            return;
        bool c1_control = t->seq[0] == 0xc2 && t->seq[1] < 0xa0;
        if (!c1_control)
            text_emit(t, t->seq, t->seq_len);
        t->seq_need = 0;
        return;
    }
    if (t->seq_need) { /* truncated sequence: replace it, then read b afresh */
        text_emit(t, replacement_char, sizeof(replacement_char));
        t->seq_need = 0;
    }
    if (b < 0x80) {
        if (b >= 0x20 && b != 0x7f)
            text_emit(t, &b, 1);
        return;
    }
    t->seq_need = utf8_need(b);
    t->seq[0] = b;
    t->seq_len = 1;
    if (!t->seq_need)
        text_emit(t, replacement_char, sizeof(replacement_char));
}

static void text_finish(struct text *t)
{
    if (t->seq_need)
        text_emit(t, replacement_char, sizeof(replacement_char));
    t->seq_need = 0;
    while (t->len > 0 && t->out[t->len - 1] == ' ')
        t->out[--t->len] = '\0';
}

static void text_add(struct text *t, const char *s, size_t n, bool to_lower)
{
    for (size_t i = 0; i < n && !t->full; i++)
        text_byte(t, (unsigned char)(to_lower ? lower(s[i]) : s[i]));
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Adds a query-string component: '+' is a space, %XX a byte; a malformed escape stays literal. */
static void text_add_decoded(struct text *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n && !t->full; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            c = (unsigned char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        }
        text_byte(t, c);
    }
}

/* Copies a NUL-terminated string into a field with the same cleaning. */
static void copy_text(char *dst, size_t cap, const char *s)
{
    struct text t;
    text_init(&t, dst, cap);
    text_add(&t, s, strlen(s), false);
    text_finish(&t);
}

/* ------------------------------------------------------------------------------------------ */
/* URLs                                                                                       */

#define HOST_MAX 253

/* Pieces of "scheme://[userinfo@]host[:port]/path?query#fragment", pointing into the input. */
struct url_parts {
    const char *scheme;
    size_t scheme_len;
    const char *host; /* without userinfo or port; an IPv6 literal keeps its brackets */
    size_t host_len;
    const char *hostport; /* host[:port] */
    size_t hostport_len;
    const char *path;
    size_t path_len;
    const char *query; /* after '?', before '#' */
    size_t query_len;
};

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool host_valid(const char *h, size_t n)
{
    if (n == 0 || n > HOST_MAX)
        return false;
    bool bracketed = h[0] == '[';
    if (bracketed && (n < 3 || h[n - 1] != ']'))
        return false;
    for (size_t i = bracketed; i < n - bracketed; i++) {
        bool ok = bracketed ? (hex_value(h[i]) >= 0 || h[i] == ':' || h[i] == '.')
                            : (is_alnum(h[i]) || h[i] == '-' || h[i] == '.' || h[i] == '_');
        if (!ok)
            return false;
    }
    return true;
}

/* Splits host[:port] (userinfo already removed) and checks both parts. */
static int split_hostport(struct url_parts *u)
{
    const char *hp = u->hostport;
    size_t n = u->hostport_len;
    size_t host_len = n;
    if (hp[0] == '[') {
        const char *close = memchr(hp, ']', n);
        host_len = close ? (size_t)(close - hp) + 1 : n;
    } else {
        const char *colon = memchr(hp, ':', n);
        host_len = colon ? (size_t)(colon - hp) : n;
    }
    if (host_len < n && (hp[host_len] != ':' || n - host_len - 1 > 5))
        return ERR_INVALID;
    for (size_t i = host_len + 1; i < n; i++) {
        if (hp[i] < '0' || hp[i] > '9')
            return ERR_INVALID;
    }
    u->host = hp;
    u->host_len = host_len;
    return host_valid(hp, host_len) ? ERR_OK : ERR_INVALID;
}

/* Splits an absolute URL of any scheme. Returns ERR_OK or ERR_INVALID. */
static int url_split(const char *s, struct url_parts *u)
{
    size_t n = 0;
    *u = (struct url_parts){0};
    while (is_alnum(s[n]) || (n > 0 && s[n] != '\0' && strchr("+-.", s[n])))
        n++;
    if (n == 0 || n > 32 || strncmp(s + n, "://", 3) != 0)
        return ERR_INVALID;
    u->scheme = s;
    u->scheme_len = n;
    const char *auth = s + n + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = auth + auth_len;
    while (at > auth && at[-1] != '@')
        at--;
    u->hostport = at;
    u->hostport_len = auth_len - (size_t)(at - auth);
    u->path = auth + auth_len;
    u->path_len = strcspn(u->path, "?#");
    if (u->path[u->path_len] == '?') {
        u->query = u->path + u->path_len + 1;
        u->query_len = strcspn(u->query, "#");
    }
    return split_hostport(u);
}

/* Host without a leading "www.". */
static void strip_www(const char **h, size_t *n)
{
    if (*n > 4 && ci_equal_n(*h, 4, "www.", 4)) {
        *h += 4;
        *n -= 4;
    }
}

static bool same_site(const char *a, size_t an, const char *b, size_t bn)
{
    strip_www(&a, &an);
    strip_www(&b, &bn);
    return ci_equal_n(a, an, b, bn);
}

/* ------------------------------------------------------------------------------------------ */
/* Search engines, social networks, webmail                                                   */

enum brand_kind { BRAND_SEARCH, BRAND_SOCIAL, BRAND_EMAIL };

/* labels: a host matches when one of its labels is one of these and every label after it is
 * at most three letters (google.com, www.google.co.uk; not google.evil.io).
 * domains: a host matches when it is one of these or a subdomain of one.
 * aliases: other spellings of the brand as a utm_source. Lists are space-separated.
 * Webmail comes first so that mail.google.com is email, not Google search. */
static const struct brand {
    const char *name;
    enum brand_kind kind;
    const char *labels;
    const char *domains;
    const char *aliases;
} brands[] = {
    {"gmail", BRAND_EMAIL, NULL, "mail.google.com com.google.android.gm", NULL},
    {"outlook", BRAND_EMAIL, NULL, "outlook.live.com outlook.office.com outlook.office365.com",
     NULL},
    {"yahoo mail", BRAND_EMAIL, NULL, "mail.yahoo.com", NULL},
    {"google", BRAND_SEARCH, "google", "com.google.android.googlequicksearchbox", NULL},
    {"bing", BRAND_SEARCH, "bing", NULL, "microsoft"},
    {"yahoo", BRAND_SEARCH, "yahoo", NULL, NULL},
    {"duckduckgo", BRAND_SEARCH, "duckduckgo", NULL, "ddg"},
    {"baidu", BRAND_SEARCH, "baidu", NULL, NULL},
    {"yandex", BRAND_SEARCH, "yandex", "ya.ru", NULL},
    {"ecosia", BRAND_SEARCH, "ecosia", NULL, NULL},
    {"naver", BRAND_SEARCH, "naver", NULL, NULL},
    {"seznam", BRAND_SEARCH, "seznam", NULL, NULL},
    {"qwant", BRAND_SEARCH, "qwant", NULL, NULL},
    {"startpage", BRAND_SEARCH, "startpage", NULL, NULL},
    {"sogou", BRAND_SEARCH, "sogou", NULL, NULL},
    {"ask", BRAND_SEARCH, NULL, "ask.com", NULL},
    {"aol", BRAND_SEARCH, NULL, "search.aol.com", NULL},
    {"brave", BRAND_SEARCH, NULL, "search.brave.com", NULL},
    {"facebook", BRAND_SOCIAL, "facebook", "fb.com fb.me messenger.com", "fb meta"},
    {"instagram", BRAND_SOCIAL, "instagram", NULL, "ig"},
    {"twitter", BRAND_SOCIAL, "twitter", "t.co x.com", "x"},
    {"linkedin", BRAND_SOCIAL, "linkedin", "lnkd.in", NULL},
    {"reddit", BRAND_SOCIAL, "reddit", NULL, NULL},
    {"pinterest", BRAND_SOCIAL, "pinterest", "pin.it", NULL},
    {"youtube", BRAND_SOCIAL, "youtube", "youtu.be", "yt"},
    {"tiktok", BRAND_SOCIAL, "tiktok", NULL, NULL},
    {"snapchat", BRAND_SOCIAL, "snapchat", NULL, NULL},
    {"threads", BRAND_SOCIAL, NULL, "threads.net threads.com", NULL},
    {"tumblr", BRAND_SOCIAL, "tumblr", NULL, NULL},
    {"quora", BRAND_SOCIAL, "quora", NULL, NULL},
    {"nextdoor", BRAND_SOCIAL, "nextdoor", NULL, NULL},
    {"whatsapp", BRAND_SOCIAL, "whatsapp", "wa.me", NULL},
    {"telegram", BRAND_SOCIAL, NULL, "t.me telegram.org", NULL},
    {"vk", BRAND_SOCIAL, NULL, "vk.com", NULL},
};

/* True if every dot-separated label of s[0..n) is 1-3 characters (com, co.uk, com.br). */
static bool is_short_suffix(const char *s, size_t n)
{
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '.') {
            label++;
        } else if (label == 0 || label > 3) {
            return false;
        } else {
            label = 0;
        }
    }
    return label > 0 && label <= 3;
}

static bool host_has_label(const char *h, size_t n, const char *labels)
{
    for (size_t start = 0; start < n;) {
        const char *dot = memchr(h + start, '.', n - start);
        size_t end = dot ? (size_t)(dot - h) : n;
        if (dot && list_has(labels, ' ', h + start, end - start) &&
            is_short_suffix(h + end + 1, n - end - 1))
            return true;
        start = end + 1;
    }
    return false;
}

static bool host_in_domains(const char *h, size_t n, const char *domains)
{
    for (const char *d = domains; d && *d;) {
        size_t len = strcspn(d, " ");
        if (n >= len && ci_equal_n(h + n - len, len, d, len) && (n == len || h[n - len - 1] == '.'))
            return true;
        d += len + (d[len] == ' ');
    }
    return false;
}

static const struct brand *brand_of_host(const char *h, size_t n)
{
    for (size_t i = 0; i < ARRAY_SIZE(brands); i++) {
        if (host_in_domains(h, n, brands[i].domains) || host_has_label(h, n, brands[i].labels))
            return &brands[i];
    }
    return NULL;
}

/* The brand a utm_source names: "google", "FB", or a host such as "m.facebook.com". */
static const struct brand *brand_of_source(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(brands); i++) {
        if (ci_equal(s, brands[i].name) || list_has(brands[i].aliases, ' ', s, n))
            return &brands[i];
    }
    return strchr(s, '.') ? brand_of_host(s, n) : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Default channel                                                                            */

/* What a click id alone says, in the order they are consulted when several are present:
 * search ads first, since their ids are only ever added to ad clicks. */
static const struct click_rule {
    enum click_id id;
    enum channel channel;
    const char *source;
} click_rules[] = {
    {CLICK_GCLID, CH_PAID_SEARCH, "google"},       {CLICK_GBRAID, CH_PAID_SEARCH, "google"},
    {CLICK_WBRAID, CH_PAID_SEARCH, "google"},      {CLICK_MSCLKID, CH_PAID_SEARCH, "bing"},
    {CLICK_FBCLID, CH_PAID_SOCIAL, "facebook"},    {CLICK_TTCLID, CH_PAID_SOCIAL, "tiktok"},
    {CLICK_LI_FAT_ID, CH_PAID_SOCIAL, "linkedin"},
};

enum medium_class {
    MC_UNKNOWN, /* also: no medium */
    MC_PAID,
    MC_PAID_SEARCH,
    MC_PAID_SOCIAL,
    MC_SOCIAL,
    MC_EMAIL,
    MC_DISPLAY,
    MC_AFFILIATE,
    MC_ORGANIC,
    MC_REFERRAL,
    MC_OFFLINE,
};

/* utm_medium spellings, '|'-separated, matched whole and case-insensitively. */
static const struct {
    const char *words;
    enum medium_class mc;
} medium_words[] = {
    {"cpc|ppc|paid|cpa|cpv|retargeting|paid-ads|paid_ads|paidads", MC_PAID},
    {"paidsearch|paid-search|paid_search|paid search|sem|search-ads", MC_PAID_SEARCH},
    {"social|social-network|social_network|social-media|social_media|social media|sm", MC_SOCIAL},
    {"email|e-mail|e_mail|e mail|newsletter", MC_EMAIL},
    {"display|banner|cpm|programmatic", MC_DISPLAY},
    {"affiliate|affiliates", MC_AFFILIATE},
    {"organic", MC_ORGANIC},
    {"referral", MC_REFERRAL},
    {"offline|print|radio|tv|billboard|direct-mail|direct_mail|flyer", MC_OFFLINE},
};

static enum medium_class medium_class_of(const char *medium)
{
    if (ci_contains(medium, "social") && ci_contains(medium, "paid"))
        return MC_PAID_SOCIAL;
    for (size_t i = 0; i < ARRAY_SIZE(medium_words); i++) {
        if (list_has(medium_words[i].words, '|', medium, strlen(medium)))
            return medium_words[i].mc;
    }
    return MC_UNKNOWN;
}

/* What classify_visit learns besides struct source. */
struct visit {
    char utm_source[CLASSIFY_FIELD_MAX]; /* the URL's own utm_source, "" if absent */
    char utm_medium[CLASSIFY_FIELD_MAX];
    const struct click_rule *click; /* first click id present, in click_rules order */
    bool external_referrer;
    const struct brand *ref_brand; /* brand of the external referrer, or NULL */
};

static enum channel brand_channel(const struct brand *b)
{
    switch (b->kind) {
    case BRAND_SEARCH:
        return CH_ORGANIC_SEARCH;
    case BRAND_SOCIAL:
        return CH_ORGANIC_SOCIAL;
    default:
        return CH_EMAIL;
    }
}

/* A paid medium: the source's kind decides, then the click id; paid search is the default. */
static enum channel paid_channel(const struct brand *src, const struct click_rule *click)
{
    if (src && src->kind == BRAND_SOCIAL)
        return CH_PAID_SOCIAL;
    if (src && src->kind == BRAND_SEARCH)
        return CH_PAID_SEARCH;
    return click ? click->channel : CH_PAID_SEARCH;
}

/* No or an unknown medium: the click id, then the kind of source, else a referral. */
static enum channel fallback_channel(const struct visit *v, const struct brand *src)
{
    if (v->click)
        return v->click->channel;
    if (!src && !v->utm_source[0])
        src = v->ref_brand;
    if (src)
        return brand_channel(src);
    return medium_class_of(v->utm_source) == MC_EMAIL ? CH_EMAIL : CH_REFERRAL;
}

static enum channel utm_channel(const struct visit *v)
{
    const struct brand *src = brand_of_source(v->utm_source);
    switch (medium_class_of(v->utm_medium)) {
    case MC_PAID:
        return paid_channel(src, v->click);
    case MC_PAID_SEARCH:
        return CH_PAID_SEARCH;
    case MC_PAID_SOCIAL:
        return CH_PAID_SOCIAL;
    case MC_SOCIAL:
        return CH_ORGANIC_SOCIAL;
    case MC_EMAIL:
        return CH_EMAIL;
    case MC_DISPLAY:
        return CH_DISPLAY;
    case MC_AFFILIATE:
        return CH_AFFILIATE;
    case MC_ORGANIC:
        return CH_ORGANIC_SEARCH;
    case MC_REFERRAL:
        return CH_REFERRAL;
    case MC_OFFLINE:
        return CH_OFFLINE;
    default:
        return fallback_channel(v, src);
    }
}

/* The source to show when utm_source is absent. */
static void derived_source(const struct visit *v, struct source *out)
{
    const char *host = out->referrer_host;
    size_t n = strlen(host);
    if (v->click) {
        copy_text(out->source, sizeof(out->source), v->click->source);
    } else if (v->ref_brand) {
        copy_text(out->source, sizeof(out->source), v->ref_brand->name);
    } else if (v->external_referrer) {
        strip_www(&host, &n);
        copy_text(out->source, sizeof(out->source), host);
    } else {
        copy_text(out->source, sizeof(out->source), "(not set)");
    }
}

static void put_channel(struct source *out, enum channel ch)
{
    copy_text(out->channel, sizeof(out->channel), channel_names[ch]);
}

static void classify_tagged(const struct visit *v, struct source *out)
{
    put_channel(out, utm_channel(v));
    if (v->utm_source[0])
        copy_text(out->source, sizeof(out->source), v->utm_source);
    else
        derived_source(v, out);
    if (v->utm_medium[0])
        copy_text(out->medium, sizeof(out->medium), v->utm_medium);
    else
        copy_text(out->medium, sizeof(out->medium), v->click ? "cpc" : "(not set)");
}

static void classify_untagged(const struct visit *v, struct source *out)
{
    static const char *const brand_medium[] = {
        [BRAND_SEARCH] = "organic", [BRAND_SOCIAL] = "social", [BRAND_EMAIL] = "email"};
    const char *medium = "referral";
    enum channel ch = CH_REFERRAL;
    if (v->click) {
        ch = v->click->channel;
        medium = "cpc";
    } else if (v->ref_brand) {
        ch = brand_channel(v->ref_brand);
        medium = brand_medium[v->ref_brand->kind];
    } else if (!v->external_referrer) {
        put_channel(out, CH_DIRECT);
        copy_text(out->source, sizeof(out->source), "(direct)");
        copy_text(out->medium, sizeof(out->medium), "(none)");
        return;
    }
    put_channel(out, ch);
    derived_source(v, out);
    copy_text(out->medium, sizeof(out->medium), medium);
}

/* ------------------------------------------------------------------------------------------ */
/* Reading the visit                                                                          */

/* The field a query parameter fills, or NULL if it is not one we keep. */
static char *param_field(const char *key, struct source *out, struct visit *v)
{
    static const char *const utm_names[] = {"utm_source", "utm_medium", "utm_campaign", "utm_term",
                                            "utm_content"};
    char *const utm_fields[] = {v->utm_source, v->utm_medium, out->campaign, out->keyword,
                                out->content};
    for (size_t i = 0; i < ARRAY_SIZE(utm_names); i++) {
        if (ci_equal(key, utm_names[i]))
            return utm_fields[i];
    }
    for (size_t i = 0; i < CLICK_N; i++) {
        if (ci_equal(key, click_id_names[i]))
            return out->click_ids[i];
    }
    return NULL;
}

static void read_param(const char *p, size_t n, struct source *out, struct visit *v)
{
    const char *eq = memchr(p, '=', n);
    if (!eq)
        return;
    char key[16]; /* longer than any name we keep: a truncated key matches none */
    struct text t;
    text_init(&t, key, sizeof(key));
    text_add_decoded(&t, p, (size_t)(eq - p));
    text_finish(&t);
    char *field = param_field(key, out, v);
    if (!field || field[0] != '\0') /* the first non-empty value wins */
        return;
    text_init(&t, field, CLASSIFY_FIELD_MAX);
    text_add_decoded(&t, eq + 1, n - (size_t)(eq + 1 - p));
    text_finish(&t);
    /* No ad platform's click id starts with '-', and one that does would open as a formula in a
     * spreadsheet of the exports: refused here (the visit keeps its other fields) rather than
     * altered later, which would make a real id fail to match on upload. */
    for (size_t i = 0; i < CLICK_N; i++)
        if (field == out->click_ids[i] && field[0] == '-')
            field[0] = '\0';
}

static void read_query(const char *q, size_t n, struct source *out, struct visit *v)
{
    const char *end = q ? q + n : NULL;
    while (q && q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        read_param(q, (size_t)(stop - q), out, v);
        q = amp ? amp + 1 : NULL;
    }
    for (size_t i = 0; i < ARRAY_SIZE(click_rules) && !v->click; i++) {
        if (out->click_ids[click_rules[i].id][0])
            v->click = &click_rules[i];
    }
}

static void read_landing(const struct url_parts *u, struct source *out)
{
    const char *path = u->path_len ? u->path : "/";
    size_t path_len = u->path_len ? u->path_len : 1;
    struct text t;
    text_init(&t, out->landing_page, sizeof(out->landing_page));
    text_add(&t, u->scheme, u->scheme_len, true);
    text_add(&t, "://", 3, false);
    text_add(&t, u->hostport, u->hostport_len, true);
    text_add(&t, path, path_len, false);
    text_finish(&t);
    text_init(&t, out->landing_path, sizeof(out->landing_path));
    text_add(&t, path, path_len, false);
    text_finish(&t);
}

/* An unparseable referrer is ignored; one on the landing site is recorded but not external. */
static void read_referrer(const char *referrer, const struct url_parts *landing, struct source *out,
                          struct visit *v)
{
    struct url_parts r;
    if (!referrer || url_split(referrer, &r) != ERR_OK)
        return;
    struct text t;
    text_init(&t, out->referrer_host, sizeof(out->referrer_host));
    text_add(&t, r.host, r.host_len, true);
    text_finish(&t);
    if (same_site(r.host, r.host_len, landing->host, landing->host_len))
        return;
    v->external_referrer = true;
    v->ref_brand = brand_of_host(r.host, r.host_len);
}

/* ------------------------------------------------------------------------------------------ */
/* Rules                                                                                      */

static bool click_present(const struct source *out, const char *name)
{
    for (size_t i = 0; i < CLICK_N; i++) {
        bool wanted = !name || !name[0] || ci_equal(name, click_id_names[i]);
        if (wanted && out->click_ids[i][0])
            return true;
    }
    return false;
}

/* The text a rule looks at, or NULL for a field it cannot match. */
static const char *rule_subject(enum rule_field f, const struct source *out, const struct visit *v)
{
    switch (f) {
    case RULE_UTM_SOURCE:
        return v->utm_source;
    case RULE_UTM_MEDIUM:
        return v->utm_medium;
    case RULE_UTM_CAMPAIGN:
        return out->campaign;
    case RULE_UTM_TERM:
        return out->keyword;
    case RULE_UTM_CONTENT:
        return out->content;
    case RULE_REFERRER_HOST:
        return out->referrer_host;
    case RULE_LANDING_PATH:
        return out->landing_path;
    case RULE_CHANNEL:
        return out->channel;
    default:
        return NULL;
    }
}

static bool rule_matches(const struct classify_rule *r, const struct source *out,
                         const struct visit *v)
{
    if (r->field == RULE_CLICK_ID)
        return click_present(out, r->value);
    const char *subject = rule_subject(r->field, out, v);
    const char *value = r->value ? r->value : "";
    if (!subject)
        return false;
    switch (r->op) {
    case RULE_EQUALS:
        return ci_equal(subject, value);
    case RULE_CONTAINS:
        return ci_contains(subject, value);
    case RULE_PREFIX:
        return ci_prefix(subject, value);
    case RULE_PRESENT:
        return subject[0] != '\0';
    default:
        return false;
    }
}

static void apply_rule(const struct classify_rule *r, struct source *out)
{
    if (r->set_channel && classify_channel_valid(r->set_channel))
        copy_text(out->channel, sizeof(out->channel), r->set_channel);
    if (r->set_source)
        copy_text(out->source, sizeof(out->source), r->set_source);
    if (r->set_medium)
        copy_text(out->medium, sizeof(out->medium), r->set_medium);
    if (r->set_campaign)
        copy_text(out->campaign, sizeof(out->campaign), r->set_campaign);
}

/* ------------------------------------------------------------------------------------------ */
/* Public API                                                                                 */

int classify_visit(const char *url, const char *referrer, const struct classify_rule *rules,
                   size_t n_rules, struct source *out, int *out_rule, struct errbuf *eb)
{
    struct url_parts landing;
    struct visit v = {0};

    memset(out, 0, sizeof(*out));
    if (out_rule)
        *out_rule = -1;
    if (!url || url_split(url, &landing) != ERR_OK ||
        !(ci_equal_n(landing.scheme, landing.scheme_len, "http", 4) ||
          ci_equal_n(landing.scheme, landing.scheme_len, "https", 5)))
        return errf(eb, ERR_INVALID, "url", "url is not an absolute http(s) URL");
    read_landing(&landing, out);
    read_query(landing.query, landing.query_len, out, &v);
    read_referrer(referrer, &landing, out, &v);
    if (v.utm_source[0] || v.utm_medium[0])
        classify_tagged(&v, out);
    else
        classify_untagged(&v, out);
    for (size_t i = 0; i < n_rules; i++) {
        if (rule_matches(&rules[i], out, &v)) {
            apply_rule(&rules[i], out);
            if (out_rule)
                *out_rule = (int)i;
            break;
        }
    }
    return ERR_OK;
}

static int name_index(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; s && i < n; i++) {
        if (ci_equal(s, names[i]))
            return (int)i;
    }
    return -1;
}

int classify_rule_field_parse(const char *s)
{
    return name_index(s, rule_field_names, ARRAY_SIZE(rule_field_names));
}

int classify_rule_op_parse(const char *s)
{
    return name_index(s, rule_op_names, ARRAY_SIZE(rule_op_names));
}

uint32_t classify_channel_bit(const char *channel)
{
    for (size_t i = 0; channel && i < CH_N; i++)
        if (strcmp(channel, channel_names[i]) == 0)
            return 1u << i;
    return 0;
}

const char *classify_channel_at(size_t i)
{
    return i < CH_N ? channel_names[i] : NULL;
}

bool classify_channel_valid(const char *channel)
{
    for (size_t i = 0; channel && i < CH_N; i++) {
        if (strcmp(channel, channel_names[i]) == 0)
            return true;
    }
    return false;
}
