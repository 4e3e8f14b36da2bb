/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Fuzz target: core/classify on what a visitor's browser sends. The input is the landing URL,
 * a newline, then the referrer (no newline: no referrer); the whole input is also tried as a
 * User-Agent. Invariants (classify.h): every field of struct source is NUL-terminated within
 * its size, valid UTF-8 without control characters; the channel is a valid one; the matched
 * rule index is in range; on error the result is zeroed. */
#include "base/prelude.h"

#include "base/err.h"
#include "core/classify.h"
#include "fuzz.h"

/* A rule of every field and operator, with valid and invalid overrides. */
static const struct classify_rule rules[] = {
    {.field = RULE_UTM_SOURCE, .op = RULE_EQUALS, .value = "newsletter", .set_channel = "email"},
    {.field = RULE_UTM_CAMPAIGN, .op = RULE_CONTAINS, .value = "brand", .set_campaign = "brand"},
    {.field = RULE_CLICK_ID, .op = RULE_PRESENT, .value = "gclid", .pool_id = 2},
    {.field = RULE_REFERRER_HOST, .op = RULE_PREFIX, .value = "news.", .set_source = "news"},
    {.field = RULE_LANDING_PATH, .op = RULE_PREFIX, .value = "/promo", .set_medium = "promo"},
    {.field = RULE_UTM_TERM,
     .op = RULE_CONTAINS,
     .value = "\xc3\xa9t\xc3\xa9",
     .set_channel = "not_a_channel"},
    {.field = RULE_UTM_CONTENT, .op = RULE_EQUALS, .value = NULL, .number_id = 9},
    {.field = RULE_UTM_MEDIUM, .op = RULE_PRESENT, .value = NULL, .set_channel = "display"},
    {.field = RULE_CHANNEL,
     .op = RULE_EQUALS,
     .value = "ORGANIC_SEARCH",
     .set_channel = "referral",
     .set_source = "x\x01y"},
};

static void check_source(const struct source *s)
{
    FUZZ_CHECK(classify_channel_valid(s->channel));
    FUZZ_CHECK(fuzz_field_ok(s->channel, sizeof(s->channel)));
    const char *const fields[] = {s->source,  s->medium,       s->campaign,     s->keyword,
                                  s->content, s->landing_page, s->landing_path, s->referrer_host};
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        FUZZ_CHECK(fuzz_field_ok(fields[i], CLASSIFY_FIELD_MAX));
    for (size_t i = 0; i < CLICK_N; i++)
        FUZZ_CHECK(fuzz_field_ok(s->click_ids[i], CLASSIFY_FIELD_MAX));
}

static void classify(const char *url, const char *referrer, const struct classify_rule *r, size_t n)
{
    struct source src;
    memset(&src, 0xa5, sizeof(src)); /* what is not written must not pass for text */
    int matched = -7;
    struct errbuf eb = {{0}, NULL};
    int rc = classify_visit(url, referrer, r, n, &src, &matched, &eb);
    if (rc != ERR_OK) {
        static const struct source zero;
        FUZZ_CHECK(rc == ERR_INVALID && eb.msg[0]);
        FUZZ_CHECK(memcmp(&src, &zero, sizeof(src)) == 0);
        return;
    }
    check_source(&src);
    FUZZ_CHECK(matched >= -1 && matched < (int)n);

    struct source again; /* pure: the same input gives the same answer */
    int matched_again = -7;
    FUZZ_CHECK(classify_visit(url, referrer, r, n, &again, &matched_again, NULL) == ERR_OK);
    FUZZ_CHECK(matched_again == matched && strcmp(again.channel, src.channel) == 0);
    FUZZ_CHECK(strcmp(again.source, src.source) == 0 && strcmp(again.medium, src.medium) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0; /* the visit body is at most 8 KiB */
    char *in = fuzz_cstr(data, size);
    char *nl = strchr(in, '\n');
    const char *referrer = NULL;
    if (nl) {
        *nl = '\0';
        referrer = nl + 1;
    }
    classify(in, referrer, rules, ARRAY_SIZE(rules));
    classify(in, referrer, NULL, 0);
    if (nl)
        *nl = '\n';
    enum device d = classify_device(in);
    FUZZ_CHECK(d >= DEVICE_UNKNOWN && d <= DEVICE_TABLET);
    FUZZ_CHECK(device_name(d) != NULL);
    (void)classify_is_bot(in);
    FUZZ_CHECK(classify_rule_field_parse(in) >= -1 && classify_rule_op_parse(in) >= -1);
    free(in);
    return 0;
}
