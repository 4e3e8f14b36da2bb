/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Visit classification for the functional core: landing URL + referrer -> channel, source,
 * medium, campaign, keyword, click ids (classify.c), and User-Agent -> bot or device (bots.c).
 * Ownership: callers own every argument and the struct source they pass; returned strings are
 * static. Everything attacker-written is copied bounded, valid UTF-8, without control chars.
 * THREADING: pure functions over constant tables; safe from any thread. */
#ifndef OPENDNI_CORE_CLASSIFY_H
#define OPENDNI_CORE_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Size of every text field of struct source: values are truncated to CLASSIFY_FIELD_MAX - 1
 * bytes at a UTF-8 character boundary. */
#define CLASSIFY_FIELD_MAX 256

/* Click ids appended by ad platforms, in the order of click_id_names[]. */
enum click_id {
    CLICK_GCLID,
    CLICK_GBRAID,
    CLICK_WBRAID,
    CLICK_FBCLID,
    CLICK_MSCLKID,
    CLICK_TTCLID,
    CLICK_LI_FAT_ID,
    CLICK_N
};

/* The query parameter name of each click id: "gclid", "gbraid", … "li_fat_id". */
extern const char *const click_id_names[CLICK_N];

/* Where a visit came from. Every string is NUL-terminated, at most CLASSIFY_FIELD_MAX - 1
 * bytes of valid UTF-8 with no control characters, and "" when absent. */
struct source {
    /* paid_search, organic_search, paid_social, organic_social, email, referral, display,
     * affiliate, direct or offline (see classify_channel_valid) */
    char channel[32];
    char source[CLASSIFY_FIELD_MAX];   /* utm_source, or derived ("google", "(direct)"…) */
    char medium[CLASSIFY_FIELD_MAX];   /* utm_medium, or derived ("cpc", "organic"…) */
    char campaign[CLASSIFY_FIELD_MAX]; /* utm_campaign */
    char keyword[CLASSIFY_FIELD_MAX];  /* utm_term */
    char content[CLASSIFY_FIELD_MAX];  /* utm_content */
    char click_ids[CLICK_N][CLASSIFY_FIELD_MAX]; /* "" when absent */
    char landing_page[CLASSIFY_FIELD_MAX];       /* scheme://host[:port]/path of the landing URL */
    char landing_path[CLASSIFY_FIELD_MAX];       /* path only, as written (not percent-decoded) */
    char referrer_host[CLASSIFY_FIELD_MAX];      /* lowercase; also set for same-site referrers */
};

/* What a classification rule looks at. */
enum rule_field {
    RULE_UTM_SOURCE, /* the utm_* fields are the URL's own parameters, never derived values */
    RULE_UTM_MEDIUM,
    RULE_UTM_CAMPAIGN,
    RULE_UTM_TERM,
    RULE_UTM_CONTENT,
    RULE_CLICK_ID, /* value = click id name ("" or NULL: any); matches its presence, any op */
    RULE_REFERRER_HOST,
    RULE_LANDING_PATH,
    RULE_CHANNEL /* the default channel, before any rule */
};

enum rule_op { RULE_EQUALS, RULE_CONTAINS, RULE_PREFIX, RULE_PRESENT };

/* A per-account rule. Matching is ASCII case-insensitive; a NULL value is "". */
struct classify_rule {
    enum rule_field field;
    enum rule_op op;
    const char *value;
    /* overrides applied when the rule matches; NULL = keep. An invalid set_channel is
     * ignored (the admin API validates it with classify_channel_valid). */
    const char *set_channel;
    const char *set_source;
    const char *set_medium;
    const char *set_campaign;
    uint64_t pool_id;   /* 0 = no preference; the caller uses it to pick a pool */
    uint64_t number_id; /* 0 = none; a source number to show */
};

/* Classifies a visit from its landing URL (absolute http or https) and referrer (NULL or "" for
 * none; an unparseable referrer counts as none). Defaults, in order:
 *  - utm_source or utm_medium present: the medium decides (cpc/ppc/paid… -> paid_search, or
 *    paid_social for a social source; email; display/banner/cpm; affiliate; social ->
 *    organic_social, with "paid" -> paid_social; organic; referral; offline/print/radio…);
 *    an unknown or missing medium falls back to the click id, then the source's kind, then
 *    referral. A missing source is derived from the click id or referrer, else "(not set)".
 *  - else a click id: gclid/gbraid/wbraid -> paid_search/google/cpc, msclkid -> bing,
 *    fbclid -> paid_social/facebook, ttclid -> tiktok, li_fat_id -> linkedin (in that order).
 *  - else an external referrer: a search engine -> organic_search/<engine>/organic, a social
 *    network -> organic_social/<network>/social, webmail -> email, any other ->
 *    referral/<host without www.>/referral. A referrer on the landing host (ignoring "www.")
 *    is internal.
 *  - else direct/"(direct)"/"(none)".
 * Query values are percent-decoded ('+' is a space); for a repeated parameter the first
 * non-empty value wins; parameter names match case-insensitively.
 * Then rules are tried in order; the first match applies its overrides and its index goes to
 * *out_rule (-1 if none matched; out_rule may be NULL). rules may be NULL when n_rules is 0.
 * Returns ERR_OK, or ERR_INVALID (field "url") if url is not an absolute http(s) URL with a
 * valid host. out: the classification (zeroed on error). */
int classify_visit(const char *url, const char *referrer, const struct classify_rule *rules,
                   size_t n_rules, struct source *out, int *out_rule, struct errbuf *eb);

/* Parses a rule field name for the admin API ("utm_source", "utm_medium", "utm_campaign",
 * "utm_term", "utm_content", "click_id", "referrer_host", "landing_path", "channel"; ASCII
 * case-insensitive). Returns the enum rule_field, or -1 if unknown or NULL. */
int classify_rule_field_parse(const char *s);

/* Parses a rule operator name ("equals", "contains", "prefix", "present"). Returns the
 * enum rule_op, or -1 if unknown or NULL. */
int classify_rule_op_parse(const char *s);

/* True if channel is one of the channel names listed in struct source (exact, lowercase). */
bool classify_channel_valid(const char *channel);

/* Number of channel names. */
#define CLASSIFY_N_CHANNELS 10
/* A set of channels as a bit mask: bit i is classify_channel_at(i). 0 for an unknown name. */
uint32_t classify_channel_bit(const char *channel);
/* The i-th channel name in the canonical order (paid_search, organic_search, …, offline), or NULL
 * for i >= CLASSIFY_N_CHANNELS. */
const char *classify_channel_at(size_t i);

/* ------------------------------------------------------------------------------------------ */
/* User agents (bots.c)                                                                       */

enum device { DEVICE_UNKNOWN = 0, DEVICE_DESKTOP, DEVICE_MOBILE, DEVICE_TABLET };

/* "desktop", "mobile", "tablet", or "unknown" (also for out-of-range values). Static. */
const char *device_name(enum device d);

/* Device class from a User-Agent: iPad, Kindle/Silk, PlayBook, "Tablet" and Android without
 * "Mobile" are tablets; iPhone, iPod, Android with "Mobile", "Mobi", Windows Phone, BlackBerry
 * and Opera Mini are mobile; Windows, Macintosh and X11/Linux (Chrome OS too) are desktop.
 * iPadOS in its default desktop mode reports Macintosh, so it counts as desktop.
 * NULL, "" or no known platform: DEVICE_UNKNOWN. One pass over the string. */
enum device classify_device(const char *user_agent);

/* True for crawlers, link-preview fetchers, SEO/AI crawlers, uptime monitors, headless browsers
 * and HTTP libraries: every token of INTERFACES.md §9.1 and a few more, matched as ASCII
 * case-insensitive substrings. NULL, empty or blank user agents are bots too.
 * Runs on every visit: one pass over the string, indexed by the first letter of the tokens. */
bool classify_is_bot(const char *user_agent);

#endif
